//! The fan-out benchmark's figures for several server processes on one database: what one
//! benchmark process (one shard) measured, written to and read from a samples file, merged
//! over shards, and printed: lateness per process, the spread of one tick across processes,
//! how long a command takes to reach the other processes' streams, and each process's
//! memory and CPU.
//!
//! The samples file is plain text, one record a line:
//! `count NAME VALUE` (a counter; `min_…` and `max_…` merge by minimum and maximum, the
//! rest by sum), `late PROCESS US` (one tick's lateness on a stream of process PROCESS, the
//! index of its URL), `spread-first US` and `spread-all US` (one room-tick's spread), `ack
//! US` and `sent US` (one command event on a stream of another process, measured from the
//! command's `204` and from its request), `same US` (the same on the commanding process's
//! own streams, from the `204`), and `process SHARD PID RSS_BEFORE RSS_WITH RSS_END CPU_OPEN
//! CPU_TICKS TICK_WALL STREAMS URL` (KiB, seconds; `-` when unknown).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::args::Args;
use crate::common::stats::{p50_p99_max, percentile};

/// One server process as one shard saw it.
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub shard: String,
    pub pid: String,
    pub rss_before_kb: Option<u64>,
    pub rss_with_kb: Option<u64>,
    pub rss_end_kb: Option<u64>,
    pub cpu_open_s: Option<f64>,
    pub cpu_ticks_s: Option<f64>,
    pub tick_wall_s: f64,
    /// Streams this shard opened on the process.
    pub streams: usize,
    pub url: String,
}

/// Everything one or several shards measured.
#[derive(Debug, Default)]
pub struct Samples {
    pub counters: BTreeMap<String, i64>,
    /// Tick lateness in µs, by process (URL index).
    pub late_us: BTreeMap<usize, Vec<i64>>,
    /// Per room-tick: latest less earliest of the processes' first arrivals, µs.
    pub spread_first_us: Vec<i64>,
    /// Per room-tick: latest less earliest arrival over every stream of the room, µs.
    pub spread_all_us: Vec<i64>,
    /// Command event on another process's stream, after the command's `204`, µs.
    pub after_ack_us: Vec<i64>,
    /// The same, after the command's request was sent, µs.
    pub after_sent_us: Vec<i64>,
    /// Command event on the commanding process's own streams, after the `204`, µs.
    pub same_after_ack_us: Vec<i64>,
    pub processes: Vec<Process>,
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn parse_opt<T: std::str::FromStr>(field: Option<&str>) -> Option<T> {
    field.and_then(|f| f.parse().ok())
}

impl Samples {
    /// Adds to a counter.
    pub fn count(&mut self, name: &str, value: i64) {
        *self.counters.entry(name.to_string()).or_default() += value;
    }

    /// A counter's value, 0 when absent.
    pub fn get(&self, name: &str) -> i64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    fn merge_counter(&mut self, name: &str, value: i64) {
        let entry = self.counters.entry(name.to_string());
        if name.starts_with("min_") {
            let v = entry.or_insert(value);
            *v = (*v).min(value);
        } else if name.starts_with("max_") {
            let v = entry.or_insert(value);
            *v = (*v).max(value);
        } else {
            *entry.or_default() += value;
        }
    }

    /// The samples file's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.counters {
            let _ = writeln!(out, "count {name} {value}");
        }
        for (process, values) in &self.late_us {
            for v in values {
                let _ = writeln!(out, "late {process} {v}");
            }
        }
        let lists = [
            ("spread-first", &self.spread_first_us),
            ("spread-all", &self.spread_all_us),
            ("ack", &self.after_ack_us),
            ("sent", &self.after_sent_us),
            ("same", &self.same_after_ack_us),
        ];
        for (kind, values) in lists {
            for v in values {
                let _ = writeln!(out, "{kind} {v}");
            }
        }
        for p in &self.processes {
            let _ = writeln!(
                out,
                "process {} {} {} {} {} {} {} {} {} {}",
                p.shard,
                p.pid,
                opt(p.rss_before_kb),
                opt(p.rss_with_kb),
                opt(p.rss_end_kb),
                opt(p.cpu_open_s),
                opt(p.cpu_ticks_s),
                p.tick_wall_s,
                p.streams,
                p.url
            );
        }
        out
    }

    /// Adds one samples file's text to these samples.
    pub fn add_text(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("line {}: cannot read {line:?}", n + 1);
            let number = |i: usize| -> Result<i64, String> {
                fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(bad)
            };
            match fields.first().copied() {
                Some("count") => {
                    let name = fields.get(1).ok_or_else(bad)?;
                    self.merge_counter(name, number(2)?);
                }
                Some("late") => {
                    let process = usize::try_from(number(1)?).map_err(|_| bad())?;
                    self.late_us.entry(process).or_default().push(number(2)?);
                }
                Some("spread-first") => self.spread_first_us.push(number(1)?),
                Some("spread-all") => self.spread_all_us.push(number(1)?),
                Some("ack") => self.after_ack_us.push(number(1)?),
                Some("sent") => self.after_sent_us.push(number(1)?),
                Some("same") => self.same_after_ack_us.push(number(1)?),
                Some("process") if fields.len() == 11 => self.processes.push(Process {
                    shard: fields[1].to_string(),
                    pid: fields[2].to_string(),
                    rss_before_kb: parse_opt(fields.get(3).copied()),
                    rss_with_kb: parse_opt(fields.get(4).copied()),
                    rss_end_kb: parse_opt(fields.get(5).copied()),
                    cpu_open_s: parse_opt(fields.get(6).copied()),
                    cpu_ticks_s: parse_opt(fields.get(7).copied()),
                    tick_wall_s: parse_opt(fields.get(8).copied()).unwrap_or(0.0),
                    streams: parse_opt(fields.get(9).copied()).unwrap_or(0),
                    url: fields[10].to_string(),
                }),
                None => {}
                Some(_) => return Err(bad()),
            }
        }
        Ok(())
    }

    /// Sorts every list, for percentiles.
    pub fn sort(&mut self) {
        for values in self.late_us.values_mut() {
            values.sort_unstable();
        }
        for values in [
            &mut self.spread_first_us,
            &mut self.spread_all_us,
            &mut self.after_ack_us,
            &mut self.after_sent_us,
            &mut self.same_after_ack_us,
        ] {
            values.sort_unstable();
        }
    }
}

/// Prints the figures that only several processes have (the samples must be sorted).
pub fn print_processes(samples: &Samples) {
    for (process, late) in &samples.late_us {
        println!(
            "process {process}: {} ticks, lateness ms p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            late.len(),
            percentile(late, 0.5),
            percentile(late, 0.9),
            percentile(late, 0.99),
            percentile(late, 1.0),
        );
    }
    println!(
        "one tick across processes, ms (per room-tick, latest less earliest of each process's \
         first arrival): {}",
        p50_p99_max(&samples.spread_first_us)
    );
    println!(
        "one tick across all streams of a room, ms (latest less earliest arrival): {}",
        p50_p99_max(&samples.spread_all_us)
    );
    println!(
        "commands (timer/start after the time-up): {} sent, {} answered 204; events on the \
         other processes' streams: {} of {} expected",
        samples.get("commands"),
        samples.get("commands_answered"),
        samples.get("command_events_received"),
        samples.get("command_events_expected"),
    );
    println!(
        "command to another process's stream, ms from its 204: {}",
        p50_p99_max(&samples.after_ack_us)
    );
    println!(
        "command to another process's stream, ms from its request: {}",
        p50_p99_max(&samples.after_sent_us)
    );
    println!(
        "command to the same process's streams, ms from its 204: {}",
        p50_p99_max(&samples.same_after_ack_us)
    );
    for p in &samples.processes {
        let mb = |kb: Option<u64>| opt(kb.map(|k| format!("{:.1}", k as f64 / 1024.0)));
        let per_stream = match (p.rss_before_kb, p.rss_with_kb) {
            (Some(b), Some(w)) if p.streams > 0 => {
                format!("{:.1}", (w as f64 - b as f64) / p.streams as f64)
            }
            _ => "-".to_string(),
        };
        let cpu_ticks = match p.cpu_ticks_s {
            Some(c) if p.tick_wall_s > 0.0 => {
                format!("{c:.2} s ({:.1} % of one core)", c * 100.0 / p.tick_wall_s)
            }
            _ => "-".to_string(),
        };
        println!(
            "server pid {} ({}) seen by shard {}: RSS MiB {} before the streams, {} with them, \
             {} after the ticks; {} KiB per stream of this shard's {} on it; CPU {} s opening, \
             {} over the {:.1} s tick phase",
            p.pid,
            p.url,
            p.shard,
            mb(p.rss_before_kb),
            mb(p.rss_with_kb),
            mb(p.rss_end_kb),
            per_stream,
            p.streams,
            opt(p.cpu_open_s.map(|c| format!("{c:.2}"))),
            cpu_ticks,
            p.tick_wall_s,
        );
    }
}

/// Each server process over every shard: RSS before the streams (the lowest of the shards'
/// samples), with them and after the ticks (the highest), per stream over every shard's
/// streams on it, and the CPU over the tick phase of the first shard that saw it.
fn print_merged_processes(samples: &Samples) {
    let mut pids: Vec<&str> = samples.processes.iter().map(|p| p.pid.as_str()).collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let seen: Vec<&Process> = samples.processes.iter().filter(|p| p.pid == pid).collect();
        let before = seen.iter().filter_map(|p| p.rss_before_kb).min();
        let with = seen.iter().filter_map(|p| p.rss_with_kb).max();
        let end = seen.iter().filter_map(|p| p.rss_end_kb).max();
        let streams: usize = seen.iter().map(|p| p.streams).sum();
        let per_stream = |kb: Option<u64>| match (before, kb) {
            (Some(b), Some(k)) if streams > 0 => {
                format!("{:.1}", (k as f64 - b as f64) / streams as f64)
            }
            _ => "-".to_string(),
        };
        let cpu = seen
            .first()
            .and_then(|p| Some((p.cpu_ticks_s?, p.tick_wall_s)))
            .map_or_else(
                || "-".to_string(),
                |(c, wall)| {
                    format!(
                        "{c:.2} s over {wall:.1} s ({:.1} % of one core)",
                        c * 100.0 / wall
                    )
                },
            );
        println!(
            "server pid {pid}, all shards: {streams} streams; RSS KiB {} before, {} with the \
             streams ({} KiB per stream), {} after the ticks ({} KiB per stream); CPU over the \
             tick phase {cpu}",
            opt(before),
            opt(with),
            per_stream(with),
            opt(end),
            per_stream(end),
        );
    }
}

/// What went wrong in a run, from its counters (empty for a clean run).
pub fn problems(samples: &Samples) -> Vec<String> {
    let diff = |a: &str, b: &str| samples.get(a) - samples.get(b);
    [
        (diff("rooms_wanted", "rooms"), "rooms not created"),
        (diff("rooms", "started"), "timers not started"),
        (diff("streams_wanted", "streams_open"), "streams not opened"),
        (samples.get("ended_early"), "streams ended early"),
        (samples.get("missed"), "ticks missed"),
        (samples.get("early"), "ticks early"),
        (samples.get("out_of_order"), "ticks out of order"),
        (samples.get("surprises"), "events out of place"),
        (samples.get("id_regressions"), "ids that did not increase"),
        (samples.get("publish_failed"), "publishes failed"),
        (
            diff("stalled_wanted", "stalled_open"),
            "stalled streams not opened",
        ),
        (
            diff("commands", "commands_answered"),
            "commands not answered",
        ),
        (
            diff("command_events_expected", "command_events_received"),
            "command events not received",
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect()
}

/// The bounds of `args` that the figures of `samples` break: tick lateness (every
/// process), one tick's spread across processes (latest less earliest of each process's
/// first arrival) and a command's way to the other processes' streams, each at its 99th
/// percentile. No figure at all breaks a bound too.
pub fn bound_problems(samples: &Samples, args: &Args) -> Vec<String> {
    let mut late: Vec<i64> = samples.late_us.values().flatten().copied().collect();
    late.sort_unstable();
    let mut spread = samples.spread_first_us.clone();
    spread.sort_unstable();
    let mut change = samples.after_sent_us.clone();
    change.sort_unstable();
    [
        (args.max_p99_ms, late, "p99 tick lateness"),
        (
            args.max_spread_p99_ms,
            spread,
            "p99 spread of one tick across processes",
        ),
        (
            args.max_change_p99_ms,
            change,
            "p99 command to another process's streams (from its request)",
        ),
    ]
    .into_iter()
    .filter_map(|(max, sorted, what)| {
        let max = max?;
        let p99 = percentile(&sorted, 0.99);
        // NaN (nothing measured) is over any bound too.
        (p99.is_nan() || p99 > max).then(|| format!("{what} {p99:.1} ms over {max} ms"))
    })
    .collect()
}

/// `--merge`: reads every shard's samples file and prints the combined figures; returns
/// the exit status (1 when any shard's run was not clean or broke a bound of `args`).
pub fn merge(files: &[String], args: &Args) -> i32 {
    let mut samples = Samples::default();
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("fanout: cannot read {file}: {e}");
                return 2;
            }
        };
        if let Err(e) = samples.add_text(&text) {
            eprintln!("fanout: {file}: {e}");
            return 2;
        }
    }
    samples.sort();
    let mut all: Vec<i64> = samples.late_us.values().flatten().copied().collect();
    all.sort_unstable();
    println!(
        "merged {} shards: {} rooms × {} streams, {} streams open of {} (the slowest shard \
         opened its streams in {:.1} s); deadlines spread over {} ms",
        files.len(),
        samples.get("rooms"),
        samples.get("max_streams_per_room"),
        samples.get("streams_open"),
        samples.get("streams_wanted"),
        samples.get("max_open_ms") as f64 / 1000.0,
        (samples.get("max_deadline") - samples.get("min_deadline")).max(0),
    );
    println!(
        "ticks received: {} of {} expected (missing {}, early {}, out of order {}, out of \
         place {}, id regressions {}, streams ended early {})",
        all.len(),
        samples.get("ticks_expected"),
        samples.get("missed"),
        samples.get("early"),
        samples.get("out_of_order"),
        samples.get("surprises"),
        samples.get("id_regressions"),
        samples.get("ended_early"),
    );
    println!(
        "tick lateness ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (min {:.1})",
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        percentile(&all, 0.0),
    );
    print_processes(&samples);
    print_merged_processes(&samples);
    let mut problems = problems(&samples);
    problems.extend(bound_problems(&samples, args));
    if problems.is_empty() {
        println!("result: clean run");
        0
    } else {
        println!("result: FAILED: {}", problems.join(", "));
        1
    }
}
