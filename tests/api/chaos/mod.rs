//! Chaos on PostgreSQL: three processes on one database behind nginx (docs/nginx.conf with
//! the upstream block of docs/nginx-cluster.conf), rooms watched by streams that reconnect
//! as a browser's `EventSource` does, a writer per room sending every kind of room command
//! through nginx (back to back around each kill), and every 20 s one process after the
//! other killed with SIGKILL and started again 3 s later on the same port. It holds that:
//! - every acknowledged command is in the room read back right after it and at the end
//!   (members and their order, `round`, duration, and running, paused or idle as the
//!   acknowledged commands and the time-ups between them make it; see `model`);
//!   a refusal is the one they predict; a command answered neither way (the process died
//!   with it) either happened or not, as read once PostgreSQL has ended the dead process's
//!   sessions (it commits a transaction whose `COMMIT` had arrived, maybe after the
//!   proxy's 502); a member's leave answered `404` during a kill may
//!   have happened (nginx sends a failed `DELETE` again to the next process);
//! - every stream that was on a killed process has, within 3 s of the kill, reconnected
//!   and ticked on the right second again (or been told its timer is not running);
//! - no tick ever arrives before the instant its room's `deadlineAt` gives it;
//! - no 5xx answer comes except within 3 s after a kill;
//! - and it prints its figures at the end.
//!
//! It runs only with `PAIRSYNC_TEST_CHAOS` and `PAIRSYNC_TEST_POSTGRES` set (its load
//! would disturb the timed checks of the tests running beside it), for
//! `PAIRSYNC_CHAOS_SECS` seconds (120 by default); otherwise it says that it did not run
//! (see `helpers::skipped`). tests/README.md says how to run it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;
use tokio::sync::watch;

use self::model::{Clock, Command as RoomCommand, Dice, Room, CLOCK_TOLERANCE_MS};
use crate::expect::{now_us, TIMER_LATE_MS};
use crate::helpers::{postgres_admin, postgres_url, skipped, POSTGRES_ENV};
use crate::sse::EventStream;

const TEST_NAME: &str = "chaos::three_processes_killed_in_turn_behind_nginx_lose_nothing_acknowledged_and_every_stream_ticks_on_time_again";

/// Set (to anything) to run the chaos test.
const CHAOS_ENV: &str = "PAIRSYNC_TEST_CHAOS";

/// How long the chaos lasts, in seconds.
const SECS_ENV: &str = "PAIRSYNC_CHAOS_SECS";
const DEFAULT_SECS: u64 = 120;

/// The seed of the writer's choices (a run can be repeated with it); by default the clock.
const SEED_ENV: &str = "PAIRSYNC_CHAOS_SEED";

/// Another server binary to run (e.g. `target/release/pairsync`); by default the one cargo
/// built for the suite.
const BIN_ENV: &str = "PAIRSYNC_BIN";

const PROCESSES: usize = 3;
const ROOMS: usize = 30;
const STREAMS_PER_ROOM: usize = 8;

/// One process is killed every this often…
const KILL_EVERY: Duration = Duration::from_secs(20);
/// …and started again this long after.
const RESTART_AFTER: Duration = Duration::from_secs(3);
/// After a kill, 5xx answers are allowed for this long, and within it every stream that was
/// on the killed process ticks on the right second again.
const KILL_WINDOW_MS: i64 = 3_000;
/// A stream that ends this soon after a kill was on the killed process.
const ENDED_BY_KILL_MS: i64 = 1_500;

/// Each room has a writer of its own, which sends it a command about this often…
const COMMAND_PAUSE_MS: u64 = 3_000;
/// …except from this long before each kill…
const STORM_BEFORE: Duration = Duration::from_millis(500);
/// …to this long after it, when every writer sends its commands one right after the
/// other, so that commands are in flight on the process when it dies.
const STORM_AFTER: Duration = Duration::from_millis(100);

/// The longest a command or a read may take (a request to a killed process fails at once).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the writer keeps trying to read a room back.
const READ_BACK_FOR: Duration = Duration::from_secs(30);
/// The longest a process may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Turn lengths the rooms are made with and set to: some short enough to time up often.
const DURATIONS: [i64; 7] = [4_000, 6_000, 9_000, 15_000, 30_000, 60_000, 600_000];
/// The names members are drawn from.
const NAMES: [&str; 14] = [
    "Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Max", "Ned",
];
const ADMIN_TOKEN: &str = "chaos-token";

/// The 5xx answers seen, by anyone: when (epoch µs) and what.
type Fives = Arc<Mutex<Vec<(i64, String)>>>;

fn note_five(fives: &Fives, at: i64, what: String) {
    if let Ok(mut f) = fives.lock() {
        f.push((at, what));
    }
}

fn now_ms() -> i64 {
    now_us() / 1000
}

mod cluster;
mod figures;
pub mod model;
mod streams;
mod writer;

use cluster::*;
use figures::*;
use streams::*;
use writer::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_killed_in_turn_behind_nginx_lose_nothing_acknowledged_and_every_stream_ticks_on_time_again(
) {
    if std::env::var_os(CHAOS_ENV).is_none() {
        skipped(
            TEST_NAME,
            &format!(
                "{CHAOS_ENV} is not set; it runs alone, in a CI step of its own (its load \
                 would disturb the timed checks of the tests beside it)"
            ),
        );
        return;
    }
    let Ok(admin) = std::env::var(POSTGRES_ENV) else {
        skipped(
            TEST_NAME,
            &format!("{POSTGRES_ENV} is not set; three processes need one PostgreSQL database"),
        );
        return;
    };
    let secs = std::env::var(SECS_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(DEFAULT_SECS);
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| now_us() as u64);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cluster = Cluster::start(&admin).await;
    let base = cluster.base.clone();
    let commands = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client");
    let streams_client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let fives: Fives = Arc::default();
    let mut dice = Dice::new(seed);
    let (stop, stopping) = watch::channel(false);
    let clock = tokio::spawn(watch_clock(stopping.clone()));

    // The rooms, made through nginx: two to four members, and turns of every length.
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let n = 2 + dice.below(3) as usize;
        let first = dice.below(NAMES.len() as u64) as usize;
        let members: Vec<String> = (0..n)
            .map(|k| NAMES[(first + k) % NAMES.len()].to_string())
            .collect();
        let duration = DURATIONS[i % DURATIONS.len()];
        let body = if n == 2 && i % 2 == 0 {
            json!({"driver": members[0], "navigator": members[1], "timerDuration": duration})
        } else {
            json!({"members": members, "timerDuration": duration})
        };
        let (outcome, _, _) =
            exchange(&commands, &base, "POST", "/api/pair-room", Some(&body)).await;
        let code = match outcome {
            Ok((201, answer)) => answer["accessCode"]
                .as_str()
                .expect("an access code")
                .to_string(),
            other => panic!("create a room through nginx: {other:?}"),
        };
        let model = Room {
            members,
            duration,
            round: 0,
            clock: Clock::Idle,
        };
        rooms.push((code, model));
    }

    // Eight streams per room through nginx, each reconnecting whenever it ends.
    let mut logs = Vec::new();
    let mut readers = Vec::new();
    for (code, _) in &rooms {
        for _ in 0..STREAMS_PER_ROOM {
            let log = Arc::new(Mutex::new(StreamLog::default()));
            readers.push(tokio::spawn(watch_room(
                streams_client.clone(),
                format!("{base}/api/{code}/connect"),
                log.clone(),
                fives.clone(),
                stopping.clone(),
            )));
            logs.push((code.clone(), log));
        }
    }
    let greeted = Instant::now();
    while !logs.iter().all(|(_, l)| {
        l.lock()
            .is_ok_and(|l| l.marks.iter().any(|m| matches!(m, Mark::State { .. })))
    }) {
        assert!(
            greeted.elapsed() < Duration::from_secs(30),
            "not every stream was greeted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A writer for each room, and the kills: every KILL_EVERY, as long as each kill's
    // restart and window end before the run does.
    let began = now_us();
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let kill_at: Vec<Instant> = (1..)
        .map(|k| KILL_EVERY * k)
        .take_while(|at| {
            *at + RESTART_AFTER + Duration::from_millis(KILL_WINDOW_MS as u64 + 2_000)
                <= Duration::from_secs(secs)
        })
        .map(|at| started + at)
        .collect();
    let kill_at = Arc::new(kill_at);
    let killed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let mut writers = Vec::new();
    for (w, room) in rooms.iter().enumerate() {
        let writer = Writer {
            kills: kill_at.clone(),
            killed: killed.clone(),
            client: commands.clone(),
            base: base.clone(),
            rooms: vec![room.clone()],
            dice: Dice::new(seed.wrapping_add(w as u64 + 1).wrapping_mul(0x9E37_79B9)),
            fives: fives.clone(),
            dead: cluster.dead.clone(),
            report: WriterReport::default(),
        };
        writers.push(tokio::spawn(writer.run(end)));
    }
    let mut kills: Vec<(usize, i64, Duration)> = Vec::new();
    // Each process's count of the streams it dropped, read before it dies and at the end.
    let mut dropped = 0.0;
    for (k, at) in kill_at.iter().enumerate() {
        let victim = k % PROCESSES;
        tokio::time::sleep_until((*at - Duration::from_millis(100)).into()).await;
        dropped += dropped_streams(&commands, &cluster.direct(victim)).await;
        tokio::time::sleep_until((*at).into()).await;
        if let Ok(mut k) = killed.lock() {
            k.push(now_ms());
        }
        let killed = cluster.kill(victim);
        tokio::time::sleep(RESTART_AFTER).await;
        let took = cluster.launch(victim).await;
        kills.push((victim, killed, took));
    }
    tokio::time::sleep_until(end.into()).await;
    let mut report = WriterReport::default();
    let mut models = Vec::new();
    for writer in join_all(writers).await {
        let (r, mine) = writer.expect("a writer ran to its end");
        report.sent += r.sent;
        for (k, n) in r.acked {
            *report.acked.entry(k).or_default() += n;
        }
        report.refused_as_predicted += r.refused_as_predicted;
        report.unanswered_applied += r.unanswered_applied;
        report.unanswered_not_applied += r.unanswered_not_applied;
        report.longest_dead_wait = report.longest_dead_wait.max(r.longest_dead_wait);
        report.retried_by_proxy += r.retried_by_proxy;
        report.transport_errors.extend(r.transport_errors);
        report.failures.extend(r.failures);
        models.extend(mine);
    }
    let ended = now_us();
    for i in 0..PROCESSES {
        dropped += dropped_streams(&commands, &cluster.direct(i)).await;
    }

    // Every room read back, through nginx and from each process itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut bases = vec![("nginx".to_string(), base.clone())];
    bases.extend((0..PROCESSES).map(|i| (format!("process {i}"), cluster.direct(i))));
    let mut final_reads = 0;
    for (code, model) in &models {
        for (name, b) in &bases {
            match read_room(&commands, b, code, &fives, &mut report.transport_errors).await {
                Ok((room, sent, answered)) => {
                    let allowed = model.at(sent, answered);
                    if allowed.iter().any(|c| c.matches(&room)) {
                        final_reads += 1;
                    } else {
                        report.failures.push(format!(
                            "at the end, through {name}, the room {code} is {room}, not as its \
                             acknowledged commands left it: {allowed:?}"
                        ));
                    }
                }
                Err(why) => report
                    .failures
                    .push(format!("at the end, through {name}: {why}")),
            }
        }
    }
    let _ = stop.send(true);
    let steps = clock.await.unwrap_or_default();
    for reader in readers {
        if let Err(e) = reader.await {
            report
                .failures
                .push(format!("a stream's reader failed: {e}"));
        }
    }

    // The streams: ticks, reconnections, and each kill's recovery.
    let kill_instants: Vec<i64> = kills.iter().map(|(_, at, _)| *at).collect();
    let mut lates = Vec::new();
    let mut early = Vec::new();
    let mut time_up_lates = Vec::new();
    let (mut connections, mut refused, mut failed) = (0, Vec::new(), 0);
    let mut ends_by_kill = 0;
    let mut other_ends = Vec::new();
    let mut over_allowance_outside = 0;
    let mut ids_out_of_order = 0;
    let mut recoveries: Vec<i64> = Vec::new();
    let mut on_killed = 0;
    let mut time_ups = std::collections::BTreeSet::new();
    let mut unrecovered = Vec::new();
    for (code, log) in &logs {
        let log = log.lock().expect("stream log");
        ids_out_of_order += log.ids_out_of_order;
        for m in &log.marks {
            match *m {
                Mark::Open => connections += 1,
                Mark::Refused(status) => refused.push(status),
                Mark::Failed => failed += 1,
                Mark::End(at) => {
                    if kill_instants
                        .iter()
                        .any(|k| at >= *k && at <= k + ENDED_BY_KILL_MS * 1000)
                    {
                        ends_by_kill += 1;
                    } else if at < ended {
                        other_ends.push(at);
                    }
                }
                Mark::Tick { at, late } => {
                    lates.push(late);
                    if late < -CLOCK_TOLERANCE_MS * 1000 {
                        early.push(format!("{code}: a tick {:.1} ms early", -ms(late)));
                    }
                    if late > TIMER_LATE_MS * 1000 && !after_a_kill(&kill_instants, at) {
                        over_allowance_outside += 1;
                    }
                }
                Mark::TimeUp { deadline, late } => {
                    time_up_lates.push(late);
                    time_ups.insert((code.clone(), deadline));
                }
                Mark::State { .. } => {}
            }
        }
        for &kill in &kill_instants {
            let Some(from) = log.marks.iter().position(|m| {
                matches!(m, Mark::End(at) if *at >= kill && *at <= kill + ENDED_BY_KILL_MS * 1000)
            }) else {
                continue;
            };
            on_killed += 1;
            let mut open = false;
            let back = log.marks[from..].iter().find_map(|m| match *m {
                Mark::Open => {
                    open = true;
                    None
                }
                Mark::Tick { at, late }
                    if open
                        && (-CLOCK_TOLERANCE_MS * 1000..=TIMER_LATE_MS * 1000).contains(&late) =>
                {
                    Some(at)
                }
                Mark::State { at, running: false } if open => Some(at),
                _ => None,
            });
            match back {
                Some(at) if at - kill <= KILL_WINDOW_MS * 1000 => recoveries.push(at - kill),
                Some(at) => {
                    recoveries.push(at - kill);
                    unrecovered.push(format!(
                        "{code}: a stream on the process killed at +{:.1} s ticked on the \
                         right second again only {:.0} ms after the kill",
                        ms(kill - began) / 1000.0,
                        ms(at - kill)
                    ));
                }
                None => unrecovered.push(format!(
                    "{code}: a stream on the process killed at +{:.1} s never ticked on the \
                     right second again",
                    ms(kill - began) / 1000.0
                )),
            }
        }
    }
    lates.sort_unstable();
    time_up_lates.sort_unstable();
    recoveries.sort_unstable();
    let fives = fives.lock().expect("5xx list").clone();
    let stray_fives: Vec<String> = fives
        .iter()
        .filter(|(at, _)| !after_a_kill(&kill_instants, *at))
        .map(|(at, what)| format!("+{:.3} s {what}", ms(at - began) / 1000.0))
        .collect();

    // The figures.
    let rel = |at: i64| format!("+{:.1} s", ms(at - began) / 1000.0);
    println!("chaos: the figures");
    println!(
        "  run: {secs} s, {PROCESSES} processes on one PostgreSQL behind nginx, {ROOMS} rooms × \
         {STREAMS_PER_ROOM} streams, a writer per room, seed {seed}, binary {}",
        cluster.bin.display()
    );
    println!(
        "  kills (SIGKILL, restarted {} s later on the same port): {}",
        RESTART_AFTER.as_secs(),
        kills
            .iter()
            .map(|(p, at, took)| format!(
                "process {p} at {} (listening {} ms after its restart)",
                rel(*at),
                took.as_millis()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let acked: usize = report.acked.values().sum();
    println!(
        "  commands: {} sent, {acked} acknowledged ({}), {} refused as predicted (409), \
         {} unanswered (5xx or no answer: {} found applied, {} not, each read once PostgreSQL \
         had ended the killed process's sessions, at most {} ms later), {} leaves answered \
         404 after nginx sent them again to another process (the first attempt had applied \
         them)",
        report.sent,
        report
            .acked
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.refused_as_predicted,
        report.unanswered_applied + report.unanswered_not_applied,
        report.unanswered_applied,
        report.unanswered_not_applied,
        report.longest_dead_wait.as_millis(),
        report.retried_by_proxy,
    );
    println!(
        "  final reads matching the acknowledged commands: {final_reads} of {} ({} rooms \
         through nginx and each process)",
        models.len() * bases.len(),
        models.len()
    );
    println!(
        "  5xx: {} ({}), outside {KILL_WINDOW_MS} ms after a kill: {}",
        fives.len(),
        fives
            .iter()
            .map(|(at, what)| format!("{} {}", rel(*at), what.split(' ').next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        stray_fives.len()
    );
    println!(
        "  requests that got no answer: {} ({})",
        report.transport_errors.len(),
        report
            .transport_errors
            .iter()
            .map(|(at, _)| rel(*at))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  streams: {} connections for {} streams, so {} reconnects; {ends_by_kill} ends \
         within {ENDED_BY_KILL_MS} ms of a kill, {} others ({}); {} connections refused \
         {refused:?}, {failed} failed; ids out of order: {ids_out_of_order}; dropped by the servers as \
         stalled (pairsync_streams_dropped_total): {dropped}",
        connections,
        logs.len(),
        connections - logs.len(),
        other_ends.len(),
        other_ends
            .iter()
            .take(10)
            .map(|at| rel(*at))
            .collect::<Vec<_>>()
            .join(", "),
        refused.len()
    );
    println!(
        "  after a kill: {} streams were on the killed process; time to a tick on the right \
         second (or a stopped timer's state): p50 {:.0} ms, worst {:.0} ms (bound {KILL_WINDOW_MS} ms)",
        on_killed,
        ms(quantile(&recoveries, 0.5)),
        ms(recoveries.last().copied().unwrap_or(0)),
    );
    println!(
        "  ticks: {} checked; earliest {:+.1} ms, p50 {:+.1} ms, p99 {:+.1} ms, latest {:+.1} ms \
         against the deadline; early (over {CLOCK_TOLERANCE_MS} ms): {}; over the suite's \
         {TIMER_LATE_MS} ms allowance outside the kill windows: {over_allowance_outside}",
        lates.len(),
        ms(lates.first().copied().unwrap_or(0)),
        ms(quantile(&lates, 0.5)),
        ms(quantile(&lates, 0.99)),
        ms(lates.last().copied().unwrap_or(0)),
        early.len()
    );
    println!(
        "  time-ups: {} ({} told on streams); timer: stop after the deadline p50 {:.1} ms, \
         worst {:.1} ms",
        time_ups.len(),
        time_up_lates.len(),
        ms(quantile(&time_up_lates, 0.5)),
        ms(time_up_lates.last().copied().unwrap_or(0))
    );

    println!(
        "  wall clock steps (over {CLOCK_STEP_MS} ms against the monotonic clock): {}",
        if steps.is_empty() {
            "none".to_string()
        } else {
            steps
                .iter()
                .map(|(at, by)| format!("{:+.0} ms at {}", ms(*by), rel(*at)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    let mut failures = report.failures;
    failures.extend(early.into_iter().take(20));
    failures.extend(unrecovered);
    failures.extend(
        stray_fives
            .into_iter()
            .map(|f| format!("a 5xx outside the window after a kill: {f}")),
    );
    if ids_out_of_order > 0 {
        failures.push(format!(
            "{ids_out_of_order} event ids did not increase within their stream"
        ));
    }
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(30).collect();
        let clock_note = if steps.is_empty() {
            String::new()
        } else {
            "\nThe machine's wall clock was stepped during the run (see the figures): every \
             deadline is a wall-clock instant, so ticks and time-ups near a step move with it \
             and the timing checks there say nothing about the servers."
                .to_string()
        };
        panic!(
            "{} failures:\n{}{clock_note}\n{}",
            failures.len(),
            shown
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            cluster.log_tails()
        );
    }
}
