//! Instants as Unix epoch microseconds (what the server's `deadlineAt` and the benchmarks'
//! samples are measured in), and waits until one of them: to the microsecond on a
//! dedicated OS thread, to the millisecond on the async runtime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A thread that waits for an instant sleeps until this long before it, then spins: a
/// sleep alone wakes up to ~100 µs late (timer slack and scheduling).
pub const SPIN_BEFORE: Duration = Duration::from_micros(200);

/// Now, in microseconds since the Unix epoch.
pub fn epoch_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_micros()).expect("microseconds fit in i64")
}

/// Now, in milliseconds since the Unix epoch.
pub fn epoch_ms() -> i64 {
    epoch_us() / 1000
}

/// Blocks the calling OS thread until the epoch instant `due_us`: it sleeps until
/// [`SPIN_BEFORE`] ahead of it, then spins. Returns at once when the instant has passed.
pub fn block_until_us(due_us: i64) {
    let spin_us = i64::try_from(SPIN_BEFORE.as_micros()).unwrap_or(200);
    loop {
        let left = due_us - epoch_us();
        if left <= 0 {
            return;
        }
        if left > spin_us {
            std::thread::sleep(Duration::from_micros(
                u64::try_from(left - spin_us).unwrap_or(0),
            ));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Waits on the async runtime until the epoch instant `due_us` (millisecond precision:
/// for waits whose exact instant is not measured).
pub async fn sleep_until_us(due_us: i64) {
    let left = u64::try_from(due_us - epoch_us()).unwrap_or(0);
    tokio::time::sleep(Duration::from_micros(left)).await;
}
