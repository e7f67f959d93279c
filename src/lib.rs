//! pairsync: a pair-programming timer kept in sync across every screen of a pair room.
//!
//! Each pair room is an actix actor that mirrors one committed database row and streams
//! the countdown to its pages over Server-Sent Events. The database row is the truth:
//! a command is committed first and broadcast after, so a crash loses nothing that was
//! acknowledged, and a restart picks up every running timer where its deadline says.
//!
//! # Layout
//! - [`rules`]: the rules of a room as pure values: the countdown, the settings, the room,
//!   what its streams are told, and the state machine of a live room.
//! - [`rooms`]: the actix shell: the `Room` actors, the `RoomRegistry` supervisor, the SSE
//!   fan-out, the stream counts shared with other processes.
//! - [`store`]: diesel over r2d2; the tables; blocking work off the actor threads; the
//!   group commit of the live rooms' writes; the change feed between processes.
//! - [`http`]: the route table and thin handlers.
//! - [`web`]: the embedded web pages.
//! - [`cli`]: the command line and the terminal client (`pairsync new`, `pairsync watch`).
//! - [`error`]: the one JSON error type.
//! - [`tls`]: the HTTPS configuration.
//! - [`config`], [`startup`], [`metrics`], [`clock`], [`access_code`]: the rest.

pub mod access_code;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod rooms;
pub mod rules;
pub mod startup;
pub mod store;
pub mod tls;
pub mod web;
