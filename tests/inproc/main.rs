//! The in-process suite: the server built as the binary builds it (`startup::build`) and
//! served by the binary's own HTTP server (`startup::Http::server`: the same app factory,
//! middleware, routes and connection settings) on port 0 in this process, with a manual
//! clock and SQLite in a temporary folder. The registry and the rooms run in the test's
//! actix system, so every timed flow is driven by advancing the clock, never by sleeping,
//! and asserts exact instants. Refusals call the app without a socket; the clean stop
//! runs on the whole server (`startup::start`). With `PAIRSYNC_TEST_POSTGRES` set, two
//! processes share a PostgreSQL database and the clock for the sweep and the heartbeat.
//! The black-box suite (`tests/api`) stays the final word on the real clock.
//!
//! # Layout
//! - `app`: the in-process server, the socket-less app, and their clients.
//! - `flows`, `breaks`: the contract's timed flows.
//! - `errors`: the refusals.
//! - `stop`: the clean stop's order.
//! - `cluster`: the sweep and the heartbeat across two processes (PostgreSQL).
//! - `postgres`: a PostgreSQL database per test.

mod app;
mod breaks;
mod cluster;
mod errors;
mod flows;
mod postgres;
mod stop;

#[allow(dead_code)]
#[path = "../api/expect.rs"]
mod expect;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/sse.rs"]
mod sse;
