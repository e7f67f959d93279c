//! Percentiles of samples in microseconds, printed in milliseconds.

/// The `q` quantile of sorted µs values, in ms (NaN when empty).
pub fn percentile(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// `p50 …  p99 …  max …  (n …)` of sorted µs values, in ms.
pub fn p50_p99_max(sorted: &[i64]) -> String {
    format!(
        "p50 {:.1}  p99 {:.1}  max {:.1}  (n {})",
        percentile(sorted, 0.5),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0),
        sorted.len()
    )
}

/// `p50 …  p90 …  p99 …  max …  (min …)` of sorted µs values, in ms.
pub fn lateness_line(sorted: &[i64]) -> String {
    format!(
        "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (min {:.1})",
        percentile(sorted, 0.50),
        percentile(sorted, 0.90),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0),
        percentile(sorted, 0.0),
    )
}

/// How evenly instants fall over the second: from each instant's phase (epoch µs modulo
/// one second), the number of distinct milliseconds, the most instants within any 10 ms
/// window of the second (wrapping), and the longest stretch of the second with none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSpread {
    pub instants: usize,
    pub distinct_ms: usize,
    pub most_in_10_ms: usize,
    pub longest_gap_ms: f64,
}

/// The phase spread of epoch-µs instants (see [`PhaseSpread`]).
pub fn phase_spread(instants_us: &[i64]) -> PhaseSpread {
    let mut phases: Vec<i64> = instants_us
        .iter()
        .map(|t| t.rem_euclid(1_000_000))
        .collect();
    phases.sort_unstable();
    let mut ms: Vec<i64> = phases.iter().map(|p| p / 1000).collect();
    ms.dedup();
    let (mut most, mut gap) = (0, 0);
    if let (Some(first), Some(last)) = (phases.first(), phases.last()) {
        gap = first + 1_000_000 - last;
        for pair in phases.windows(2) {
            gap = gap.max(pair[1] - pair[0]);
        }
        // Windows [p, p + 10 ms) starting at each phase, over the second twice (wrapping).
        let twice: Vec<i64> = phases
            .iter()
            .copied()
            .chain(phases.iter().map(|p| p + 1_000_000))
            .collect();
        let mut end = 0;
        for (start, p) in twice.iter().enumerate().take(phases.len()) {
            while end < twice.len() && twice[end] < p + 10_000 {
                end += 1;
            }
            most = most.max(end - start);
        }
    }
    PhaseSpread {
        instants: phases.len(),
        distinct_ms: ms.len(),
        most_in_10_ms: most,
        longest_gap_ms: gap as f64 / 1000.0,
    }
}

impl std::fmt::Display for PhaseSpread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let even = (self.instants as f64 / 100.0).ceil();
        write!(
            f,
            "{} instants on {} distinct ms of the second; at most {} within 10 ms (evenly \
             spread: {even}); longest gap {:.1} ms",
            self.instants, self.distinct_ms, self.most_in_10_ms, self.longest_gap_ms
        )
    }
}
