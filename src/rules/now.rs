//! A reading of the clock as the rules take it: the wall clock for deadlines, a monotonic
//! offset for graces, idle times and retries. The clock itself lives in `crate::clock`.

use std::time::Duration;

/// One reading of the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Unix epoch milliseconds (truncated, so never ahead of the true instant).
    pub wall_ms: i64,
    /// Time since the clock started; never goes back.
    pub mono: Duration,
}

impl Now {
    /// The monotonic instant at which the wall clock will read `wall_ms`, as seen from this
    /// reading (now, when `wall_ms` has passed). Because `self.wall_ms` is truncated, a wait
    /// for the result never ends before the wall clock reaches `wall_ms`.
    pub fn mono_at_wall(&self, wall_ms: i64) -> Duration {
        let ahead = u64::try_from(wall_ms.saturating_sub(self.wall_ms)).unwrap_or(0);
        self.mono + Duration::from_millis(ahead)
    }
}
