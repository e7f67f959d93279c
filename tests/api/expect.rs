//! What the suite expects of every answer and every timed event: the contract's error
//! body; timed events neither early nor later than the contract's bound plus a stated
//! allowance for a loaded test machine; and how it waits for a condition.
//!
//! The bounds, and why each allowance is what it is, are in `tests/README.md` ("Timing").
//! With `PAIRSYNC_TEST_TIMING_LOG=FILE` set, every timed check appends one line to FILE,
//! `KIND LATE_MS WHAT`, which is how the allowances were measured.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// The contract: a tick is sent at `deadlineAt − v`, "a few ms late at most, never early".
/// "A few" is read as this many.
pub const CONTRACT_FEW_MS: i64 = 5;

/// What the suite adds to a bound of the contract for the machine it runs on: the test
/// process stamps each event when its reader task gets to it, on two cores shared with the
/// servers of the tests running beside it (cargo runs the suite's tests in parallel, each
/// with its own servers). Measured here (tests/README.md, "Timing"), the whole suite on a
/// quiet machine: ticks worst 3.5 ms (SQLite) and 13.8 ms (PostgreSQL), a change across
/// processes worst 12.5 ms. The allowance is about three times that, for a CI machine's
/// neighbours; an allowance wide enough for a machine busy building other checkouts
/// (ticks up to 167 ms) would let a late server through, so such a machine may fail here.
pub const LOADED_MACHINE_MS: i64 = 40;

/// How late a tick may reach the suite. Early is never allowed.
pub const TIMER_LATE_MS: i64 = CONTRACT_FEW_MS + LOADED_MACHINE_MS;

/// How late a time-up's `timer: stop`, or an automatic pause, may be: as a tick. The time-up
/// is committed before it is told, and a pause first reads (on PostgreSQL) whether another
/// process holds a stream, but the contract gives neither more than "a few ms": the stop
/// follows the final tick, which is held to that, and a pause is "as if `stop` had been
/// requested" at its instant. Measured here, the suite alone on PostgreSQL: time-ups at most
/// 21 ms, pauses at most 31 ms late, inside the allowance.
pub const WRITTEN_LATE_MS: i64 = TIMER_LATE_MS;

/// The contract: a change committed through one process reaches the streams on every other
/// process within 100 ms (loopback).
pub const CONTRACT_ACROSS_MS: i64 = 100;

/// How long after a command's answer its events may reach a stream on another process.
pub const ACROSS_MS: i64 = CONTRACT_ACROSS_MS + LOADED_MACHINE_MS;

/// Microseconds since the Unix epoch, as the test process reads the clock (the servers run
/// on the same machine and read the same clock).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Appends `KIND LATE_MS WHAT` to the file named by `PAIRSYNC_TEST_TIMING_LOG`, if set.
pub fn record_timing(kind: &str, late_ms: f64, what: &str) {
    let Ok(path) = std::env::var("PAIRSYNC_TEST_TIMING_LOG") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{kind} {late_ms:.3} {what}");
    }
}

/// Asserts that `what`, seen at `seen_us` (epoch µs), came no earlier than `due_ms` (epoch
/// ms) and at most `late_ms` after it.
pub fn assert_within(kind: &str, what: &str, seen_us: i64, due_ms: i64, late_ms: i64) {
    let late = (seen_us - due_ms * 1000) as f64 / 1000.0;
    record_timing(kind, late, what);
    assert!(late >= 0.0, "{what} came {:.1} ms early", -late);
    assert!(
        late <= late_ms as f64,
        "{what} came {late:.1} ms late (the bound is {late_ms} ms)"
    );
}

/// Asserts that a tick, seen at `seen_us` (epoch µs), came no earlier than `due_ms` (epoch
/// ms) and at most [`TIMER_LATE_MS`] after it.
pub fn assert_on_time(what: &str, seen_us: i64, due_ms: i64) {
    assert_within("timer", what, seen_us, due_ms, TIMER_LATE_MS);
}

/// Asserts that every tick and every countdown's end among `frames` (consecutive events of
/// one stream, read as they arrived) is on time: a `remaining-time: v` that follows a
/// running `state` is due at that state's `deadlineAt − v` (at most [`TIMER_LATE_MS`]
/// late), and the `timer: stop` that ends the countdown at its `deadlineAt` (at most
/// [`WRITTEN_LATE_MS`] late). Returns how many were checked.
pub fn assert_ticks_on_time(what: &str, frames: &[crate::sse::Frame]) -> usize {
    let mut deadline: Option<i64> = None;
    let mut checked = 0;
    for f in frames {
        match f.event.as_deref() {
            Some("state") => {
                let state = f.json();
                deadline = (state["state"] == "running")
                    .then(|| state["deadlineAt"].as_i64())
                    .flatten();
            }
            Some("remaining-time") => {
                if let Some(deadline) = deadline {
                    let v = f.ms();
                    assert_on_time(&format!("{what}: tick {v}"), f.received_us, deadline - v);
                    checked += 1;
                }
            }
            Some("timer") => {
                if let (Some(deadline), Some("stop")) = (deadline, f.data.as_deref()) {
                    assert_within(
                        "time-up",
                        &format!("{what}: timer: stop"),
                        f.received_us,
                        deadline,
                        WRITTEN_LATE_MS,
                    );
                    checked += 1;
                }
                deadline = None;
            }
            _ => {}
        }
    }
    checked
}

/// Asserts that a change committed when its command was answered (`answered_us`, epoch µs)
/// reached a stream of another process (at `seen_us`) within [`ACROSS_MS`].
pub fn assert_across_in_time(what: &str, seen_us: i64, answered_us: i64) {
    let late = (seen_us - answered_us) as f64 / 1000.0;
    record_timing("across", late, what);
    assert!(
        late <= ACROSS_MS as f64,
        "{what} reached another process's stream {late:.1} ms after the command's answer \
         (the bound is {ACROSS_MS} ms)"
    );
}

/// Asserts that `gap_us` between two writes on a stream is at most `heartbeat` (the
/// contract's "most ms between two writes", with no "few ms" beside it) plus
/// [`LOADED_MACHINE_MS`].
pub fn assert_heartbeat_gap(what: &str, gap_us: i64, heartbeat: Duration) {
    let late = gap_us as f64 / 1000.0 - heartbeat.as_millis() as f64;
    record_timing("heartbeat", late, what);
    assert!(
        late <= LOADED_MACHINE_MS as f64,
        "{what}: {:.1} ms between two writes, the heartbeat is {heartbeat:?} (the bound is \
         {LOADED_MACHINE_MS} ms more)",
        gap_us as f64 / 1000.0
    );
}

/// Asserts that `res` is the contract's error answer: `status`, `Content-Type:
/// application/json`, and a body `{"error": code, "message": a sentence}`. Returns the body.
pub async fn expect_error(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let what = format!("{} {}", res.url().path(), res.status());
    assert_eq!(res.status(), status, "{what}");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: content-type {content_type:?}"
    );
    let body: Value = res.json().await.expect("a JSON error body");
    assert_eq!(body["error"], code, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    body
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < within,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
