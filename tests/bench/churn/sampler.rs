//! The server seen from outside while rooms come and go: at intervals its live rooms and
//! streams (`/metrics`), its open files (`/proc/PID/fd`) and its memory (`VmRSS`), printed
//! as a curve; and the end checks on that curve.

use std::time::Instant;

use crate::common::metrics;
use crate::common::procfs;

/// One point of the curve.
#[derive(Debug, Clone)]
pub struct Point {
    pub label: String,
    pub cycles: usize,
    pub elapsed_s: f64,
    pub rooms_live: Option<u64>,
    pub streams: Option<u64>,
    pub dropped: Option<u64>,
    pub open_files: Option<usize>,
    pub rss_kb: Option<u64>,
    pub errors: usize,
}

/// Takes one point.
pub async fn point(
    http: &reqwest::Client,
    url: &str,
    pid: u32,
    label: &str,
    cycles: usize,
    begin: Instant,
    errors: usize,
) -> Point {
    let m = metrics::scrape(http, url).await;
    Point {
        label: label.to_string(),
        cycles,
        elapsed_s: begin.elapsed().as_secs_f64(),
        rooms_live: m.as_ref().map(|m| m.count("pairsync_rooms_live")),
        streams: m.as_ref().map(|m| m.count("pairsync_sse_streams")),
        dropped: m
            .as_ref()
            .map(|m| m.count("pairsync_streams_dropped_total")),
        open_files: procfs::open_files(pid),
        rss_kb: procfs::rss_kb(&[pid]),
        errors,
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The curve's header line.
pub fn header() -> String {
    format!(
        "{:<10} {:>9} {:>9} {:>8} {:>10} {:>8} {:>8} {:>10} {:>9} {:>7}",
        "point",
        "cycles",
        "seconds",
        "per s",
        "rooms live",
        "streams",
        "dropped",
        "open files",
        "RSS MiB",
        "errors"
    )
}

impl Point {
    /// The point's row of the curve.
    pub fn row(&self) -> String {
        let rate = if self.elapsed_s > 0.0 {
            format!("{:.0}", self.cycles as f64 / self.elapsed_s)
        } else {
            "-".to_string()
        };
        format!(
            "{:<10} {:>9} {:>9.1} {:>8} {:>10} {:>8} {:>8} {:>10} {:>9} {:>7}",
            self.label,
            self.cycles,
            self.elapsed_s,
            rate,
            opt(self.rooms_live),
            opt(self.streams),
            opt(self.dropped),
            opt(self.open_files),
            opt(self.rss_kb.map(|k| format!("{:.1}", k as f64 / 1024.0))),
            self.errors
        )
    }
}

/// One end check: what it says, whether it passed, and the figures behind it.
pub struct Check {
    pub what: String,
    pub passed: bool,
    pub detail: String,
}

/// The end checks on a settled server: live rooms and streams back to 0, open files back
/// to where they were before the first cycle (within `fd_slack`), and memory after the
/// first sampled point grown by less than `rss_growth_percent`.
pub fn checks(
    before: &Point,
    curve: &[Point],
    settled: &Point,
    fd_slack: usize,
    rss_growth_percent: f64,
) -> Vec<Check> {
    let mut checks = vec![
        Check {
            what: "live rooms back to 0".into(),
            passed: settled.rooms_live == Some(0),
            detail: format!("{} live", opt(settled.rooms_live)),
        },
        Check {
            what: "streams back to 0".into(),
            passed: settled.streams == Some(0),
            detail: format!("{} open", opt(settled.streams)),
        },
    ];
    let files = match (before.open_files, settled.open_files) {
        (Some(b), Some(s)) => Check {
            what: format!("open files flat (at most {fd_slack} more than before the first cycle)"),
            passed: s <= b + fd_slack,
            detail: format!(
                "{b} before, {s} at the end, at most {} along the way",
                curve.iter().filter_map(|p| p.open_files).max().unwrap_or(s)
            ),
        },
        _ => Check {
            what: "open files flat".into(),
            passed: false,
            detail: "could not read /proc/PID/fd".into(),
        },
    };
    checks.push(files);
    let base = curve.first().and_then(|p| p.rss_kb.map(|k| (p.cycles, k)));
    let later = curve
        .iter()
        .skip(1)
        .chain(std::iter::once(settled))
        .filter_map(|p| p.rss_kb)
        .max();
    let rss = match (base, later) {
        (Some((cycles, b)), Some(max)) => {
            let growth = (max as f64 - b as f64) * 100.0 / b as f64;
            Check {
                what: format!(
                    "RSS growth after the first {cycles} cycles under {rss_growth_percent} %"
                ),
                passed: growth < rss_growth_percent,
                detail: format!(
                    "{:.1} MiB then, at most {:.1} MiB after: {growth:+.1} %",
                    b as f64 / 1024.0,
                    max as f64 / 1024.0
                ),
            }
        }
        _ => Check {
            what: "RSS growth".into(),
            passed: false,
            detail: "fewer than two sampled points: lower --sample-every".into(),
        },
    };
    checks.push(rss);
    checks
}
