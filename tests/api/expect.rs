//! What the suite expects of every answer and every timed event: the contract's error
//! body, and events neither early nor later than a stated tolerance; and how it waits for
//! a condition.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// How late the suite lets a timed event reach it: a tick, a time-up, a heartbeat, an
/// automatic pause. The contract asks for a few ms; the suite runs many servers at once
/// on two cores and sees some events only by polling, so it allows this much. Early is
/// never allowed.
pub const LATE_TOLERANCE_MS: i64 = 250;

/// [`LATE_TOLERANCE_MS`] as a duration.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(LATE_TOLERANCE_MS as u64);

/// Asserts that `what`, seen at `seen_ms`, came no earlier than `due_ms` and at most
/// [`LATE_TOLERANCE_MS`] after it (Unix epoch milliseconds).
pub fn assert_on_time(what: &str, seen_ms: i64, due_ms: i64) {
    assert!(
        seen_ms >= due_ms,
        "{what} came {} ms early",
        due_ms - seen_ms
    );
    assert!(
        seen_ms - due_ms <= LATE_TOLERANCE_MS,
        "{what} came {} ms late (tolerance {LATE_TOLERANCE_MS} ms)",
        seen_ms - due_ms
    );
}

/// Asserts that `what`, seen `seen` after a reference instant, came no earlier than `due`
/// after it and at most [`LATE_TOLERANCE`] later.
pub fn assert_on_time_after(what: &str, seen: Duration, due: Duration) {
    assert!(
        seen >= due,
        "{what} came early: after {seen:?}, due {due:?}"
    );
    assert!(
        seen <= due + LATE_TOLERANCE,
        "{what} came late: after {seen:?}, due {due:?} (tolerance {LATE_TOLERANCE:?})"
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
