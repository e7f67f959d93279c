//! When to try the event stream again: the server's `retry:` delay, doubled after each
//! failed attempt up to a ceiling, and back to the server's delay once a stream opens.

use std::time::Duration;

/// The delay before the server has sent its `retry:` (the server sends one first thing).
pub const DEFAULT_RETRY: Duration = Duration::from_millis(1000);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// The reconnection policy of one watched room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    retry: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            retry: DEFAULT_RETRY,
            failures: 0,
        }
    }
}

impl Backoff {
    /// The server's `retry:` field.
    pub fn set_retry(&mut self, retry: Duration) {
        self.retry = retry;
    }

    /// A stream opened: the next loss waits the server's delay again.
    pub fn opened(&mut self) {
        self.failures = 0;
    }

    /// The wait before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        self.retry.saturating_mul(factor).min(MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_wait_is_the_servers_retry_then_it_doubles_to_a_ceiling() {
        let mut b = Backoff::default();
        b.set_retry(ms(250));
        let waits: Vec<Duration> = (0..9).map(|_| b.next_delay()).collect();
        assert_eq!(
            waits,
            [
                ms(250),
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                MAX_DELAY,
                MAX_DELAY,
                MAX_DELAY
            ]
        );
    }

    #[test]
    fn an_opened_stream_starts_over() {
        let mut b = Backoff::default();
        b.next_delay();
        b.next_delay();
        b.opened();
        assert_eq!(b.next_delay(), DEFAULT_RETRY);
    }

    #[test]
    fn many_failures_never_overflow() {
        let mut b = Backoff::default();
        for _ in 0..100 {
            assert!(b.next_delay() <= MAX_DELAY);
        }
    }
}
