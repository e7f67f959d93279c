//! The terminal client against the real server: `pairsync new` as a script runs it, and
//! `pairsync watch` in a pseudo-terminal as a person would, over HTTP and HTTPS.

#[allow(dead_code)]
#[path = "../api/expect.rs"]
mod expect;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod https;
mod new;
mod pty;
#[allow(dead_code)]
#[path = "../api/sse.rs"]
mod sse;
mod support;
mod team;
mod watch;
