//! The nchan side of the fan-out benchmark: nchan has no timer, so the benchmark is one.
//! Channel `g` gets the deadline `base + offset(g) + duration` (the same start plan as
//! pairsync's rooms: see `common/schedule.rs`), and each of its ticks is published at its
//! exact due instant (`POST /pub/{channel}`, body `"<value> <due epoch µs>"`) by the
//! dispatch thread, which records how late each publish was written and answered.

use crate::args::Args;
use crate::common::dispatch::{self, Done, Job, WarmUp};
use crate::common::net::Server;

/// The channel of room `i` of this run.
pub fn channel(run_tag: i64, i: usize) -> String {
    format!("bench-{run_tag}-{i}")
}

/// Each channel's deadline (epoch µs), channel `i` of `channels`.
pub fn deadlines_us(args: &Args, channels: usize, base_us: i64) -> Vec<i64> {
    (0..channels)
        .map(|i| base_us + args.plan.offset_us(i, channels) + args.duration_ms * 1000)
        .collect()
}

/// Publishes every tick of every channel at its due instant; one [`Done`] per publish.
pub async fn publish_ticks(
    args: &Args,
    server: &Server,
    channels: &[String],
    deadlines_us: &[i64],
    values: &[i64],
    run_tag: i64,
) -> Vec<Done> {
    let jobs: Vec<Job> = channels
        .iter()
        .zip(deadlines_us)
        .flat_map(|(channel, deadline_us)| {
            values.iter().map(move |value| {
                let due_us = deadline_us - value * 1000;
                Job {
                    due_us,
                    server: 0,
                    method: "POST",
                    path: format!("/pub/{channel}"),
                    body: format!("{value} {due_us}"),
                }
            })
        })
        .collect();
    // The warm-up goes to channels of its own: nchan hands a new subscriber the messages
    // its channel holds.
    let warm_up = WarmUp {
        method: "POST",
        path: format!("/pub/bench-{run_tag}-warm-up-{{k}}"),
    };
    let servers = [server.clone()];
    let handle = dispatch::run(&servers, args.http_connections, Some(warm_up), jobs);
    tokio::task::spawn_blocking(move || handle.join())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}
