//! The chaos test's figures: what the servers say they dropped, the wall clock watched
//! against the monotonic one, quantiles.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::*;

/// `pairsync_streams_dropped_total` of process `base` (streams it let go because their
/// backlog passed its bound), or 0 when it does not answer.
pub(super) async fn dropped_streams(client: &reqwest::Client, base: &str) -> f64 {
    let Ok(res) = client.get(format!("{base}/metrics")).send().await else {
        return 0.0;
    };
    let text = res.text().await.unwrap_or_default();
    crate::helpers::exposition::parse(&text)
        .samples
        .iter()
        .find(|s| s.name == "pairsync_streams_dropped_total" && s.labels.is_empty())
        .map_or(0.0, |s| s.value)
}

/// A step of the wall clock bigger than this between two looks 50 ms apart (against the
/// monotonic clock) is reported: deadlines are wall-clock instants, so a stepped clock
/// moves every tick and time-up by the step, in the servers and in this test alike.
pub(super) const CLOCK_STEP_MS: i64 = 20;

/// Watches the wall clock against the monotonic one until `stop`; the steps it saw: when
/// (epoch µs) and by how much (µs, positive forward).
pub(super) async fn watch_clock(mut stop: watch::Receiver<bool>) -> Vec<(i64, i64)> {
    let origin = Instant::now();
    let offset = || now_us() - origin.elapsed().as_micros() as i64;
    let mut last = offset();
    let mut steps = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return steps,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let now = offset();
        if (now - last).abs() > CLOCK_STEP_MS * 1000 {
            steps.push((now_us(), now - last));
        }
        last = now;
    }
}

/// The value at `q` (0 to 1) of sorted `values`.
pub(super) fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

pub(super) fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

/// Whether `at` (epoch µs) falls within `KILL_WINDOW_MS` after one of `kills`.
pub(super) fn after_a_kill(kills: &[i64], at: i64) -> bool {
    kills
        .iter()
        .any(|k| at >= *k && at <= k + KILL_WINDOW_MS * 1000)
}
