//! The in-process suite: the server built as the binary builds it (`startup::build`), its
//! app factory (`startup::app`: the same middleware and routes) served on actix's test
//! server (`actix_http_test`) on port 0 in this process, behind an HTTP service with the
//! binary's connection settings (HTTP/1 half-close off, so that a client that goes away is
//! noticed at once), with a manual clock and SQLite in a temporary folder. The registry
//! and the rooms run in the test's actix system, so every timed flow is driven by
//! advancing the clock, never by sleeping, and asserts exact instants. Refusals call the
//! app without a socket (`actix_web::test::init_service`); the clean stop runs on the
//! binary's whole server (`startup::start`). With `PAIRSYNC_TEST_POSTGRES` set, two
//! processes share a PostgreSQL database and the clock for the sweep and the heartbeat.
//! The black-box suite (`tests/api`) stays the final word on the real clock.
//!
//! # Layout
//! - `app`: the app on actix's test server, the socket-less app, and their clients.
//! - `flows`, `breaks`: the contract's timed flows.
//! - `errors`: the refusals.
//! - `stop`: the clean stop's order.
//! - `team`: the team room's rotation, `next`, and the coalescing of `presence`.
//! - `cluster`: the sweep and the heartbeat across two processes (PostgreSQL).
//! - `postgres`: a PostgreSQL database per test.

mod app;
mod breaks;
mod cluster;
mod errors;
mod flows;
mod postgres;
mod stop;
mod team;

#[allow(dead_code)]
#[path = "../api/expect.rs"]
mod expect;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/sse.rs"]
mod sse;
