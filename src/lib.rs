//! pairsync: a pair-programming timer kept in sync across every screen of a pair room.
//!
//! Each pair room is an actix actor that mirrors one committed database row and streams
//! the countdown to its pages over Server-Sent Events. The database row is the truth:
//! a command is committed first and broadcast after, so a crash loses nothing that was
//! acknowledged, and a restart picks up every running timer where its deadline says.
//!
//! # Layout
//! - [`timer`]: the countdown as a pure state machine (deadline-based, no drift).
//! - [`pairing`]: a pair room as a pure value; commands and time-ups as transitions.
//! - [`schedule`]: a room's settings for breaks and auto-start, and what follows a countdown.
//! - [`rooms`]: the `Room` actors, the `RoomRegistry` supervisor, the SSE fan-out.
//! - [`store`]: diesel over r2d2; the `rooms` table; blocking work off the actor threads.
//! - [`http`]: the route table and thin handlers.
//! - [`web`]: the embedded web pages.
//! - [`cli`]: the terminal client (`pairsync new`, `pairsync watch`) and the command line.
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
pub mod pairing;
pub mod rooms;
pub mod schedule;
pub mod startup;
pub mod store;
pub mod timer;
pub mod tls;
pub mod web;
