//! Breaks and auto-start on the manual clock: the settings endpoint, a break after every
//! n-th time-up, the turn that starts by itself, and stop, start and reset during a break,
//! each event at its exact instant; and the window after a time-up in which a swap without a
//! round is that time-up's own.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::app::{event, next, pairs, App, T0};
use crate::sse::EventStream;

/// Creates a room of `duration` ms (Ann navigates, Bob drives) with `extra` fields.
async fn room_with(app: &App, duration: i64, extra: Value) -> String {
    let mut body = json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = app.send("POST", "/api/pair-room", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["accessCode"].as_str().expect("code").to_string()
}

/// Reads the events up to and including the next `state`; the pairs before it and its JSON.
async fn through_state(stream: &mut EventStream) -> (Vec<(String, String)>, Value) {
    let mut before = Vec::new();
    loop {
        let frame = event(stream).await;
        if frame.event.as_deref() == Some("state") {
            return (before, frame.json());
        }
        before.push(frame.pair());
    }
}

/// Moves the clock to `ms` after `T0`.
async fn advance_to(app: &App, ms: i64) {
    let now = app.now() - T0;
    assert!(ms >= now, "the clock is already at {now}");
    app.advance(u64::try_from(ms - now).unwrap_or(0)).await;
}

/// The fields of a snapshot that say where the countdown stands.
fn stands(state: &Value) -> (String, String, i64, i64) {
    (
        state["phase"].as_str().unwrap_or("?").to_string(),
        state["state"].as_str().unwrap_or("?").to_string(),
        state["remainingTime"].as_i64().unwrap_or(-1),
        state["round"].as_i64().unwrap_or(-1),
    )
}

fn stand(phase: &str, state: &str, remaining: i64, round: i64) -> (String, String, i64, i64) {
    (phase.to_string(), state.to_string(), remaining, round)
}

#[actix_web::test]
async fn a_break_follows_every_second_time_up_runs_its_length_and_ends_idle_in_the_next_turn() {
    let app = App::start().await;
    let code = room_with(&app, 2000, json!({"breakEvery": 2, "breakDuration": 3000})).await;
    let (mut stream, greeting) = app.connect(&code).await;
    assert_eq!(greeting["phase"], "turn");
    assert_eq!(
        greeting["settings"],
        json!({"autoStart": false, "breakEvery": 2, "breakDuration": 3000})
    );

    // Round 1 ends without a break.
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    advance_to(&app, 2000).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "1000"),
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "2000")
        ])
    );
    assert_eq!(stands(&state), stand("turn", "idle", 2000, 1));

    // Round 2 ends in a break that runs at once for its own length.
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    advance_to(&app, 4000).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "1000"),
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "2000")
        ])
    );
    assert_eq!(stands(&state), stand("turn", "idle", 2000, 2));
    assert_eq!(
        next(&mut stream, 2).await,
        pairs(&[("timer", "break"), ("remaining-time", "3000")])
    );
    let state = event(&mut stream).await.json();
    assert_eq!(stands(&state), stand("break", "running", 3000, 2));
    assert_eq!(state["deadlineAt"], T0 + 7000);
    assert_eq!(state["serverTime"], T0 + 4000);
    let timer = app.timer(&code).await;
    assert_eq!(
        (&timer["phase"], &timer["state"]),
        (&json!("break"), &json!("running"))
    );

    // It ticks like a turn and ends idle in the next turn, roles and round unchanged.
    advance_to(&app, 6999).await;
    assert_eq!(
        next(&mut stream, 2).await,
        pairs(&[("remaining-time", "2000"), ("remaining-time", "1000")])
    );
    advance_to(&app, 7000).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "2000")
        ])
    );
    assert_eq!(stands(&state), stand("turn", "idle", 2000, 2));
    assert_eq!(state["serverTime"], T0 + 7000);
    // Two time-ups swapped twice; the break's end swapped nothing.
    assert_eq!(
        (&state["navigator"], &state["driver"]),
        (&json!("Ann"), &json!("Bob"))
    );
}

#[actix_web::test]
async fn with_auto_start_each_turn_starts_at_the_time_up_of_the_one_before() {
    let app = App::start().await;
    let code = room_with(&app, 2000, json!({"autoStart": true})).await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    for (round, at) in [(1, 2000), (2, 4000)] {
        advance_to(&app, at).await;
        let (events, _) = through_state(&mut stream).await;
        assert_eq!(
            events[1..],
            pairs(&[
                ("remaining-time", "0"),
                ("timer", "stop"),
                ("remaining-time", "2000")
            ])
        );
        assert_eq!(next(&mut stream, 1).await, pairs(&[("timer", "start")]));
        let state = event(&mut stream).await.json();
        assert_eq!(stands(&state), stand("turn", "running", 2000, round));
        assert_eq!(state["deadlineAt"], T0 + at + 2000);
    }
}

#[actix_web::test]
async fn with_auto_start_a_break_ends_in_a_started_turn() {
    let app = App::start().await;
    let code = room_with(
        &app,
        2000,
        json!({"autoStart": true, "breakEvery": 1, "breakDuration": 1000}),
    )
    .await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    advance_to(&app, 2000).await;
    through_state(&mut stream).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[("timer", "break"), ("remaining-time", "1000")])
    );
    assert_eq!(stands(&state), stand("break", "running", 1000, 1));
    advance_to(&app, 3000).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "2000")
        ])
    );
    assert_eq!(stands(&state), stand("turn", "idle", 2000, 1));
    assert_eq!(next(&mut stream, 1).await, pairs(&[("timer", "start")]));
    let state = event(&mut stream).await.json();
    assert_eq!(stands(&state), stand("turn", "running", 2000, 1));
    assert_eq!(state["deadlineAt"], T0 + 5000);
}

#[actix_web::test]
async fn stop_and_start_pause_and_resume_a_break_and_reset_ends_it() {
    let app = App::start().await;
    let code = room_with(
        &app,
        2000,
        json!({"breakEvery": 1, "breakDuration": 10_000}),
    )
    .await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    advance_to(&app, 2000).await;
    through_state(&mut stream).await;
    through_state(&mut stream).await;

    advance_to(&app, 4500).await;
    app.patch(&format!("/api/{code}/timer/stop")).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "9000"),
            ("remaining-time", "8000"),
            ("timer", "pause"),
            ("remaining-time", "7500")
        ])
    );
    assert_eq!(stands(&state), stand("break", "paused", 7500, 1));

    advance_to(&app, 60_000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(events, pairs(&[("timer", "start")]));
    assert_eq!(stands(&state), stand("break", "running", 7500, 1));
    assert_eq!(state["deadlineAt"], T0 + 67_500);

    advance_to(&app, 61_000).await;
    app.patch(&format!("/api/{code}/timer/reset")).await;
    let (events, state) = through_state(&mut stream).await;
    assert_eq!(
        events,
        pairs(&[
            ("remaining-time", "7000"),
            ("timer", "reset"),
            ("remaining-time", "2000")
        ])
    );
    assert_eq!(stands(&state), stand("turn", "idle", 2000, 1));
    // Nothing is due at the old deadline any more.
    advance_to(&app, 70_000).await;
    let timer = app.timer(&code).await;
    assert_eq!(stands(&timer), stand("turn", "idle", 2000, 1));
}

#[actix_web::test]
async fn the_settings_endpoint_changes_any_subset_and_every_stream_gets_the_state() {
    let app = App::start().await;
    let code = app.room(60_000).await;
    let (mut first, _) = app.connect(&code).await;
    let (mut second, _) = app.connect(&code).await;
    let (status, _) = app
        .send(
            "PATCH",
            &format!("/api/pair-room/{code}/settings"),
            Some(json!({"breakEvery": 4, "color": "blue"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let expected = json!({"autoStart": false, "breakEvery": 4, "breakDuration": 300_000});
    for stream in [&mut first, &mut second] {
        let (events, state) = through_state(stream).await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(state["settings"], expected);
    }
    let (status, _) = app
        .send(
            "PATCH",
            &format!("/api/pair-room/{code}/settings"),
            Some(json!({"autoStart": true, "breakDuration": 1000})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, room) = app
        .send("GET", &format!("/api/pair-room/{code}"), None)
        .await;
    assert_eq!(
        room["settings"],
        json!({"autoStart": true, "breakEvery": 4, "breakDuration": 1000})
    );
    assert_eq!(room["timer"]["phase"], "turn");

    for (body, field) in [
        (json!({"autoStart": "on"}), "autoStart"),
        (json!({"breakEvery": 21}), "breakEvery"),
        (json!({"breakDuration": 999}), "breakDuration"),
    ] {
        let (status, answer) = app
            .send(
                "PATCH",
                &format!("/api/pair-room/{code}/settings"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], "invalid_request");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{body}: {answer}"
        );
    }
    let (status, answer) = app
        .send(
            "PATCH",
            "/api/pair-room/nosuchroom123/settings",
            Some(json!({"autoStart": true})),
        )
        .await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::NOT_FOUND, &json!("room_not_found"))
    );
    // A refused change told the streams nothing: the next event is the next change's.
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    let (events, state) = through_state(&mut first).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(state["settings"]["breakDuration"], 1000);
}

#[actix_web::test]
async fn a_page_that_swaps_at_the_time_up_changes_nothing_when_a_turn_or_break_followed() {
    let app = App::start().await;
    let code = room_with(&app, 2000, json!({"autoStart": true, "breakEvery": 2})).await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    through_state(&mut stream).await;
    for at in [2000, 4000] {
        advance_to(&app, at).await;
        through_state(&mut stream).await;
        let (_, followed) = through_state(&mut stream).await;
        app.advance(150).await;
        // The coduo page's own swap after `remaining-time: 0`.
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
        let (_, room) = app
            .send("GET", &format!("/api/pair-room/{code}"), None)
            .await;
        assert_eq!(
            (&room["navigator"], &room["driver"]),
            (&followed["navigator"], &followed["driver"]),
            "at {at}"
        );
        // The stream heard nothing of it: its next event is the next tick, a second in.
        advance_to(&app, at + 1000).await;
        let (countdown, expected) = if at == 4000 {
            ("break", "299000")
        } else {
            ("turn", "1000")
        };
        assert_eq!(followed["phase"], countdown);
        assert_eq!(
            next(&mut stream, 1).await,
            pairs(&[("remaining-time", expected)])
        );
    }
}

/// `(navigator, driver)` of the room `code` as `GET` answers it.
async fn roles(app: &App, code: &str) -> (String, String) {
    let (_, room) = app
        .send("GET", &format!("/api/pair-room/{code}"), None)
        .await;
    let name = |key: &str| room[key].as_str().expect("a name").to_string();
    (name("navigator"), name("driver"))
}

#[actix_web::test]
async fn a_swap_without_a_round_is_the_time_up_s_own_for_10_s_and_until_the_board_changes() {
    let app = App::start().await;
    // Four rooms of 1000 ms (Ann navigates, Bob drives), started together: each times up
    // at T0 + 1000, after which Bob navigates and Ann drives.
    let mut rooms = Vec::new();
    for _ in 0..4 {
        let code = room_with(&app, 1000, json!({})).await;
        let (stream, _) = app.connect(&code).await;
        rooms.push((code, stream));
    }
    for (code, stream) in &mut rooms {
        app.patch(&format!("/api/{code}/timer/start")).await;
        through_state(stream).await;
    }
    advance_to(&app, 1000).await;
    for (code, stream) in &mut rooms {
        let (before, state) = through_state(stream).await;
        assert_eq!(
            before,
            pairs(&[
                ("remaining-time", "0"),
                ("timer", "stop"),
                ("remaining-time", "1000")
            ])
        );
        assert_eq!(
            (&state["navigator"], &state["driver"]),
            (&json!("Bob"), &json!("Ann"))
        );
        assert_eq!(roles(&app, code).await, ("Bob".into(), "Ann".into()));
    }
    let swapped = ("Ann".to_string(), "Bob".to_string());
    // A goal added, or a category, is a change to the room: a swap after it swaps.
    advance_to(&app, 1100).await;
    let (status, goal) = app
        .send(
            "POST",
            &format!("/api/{}/todos", rooms[2].0),
            Some(json!({"content": "ship"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{goal}");
    let (status, category) = app
        .send(
            "POST",
            &format!("/api/{}/category", rooms[3].0),
            Some(json!({"value": "Docs"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{category}");
    advance_to(&app, 1200).await;
    for (code, stream) in &mut rooms[2..] {
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
        let (before, state) = through_state(stream).await;
        assert_eq!(before, pairs(&[]));
        assert_eq!(
            (&state["navigator"], &state["driver"]),
            (&json!("Ann"), &json!("Bob"))
        );
        assert_eq!(roles(&app, code).await, swapped);
    }
    // 10 s after the time-up, the last instant of the window: the time-up's own swap,
    // which changes nothing and tells nothing (the next event is the next request's).
    advance_to(&app, 11_000).await;
    let (code, stream) = &mut rooms[0];
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    assert_eq!(roles(&app, code).await, ("Bob".into(), "Ann".into()));
    app.patch(&format!("/api/{code}/timer/start")).await;
    assert_eq!(next(stream, 1).await, pairs(&[("timer", "start")]));
    // A millisecond later the window has closed: the swap swaps and is told.
    advance_to(&app, 11_001).await;
    let (code, stream) = &mut rooms[1];
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    let (before, state) = through_state(stream).await;
    assert_eq!(before, pairs(&[]));
    assert_eq!(
        (&state["navigator"], &state["driver"]),
        (&json!("Ann"), &json!("Bob"))
    );
    assert_eq!(roles(&app, code).await, swapped);
}
