//! Breaks and auto-start on the real binary: the settings a room is created with, a break
//! that survives `kill -9` and a restart on its own deadline, and (on PostgreSQL) a time-up
//! and its break that happen once and are told alike on every process.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::{assert_ticks_on_time, expect_error};
use crate::helpers::{on_postgres_or_skip, TestServer};
use crate::sse::{EventStream, Frame};

/// Longest wait for an event that is due within the test's timings.
const WITHIN: Duration = Duration::from_secs(8);

/// Creates a room of `duration` ms (Ann navigates, Bob drives) with these settings.
async fn room_with(app: &TestServer, duration: i64, settings: Value) -> String {
    let mut body = json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration});
    if let (Some(body), Some(settings)) = (body.as_object_mut(), settings.as_object()) {
        body.extend(settings.clone());
    }
    app.create_room(body).await
}

/// Reads events until `(event, data)` has come, then through the next `state`; the frames.
async fn until_frames(stream: &mut EventStream, event: &str, data: &str) -> Vec<Frame> {
    let wanted = (event.to_string(), data.to_string());
    let mut seen = Vec::new();
    let mut found = false;
    loop {
        let frame = stream.next_event(WITHIN).await;
        let is_state = frame.event.as_deref() == Some("state");
        found |= frame.pair() == wanted;
        seen.push(frame);
        if is_state && found {
            return seen;
        }
    }
}

/// The frames as `(event, data)`, a `state` as `state` with its phase, state and round.
fn told(frames: &[Frame]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|frame| match frame.event.as_deref() {
            Some("state") => {
                let s = frame.json();
                (
                    "state".to_string(),
                    format!("{} {} {}", s["phase"], s["state"], s["round"]),
                )
            }
            _ => frame.pair(),
        })
        .collect()
}

/// Reads events until `(event, data)` has come, then through the next `state`. Answers
/// every event read, a `state` as `state` with its phase, state and round.
async fn until(stream: &mut EventStream, event: &str, data: &str) -> Vec<(String, String)> {
    told(&until_frames(stream, event, data).await)
}

#[tokio::test]
async fn a_room_is_created_with_its_settings_and_a_bad_one_is_refused_naming_it() {
    let app = TestServer::spawn().await;
    let code = room_with(
        &app,
        60_000,
        json!({"autoStart": true, "breakEvery": 3, "breakDuration": 120_000}),
    )
    .await;
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        room["settings"],
        json!({"autoStart": true, "breakEvery": 3, "breakDuration": 120_000})
    );
    assert_eq!(room["timer"]["phase"], "turn");
    let plain = app.room(60_000).await;
    let (_, room) = app.get_json(&format!("/api/pair-room/{plain}")).await;
    assert_eq!(
        room["settings"],
        json!({"autoStart": false, "breakEvery": 0, "breakDuration": 300_000})
    );

    for (field, value) in [
        ("autoStart", json!("true")),
        ("breakEvery", json!(21)),
        ("breakDuration", json!(3_600_001)),
    ] {
        let mut body = json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 60_000});
        body[field] = value;
        let res = app
            .client
            .post(app.url("/api/pair-room"))
            .json(&body)
            .send()
            .await
            .expect("request");
        let answer = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_restart_mid_break_resumes_the_break_on_the_same_deadline() {
    let mut app = TestServer::spawn().await;
    let code = room_with(&app, 1000, json!({"breakEvery": 1, "breakDuration": 6000})).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    until(&mut stream, "timer", "break").await;
    let timer = app.timer(&code).await;
    assert_eq!(
        (&timer["phase"], &timer["state"]),
        (&json!("break"), &json!("running"))
    );
    let deadline = timer["deadlineAt"].as_i64().expect("a running break");
    drop(stream);

    app.crash_and_restart();

    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (
            &room["timer"]["phase"],
            &room["timer"]["state"],
            &room["timer"]["deadlineAt"]
        ),
        (&json!("break"), &json!("running"), &json!(deadline)),
        "the restart took too long or lost the break: {room}"
    );
    assert_eq!(room["timer"]["round"], 1);
    assert_eq!(room["settings"]["breakEvery"], 1);
    let mut stream = app.connect(&code).await;
    let mut frames = vec![stream.skip_greeting().await];
    frames.extend(until_frames(&mut stream, "timer", "stop").await);
    // The break's ticks and its end, on the deadline it had before the restart.
    assert!(assert_ticks_on_time("the break after a restart", &frames) >= 2);
    let n = frames.len();
    assert_eq!(
        (frames[n - 3].pair(), frames[n - 2].pair()),
        (
            ("timer".into(), "stop".into()),
            ("remaining-time".into(), "1000".into())
        )
    );
    let state = frames[n - 1].json();
    // The time-up swapped once; the break's end did not swap.
    assert_eq!(
        (&state["navigator"], &state["driver"]),
        (&json!("Bob"), &json!("Ann"))
    );
}

#[tokio::test]
async fn a_time_up_and_its_break_happen_once_and_every_process_tells_the_same_events() {
    if !on_postgres_or_skip(
        "breaks::a_time_up_and_its_break_happen_once_and_every_process_tells_the_same_events",
    ) {
        return;
    }
    let a = TestServer::spawn().await;
    let b = a.sibling();
    let code = room_with(
        &a,
        1000,
        json!({"autoStart": true, "breakEvery": 1, "breakDuration": 2000}),
    )
    .await;
    let mut on_a = a.connect(&code).await;
    on_a.skip_greeting().await;
    let mut on_b = b.connect(&code).await;
    on_b.skip_greeting().await;
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let expected: Vec<(String, String)> = [
        ("timer", "start"),
        ("state", "\"turn\" \"running\" 0"),
        ("remaining-time", "0"),
        ("timer", "stop"),
        ("remaining-time", "1000"),
        ("state", "\"turn\" \"idle\" 1"),
        ("timer", "break"),
        ("remaining-time", "2000"),
        ("state", "\"break\" \"running\" 1"),
        ("remaining-time", "1000"),
        ("remaining-time", "0"),
        ("timer", "stop"),
        ("remaining-time", "1000"),
        ("state", "\"turn\" \"idle\" 1"),
        ("timer", "start"),
        ("state", "\"turn\" \"running\" 1"),
    ]
    .iter()
    .map(|(e, d)| (e.to_string(), d.to_string()))
    .collect();
    // Both streams read side by side, so that each event is stamped when it arrives.
    let seen = futures_util::future::join_all([&mut on_a, &mut on_b].map(|stream| async {
        let mut frames = until_frames(stream, "timer", "break").await;
        frames.extend(until_frames(stream, "timer", "start").await);
        frames
    }))
    .await;
    for (name, frames) in ["a", "b"].iter().zip(&seen) {
        assert_eq!(told(frames), expected, "the streams on process {name}");
        // The turn's final tick and its end, the break's ticks and its end.
        let checked = assert_ticks_on_time(&format!("process {name}"), frames);
        assert_eq!(checked, 5, "{frames:?}");
    }
    for server in [&a, &b] {
        let timer = server.timer(&code).await;
        assert_eq!(
            (&timer["round"], &timer["phase"]),
            (&json!(1), &json!("turn"))
        );
    }
}
