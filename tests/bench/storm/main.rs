//! Reconnect-storm benchmark: how long after a restart are all streams whole again?
//!
//! It creates `--rooms` rooms on a running pairsync, opens `--streams-per-room` streams on
//! each (raw TCP sockets, as `fanout` does), starts every timer (`--duration-ms`, long
//! enough to run through the whole storm; the start plan is `fanout`'s:
//! `--phase-spread`, `--start-over-ms`), watches the ticks for `--ticking-before-ms`,
//! then asks for a restart: it sends `SIGUSR1` to `--restart-signal PID`, the process that
//! owns the server (`tests/bench/storm.sh`), which sends the server `SIGTERM`, waits for
//! it to exit and starts it again on the same database and port, writing the instants to
//! `--restart-log` (`term US`, `exited US STATUS`, `listening US PID`, epoch µs).
//!
//! Each stream is a client as the contract asks of one that is not a browser: when its
//! stream ends it waits the latest `retry:` delay (the stopping server sends
//! `retry: 250`) and reconnects; a refused connection is tried again after the same delay,
//! an answer other than `200` after its `Retry-After`. Every answer is counted.
//!
//! It reports, from the `SIGTERM`, with percentiles over the streams: when each stream
//! ended, made its first attempt to reconnect, was answered `200` again, had its snapshot
//! (`state`) again, and had its first tick on time after that (at most `--on-time-ms`
//! late, 100 by default); the connection attempts; every answer and connection failure
//! seen; the ticks' lateness before the restart and after each stream came back (with the
//! ticks missed); and the new server's CPU and memory. The goal is every stream greeted
//! again and ticking on time within `--goal-ms` (5000) of the `SIGTERM`.
//!
//! It exits 1 when the run was not clean: a room not created or started, a stream not
//! opened, a stream that ended before the restart, or did not end, come back or have a
//! tick on time after it; an answer other than `200`, `503 too_many_streams` or
//! `503 unavailable`; a tick missed after a stream came back (one due after its new
//! greeting), early or out of order; a running timer whose deadline changed across the
//! restart; an event out of place or an id that did not increase; or the goal not met.
//! Bad arguments exit 2.
//!
//! Arguments: `--url` and `--restart-signal` (required), `--restart-log FILE`, `--rooms`
//! (200), `--streams-per-room` (10), `--duration-ms` (120000), `--source-ips`,
//! `--connect-concurrency` (256), `--phase-spread`, `--start-over-ms` (0),
//! `--http-connections` (64), `--ticking-before-ms` (5000), `--on-time-ms` (100),
//! `--goal-ms` (5000), `--recover-timeout-ms` (60000), `--observe-ms` (3000: ticks
//! watched once every stream has ticked again).

#[path = "../common/mod.rs"]
#[allow(dead_code)] // Each benchmark uses its own part of the shared code.
mod common;

mod args;
mod report;
mod stream;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use args::{usage, Args};
use common::clock::{epoch_us, sleep_until_us};
use common::net::Server;
use common::procfs;
use stream::Shared;

/// How long the streams may take to open before the run goes on without the rest.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);
/// From the decision to start to the base instant of the start plan.
const START_LEAD: Duration = Duration::from_millis(1000);
/// How often the storm's progress is checked, and printed.
const POLL: Duration = Duration::from_millis(20);
const PROGRESS: Duration = Duration::from_secs(1);
/// How often the opening streams are counted.
const OPEN_POLL: Duration = Duration::from_millis(50);
/// An HTTP request of the control side (creations).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Room creations in flight at once.
const CREATE_CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server = Server::from_url(&args.url).unwrap_or_else(|e| usage(&e));
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client");

    let (codes, errors) = common::rooms::create(
        &http,
        &args.url,
        args.rooms,
        args.duration_ms,
        CREATE_CONCURRENCY,
    )
    .await;
    for e in errors.iter().take(5) {
        eprintln!("room creation failed: {e}");
    }
    if codes.is_empty() {
        eprintln!("storm: no room could be created");
        std::process::exit(1);
    }

    let total = codes.len() * args.streams_per_room;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        server: server.clone(),
        open_slots: Semaphore::new(args.connect_concurrency.max(1)),
        stop: stop_rx,
        greeted: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        restart_us: AtomicI64::new(0),
        ended: AtomicUsize::new(0),
        back: AtomicUsize::new(0),
        ticked: AtomicUsize::new(0),
    });
    let open_begin = Instant::now();
    let tasks: Vec<_> = (0..total)
        .map(|i| {
            let source = args.source_ips[i % args.source_ips.len()];
            let path = format!("/api/{}/connect", codes[i % codes.len()]);
            tokio::spawn(stream::run(shared.clone(), source, path))
        })
        .collect();
    while shared.greeted.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < total
        && open_begin.elapsed() < OPEN_TIMEOUT
    {
        tokio::time::sleep(OPEN_POLL).await;
    }
    let open = shared.greeted.load(Ordering::Relaxed);
    let open_time = open_begin.elapsed();
    eprintln!(
        "{open} of {total} streams open in {:.1} s",
        open_time.as_secs_f64()
    );

    let base_us = epoch_us() + i64::try_from(START_LEAD.as_micros()).unwrap_or(0);
    let starts = common::rooms::start_timers(
        std::slice::from_ref(&server),
        &codes,
        (0, codes.len()),
        args.plan,
        base_us,
        args.http_connections,
    )
    .await;
    let last_start_us = starts
        .iter()
        .filter_map(|d| d.answered_us)
        .max()
        .unwrap_or_else(epoch_us);
    sleep_until_us(last_start_us + i64::try_from(args.ticking_before_ms).unwrap_or(0) * 1000).await;

    // The storm.
    let overflows_before = procfs::listen_overflows();
    let restart_us = epoch_us();
    shared.restart_us.store(restart_us, Ordering::Relaxed);
    let signal = std::process::Command::new("kill")
        .arg("-USR1")
        .arg(args.restart_signal.to_string())
        .status();
    if !signal.is_ok_and(|s| s.success()) {
        eprintln!("storm: could not signal process {}", args.restart_signal);
    }
    let storm_begin = Instant::now();
    let mut last_progress = Instant::now();
    let mut recovered = None;
    while storm_begin.elapsed() < Duration::from_millis(args.recover_timeout_ms) {
        let ticked = shared.ticked.load(Ordering::Relaxed);
        if ticked >= open {
            recovered = Some(report::NewServer::sample(&args, epoch_us()));
            break;
        }
        if last_progress.elapsed() >= PROGRESS {
            eprintln!(
                "+{:.1} s: {} streams ended, {} greeted again, {} ticked again",
                storm_begin.elapsed().as_secs_f64(),
                shared.ended.load(Ordering::Relaxed),
                shared.back.load(Ordering::Relaxed),
                ticked
            );
            last_progress = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
    let listen_overflows = procfs::listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    tokio::time::sleep(Duration::from_millis(args.observe_ms)).await;
    let stopped_us = epoch_us();
    stop_tx.send_replace(true);
    let mut outcomes = Vec::with_capacity(total);
    for task in tasks {
        outcomes.push(task.await.expect("a stream task does not panic"));
    }
    let status = report::report(
        &args,
        &report::Run {
            rooms: codes.len(),
            total,
            open,
            open_time,
            starts,
            restart_us,
            stopped_us,
            recovered,
            listen_overflows,
            self_cpu_s: procfs::cpu_seconds_of("self"),
            outcomes,
        },
    );
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(status);
}
