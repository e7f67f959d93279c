//! The reconnect storm's report: the restart's instants, each stream's way back (its end,
//! its new greeting, the tick from which it is on time again), every answer seen, the
//! ticks' lateness before and after, the new server's cost, and the verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::args::Args;
use crate::common::dispatch::Done;
use crate::common::procfs;
use crate::common::stats::{lateness_line, p50_p99_max};
use crate::stream::Outcome;

/// Answers a client may get from a restarting server (besides connection failures).
const ALLOWED_ANSWERS: [&str; 3] = [
    "200",
    "status 503 too_many_streams",
    "status 503 unavailable",
];
/// A tick due this close to the end of the run may still be on its way: not expected.
const END_MARGIN_US: i64 = 1_000_000;

/// The instants the owner of the server wrote (epoch µs), from `--restart-log`.
#[derive(Debug, Default, Clone)]
pub struct RestartLog {
    pub term_us: Option<i64>,
    pub exited_us: Option<i64>,
    pub exit_status: Option<String>,
    pub listening_us: Option<i64>,
    pub new_pid: Option<u32>,
}

impl RestartLog {
    /// Reads the log: `term US`, `exited US STATUS`, `listening US PID` lines; the first
    /// `listening` line is the first start, so only the ones after `term` count.
    pub fn read(path: Option<&str>) -> RestartLog {
        let mut log = RestartLog::default();
        let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
            return log;
        };
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.get(1).and_then(|f| f.parse::<i64>().ok());
            match fields.first().copied() {
                Some("term") => log.term_us = at,
                Some("exited") => {
                    log.exited_us = at;
                    log.exit_status = fields.get(2).map(|s| s.to_string());
                }
                Some("listening") if log.term_us.is_some() => {
                    log.listening_us = at;
                    log.new_pid = fields.get(2).and_then(|p| p.parse().ok());
                }
                _ => {}
            }
        }
        log
    }
}

/// The restarted server when every stream had ticked again.
#[derive(Debug, Default, Clone)]
pub struct NewServer {
    pub at_us: i64,
    pub pid: Option<u32>,
    pub cpu_s: Option<f64>,
    pub rss_kb: Option<u64>,
}

impl NewServer {
    /// Samples the server the restart log names, at `at_us`.
    pub fn sample(args: &Args, at_us: i64) -> NewServer {
        let pid = RestartLog::read(args.restart_log.as_deref()).new_pid;
        NewServer {
            at_us,
            pid,
            cpu_s: pid.and_then(|p| procfs::cpu_seconds(&[p])),
            rss_kb: pid.and_then(|p| procfs::rss_kb(&[p])),
        }
    }
}

/// Everything the run measured.
pub struct Run {
    pub rooms: usize,
    pub total: usize,
    pub open: usize,
    pub open_time: Duration,
    pub starts: Vec<Done>,
    /// When the restart was asked for, and when the run stopped (epoch µs).
    pub restart_us: i64,
    pub stopped_us: i64,
    pub recovered: Option<NewServer>,
    /// Connections the machine dropped for a full listen queue, from the restart request
    /// until every stream had ticked again.
    pub listen_overflows: Option<u64>,
    pub self_cpu_s: Option<f64>,
    pub outcomes: Vec<Outcome>,
}

/// One stream's way back, from the reference instant (µs).
#[derive(Debug, Default)]
struct WayBack {
    ended_us: Option<i64>,
    attempt_us: Option<i64>,
    accepted_us: Option<i64>,
    back_us: Option<i64>,
    on_time_us: Option<i64>,
    expected_after: usize,
    missed_after: usize,
}

fn way_back(outcome: &Outcome, args: &Args, restart_us: i64, stopped_us: i64) -> WayBack {
    let mut way = WayBack::default();
    let Some(ended) = outcome.ends_us.iter().copied().find(|t| *t >= restart_us) else {
        return way;
    };
    way.ended_us = Some(ended);
    way.attempt_us = outcome.attempts_us.iter().copied().find(|t| *t > ended);
    way.accepted_us = outcome.accepted_us.iter().copied().find(|t| *t > ended);
    let Some(back) = outcome.greetings_us.iter().copied().find(|t| *t > ended) else {
        return way;
    };
    way.back_us = Some(back);
    let after: Vec<_> = outcome
        .ticks
        .iter()
        .filter(|t| t.arrival_us > back)
        .collect();
    let on_time_us = args.on_time_ms * 1000;
    way.on_time_us = after
        .iter()
        .find(|t| (0..=on_time_us).contains(&t.lateness_us))
        .map(|t| t.arrival_us);
    if let Some(deadline_ms) = outcome.deadline_ms {
        let got: BTreeSet<i64> = after.iter().map(|t| t.value).collect();
        let top = (args.duration_ms - 1) / 1000 * 1000;
        for value in (0..=top / 1000).map(|k| k * 1000) {
            let due_us = (deadline_ms - value) * 1000;
            if due_us > back && due_us < stopped_us - END_MARGIN_US {
                way.expected_after += 1;
                if !got.contains(&value) {
                    way.missed_after += 1;
                }
            }
        }
    }
    way
}

/// The `q` quantile of sorted counts (0 when empty).
fn rank(sorted: &[i64], q: f64) -> i64 {
    let n = sorted.len();
    if n == 0 {
        return 0;
    }
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

/// Prints the report; returns the exit status.
pub fn report(args: &Args, run: &Run) -> i32 {
    let log = RestartLog::read(args.restart_log.as_deref());
    let reference_us = log.term_us.unwrap_or(run.restart_us);
    let since = |t: i64| t - reference_us;
    let greeted: Vec<&Outcome> = run
        .outcomes
        .iter()
        .filter(|o| !o.greetings_us.is_empty())
        .collect();
    let ways: Vec<WayBack> = greeted
        .iter()
        .map(|o| way_back(o, args, run.restart_us, run.stopped_us))
        .collect();
    let sorted = |values: Vec<i64>| {
        let mut v = values;
        v.sort_unstable();
        v
    };
    let ended = sorted(ways.iter().filter_map(|w| w.ended_us.map(since)).collect());
    let attempt = sorted(
        ways.iter()
            .filter_map(|w| w.attempt_us.map(since))
            .collect(),
    );
    let accepted = sorted(
        ways.iter()
            .filter_map(|w| w.accepted_us.map(since))
            .collect(),
    );
    let back = sorted(ways.iter().filter_map(|w| w.back_us.map(since)).collect());
    let on_time = sorted(
        ways.iter()
            .filter_map(|w| w.on_time_us.map(since))
            .collect(),
    );
    let attempts = sorted(
        greeted
            .iter()
            .map(|o| i64::from(o.attempts_after_restart))
            .collect(),
    );
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &run.outcomes {
        for (kind, n) in &o.answers {
            *answers.entry(kind.as_str()).or_default() += n;
        }
    }
    let before = sorted(
        greeted
            .iter()
            .flat_map(|o| o.ticks.iter().filter(|t| t.arrival_us < run.restart_us))
            .map(|t| t.lateness_us)
            .collect(),
    );
    let after = sorted(
        greeted
            .iter()
            .zip(&ways)
            .flat_map(|(o, w)| {
                let back = w.back_us.unwrap_or(i64::MAX);
                o.ticks.iter().filter(move |t| t.arrival_us > back)
            })
            .map(|t| t.lateness_us)
            .collect(),
    );
    let sum = |f: fn(&Outcome) -> u32| greeted.iter().map(|o| f(o) as usize).sum::<usize>();
    let early = greeted
        .iter()
        .flat_map(|o| &o.ticks)
        .filter(|t| t.lateness_us < 0)
        .count();
    let ended_before = greeted
        .iter()
        .filter(|o| o.ends_us.iter().any(|t| *t < run.restart_us))
        .count();
    let started = run.starts.iter().filter(|d| d.status == Some(204)).count();

    println!(
        "storm: {} rooms × {} streams, timer {} ms, server {}; streams open: {} of {} in {:.1} s; \
         timers started: {started} of {} ({})",
        run.rooms,
        args.streams_per_room,
        args.duration_ms,
        args.url,
        run.open,
        run.total,
        run.open_time.as_secs_f64(),
        run.rooms,
        args.plan.describe()
    );
    let rel = |t: Option<i64>| {
        t.map_or_else(
            || "-".to_string(),
            |t| format!("+{:.1}", (t - run.restart_us) as f64 / 1000.0),
        )
    };
    println!(
        "restart, ms after it was asked for: SIGTERM {}, server exited {} (status {}), \
         listening again {}",
        rel(log.term_us),
        rel(log.exited_us),
        log.exit_status.as_deref().unwrap_or("-"),
        rel(log.listening_us),
    );
    let reference = if log.term_us.is_some() {
        "the SIGTERM"
    } else {
        "the restart request (no --restart-log)"
    };
    println!("from {reference}, ms, over the streams:");
    println!("  stream ended:                    {}", p50_p99_max(&ended));
    println!(
        "  first attempt to reconnect:      {}",
        p50_p99_max(&attempt)
    );
    println!(
        "  answered 200 again:              {}",
        p50_p99_max(&accepted)
    );
    println!("  greeted again (state):           {}", p50_p99_max(&back));
    println!(
        "  first tick on time (≤ {} ms):   {}",
        args.on_time_ms,
        p50_p99_max(&on_time)
    );
    println!(
        "connection attempts per stream after the restart: p50 {}  p99 {}  max {}",
        rank(&attempts, 0.5),
        rank(&attempts, 0.99),
        rank(&attempts, 1.0)
    );
    let (allowed, other): (Vec<_>, Vec<_>) = answers
        .iter()
        .partition(|(kind, _)| ALLOWED_ANSWERS.contains(kind) || !kind.starts_with("status"));
    let list = |items: &[(&&str, &usize)]| {
        items
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("answers and connection failures seen: {}", list(&allowed));
    if let Some(n) = run.listen_overflows {
        println!(
            "connections dropped for a full listen queue meanwhile (TcpExt ListenOverflows, \
             whole machine): {n}"
        );
    }
    let unexpected: usize = other.iter().map(|(_, n)| **n).sum();
    if unexpected > 0 {
        println!("UNEXPECTED answers: {}", list(&other));
    }
    println!(
        "tick lateness before the restart, ms: {}",
        lateness_line(&before)
    );
    let expected_after: usize = ways.iter().map(|w| w.expected_after).sum();
    let missed_after: usize = ways.iter().map(|w| w.missed_after).sum();
    println!(
        "ticks after each stream came back: {} received, {missed_after} of {expected_after} \
         expected missing; lateness ms: {}",
        after.len(),
        lateness_line(&after)
    );
    println!(
        "early ticks {early}, out of order {}, deadlines changed {}, out of place {}, id \
         regressions {}",
        sum(|o| o.out_of_order),
        sum(|o| o.deadline_changes),
        sum(|o| o.surprises),
        sum(|o| o.id_regressions),
    );
    if let Some(s) = &run.recovered {
        let from_start = log.listening_us.map(|l| (s.at_us - l) as f64 / 1e6);
        println!(
            "new server (pid {}): CPU {} over its first {} s, until every stream ticked again \
             ({} µs per stream); RSS {}",
            s.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            s.cpu_s
                .map_or_else(|| "-".to_string(), |c| format!("{c:.2} s")),
            from_start.map_or_else(|| "-".to_string(), |t| format!("{t:.1}")),
            s.cpu_s.map_or_else(
                || "-".to_string(),
                |c| format!("{:.0}", c * 1e6 / run.open.max(1) as f64)
            ),
            s.rss_kb.map_or_else(
                || "-".to_string(),
                |k| format!("{:.1} MiB", k as f64 / 1024.0)
            ),
        );
    }
    if let Some(c) = run.self_cpu_s {
        println!("benchmark CPU over the whole run: {c:.2} s");
    }
    let worst = on_time.last().copied();
    let all_on_time = on_time.len() == greeted.len() && !greeted.is_empty();
    let goal_met = all_on_time && worst.is_some_and(|w| w <= args.goal_ms * 1000);
    println!(
        "goal: every stream greeted again and ticking on time within {} ms of {reference}: {}",
        args.goal_ms,
        match (goal_met, worst) {
            (true, Some(w)) => format!("met ({:.0} ms)", w as f64 / 1000.0),
            (false, Some(w)) if all_on_time => format!("NOT met ({:.0} ms)", w as f64 / 1000.0),
            _ => "NOT met (some streams had no tick on time after coming back)".to_string(),
        }
    );

    let problems: Vec<String> = [
        (run.rooms.saturating_sub(started), "timers not started"),
        (args.rooms - run.rooms, "rooms not created"),
        (run.total - run.open, "streams not opened"),
        (ended_before, "streams ended before the restart"),
        (
            greeted.len() - ended.len(),
            "streams not ended by the restart",
        ),
        (ended.len() - back.len(), "streams not greeted again"),
        (
            back.len() - on_time.len(),
            "streams with no tick on time after coming back",
        ),
        (unexpected, "unexpected answers"),
        (missed_after, "ticks missed after coming back"),
        (early, "ticks early"),
        (sum(|o| o.out_of_order), "ticks out of order"),
        (sum(|o| o.deadline_changes), "deadlines changed"),
        (sum(|o| o.surprises), "events out of place"),
        (sum(|o| o.id_regressions), "ids that did not increase"),
        (usize::from(!goal_met), "goal not met"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if problems.is_empty() {
        println!("result: clean run");
        0
    } else {
        println!("result: FAILED: {}", problems.join(", "));
        1
    }
}
