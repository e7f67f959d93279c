//! What the fan-out benchmark measured, and its report: the server samples taken along
//! the run, every stream's outcome folded into counters and samples (`cluster.rs`), the
//! printed figures, and the exit status.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::args::{Args, Mode};
use crate::cluster;
use crate::common::clock::{epoch_us, sleep_until_us};
use crate::common::dispatch::Done;
use crate::common::procfs;
use crate::common::stats::{lateness_line, p50_p99_max, phase_spread};
use crate::pairsync::{Command, Starts};
use crate::stream::{tick_order, Outcome, Stalled, TickOrder};

/// Room and stream errors printed in full; the rest are only counted.
const ERRORS_SHOWN: usize = 5;
/// The CPU while ticking is measured only over a stretch at least this long.
const TICKING_AT_LEAST: Duration = Duration::from_secs(1);

/// The server processes at one instant: memory and CPU, summed and each.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub rss_kb: Option<u64>,
    pub cpu_s: Option<f64>,
    pub each: Vec<(Option<u64>, Option<f64>)>,
}

impl Sample {
    /// Samples the processes now.
    pub fn take(pids: &[u32]) -> Sample {
        Sample {
            rss_kb: procfs::rss_kb(pids),
            cpu_s: procfs::cpu_seconds(pids),
            each: pids
                .iter()
                .map(|p| (procfs::rss_kb(&[*p]), procfs::cpu_seconds(&[*p])))
                .collect(),
        }
    }

    /// Process `i`'s memory and CPU.
    fn at(&self, i: usize) -> (Option<u64>, Option<f64>) {
        self.each.get(i).copied().unwrap_or_default()
    }
}

/// The server's CPU over the stretch where every timer runs: from the moment the last one
/// started to the first deadline, when each stream gets one tick a second.
#[derive(Debug, Clone, Copy)]
pub struct Ticking {
    pub wall_s: f64,
    pub cpu_s: Option<f64>,
}

impl Ticking {
    /// Waits until `until_us` and measures from `from` (taken at `from_us`); `None` when
    /// the stretch is shorter than [`TICKING_AT_LEAST`].
    pub async fn measure(
        pids: &[u32],
        from: Sample,
        from_us: i64,
        until_us: i64,
    ) -> Option<Ticking> {
        let at_least = i64::try_from(TICKING_AT_LEAST.as_micros()).unwrap_or(1_000_000);
        if until_us - from_us < at_least {
            return None;
        }
        sleep_until_us(until_us).await;
        let to = Sample::take(pids);
        Some(Ticking {
            wall_s: (epoch_us() - from_us) as f64 / 1e6,
            cpu_s: to.cpu_s.zip(from.cpu_s).map(|(b, a)| b - a),
        })
    }
}

/// How the timers ran: pairsync's starts, or nchan's publishes and deadlines; and the
/// commands sent after them.
#[derive(Default)]
pub struct TimerRun {
    pub starts: Option<Starts>,
    pub publishes: Option<Vec<Done>>,
    /// nchan: each channel's deadline (epoch µs).
    pub deadlines_us: Vec<i64>,
    pub commands: Vec<Command>,
}

/// Everything the run measured.
pub struct Measured {
    pub rooms: usize,
    pub shard_rooms: usize,
    pub total: usize,
    pub open: usize,
    pub open_time: Duration,
    pub before_open: Sample,
    /// When the last stream had its greeting.
    pub opened: Sample,
    /// Just before the timers start, the streams settled.
    pub before_ticks: Sample,
    pub after_ticks: Sample,
    pub ticking: Option<Ticking>,
    pub tick_wall: Duration,
    pub self_cpu: Option<f64>,
    pub server_ticks: Option<((f64, f64), (f64, f64))>,
    pub stalled: Vec<Stalled>,
    pub stalled_dropped: Option<u64>,
    pub run: TimerRun,
    /// Each stream's room and server.
    pub placement: Vec<(usize, usize)>,
    pub outcomes: Vec<Outcome>,
    pub tick_values: Vec<i64>,
}

/// Folds the outcomes, prints the report, writes the samples; returns the exit status.
pub fn report(args: &Args, m: &Measured) -> i32 {
    let mut samples = cluster::Samples::default();
    let streams: Vec<(usize, usize, &Outcome)> = m
        .placement
        .iter()
        .zip(&m.outcomes)
        .map(|((room, server), outcome)| (*room, *server, outcome))
        .collect();
    let (spread_first, spread_all) = tick_spreads(&streams);
    samples.spread_first_us = spread_first;
    samples.spread_all_us = spread_all;
    fold_commands(&m.run.commands, &streams, &mut samples);

    let mut lateness = Vec::with_capacity(m.total * m.tick_values.len());
    let mut order = TickOrder::default();
    let (mut surprises, mut id_regressions, mut ended_early) = (0u32, 0u32, 0usize);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut room_deadlines: BTreeMap<usize, i64> = BTreeMap::new();
    for (room, server, outcome) in &streams {
        samples
            .late_us
            .entry(*server)
            .or_default()
            .extend(&outcome.lateness_us);
        if let Some(d) = outcome.deadline_us {
            room_deadlines.entry(*room).or_insert(d);
        }
        if outcome.greeted {
            let stream = tick_order(&outcome.tick_values, &m.tick_values);
            order.missed += stream.missed;
            order.out_of_order += stream.out_of_order;
        }
        lateness.extend(&outcome.lateness_us);
        surprises += outcome.surprises;
        id_regressions += outcome.id_regressions;
        if let Some(e) = &outcome.error {
            if outcome.greeted {
                ended_early += 1;
            }
            *errors.entry(e.clone()).or_default() += 1;
        }
    }
    lateness.sort_unstable();
    let expected = m.open * m.tick_values.len();
    let early = lateness.iter().filter(|l| **l < 0).count();
    let deadlines: Vec<i64> = match args.mode {
        Mode::Pairsync => room_deadlines.values().copied().collect(),
        Mode::Nchan => m.run.deadlines_us.clone(),
    };
    let first_deadline = deadlines.iter().min().copied();
    let last_deadline = deadlines.iter().max().copied();
    let deadline_spread_ms = first_deadline
        .zip(last_deadline)
        .map_or(0, |(a, b)| (b - a) / 1000);

    println!(
        "mode {}: {} rooms × {} streams, timer {} ms, server {}, sources {:?}",
        args.mode.name(),
        m.rooms,
        args.streams_per_room,
        args.duration_ms,
        args.urls.join(","),
        args.source_ips
    );
    println!(
        "streams open: {} of {} in {:.1} s",
        m.open,
        m.total,
        m.open_time.as_secs_f64()
    );
    for (error, count) in errors.iter().take(ERRORS_SHOWN) {
        println!("  stream error ×{count}: {error}");
    }
    let (started, publish_failed) = print_timers(args, m, deadline_spread_ms);
    println!("start plan: {}", args.plan.describe());
    println!("deadline phases: {}", phase_spread(&deadlines));
    println!(
        "ticks received: {} of {expected} expected (missing {}, early {early}, out of order {}, \
         out of place {surprises}, id regressions {id_regressions}, streams ended early \
         {ended_early})",
        lateness.len(),
        order.missed,
        order.out_of_order,
    );
    println!("tick lateness ms: {}", lateness_line(&lateness));
    println!(
        "tick events delivered: {:.0} per second of timer",
        lateness.len() as f64 * 1000.0 / args.duration_ms as f64
    );
    if let Some(((sum0, n0), (sum1, n1))) = m.server_ticks {
        if n1 > n0 {
            println!(
                "server's own tick timers (/metrics): {:.0} ticks fired, mean {:.2} ms after due",
                n1 - n0,
                (sum1 - sum0) * 1000.0 / (n1 - n0)
            );
        }
    }
    print_server(m);
    print_stalled(m);

    let counters = [
        ("rooms_wanted", m.shard_rooms),
        ("rooms", m.rooms),
        ("started", started),
        ("streams_wanted", m.total),
        ("streams_open", m.open),
        ("ended_early", ended_early),
        ("ticks_expected", expected),
        ("missed", order.missed),
        ("early", early),
        ("out_of_order", order.out_of_order),
        ("surprises", surprises as usize),
        ("id_regressions", id_regressions as usize),
        ("publish_failed", publish_failed),
        ("stalled_wanted", m.stalled.len()),
        (
            "stalled_open",
            m.stalled.iter().filter(|s| s.opened).count(),
        ),
        ("max_streams_per_room", args.streams_per_room),
        ("max_open_ms", m.open_time.as_millis() as usize),
    ];
    for (name, value) in counters {
        samples.count(name, i64::try_from(value).unwrap_or(i64::MAX));
    }
    if let (Some(first), Some(last)) = (first_deadline, last_deadline) {
        samples.count("min_deadline", first / 1000);
        samples.count("max_deadline", last / 1000);
    }
    add_processes(args, m, &streams, &mut samples);
    if args.urls.len() > 1 {
        samples.sort();
        cluster::print_processes(&samples);
    }
    if let Some(file) = &args.samples_out {
        if let Err(e) = std::fs::write(file, samples.to_text()) {
            eprintln!("fanout: cannot write {file}: {e}");
        }
    }
    let mut problems = cluster::problems(&samples);
    problems.extend(cluster::bound_problems(&samples, args));
    if problems.is_empty() {
        println!("result: clean run");
        0
    } else {
        println!("result: FAILED: {}", problems.join(", "));
        1
    }
}

/// The timers' lines: pairsync's starts, or nchan's publishes. Returns the rooms started
/// and the publishes that failed.
fn print_timers(args: &Args, m: &Measured, deadline_spread_ms: i64) -> (usize, usize) {
    let lags = |done: &[Done]| {
        let mut written: Vec<i64> = done.iter().filter_map(Done::write_lag_us).collect();
        let mut answered: Vec<i64> = done.iter().filter_map(Done::answer_lag_us).collect();
        written.sort_unstable();
        answered.sort_unstable();
        (written, answered)
    };
    match (&m.run.starts, &m.run.publishes) {
        (Some(starts), _) => {
            let started = starts.started();
            let first_due = starts.done.iter().map(|d| d.due_us).min().unwrap_or(0);
            let within_ms = starts
                .last_answer_us()
                .map_or(0, |last| (last - first_due) / 1000);
            println!(
                "timers started: {started} of {}, answered within {within_ms} ms; deadlines \
                 spread over {deadline_spread_ms} ms",
                m.rooms
            );
            let (written, answered) = lags(&starts.done);
            println!(
                "start requests ({} keep-alive connections per server, own thread), ms after \
                 their instant: written {}; answered {}",
                args.http_connections,
                p50_p99_max(&written),
                p50_p99_max(&answered)
            );
            (started, 0)
        }
        (None, Some(done)) => {
            let failed = done.iter().filter(|d| d.error.is_some()).count();
            for d in done.iter().filter(|d| d.error.is_some()).take(ERRORS_SHOWN) {
                eprintln!("publish: {}", d.error.as_deref().unwrap_or_default());
            }
            let (written, answered) = lags(done);
            println!(
                "channels: {}, deadlines spread over {deadline_spread_ms} ms, publishes: {} \
                 ({failed} failed)",
                m.rooms,
                done.len()
            );
            println!(
                "publisher ({} keep-alive connections, own thread), publish lag ms after the \
                 due instant: written {}; answered {}",
                args.http_connections,
                p50_p99_max(&written),
                p50_p99_max(&answered)
            );
            (m.rooms, failed)
        }
        (None, None) => (0, 0),
    }
}

/// The server's memory, its CPU and wall time to open the streams, and its CPU ticking.
fn print_server(m: &Measured) {
    let open = m.open.max(1) as f64;
    if let (Some(before), Some(with), Some(end)) = (
        m.before_open.rss_kb,
        m.before_ticks.rss_kb,
        m.after_ticks.rss_kb,
    ) {
        let per_stream = |kb: u64| (kb as f64 - before as f64) / open;
        println!(
            "server RSS: {before} KiB before the streams, {with} KiB with them: {:.1} KiB \
             per idle stream; {end} KiB after the ticks: {:.1} KiB per stream",
            per_stream(with),
            per_stream(end)
        );
    }
    let open_s = m.open_time.as_secs_f64();
    let open_cpu = m.opened.cpu_s.zip(m.before_open.cpu_s).map(|(b, a)| b - a);
    println!(
        "opening the streams: {:.2} s, {:.1} µs of wall time per stream; server CPU {}",
        open_s,
        open_s * 1e6 / open,
        open_cpu.map_or_else(
            || "-".to_string(),
            |c| format!("{c:.2} s, {:.1} µs per stream", c * 1e6 / open)
        )
    );
    if let (Some(a), Some(b)) = (m.before_ticks.cpu_s, m.after_ticks.cpu_s) {
        let wall = m.tick_wall.as_secs_f64();
        println!(
            "server CPU: {:.2} s opening the streams; {:.2} s over the {wall:.1} s tick phase \
             ({:.1} % of one core)",
            open_cpu.unwrap_or(f64::NAN),
            b - a,
            (b - a) * 100.0 / wall
        );
    }
    if let Some(Ticking {
        wall_s,
        cpu_s: Some(cpu),
    }) = m.ticking
    {
        let events = open * wall_s;
        println!(
            "server CPU while every timer ticks: {cpu:.2} s over {wall_s:.1} s = {:.3} cores \
             ({:.1} µs per tick event)",
            cpu / wall_s,
            cpu * 1e6 / events
        );
    }
    if let Some(c) = m.self_cpu {
        println!(
            "benchmark CPU over the tick phase: {c:.2} s ({:.1} % of one core)",
            c * 100.0 / m.tick_wall.as_secs_f64()
        );
    }
}

fn print_stalled(m: &Measured) {
    if m.stalled.is_empty() {
        return;
    }
    let opened = m.stalled.iter().filter(|s| s.opened).count();
    let ended = m.stalled.iter().filter(|s| s.ended_by_server).count();
    println!(
        "stalled streams: {opened} of {} opened and stopped reading; {ended} ended by the \
         server by the end{}",
        m.stalled.len(),
        m.stalled_dropped.map_or_else(String::new, |d| format!(
            " (pairsync_streams_dropped_total +{d})"
        ))
    );
}

/// Several servers: the command events, from each command's `204` and request.
fn fold_commands(
    commands: &[Command],
    streams: &[(usize, usize, &Outcome)],
    samples: &mut cluster::Samples,
) {
    let mut by_room: BTreeMap<usize, Vec<(usize, &Outcome)>> = BTreeMap::new();
    for (room, server, outcome) in streams {
        by_room.entry(*room).or_default().push((*server, outcome));
    }
    for command in commands {
        samples.count("commands", 1);
        let Some(ack_us) = command.ack_us else {
            continue;
        };
        samples.count("commands_answered", 1);
        for (server, outcome) in by_room.get(&command.room).into_iter().flatten() {
            let other = *server != command.server;
            if other && outcome.greeted {
                samples.count("command_events_expected", 1);
            }
            match (outcome.command_us, other) {
                (Some(at), true) => {
                    samples.count("command_events_received", 1);
                    samples.after_ack_us.push(at - ack_us);
                    samples.after_sent_us.push(at - command.sent_us);
                }
                (Some(at), false) => samples.same_after_ack_us.push(at - ack_us),
                (None, _) => {}
            }
        }
    }
}

/// Each server process's memory, CPU and streams, for the samples file.
fn add_processes(
    args: &Args,
    m: &Measured,
    streams: &[(usize, usize, &Outcome)],
    samples: &mut cluster::Samples,
) {
    let paired = args.server_pids.len() == args.urls.len();
    for (i, pid) in args.server_pids.iter().enumerate() {
        let (before, cpu_open_from) = m.before_open.at(i);
        let (_, cpu_open_to) = m.opened.at(i);
        let (with, cpu_ticks_from) = m.before_ticks.at(i);
        let (end, cpu_ticks_to) = m.after_ticks.at(i);
        let on_it = streams
            .iter()
            .filter(|(_, server, outcome)| paired && *server == i && outcome.greeted)
            .count();
        samples.processes.push(cluster::Process {
            shard: format!("{}/{}", args.shard.0, args.shard.1),
            pid: pid.to_string(),
            rss_before_kb: before,
            rss_with_kb: with,
            rss_end_kb: end,
            cpu_open_s: cpu_open_to.zip(cpu_open_from).map(|(b, a)| b - a),
            cpu_ticks_s: cpu_ticks_to.zip(cpu_ticks_from).map(|(b, a)| b - a),
            tick_wall_s: m.tick_wall.as_secs_f64(),
            streams: on_it,
            url: if paired {
                args.urls[i].clone()
            } else {
                "-".to_string()
            },
        });
    }
}

/// One room-tick's arrivals: the first per server, the earliest and the latest (epoch µs).
type TickArrivals = (BTreeMap<usize, i64>, i64, i64);

/// Per room-tick spreads over the streams of this shard: for each room and tick value,
/// the latest less the earliest of each server's first arrival (only where two servers or
/// more got it), and the latest less the earliest arrival over every stream.
fn tick_spreads(streams: &[(usize, usize, &Outcome)]) -> (Vec<i64>, Vec<i64>) {
    let mut ticks: HashMap<(usize, i64), TickArrivals> = HashMap::new();
    for (room, server, outcome) in streams {
        for (value, at) in outcome.tick_values.iter().zip(&outcome.arrivals_us) {
            let entry = ticks
                .entry((*room, *value))
                .or_insert_with(|| (BTreeMap::new(), *at, *at));
            let first = entry.0.entry(*server).or_insert(*at);
            *first = (*first).min(*at);
            entry.1 = entry.1.min(*at);
            entry.2 = entry.2.max(*at);
        }
    }
    let mut first = Vec::new();
    let mut all = Vec::with_capacity(ticks.len());
    for (per_server, earliest, latest) in ticks.values() {
        all.push(latest - earliest);
        if per_server.len() > 1 {
            let min = per_server.values().min().copied().unwrap_or(0);
            let max = per_server.values().max().copied().unwrap_or(0);
            first.push(max - min);
        }
    }
    (first, all)
}
