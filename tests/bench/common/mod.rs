//! What the benchmarks (`fanout`, `storm`, `churn`, `writes`) share: their command lines, the wall
//! clock and precise waits,
//! the server's figures from `/proc` and `/metrics`, a raw HTTP/1.1 + SSE stream reader,
//! requests sent at exact instants from a dedicated thread, the start schedule of the
//! rooms, room creation, and percentiles. Each benchmark includes this directory with
//! `#[path = "../common/mod.rs"] mod common;` and uses the part it needs.

pub mod cli;
pub mod clock;
pub mod dispatch;
pub mod http1;
pub mod metrics;
pub mod net;
pub mod procfs;
pub mod rooms;
pub mod schedule;
pub mod sse;
pub mod stats;
