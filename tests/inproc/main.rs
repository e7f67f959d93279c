//! The in-process suite: the real server (the same `startup::start` the binary runs) on
//! port 0 in this process, with a manual clock and SQLite in a temporary folder. Every
//! timed flow is driven by advancing the clock, never by sleeping, and asserts exact
//! instants. The black-box suite (`tests/api`) stays the final word on the real clock.

mod app;
mod breaks;
mod errors;
mod flows;

#[allow(dead_code)]
#[path = "../api/expect.rs"]
mod expect;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/sse.rs"]
mod sse;
