//! The timer endpoints: start, stop, reset, duration changes, and what each tells the streams.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::expect::{assert_on_time, assert_ticks_on_time, expect_error};
use crate::helpers::{now_ms, TestServer};
use crate::sse::{Frame, Recording};

const WAIT: Duration = Duration::from_secs(5);

fn pair(event: &str, data: &str) -> (String, String) {
    (event.to_string(), data.to_string())
}

#[tokio::test]
async fn start_runs_toward_now_plus_remaining_and_a_second_start_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    let before = now_ms();
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let after = now_ms();
    let timer = app.timer(&code).await;
    assert_eq!(timer["state"], "running");
    let deadline = timer["deadlineAt"].as_i64().expect("deadline");
    assert!(deadline >= before + 60000 && deadline <= after + 60000);
    assert_eq!(stream.next_event(WAIT).await.pair(), pair("timer", "start"));
    let state = stream.next_event(WAIT).await;
    assert_eq!(state.event.as_deref(), Some("state"));
    assert_eq!(state.json()["deadlineAt"], deadline);

    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.timer(&code).await["deadlineAt"], deadline);
    // The next thing the stream sees is the regular tick at 59 s, on time, not a second
    // start.
    let next = stream.next_event(WAIT).await;
    assert_eq!(next.pair(), pair("remaining-time", "59000"));
    assert_on_time("tick 59000", next.received_us, deadline - 59000);
}

#[tokio::test]
async fn stop_pauses_at_the_exact_remaining_millisecond() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    tokio::time::sleep(Duration::from_millis(1234)).await;
    let before = now_ms();
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/stop")).await,
        StatusCode::NO_CONTENT
    );
    let after = now_ms();
    let timer = app.timer(&code).await;
    assert_eq!(timer["state"], "paused");
    assert_eq!(timer["deadlineAt"], serde_json::Value::Null);
    let remaining = timer["remainingTime"].as_i64().expect("remaining");
    assert!(
        remaining <= deadline - before && remaining >= deadline - after,
        "{remaining} outside [{}, {}]",
        deadline - after,
        deadline - before
    );
    // The pause keeps its millisecond: later reads give the same value.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.timer(&code).await["remainingTime"], remaining);

    let mut seen = Vec::new();
    loop {
        let f = stream.next_event(WAIT).await;
        let done = f.event.as_deref() == Some("state");
        seen.push(f.pair());
        if done && seen.iter().any(|p| p.1 == "pause") {
            break;
        }
    }
    let from_pause: Vec<_> = seen
        .iter()
        .skip_while(|p| p.1 != "pause")
        .take(2)
        .cloned()
        .collect();
    assert_eq!(
        from_pause,
        vec![
            pair("timer", "pause"),
            pair("remaining-time", &remaining.to_string())
        ]
    );

    // Resume: the new deadline is now + the paused remaining.
    let before = now_ms();
    app.patch(&format!("/api/{code}/timer/start")).await;
    let after = now_ms();
    let resumed = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    assert!(resumed >= before + remaining && resumed <= after + remaining);
}

#[tokio::test]
async fn requests_that_change_nothing_send_nothing() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/stop")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/reset")).await,
        StatusCode::NO_CONTENT
    );
    assert!(stream.quiet_for(Duration::from_millis(400)).await);
    assert_eq!(app.timer(&code).await["state"], "idle");
}

#[tokio::test]
async fn reset_goes_idle_at_full_duration_and_keeps_roles_and_round() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/reset")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        stream.pairs(2, WAIT).await,
        vec![pair("timer", "reset"), pair("remaining-time", "60000")]
    );
    let state = stream.next_event(WAIT).await.json();
    assert_eq!(state["state"], "idle");
    assert_eq!(state["navigator"], "Ann");
    assert_eq!(state["round"], 0);
    assert_eq!(app.timer(&code).await["remainingTime"], 60000);
}

/// Waits on `stream`, from a start on, for the `state` event that ends a time-up (idle);
/// checks that the ticks and the time-up on the way were on time; returns that state.
async fn time_up_state(stream: &mut crate::sse::EventStream) -> serde_json::Value {
    let mut frames = Vec::new();
    loop {
        let f = stream.next_event(WAIT).await;
        let done = f.event.as_deref() == Some("state") && f.json()["state"] == "idle";
        frames.push(f);
        if done {
            assert!(
                assert_ticks_on_time("the countdown", &frames) >= 2,
                "{frames:?}"
            );
            return frames[frames.len() - 1].json();
        }
    }
}

#[tokio::test]
async fn reset_keeps_a_round_that_is_not_zero_and_the_roles_a_time_up_swapped() {
    let app = TestServer::spawn().await;
    let code = app.room(1000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let after_time_up = time_up_state(&mut stream).await;
    assert_eq!(after_time_up["round"], 1);
    app.patch(&format!("/api/{code}/timer/start")).await;
    assert_eq!(stream.next_event(WAIT).await.pair(), pair("timer", "start"));
    stream.next_event(WAIT).await; // state: running
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/reset")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        stream.pairs(2, WAIT).await,
        vec![pair("timer", "reset"), pair("remaining-time", "1000")]
    );
    let state = stream.next_event(WAIT).await.json();
    assert_eq!(
        (
            state["state"].as_str(),
            state["round"].as_i64(),
            state["navigator"].as_str(),
            state["driver"].as_str()
        ),
        (Some("idle"), Some(1), Some("Bob"), Some("Ann"))
    );
    let t = app.timer(&code).await;
    assert_eq!(
        (t["round"].as_i64(), t["remainingTime"].as_i64()),
        (Some(1), Some(1000))
    );
}

#[tokio::test]
async fn a_stop_at_or_after_the_deadline_finds_the_time_up_done() {
    let app = TestServer::spawn().await;
    let code = app.room(1000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    // Read in the background, so that each event is stamped when it arrives.
    let stream = Recording::start(stream);
    // At the deadline, then well after it.
    for (late_ms, round, navigator) in [(0, 1, "Bob"), (300, 2, "Ann")] {
        let from = stream.events().len();
        app.patch(&format!("/api/{code}/timer/start")).await;
        let deadline = app.timer(&code).await["deadlineAt"]
            .as_i64()
            .expect("deadline");
        let wait = (deadline + late_ms - now_ms()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        assert_eq!(
            app.patch(&format!("/api/{code}/timer/stop")).await,
            StatusCode::NO_CONTENT
        );
        let t = app.timer(&code).await;
        assert_eq!(
            (
                t["state"].as_str(),
                t["round"].as_i64(),
                t["remainingTime"].as_i64()
            ),
            (Some("idle"), Some(round), Some(1000)),
            "stopped {late_ms} ms after the deadline"
        );
        // The streams saw the time-up, on time, and no pause.
        let idle = stream
            .until_from(from, WAIT, |f| {
                f.event.as_deref() == Some("state") && f.json()["state"] == "idle"
            })
            .await;
        assert_eq!(idle.json()["navigator"], navigator);
        let frames: Vec<Frame> = stream.events()[from..].to_vec();
        let seen: Vec<_> = frames.iter().map(Frame::pair).collect();
        let end = seen.len();
        assert_eq!(
            seen[end - 4..end - 1].to_vec(),
            vec![
                pair("remaining-time", "0"),
                pair("timer", "stop"),
                pair("remaining-time", "1000")
            ]
        );
        assert!(assert_ticks_on_time("the countdown", &frames) >= 2);
        assert!(!seen.contains(&pair("timer", "pause")), "{seen:?}");
    }
    // Nothing after the second time-up.
    let told = stream.events().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stream.events().len(),
        told,
        "{:?}",
        &stream.events()[told..]
    );
}

#[tokio::test]
async fn setting_the_duration_updates_idle_or_paused_and_always_broadcasts() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    let path = format!("/api/{code}/timer");

    let (status, _) = app.patch_json(&path, json!({"duration": 90000})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stream.pairs(2, WAIT).await,
        vec![pair("timer", "update"), pair("remaining-time", "90000")]
    );
    assert_eq!(stream.next_event(WAIT).await.json()["duration"], 90000);
    let t = app.timer(&code).await;
    assert_eq!(
        (t["state"].as_str(), t["duration"].as_i64()),
        (Some("idle"), Some(90000))
    );

    let (status, _) = app
        .patch_json(&path, json!({"duration": 90000, "remainingTime": 30000}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stream.pairs(3, WAIT).await[..2],
        [pair("timer", "update"), pair("remaining-time", "30000")]
    );
    let t = app.timer(&code).await;
    assert_eq!(
        (t["state"].as_str(), t["remainingTime"].as_i64()),
        (Some("paused"), Some(30000))
    );

    // The same values again still broadcast.
    app.patch_json(&path, json!({"duration": 90000, "remainingTime": 30000}))
        .await;
    assert_eq!(
        stream.next_event(WAIT).await.pair(),
        pair("timer", "update")
    );
}

#[tokio::test]
async fn setting_the_duration_while_running_is_409_and_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"].clone();
    let res = app
        .client
        .patch(app.url(&format!("/api/{code}/timer")))
        .json(&json!({"duration": 5000}))
        .send()
        .await
        .expect("request");
    expect_error(res, StatusCode::CONFLICT, "timer_running").await;
    let t = app.timer(&code).await;
    assert_eq!(
        (t["duration"].as_i64(), &t["deadlineAt"]),
        (Some(60000), &deadline)
    );
}

#[tokio::test]
async fn invalid_durations_are_400_naming_the_field() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let path = format!("/api/{code}/timer");
    for (body, field) in [
        (json!({}), "duration"),
        (json!({"duration": 500}), "duration"),
        (json!({"duration": "long"}), "duration"),
        (
            json!({"duration": 5000, "remainingTime": 6000}),
            "remainingTime",
        ),
        (
            json!({"duration": 5000, "remainingTime": -1}),
            "remainingTime",
        ),
        (
            json!({"duration": 5000, "remainingTime": 0}),
            "remainingTime",
        ),
        (json!({"duration": 999}), "duration"),
        (json!({"duration": 86_400_001}), "duration"),
    ] {
        let (status, err) = app.patch_json(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(err["error"], "invalid_request");
        assert!(
            err["message"].as_str().unwrap_or("").contains(field),
            "{body} → {err}"
        );
    }
    assert_eq!(app.timer(&code).await["duration"], 60000);
}

#[tokio::test]
async fn durations_and_remaining_times_at_the_bounds_are_accepted() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let path = format!("/api/{code}/timer");
    for (body, state, duration, remaining) in [
        (
            json!({"duration": 86_400_000}),
            "idle",
            86_400_000,
            86_400_000,
        ),
        (json!({"duration": 1000}), "idle", 1000, 1000),
        (
            json!({"duration": 86_400_000, "remainingTime": 1}),
            "paused",
            86_400_000,
            1,
        ),
        (
            json!({"duration": 1000, "remainingTime": 1000}),
            "idle",
            1000,
            1000,
        ),
    ] {
        let (status, err) = app.patch_json(&path, body.clone()).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body} → {err}");
        let t = app.timer(&code).await;
        assert_eq!(
            (
                t["state"].as_str(),
                t["duration"].as_i64(),
                t["remainingTime"].as_i64()
            ),
            (Some(state), Some(duration), Some(remaining)),
            "{body}"
        );
    }
}
