//! The live side of pair rooms: one actor per room, a registry that supervises them,
//! and the fan-out of SSE frames to each room's streams.
//!
//! # Layout
//! - `machine`: a room as a plain state machine: every rule and every timing, no I/O.
//! - `registry`: the `RoomRegistry` supervisor (create, load, adopt at start, forget).
//! - `room`: the `Room` actor, the shell that carries out the machine's effects.
//! - `fanout`: a room's streams, their bounded queues and the frame encoding.
//! - `messages`: every message the actors answer.
//! - `client`: how HTTP handlers reach a room.
//! - `presence`: this process's stream counts, for the other processes (PostgreSQL).

pub mod client;
pub mod fanout;
pub mod machine;
pub mod messages;
pub mod presence;
pub mod registry;
pub mod room;

pub use machine::{RoomConfig, RoomError};
pub use registry::RoomRegistry;
pub use room::{Cluster, Room, RoomContext};
