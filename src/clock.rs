//! The one clock the server reads, injected at start: the system clock in production, a
//! [`ManualClock`] in tests.
//!
//! A reading ([`Now`]) has two faces: the wall clock in Unix epoch milliseconds, which the
//! API and the database use for deadlines, and a monotonic offset since the clock's start,
//! which measures grace periods, idle times and retries without jumping when the wall
//! clock is stepped. [`Clock::sleep_until`] waits for a monotonic instant; with the manual
//! clock it waits until a test advances the clock that far.
//!
//! The system clock wakes its sleepers from one thread of its own ([`alarms`]), to within
//! tens of microseconds of their instant: tokio's timer counts whole milliseconds and
//! rounds every instant up, which would make every tick 1–2 ms late.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch};

use self::alarms::Alarms;
pub use crate::rules::Now;

mod alarms;

/// Held while a wake-up is being handled. With the manual clock,
/// [`ManualClock::advance`] returns only once every wake-up it caused has been handled and
/// its token dropped; with the system clock it carries nothing.
#[derive(Debug, Default)]
pub struct WakeToken(Option<Arc<Pending>>);

impl Drop for WakeToken {
    fn drop(&mut self) {
        if let Some(pending) = self.0.take() {
            pending.done();
        }
    }
}

/// A future that ends at a monotonic instant.
pub type Sleep = Pin<Box<dyn Future<Output = WakeToken> + Send>>;

trait Source: Send + Sync + 'static {
    fn now(&self) -> Now;
    fn sleep_until(&self, mono: Duration) -> Sleep;
}

/// A cheap, cloneable handle on the clock chosen at start.
#[derive(Clone)]
pub struct Clock(Arc<dyn Source>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

impl Clock {
    /// The operating system's clocks.
    pub fn system() -> Clock {
        Clock(Arc::new(SystemSource {
            start: Instant::now(),
            latest: AtomicU64::new(0),
            alarms: Alarms::start(),
        }))
    }

    /// A clock that moves only when the returned [`ManualClock`] advances it, starting at
    /// `wall_ms`.
    pub fn manual(wall_ms: i64) -> (Clock, ManualClock) {
        let manual = ManualClock(Arc::new(ManualSource {
            state: Mutex::new(ManualState {
                now: Now {
                    wall_ms,
                    mono: Duration::ZERO,
                },
                sleepers: Vec::new(),
            }),
            pending: Arc::new(Pending::default()),
        }));
        (Clock(manual.0.clone()), manual)
    }

    /// The current reading.
    pub fn now(&self) -> Now {
        self.0.now()
    }

    /// Unix epoch milliseconds, now.
    pub fn now_ms(&self) -> i64 {
        self.0.now().wall_ms
    }

    /// Ends at the monotonic instant `mono` (at once when it has passed).
    pub fn sleep_until(&self, mono: Duration) -> Sleep {
        self.0.sleep_until(mono)
    }
}

struct SystemSource {
    start: Instant,
    /// The highest monotonic reading handed out, in nanoseconds since `start`.
    latest: AtomicU64,
    alarms: Alarms,
}

impl Source for SystemSource {
    /// The wall clock is read to the microsecond and truncated to the millisecond; the
    /// monotonic face is moved back by what was truncated, so that it names the instant at
    /// which the wall clock read `wall_ms` exactly. [`Now::mono_at_wall`] then gives the
    /// very instant a wall-clock time falls due, not up to 1 ms after it. Readings never
    /// go back, even when the wall clock is stepped.
    fn now(&self) -> Now {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let elapsed = self.start.elapsed();
        let wall_ms = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
        let truncated = Duration::from_nanos(u64::from(since_epoch.subsec_nanos() % 1_000_000));
        let aligned =
            u64::try_from(elapsed.saturating_sub(truncated).as_nanos()).unwrap_or(u64::MAX);
        let previous = self.latest.fetch_max(aligned, Ordering::Relaxed);
        Now {
            wall_ms,
            mono: Duration::from_nanos(previous.max(aligned)),
        }
    }

    fn sleep_until(&self, mono: Duration) -> Sleep {
        let rx = self.alarms.at(self.start + mono);
        Box::pin(async move {
            // The alarm thread outlives every clock handle; a closed channel still means
            // the instant has come or the process is ending.
            let _ = rx.await;
            WakeToken::default()
        })
    }
}

/// Counts wake-ups that fired and are not yet handled.
#[derive(Debug)]
struct Pending {
    count: watch::Sender<usize>,
}

impl Default for Pending {
    fn default() -> Pending {
        Pending {
            count: watch::Sender::new(0),
        }
    }
}

impl Pending {
    fn started(self: &Arc<Self>) -> WakeToken {
        self.count.send_modify(|n| *n += 1);
        WakeToken(Some(self.clone()))
    }

    fn done(&self) {
        self.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

struct ManualState {
    now: Now,
    sleepers: Vec<(Duration, oneshot::Sender<WakeToken>)>,
}

struct ManualSource {
    state: Mutex<ManualState>,
    pending: Arc<Pending>,
}

impl ManualSource {
    fn state(&self) -> MutexGuard<'_, ManualState> {
        // A panic while holding this lock leaves plain numbers behind; go on with them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every sleeper whose instant has come; whether any was woken.
    fn wake_due(&self) -> bool {
        let mut state = self.state();
        let now = state.now.mono;
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut state.sleepers)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        state.sleepers = waiting;
        drop(state);
        let mut woke = false;
        for (_, tx) in due {
            // A sleeper whose future was dropped (a cancelled wake-up) is not waited for.
            woke |= tx.send(self.pending.started()).is_ok();
        }
        woke
    }
}

impl Source for ManualSource {
    fn now(&self) -> Now {
        self.state().now
    }

    fn sleep_until(&self, mono: Duration) -> Sleep {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state();
        if mono <= state.now.mono {
            drop(state);
            let _ = tx.send(self.pending.started());
        } else {
            state.sleepers.push((mono, tx));
        }
        Box::pin(async move {
            match rx.await {
                Ok(token) => token,
                // The clock is gone: this wake-up never comes.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

/// The test side of a manual clock: moves it, and waits until what fell due was handled.
#[derive(Clone)]
pub struct ManualClock(Arc<ManualSource>);

impl ManualClock {
    /// Moves both faces of the clock forward by `by`, one millisecond at a time where a
    /// sleeper is due in between, and returns once every wake-up that fell due has been
    /// handled (including wake-ups those handlers asked for on the way).
    pub async fn advance(&self, by: Duration) {
        let target = self.0.state().now.mono + by;
        loop {
            let next = {
                let state = self.0.state();
                state
                    .sleepers
                    .iter()
                    .map(|(at, _)| *at)
                    .filter(|at| *at <= target)
                    .min()
                    .unwrap_or(target)
                    .max(state.now.mono)
            };
            self.set_mono(next);
            self.settle().await;
            if next >= target && !self.due_now() {
                return;
            }
        }
    }

    /// The current reading.
    pub fn now(&self) -> Now {
        self.0.now()
    }

    fn due_now(&self) -> bool {
        let state = self.0.state();
        state.sleepers.iter().any(|(at, _)| *at <= state.now.mono)
    }

    fn set_mono(&self, mono: Duration) {
        let mut state = self.0.state();
        let step = mono.saturating_sub(state.now.mono);
        state.now.mono = mono;
        state.now.wall_ms += i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    }

    /// Waits until every woken sleeper has finished its work, waking any that became due.
    async fn settle(&self) {
        loop {
            self.0.wake_due();
            let mut count = self.0.pending.count.subscribe();
            // The sender lives in `self`, so this wait ends only when the count is 0.
            let _ = count.wait_for(|n| *n == 0).await;
            if !self.due_now() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_instant_maps_to_a_monotonic_one_never_before_it() {
        let now = Now {
            wall_ms: 10_000,
            mono: Duration::from_millis(500),
        };
        assert_eq!(now.mono_at_wall(10_250), Duration::from_millis(750));
        assert_eq!(now.mono_at_wall(9_000), Duration::from_millis(500));
    }

    #[tokio::test]
    async fn the_manual_clock_wakes_sleepers_only_when_advanced_past_them() {
        let (clock, manual) = Clock::manual(1_000);
        let mut sleep = clock.sleep_until(Duration::from_millis(300));
        assert!(futures_util::FutureExt::now_or_never(&mut sleep).is_none());
        let handled = tokio::spawn(async move {
            let token = sleep.await;
            drop(token);
        });
        manual.advance(Duration::from_millis(299)).await;
        assert!(!handled.is_finished());
        manual.advance(Duration::from_millis(1)).await;
        handled.await.expect("sleeper ran");
        assert_eq!(clock.now().wall_ms, 1_300);
        assert_eq!(clock.now().mono, Duration::from_millis(300));
    }

    #[tokio::test]
    async fn advance_waits_until_a_woken_sleeper_drops_its_token() {
        let (clock, manual) = Clock::manual(0);
        let sleep = clock.sleep_until(Duration::from_millis(10));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let token = sleep.await;
            let _ = rx.await;
            drop(token);
        });
        let advancing = tokio::spawn(async move { manual.advance(Duration::from_secs(1)).await });
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        assert!(!advancing.is_finished());
        tx.send(()).expect("sleeper waits");
        advancing.await.expect("advance returns");
    }

    #[tokio::test]
    async fn the_system_clock_wakes_a_wall_clock_instant_never_before_it_comes() {
        let clock = Clock::system();
        for _ in 0..20 {
            let now = clock.now();
            let due = now.wall_ms + 2;
            drop(clock.sleep_until(now.mono_at_wall(due)).await);
            let woke = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis();
            assert!(woke >= due as u128, "woke at {woke}, due at {due}");
            assert!(clock.now().mono >= now.mono);
        }
    }

    #[tokio::test]
    async fn a_past_instant_ends_at_once() {
        let (clock, _manual) = Clock::manual(0);
        let token = clock.sleep_until(Duration::ZERO).await;
        drop(token);
        let system = Clock::system();
        drop(system.sleep_until(Duration::ZERO).await);
    }
}
