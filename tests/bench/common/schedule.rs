//! When each room's timer starts, relative to one base instant: all at once (the
//! default), paced evenly over `--start-over-ms`, or with `--phase-spread` so that the
//! rooms' deadlines fall evenly over the whole second, as real rooms' do.
//!
//! With a timer of whole seconds, a room's deadline has the same sub-second phase as the
//! instant it started, and so do all of its ticks (`deadlineAt − k·1000`). With
//! `--phase-spread`, room `g` of `R` (counted over every shard) starts at
//!
//! ```text
//! base + (g mod k) · 1 s + g · 1000/R ms        k = max(1, ceil(start-over-ms / 1000))
//! ```
//!
//! so its phase is `g · 1000/R` ms: the `R` phases are evenly spread over the second, and
//! the starts are paced over `k` whole seconds (in each, every `k`-th room, their phases
//! still covering the whole second). Without `--phase-spread`, room `g` starts at
//! `base + g · start-over-ms / R`: evenly paced, phases wherever that puts them.
//!
//! For pairsync the start request is sent at that instant (its deadline is then the
//! instant the start committed, plus the timer); nchan has no start: its channel `g` is
//! given the deadline `base + offset + duration` exactly.

/// How the rooms' starts are placed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StartPlan {
    /// Spread the starts over this many ms (0: all at once).
    pub over_ms: u64,
    /// Spread the deadlines' phases evenly over the second.
    pub phase_spread: bool,
}

impl StartPlan {
    /// The offset (µs after the base instant) of room `g` among `total` rooms.
    pub fn offset_us(&self, g: usize, total: usize) -> i64 {
        let (g, total) = (g as i64, total.max(1) as i64);
        if self.phase_spread {
            let seconds = i64::try_from(self.over_ms.div_ceil(1000).max(1)).unwrap_or(1);
            (g % seconds) * 1_000_000 + g * 1_000_000 / total
        } else {
            let over_us = i64::try_from(self.over_ms).unwrap_or(0) * 1000;
            g * over_us / total
        }
    }

    /// How long after the base the last start comes (µs).
    pub fn span_us(&self, total: usize) -> i64 {
        (0..total)
            .map(|g| self.offset_us(g, total))
            .max()
            .unwrap_or(0)
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        match (self.phase_spread, self.over_ms) {
            (true, ms) => format!(
                "deadline phases spread evenly over the second, starts paced over {} s",
                ms.div_ceil(1000).max(1)
            ),
            (false, 0) => "all at once".to_string(),
            (false, ms) => format!("paced evenly over {ms} ms"),
        }
    }
}
