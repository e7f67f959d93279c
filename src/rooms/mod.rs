//! The actix shell around the rules: one actor per live room, a registry that supervises
//! them, and the fan-out of SSE frames to each room's streams. Every decision is the
//! room's [`crate::rules::RoomMachine`]'s; this folder carries its effects out (database
//! writes, frames, sleeps on the injected clock) and holds no rule of its own.
//!
//! # Layout
//! - `registry`: the `RoomRegistry` supervisor (create, load, adopt at start, forget).
//! - `room`: the `Room` actor, the shell that carries out the machine's effects.
//! - `fanout`: a room's streams, their bounded queues and the frame encoding.
//! - `messages`: every message the actors answer.
//! - `ask`: how HTTP handlers reach a room.
//! - `presence`: this process's streams, written for the other processes (PostgreSQL).
//! - `book`: what the other processes hold on each room, as their reports tell it.

pub mod ask;
pub mod book;
pub mod fanout;
pub mod messages;
pub mod presence;
pub mod registry;
pub mod room;

pub use crate::rules::{RoomError, RoomPolicy};
pub use registry::RoomRegistry;
pub use room::{Cluster, Room, RoomContext};
