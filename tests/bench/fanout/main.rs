//! Fan-out benchmark: how late do `remaining-time` ticks reach many open event streams?
//!
//! It targets a server that is already running (it never starts one), opens
//! `rooms × streams-per-room` streams with a small hand-written HTTP/1.1 + SSE reader on
//! raw TCP sockets (one task and one read buffer per stream, nothing more), starts the
//! timers, and for every tick records its lateness: the instant it was read, less the
//! instant it was due. It prints the streams opened, the ticks expected and received, the
//! lateness percentiles, the tick events delivered per second, how evenly the deadlines
//! fall over the second, and (with `--server-pid`) the server's memory per idle stream,
//! the time, wall and CPU to open the streams, and its CPU while ticking.
//!
//! It exits with status 1 when the run was not clean: a room not created or not started, a
//! stream not opened or ended early, a tick missed, early or out of order (every stream
//! must get each value of the countdown once, in decreasing order), an event out of place,
//! an id that did not increase, (nchan) a publish that failed, or (with `--max-p99-ms`)
//! a p99 tick lateness over the bound given. A clean run exits 0; bad arguments exit 2.
//!
//! # Modes
//!
//! - `pairsync` (default): creates `--rooms` rooms (`POST /api/pair-room`), opens
//!   `--streams-per-room` streams on each (`GET /api/{code}/connect`), waits until every
//!   stream has had its `state` greeting, then starts every room's timer
//!   (`PATCH /api/{code}/timer/start`) at its planned instant (see "Start plan"). A tick
//!   `remaining-time: v` is due at `deadlineAt − v`, with `deadlineAt` taken from the
//!   `state` event after `timer: start`. The server computes its own ticks.
//! - `nchan`: the same fan-out on an nginx + nchan server. Streams subscribe to
//!   `GET /sub/{channel}` (one channel per "room"). nchan has no timer, so the benchmark is
//!   one: channel `g` gets the deadline `base + offset(g) + duration` from the same start
//!   plan, and a dedicated OS thread (not the async runtime that reads the streams)
//!   publishes each tick at its exact due instant (`POST /pub/{channel}`, body
//!   `"<value> <due epoch µs>"`) over a pool of keep-alive HTTP/1.1 connections. Lateness
//!   is against the due instant; beside it the report shows the publisher's own lag (the
//!   instant each POST was written, and answered, less its due instant), so that nchan is
//!   not charged for the benchmark's delays. See `docs/PERFORMANCE.md` for the nginx
//!   configuration.
//!
//! # Start plan
//!
//! By default every timer starts at once (one base instant, `--http-connections` starts in
//! flight). `--start-over-ms N` paces the starts evenly over `N` ms; `--phase-spread`
//! starts room `g` of `R` so that its deadline's sub-second phase is `g·1000/R` ms, evenly
//! spread over the whole second as real rooms' are, pacing the starts over
//! `ceil(N / 1000)` whole seconds (one second without `--start-over-ms`). The formula is in
//! `common/schedule.rs`. The starts (pairsync) and the publishes (nchan) are sent at their
//! instants to the microsecond by the dispatch thread (`common/dispatch.rs`), and the
//! report gives their lag.
//!
//! # Running
//!
//! ```text
//! cargo build --release
//! ulimit -n 20000
//! PAIRSYNC_BIND=127.0.0.1:8080 DATABASE_URL=/tmp/bench/pairsync.db RUST_LOG=warn \
//!     PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000 target/release/pairsync &
//! cargo bench --bench fanout -- --url http://127.0.0.1:8080 --rooms 100 \
//!     --streams-per-room 10 --duration-ms 10000 --server-pid $!
//! ```
//!
//! `tests/bench/compare.sh` runs both servers at one size with the same flags.
//!
//! Arguments: `--url` (required), `--rooms` (100), `--streams-per-room` (10),
//! `--duration-ms` (10000), `--source-ips 127.0.0.2,127.0.0.3` (client sockets are bound
//! to these local addresses in turn, each with ~28k ephemeral ports; 127.0.0.1 alone by
//! default), `--mode pairsync|nchan`, `--server-pid PID[,PID…]` (memory and CPU are summed
//! over the list: nginx's master and workers), `--connect-concurrency` (256 connection
//! attempts at once), `--phase-spread`, `--start-over-ms N` (0: all at once; its older
//! name `--spread-ms` is still accepted), `--http-connections` (64 keep-alive connections
//! per server for the starts or the publishes), `--stalled-streams N` (0: N more streams,
//! one on each of the first N rooms, read their greeting and then nothing; they must not
//! delay the other streams, and the report says how many the server had dropped by the
//! end), `--max-p99-ms MS` (none: the run fails when the 99th percentile of the ticks'
//! lateness is over `MS`), and with several servers `--max-spread-p99-ms MS` (one tick's
//! spread across the processes) and `--max-change-p99-ms MS` (a command's way from its
//! request to the other processes' streams), both at the 99th percentile; `--merge`
//! takes the three bounds too.
//! One process may hold at most ~19,900 sockets here: past that, run several benchmark
//! processes with different `--source-ips` (each then starts and reports on its own rooms
//! only, and its memory per stream counts the other processes' streams too).
//!
//! # Several server processes on one database
//!
//! - `--url A,B,C`: rooms are created through `A` and started through each server in turn;
//!   stream `j` of room `r` (counted over all rooms) goes to server
//!   `(r · streams-per-room + j) mod 3`, so each server gets the same share and every room
//!   has streams on every server. Give `--server-pid P1,P2,P3` in the same order for each
//!   process's memory and CPU. Besides the usual figures it prints each process's tick
//!   lateness; the spread of one tick across processes (per room and tick value, the
//!   latest less the earliest of each process's first arrival, and the same over every
//!   stream of the room); and how long a command takes to reach the other processes'
//!   streams: after the ticks, a sample of rooms (`--command-rooms`, 100 by default with
//!   several URLs, else 0) get `PATCH /api/{code}/timer/start` again, one at a time 20 ms
//!   apart, room `r` through server `r mod 3`; each stream on another server must then get
//!   `timer: start`, timed from the command's `204` and from the moment its request was
//!   sent.
//! - `--shard I/N`: this process takes the `I`-th of `N` equal slices of `--rooms`
//!   (creates, streams, starts and commands only those), so `N` processes with different
//!   `--source-ips` share a load too large for one. `--start-at EPOCH_MS` is the base
//!   instant of the start plan, the same for every shard (room `g` is counted over all
//!   shards, so `--phase-spread` and `--start-over-ms` spread all shards' rooms together).
//!   `--samples-out FILE` writes this shard's raw samples (format in `cluster.rs`);
//!   `--merge FILE,FILE…` (and nothing else) reads them all and prints the combined
//!   figures, exiting 1 if any shard's run was not clean. `tests/bench/cluster.sh` does
//!   all of this on three fresh processes.

#[path = "../common/mod.rs"]
#[allow(dead_code)] // Each benchmark uses its own part of the shared code.
mod common;

mod args;
mod cluster;
mod nchan;
mod pairsync;
mod report;
mod stream;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use args::{usage, Args, Mode, HTTP_CONCURRENCY};
use common::clock::{epoch_ms, epoch_us, sleep_until_us};
use common::net::Server;
use common::procfs;
use report::{Measured, Sample, Ticking};
use stream::Shared;

/// How long the streams may take to open before the run goes on without the rest.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);
/// How long after the last deadline the streams keep listening for late ticks.
const LATE_GRACE: Duration = Duration::from_secs(3);
/// Several servers: how long the streams wait for the last command's event.
const COMMAND_GRACE: Duration = Duration::from_secs(2);
/// Between the rooms' creation and the memory sampled before the streams.
const SETTLE_BEFORE_STREAMS: Duration = Duration::from_millis(500);
/// Between the last stream's greeting and the memory sampled with the streams.
const SETTLE_WITH_STREAMS: Duration = Duration::from_millis(1000);
/// From the decision to start to the base instant of the plan: time for the dispatch
/// thread to open and warm its connections.
const START_LEAD: Duration = Duration::from_millis(1000);
/// How often the opening streams are counted, and how often their progress is printed.
const OPEN_POLL: Duration = Duration::from_millis(50);
const OPEN_PROGRESS: Duration = Duration::from_secs(5);
/// An HTTP request of the control side (creations, commands, `/metrics`).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if !args.merge.is_empty() {
        std::process::exit(cluster::merge(&args.merge, &args));
    }
    let servers: Vec<Server> = args
        .urls
        .iter()
        .map(|url| Server::from_url(url).unwrap_or_else(|e| usage(&e)))
        .collect();
    let (first_room, shard_rooms) = args.shard_rooms();
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let tick_values = args.tick_values();
    let run_tag = epoch_ms();

    // Rooms (or channels) first, so that the memory sampled next holds no stream yet.
    let (codes, paths): (Vec<String>, Vec<String>) = match args.mode {
        Mode::Pairsync => {
            let (codes, errors) = common::rooms::create(
                &http,
                &args.url,
                shard_rooms,
                args.duration_ms,
                HTTP_CONCURRENCY,
            )
            .await;
            for e in errors.iter().take(5) {
                eprintln!("room creation failed: {e}");
            }
            let paths = codes.iter().map(|c| format!("/api/{c}/connect")).collect();
            (codes, paths)
        }
        Mode::Nchan => {
            let channels: Vec<String> = (0..args.rooms)
                .map(|i| nchan::channel(run_tag, i))
                .collect();
            let paths = channels.iter().map(|c| format!("/sub/{c}")).collect();
            (channels, paths)
        }
    };
    if codes.is_empty() {
        eprintln!("fanout: no room could be created");
        std::process::exit(1);
    }
    tokio::time::sleep(SETTLE_BEFORE_STREAMS).await;
    let before_open = Sample::take(&args.server_pids);
    let dropped_before = stalled_dropped(&http, &args).await;

    // Open the streams, spread over the rooms and the source addresses.
    let total = codes.len() * args.streams_per_room;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        mode: args.mode,
        servers: servers.clone(),
        greeted: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        open_slots: Semaphore::new(args.connect_concurrency.max(1)),
        stop: stop_rx,
    });
    let open_begin = Instant::now();
    // Stream `i` is stream `i / rooms` of room `i % rooms`.
    let placement: Vec<(usize, usize)> = (0..total)
        .map(|i| {
            let room = i % paths.len();
            (room, args.server_of(first_room + room, i / paths.len()))
        })
        .collect();
    let tasks: Vec<_> = placement
        .iter()
        .enumerate()
        .map(|(i, (room, server))| {
            let source = args.source_ips[i % args.source_ips.len()];
            let path = paths[*room].clone();
            tokio::spawn(stream::run_stream(shared.clone(), source, *server, path))
        })
        .collect();
    let mut last_report = Instant::now();
    loop {
        let greeted = shared.greeted.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        if greeted + failed >= total || open_begin.elapsed() > OPEN_TIMEOUT {
            break;
        }
        if last_report.elapsed() > OPEN_PROGRESS {
            eprintln!("… {greeted} streams open, {failed} failed");
            last_report = Instant::now();
        }
        tokio::time::sleep(OPEN_POLL).await;
    }
    let open_time = open_begin.elapsed();
    let open = shared.greeted.load(Ordering::Relaxed);
    let opened = Sample::take(&args.server_pids);
    let stalled_tasks: Vec<_> = (0..args.stalled_streams)
        .map(|k| {
            let room = k % paths.len();
            let source = args.source_ips[(total + k) % args.source_ips.len()];
            let server = args.server_of(first_room + room, args.streams_per_room + k);
            tokio::spawn(stream::run_stalled(
                shared.clone(),
                source,
                server,
                paths[room].clone(),
            ))
        })
        .collect();
    tokio::time::sleep(SETTLE_WITH_STREAMS).await;

    // The base instant of the start plan.
    let base_us = match args.start_at_ms {
        Some(at_ms) => {
            let late_ms = epoch_ms() - at_ms;
            if late_ms > 0 {
                eprintln!("fanout: the streams opened {late_ms} ms after --start-at");
            }
            at_ms * 1000
        }
        None => epoch_us() + i64::try_from(START_LEAD.as_micros()).unwrap_or(0),
    };
    sleep_until_us(base_us - i64::try_from(START_LEAD.as_micros()).unwrap_or(0) / 2).await;
    let before_ticks = Sample::take(&args.server_pids);
    let self_before = procfs::cpu_seconds_of("self");

    // Run the timers; sample the CPU over the stretch where every timer runs.
    let server_ticks_before = match args.mode {
        Mode::Pairsync => pairsync::server_tick_lateness(&http, &args.urls).await,
        Mode::Nchan => None,
    };
    let ticks_begin = Instant::now();
    let duration_us = args.duration_ms * 1000;
    let mut run = report::TimerRun::default();
    let ticking = match args.mode {
        Mode::Pairsync => {
            let starts = pairsync::start_timers(&args, &servers, &codes, first_room, base_us).await;
            let all_running = Sample::take(&args.server_pids);
            let all_running_us = epoch_us();
            let first_answer = starts.done.iter().filter_map(|d| d.answered_us).min();
            let last_answer = starts.last_answer_us().unwrap_or(all_running_us);
            let first_deadline_us = first_answer.map_or(all_running_us, |a| a + duration_us);
            let ticking = Ticking::measure(
                &args.server_pids,
                all_running,
                all_running_us,
                first_deadline_us,
            )
            .await;
            sleep_until_us(last_answer + duration_us).await;
            run.starts = Some(starts);
            ticking
        }
        Mode::Nchan => {
            let deadlines = nchan::deadlines_us(&args, codes.len(), base_us);
            let publisher = {
                let (args, server, codes, values, deadlines) = (
                    args.clone(),
                    servers[0].clone(),
                    codes.clone(),
                    tick_values.clone(),
                    deadlines.clone(),
                );
                tokio::spawn(async move {
                    nchan::publish_ticks(&args, &server, &codes, &deadlines, &values, run_tag).await
                })
            };
            let all_running_us = base_us + args.plan.span_us(codes.len());
            sleep_until_us(all_running_us).await;
            let all_running = Sample::take(&args.server_pids);
            let first_deadline_us = deadlines.iter().min().copied().unwrap_or(all_running_us);
            let ticking = Ticking::measure(
                &args.server_pids,
                all_running,
                all_running_us,
                first_deadline_us,
            )
            .await;
            run.publishes = Some(publisher.await.unwrap_or_default());
            run.deadlines_us = deadlines;
            ticking
        }
    };
    tokio::time::sleep(LATE_GRACE).await;
    let tick_wall = ticks_begin.elapsed();
    let after_ticks = Sample::take(&args.server_pids);
    let self_after = procfs::cpu_seconds_of("self");
    if args.command_rooms() > 0 && args.mode == Mode::Pairsync {
        run.commands = pairsync::send_commands(&http, &args, &codes, first_room).await;
        tokio::time::sleep(COMMAND_GRACE).await;
    }
    let dropped_after = stalled_dropped(&http, &args).await;
    stop_tx.send_replace(true);
    let server_ticks_after = match args.mode {
        Mode::Pairsync => pairsync::server_tick_lateness(&http, &args.urls).await,
        Mode::Nchan => None,
    };

    let mut outcomes = Vec::with_capacity(total);
    for task in tasks {
        outcomes.push(task.await.expect("a stream task does not panic"));
    }
    let mut stalled = Vec::with_capacity(stalled_tasks.len());
    for task in stalled_tasks {
        stalled.push(task.await.unwrap_or_default());
    }
    let measured = Measured {
        rooms: codes.len(),
        shard_rooms,
        total,
        open,
        open_time,
        before_open,
        opened,
        before_ticks,
        after_ticks,
        ticking,
        tick_wall,
        self_cpu: self_before.zip(self_after).map(|(a, b)| b - a),
        server_ticks: server_ticks_before.zip(server_ticks_after),
        stalled,
        stalled_dropped: dropped_before
            .zip(dropped_after)
            .map(|(a, b)| b.saturating_sub(a)),
        run,
        placement,
        outcomes,
        tick_values,
    };
    let status = report::report(&args, &measured);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // Dropping the runtime with 18k sockets is slow to no purpose.
    std::process::exit(status);
}

/// pairsync's count of streams dropped for not reading (summed over the servers), when
/// stalled streams are part of the run.
async fn stalled_dropped(http: &reqwest::Client, args: &Args) -> Option<u64> {
    if args.stalled_streams == 0 || args.mode != Mode::Pairsync {
        return None;
    }
    let mut total = 0;
    for url in &args.urls {
        let m = common::metrics::scrape(http, url).await?;
        total += m.count("pairsync_streams_dropped_total");
    }
    Some(total)
}
