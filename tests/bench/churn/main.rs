//! Churn benchmark: does pairsync give back what rooms and streams took, over many
//! lives?
//!
//! It runs `--cycles` cycles (100,000 by default; or as many as `--run-for-ms` allows),
//! `--concurrency` at once (8), of a room's whole life: `POST /api/pair-room` → open
//! `--streams-per-room` streams (1) and read each greeting → `PATCH …/timer/start` and read
//! `timer: start` and its `state` on every stream → close the streams → `DELETE` the room.
//! `--forget-percent` of the rooms (10, evenly spread over the cycles) are not deleted but
//! left, their timer running, for the server to forget: their timer pauses
//! `PAIRSYNC_PAUSE_WHEN_EMPTY` ms after their last stream closed, and the room is unloaded
//! `PAIRSYNC_ROOM_IDLE_MS` ms later (`tests/bench/churn.sh` lowers both to 2 s).
//!
//! For the soak (`tests/soak/run.sh`) a cycle can do more: `--pause` (pause the running
//! timer and start it again, reading `timer: pause` and the new start on every stream),
//! `--hold-ms MS` (watch the running timer's ticks that long: each tick's lateness, the
//! ticks missed, early or out of order), `--reconnect` (close one stream and open it again:
//! its snapshot must carry the running timer's deadline), and `--rate PER_S` (most cycles
//! started per second).
//!
//! Every `--sample-every` cycles (10,000) and every `--sample-every-ms` (off) it prints a
//! point of the curve: cycles done and per second, the server's live rooms and streams
//! (`pairsync_rooms_live`, `pairsync_sse_streams` in `/metrics`), its open files (entries
//! of `/proc/PID/fd`) and its RSS, and the errors so far. At the end it waits up to
//! `--settle-ms` (30000) for the live rooms and streams to reach 0, prints a last point
//! and checks, printing pass or FAIL for each:
//! - no cycle failed (every answer and event as the contract says; failures are listed
//!   by kind);
//! - live rooms back to 0, and streams back to 0;
//! - open files flat: at most `--fd-slack` (8) more than before the first cycle;
//! - RSS growth after the first sampled point under `--rss-growth-percent` (10): the
//!   highest RSS of the later points against that first one.
//!
//! `--settle-ms 0` skips the end checks but the first (the soak checks its server
//! itself). It exits 1 when a check failed, 2 on bad arguments.
//!
//! Arguments: `--url` and `--server-pid` (required), `--cycles`, `--run-for-ms`,
//! `--rate`, `--concurrency`, `--streams-per-room`, `--forget-percent`, `--duration-ms`
//! (the rooms' timer, 60000), `--hold-ms`, `--pause`, `--reconnect`, `--sample-every`,
//! `--sample-every-ms`, `--settle-ms`, `--rss-growth-percent`, `--fd-slack`,
//! `--source-ips` (127.0.0.1).

#[path = "../common/mod.rs"]
#[allow(dead_code)] // Each benchmark uses its own part of the shared code.
mod common;

mod args;
mod conn;
mod cycle;
mod sampler;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use args::{usage, Args};
use common::net::Server;
use common::stats::lateness_line;
use sampler::Point;

/// How often the sampler looks at the cycles done.
const SAMPLER_POLL: Duration = Duration::from_millis(100);
/// How often the end polls the server while it settles.
const SETTLE_POLL: Duration = Duration::from_millis(250);
/// A scrape of `/metrics`, and one command of a cycle.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Kinds of failure printed at the end.
const ERRORS_SHOWN: usize = 10;

/// What the cycles add up to.
#[derive(Default)]
struct Totals {
    done: AtomicUsize,
    failed_steps: AtomicUsize,
    errors: Mutex<BTreeMap<String, usize>>,
    lateness_us: Mutex<Vec<i64>>,
    missed: AtomicUsize,
    out_of_order: AtomicUsize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server = Server::from_url(&args.url).unwrap_or_else(|e| usage(&e));
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The probe holds no connection between samples, so that it does not count among the
    // server's open files.
    let probe = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client");
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let begin = Instant::now();
    let before = sampler::point(&probe, &args.url, args.server_pid, "before", 0, begin, 0).await;
    println!(
        "churn: {} against {} (pid {}), {} at once, {} stream(s) per room, {} % forgotten{}{}{}",
        if args.cycles > 0 {
            format!("{} cycles", args.cycles)
        } else {
            format!("cycles for {} ms", args.run_for_ms)
        },
        args.url,
        args.server_pid,
        args.concurrency,
        args.streams_per_room,
        args.forget_percent,
        if args.pause { ", pause and start" } else { "" },
        if args.hold_ms > 0 {
            format!(", ticks watched {} ms", args.hold_ms)
        } else {
            String::new()
        },
        if args.reconnect {
            ", one reconnect"
        } else {
            ""
        },
    );
    println!("{}", sampler::header());
    println!("{}", before.row());

    let ctx = Arc::new(cycle::Context {
        args: args.clone(),
        server,
        http,
    });
    let totals = Arc::new(Totals::default());
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (ctx, totals, next) = (ctx.clone(), totals.clone(), next.clone());
            tokio::spawn(async move { work(&ctx, &totals, &next, begin).await })
        })
        .collect();
    let finished = Arc::new(AtomicBool::new(false));
    let sampling = {
        let (probe, args, totals, finished) = (
            probe.clone(),
            args.clone(),
            totals.clone(),
            finished.clone(),
        );
        tokio::spawn(async move { sample(&probe, &args, &totals, &finished, begin).await })
    };
    for worker in workers {
        let _ = worker.await;
    }
    finished.store(true, Ordering::Relaxed);
    let mut curve = sampling.await.unwrap_or_default();
    // Close the cycles' keep-alive connections before the server's files are counted.
    drop(ctx);
    let done = totals.done.load(Ordering::Relaxed);
    let failed = totals.failed_steps.load(Ordering::Relaxed);
    let end = sampler::point(
        &probe,
        &args.url,
        args.server_pid,
        "end",
        done,
        begin,
        failed,
    )
    .await;
    println!("{}", end.row());
    curve.push(end);

    let errors = totals.errors.lock().map(|e| e.clone()).unwrap_or_default();
    let mut kinds: Vec<(&String, &usize)> = errors.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    for (kind, n) in kinds.iter().take(ERRORS_SHOWN) {
        println!("  failed ×{n}: {kind}");
    }
    let missed = totals.missed.load(Ordering::Relaxed);
    let out_of_order = totals.out_of_order.load(Ordering::Relaxed);
    if args.hold_ms > 0 {
        let mut lateness = totals
            .lateness_us
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        lateness.sort_unstable();
        let early = lateness.iter().filter(|l| **l < 0).count();
        println!(
            "ticks watched: {} (missed {missed}, early {early}, out of order {out_of_order})",
            lateness.len()
        );
        println!("tick lateness ms: {}", lateness_line(&lateness));
    }

    let mut checks = vec![sampler::Check {
        what: "no cycle failed".into(),
        passed: failed == 0 && missed == 0 && out_of_order == 0,
        detail: format!(
            "{failed} failed steps in {done} cycles, {missed} ticks missed, {out_of_order} out \
             of order"
        ),
    }];
    if args.settle_ms > 0 {
        let settle_begin = Instant::now();
        let settled = loop {
            let p = sampler::point(
                &probe,
                &args.url,
                args.server_pid,
                "settled",
                done,
                begin,
                failed,
            )
            .await;
            let quiet = p.rooms_live == Some(0) && p.streams == Some(0);
            if quiet || settle_begin.elapsed() >= Duration::from_millis(args.settle_ms) {
                break p;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        };
        println!("{}", settled.row());
        let sampled: Vec<Point> = curve
            .iter()
            .filter(|p| p.label == "sample")
            .cloned()
            .collect();
        checks.extend(sampler::checks(
            &before,
            &sampled,
            &settled,
            args.fd_slack,
            args.rss_growth_percent,
        ));
    }
    let mut status = 0;
    for check in &checks {
        println!(
            "check: {}: {} ({})",
            check.what,
            if check.passed { "pass" } else { "FAIL" },
            check.detail
        );
        if !check.passed {
            status = 1;
        }
    }
    println!(
        "result: {}",
        if status == 0 { "clean run" } else { "FAILED" }
    );
    std::process::exit(status);
}

/// One worker: takes the next cycle until there is none left, at the rate asked for.
async fn work(ctx: &cycle::Context, totals: &Totals, next: &AtomicUsize, begin: Instant) {
    let args = &ctx.args;
    let run_for = Duration::from_millis(args.run_for_ms);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if args.cycles > 0 && i >= args.cycles {
            return;
        }
        if args.rate > 0.0 {
            let at = begin + Duration::from_secs_f64(i as f64 / args.rate);
            tokio::time::sleep_until(at.into()).await;
        }
        if args.run_for_ms > 0 && begin.elapsed() >= run_for {
            return;
        }
        let source = args.source_ips[i % args.source_ips.len()];
        let result = cycle::run(ctx, i, source).await;
        if !result.errors.is_empty() {
            totals
                .failed_steps
                .fetch_add(result.errors.len(), Ordering::Relaxed);
            if let Ok(mut errors) = totals.errors.lock() {
                for e in result.errors {
                    *errors.entry(e).or_default() += 1;
                }
            }
        }
        let w = result.watched;
        totals.missed.fetch_add(w.missed, Ordering::Relaxed);
        totals
            .out_of_order
            .fetch_add(w.out_of_order, Ordering::Relaxed);
        if !w.lateness_us.is_empty() {
            if let Ok(mut l) = totals.lateness_us.lock() {
                l.extend(w.lateness_us);
            }
        }
        totals.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Prints and keeps a point every `--sample-every` cycles and every `--sample-every-ms`,
/// until the workers have finished.
async fn sample(
    probe: &reqwest::Client,
    args: &Args,
    totals: &Totals,
    finished: &AtomicBool,
    begin: Instant,
) -> Vec<Point> {
    let mut curve = Vec::new();
    let mut next_cycles = args.sample_every;
    let every = Duration::from_millis(args.sample_every_ms);
    let mut next_time = every;
    while !finished.load(Ordering::Relaxed) {
        let done = totals.done.load(Ordering::Relaxed);
        let by_cycles = args.sample_every > 0 && done >= next_cycles;
        let by_time = args.sample_every_ms > 0 && begin.elapsed() >= next_time;
        if by_cycles || by_time {
            while args.sample_every > 0 && next_cycles <= done {
                next_cycles += args.sample_every;
            }
            while args.sample_every_ms > 0 && next_time <= begin.elapsed() {
                next_time += every;
            }
            let failed = totals.failed_steps.load(Ordering::Relaxed);
            let p = sampler::point(
                probe,
                &args.url,
                args.server_pid,
                "sample",
                done,
                begin,
                failed,
            )
            .await;
            println!("{}", p.row());
            curve.push(p);
        }
        tokio::time::sleep(SAMPLER_POLL).await;
    }
    curve
}
