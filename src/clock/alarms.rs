//! The system clock's alarm thread: one OS thread for the whole clock that wakes each
//! sleeper at its instant.
//!
//! Alarms wait in a heap ordered by instant. The thread parks until the earliest one is
//! due (the kernel's high-resolution timers end such a wait within tens of microseconds,
//! once the thread's timer slack is taken down from its default 50 µs)
//! and fires every alarm whose instant has come by completing its channel; a new alarm
//! that becomes the earliest unparks it. An alarm whose sleeper was dropped (a wake-up
//! replaced by another) is left to expire harmlessly, and swept out when such alarms pile up.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::{self, Thread};
use std::time::Instant;

use tokio::sync::oneshot;

/// Swept of dropped sleepers when it grows past twice its size after the last sweep
/// (and at least this).
const SWEEP_FLOOR: usize = 1024;

/// A handle on the alarm thread; the thread ends when the last handle is dropped.
pub(super) struct Alarms {
    shared: Arc<Shared>,
    thread: Thread,
}

struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Alarm>,
    /// Tie-breaker, so that alarms for one instant fire in the order they were set.
    next_seq: u64,
    /// The heap's size after the last sweep.
    swept_len: usize,
}

struct Alarm {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl Alarms {
    /// Starts the thread. A failure to spawn an OS thread at start-up is fatal anyway.
    pub(super) fn start() -> Alarms {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
        });
        let weak = Arc::downgrade(&shared);
        let handle = thread::Builder::new()
            .name("pairsync-alarms".into())
            .spawn(move || run(weak))
            .expect("the alarm thread starts");
        Alarms {
            shared,
            thread: handle.thread().clone(),
        }
    }

    /// A channel completed at `at` (at once when `at` has passed).
    pub(super) fn at(&self, at: Instant) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if at <= Instant::now() {
            let _ = tx.send(());
            return rx;
        }
        let mut state = self.shared.lock();
        let earliest = state.heap.peek().is_none_or(|top| at < top.at);
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Alarm { at, seq, tx });
        if state.heap.len() >= SWEEP_FLOOR.max(2 * state.swept_len) {
            state.heap.retain(|alarm| !alarm.tx.is_closed());
            state.swept_len = state.heap.len();
        }
        drop(state);
        if earliest {
            self.thread.unpark();
        }
        rx
    }
}

impl Drop for Alarms {
    fn drop(&mut self) {
        // The thread sees its `Weak` gone at its next look.
        self.thread.unpark();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; should it, the heap is still whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where Linux takes a thread's timer slack: how much later than asked the kernel may end
/// its timed waits, to batch wake-ups (50 µs by default).
const TIMER_SLACK: &str = "/proc/thread-self/timerslack_ns";

/// Fires due alarms and parks until the next one, for as long as a handle lives.
fn run(shared: Weak<Shared>) {
    // This thread's waits are the ticks' instants: end them as asked, not up to 50 µs
    // later. Elsewhere than Linux, or without /proc, they stay as the system has them.
    if let Err(e) = std::fs::write(TIMER_SLACK, "1") {
        log::debug!("alarm thread keeps the default timer slack: {e}");
    }
    while let Some(shared) = shared.upgrade() {
        let next = {
            let mut state = shared.lock();
            let now = Instant::now();
            while state.heap.peek().is_some_and(|top| top.at <= now) {
                if let Some(alarm) = state.heap.pop() {
                    let _ = alarm.tx.send(());
                }
            }
            state.heap.peek().map(|top| top.at)
        };
        drop(shared);
        match next {
            Some(at) => thread::park_timeout(at.saturating_duration_since(Instant::now())),
            None => thread::park(),
        }
    }
}

impl PartialEq for Alarm {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Alarm {}

impl PartialOrd for Alarm {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Alarm {
    /// Reversed, so that the heap's top is the earliest alarm.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn alarms_fire_in_the_order_of_their_instants_and_never_before_them() {
        let alarms = Alarms::start();
        let base = Instant::now();
        let offsets = [30u64, 10, 20];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for ms in offsets {
            let at = base + Duration::from_millis(ms);
            let wait = alarms.at(at);
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = wait.await;
                let _ = tx.send((ms, Instant::now() >= at));
            });
        }
        let mut fired = Vec::new();
        for _ in offsets {
            fired.push(rx.recv().await.expect("an alarm fires"));
        }
        assert_eq!(fired, [(10, true), (20, true), (30, true)]);
    }

    #[tokio::test]
    async fn a_dropped_sleeper_does_not_hold_back_the_others_and_is_swept() {
        let alarms = Alarms::start();
        let far = Instant::now() + Duration::from_secs(3600);
        for _ in 0..SWEEP_FLOOR {
            drop(alarms.at(far));
        }
        assert!(alarms.shared.lock().heap.len() < SWEEP_FLOOR);
        alarms
            .at(Instant::now() + Duration::from_millis(5))
            .await
            .expect("the near alarm fires");
    }
}
