//! The team room's turns on the real binary: the order rotates at a time-up and on a swap,
//! `next` ends a turn (or a break) now, and every completed turn is in the room's history
//! with each driver's totals. Runs on SQLite, and on PostgreSQL when the suite does.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::expect_error;
use crate::helpers::{now_ms, TestServer};
use crate::team_support::{
    is, names_of, next, next_state, opened, read_until, room, strings, team_room, PROMPT,
};

/// `GET /api/pair-room/{code}/history`, which must answer `200`.
async fn history(app: &TestServer, code: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/api/pair-room/{code}/history"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The `(round, driver, navigator, end)` of each turn in a history, newest first.
fn turns(history: &Value) -> Vec<(i64, String, String, String)> {
    history["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .map(|t| {
            (
                t["round"].as_i64().expect("round"),
                t["driver"].as_str().expect("driver").to_string(),
                t["navigator"].as_str().expect("navigator").to_string(),
                t["end"].as_str().expect("end").to_string(),
            )
        })
        .collect()
}

fn turn(round: i64, driver: &str, navigator: &str, end: &str) -> (i64, String, String, String) {
    (round, driver.into(), navigator.into(), end.into())
}

/// `(event, data)` pairs from literals.
fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(e, d)| (e.to_string(), d.to_string()))
        .collect()
}

#[tokio::test]
async fn at_each_time_up_the_driver_goes_to_the_end_and_everyone_else_moves_up() {
    let app = TestServer::spawn().await;
    let code = app
        .create_room(json!({"members": ["Ann", "Bob", "Cy", "Dee"], "timerDuration": 1000, "autoStart": true}))
        .await;
    let mut stream = opened(&app, &code).await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let mut deadlines = Vec::new();
    for (round, order) in [
        (1, ["Bob", "Cy", "Dee", "Ann"]),
        (2, ["Cy", "Dee", "Ann", "Bob"]),
        (3, ["Dee", "Ann", "Bob", "Cy"]),
    ] {
        let (started, _) = read_until(&mut stream, PROMPT, |f| {
            is(f, "state") && f.json()["state"] == "running"
        })
        .await;
        deadlines.push(started.json()["deadlineAt"].as_i64().expect("deadline"));
        let (stop, before) = read_until(&mut stream, PROMPT, |f| is(f, "timer")).await;
        assert_eq!(stop.pair(), ("timer".into(), "stop".into()));
        assert_eq!(
            before.last().map(|f| f.pair()),
            Some(("remaining-time".into(), "0".into()))
        );
        let (state, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
        let s = state.json();
        assert_eq!(strings(&s["members"]), order, "round {round}");
        assert_eq!(
            (s["driver"].as_str(), s["navigator"].as_str()),
            (Some(order[0]), Some(order[1]))
        );
        assert_eq!(s["round"], round);
    }
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/reset")).await,
        StatusCode::NO_CONTENT
    );
    // The history has the three turns, each ended at its deadline after running 1000 ms.
    let h = history(&app, &code).await;
    assert_eq!(
        turns(&h),
        [
            turn(3, "Cy", "Dee", "time-up"),
            turn(2, "Bob", "Cy", "time-up"),
            turn(1, "Ann", "Bob", "time-up"),
        ]
    );
    for (t, deadline) in h["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .zip(deadlines.iter().rev())
    {
        assert_eq!(
            (t["endedAt"].as_i64(), t["ranMs"].as_i64()),
            (Some(*deadline), Some(1000)),
            "{t}"
        );
    }
    let mut totals: Vec<(String, i64, i64)> = h["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["turns"].as_i64().unwrap_or(-1),
                t["drivenMs"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    totals.sort();
    assert_eq!(
        totals,
        [
            ("Ann".into(), 1, 1000),
            ("Bob".into(), 1, 1000),
            ("Cy".into(), 1, 1000)
        ]
    );
}

#[tokio::test]
async fn a_swap_rotates_the_order_by_one_and_a_swap_for_another_round_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut stream = opened(&app, &code).await;
    let swap = format!("/api/pair-room/{code}/pair-swap");
    assert_eq!(
        app.patch(&format!("{swap}?round=0")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        strings(&next_state(&mut stream).await["members"]),
        ["Bob", "Cy", "Ann"]
    );
    // No time-up came before it: a swap without a round is a swap too.
    assert_eq!(app.patch(&swap).await, StatusCode::NO_CONTENT);
    let s = next_state(&mut stream).await;
    assert_eq!(strings(&s["members"]), ["Cy", "Ann", "Bob"]);
    assert_eq!(
        (
            s["driver"].as_str(),
            s["navigator"].as_str(),
            s["round"].as_i64()
        ),
        (Some("Cy"), Some("Ann"), Some(0))
    );
    let res = app.send("PATCH", &format!("{swap}?round=1")).await;
    expect_error(res, StatusCode::CONFLICT, "round_changed").await;
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
    let r = room(&app, &code).await;
    assert_eq!(strings(&r["members"]), ["Cy", "Ann", "Bob"]);
    // A swap is no turn.
    assert_eq!(
        history(&app, &code).await,
        json!({"turns": [], "totals": []})
    );
}

#[tokio::test]
async fn next_during_a_turn_ends_it_now_without_the_last_tick_and_the_history_says_so() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut stream = opened(&app, &code).await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let (started, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    let began = started.json()["deadlineAt"].as_i64().expect("deadline") - 60_000;
    // Let it run to its first tick.
    read_until(&mut stream, PROMPT, |f| is(f, "remaining-time")).await;
    let asked = now_ms();
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    let answered = now_ms();
    let events = stream.pairs(2, PROMPT).await;
    assert_eq!(
        events,
        pairs(&[("timer", "stop"), ("remaining-time", "60000")])
    );
    let s = next_state(&mut stream).await;
    assert_eq!(strings(&s["members"]), ["Bob", "Cy", "Ann"]);
    assert_eq!(
        (
            s["state"].as_str(),
            s["round"].as_i64(),
            s["remainingTime"].as_i64()
        ),
        (Some("idle"), Some(1), Some(60_000))
    );
    assert!(
        stream.quiet_for(Duration::from_millis(300)).await,
        "no auto-start, no break"
    );

    let h = history(&app, &code).await;
    assert_eq!(turns(&h), [turn(1, "Ann", "Bob", "next")]);
    let ended = h["turns"][0]["endedAt"].as_i64().expect("endedAt");
    assert!(
        (asked..=answered).contains(&ended),
        "{ended} not in {asked}..={answered}"
    );
    assert_eq!(h["turns"][0]["ranMs"].as_i64(), Some(ended - began));
    assert_eq!(
        h["totals"],
        json!([{"name": "Ann", "turns": 1, "drivenMs": ended - began}])
    );
}

#[tokio::test]
async fn next_while_idle_or_paused_ends_the_turn_with_the_time_it_ran_and_opens_no_swap_window() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut stream = opened(&app, &code).await;
    // Idle: nothing ran.
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    assert_eq!(
        stream.pairs(2, PROMPT).await,
        pairs(&[("timer", "stop"), ("remaining-time", "60000")])
    );
    assert_eq!(
        strings(&next_state(&mut stream).await["members"]),
        ["Bob", "Cy", "Ann"]
    );
    // A swap without a round right after `next` is a swap of its own.
    assert_eq!(
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        strings(&next_state(&mut stream).await["members"]),
        ["Cy", "Ann", "Bob"]
    );
    // Paused: what ran before the pause counts, the pause does not.
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    read_until(&mut stream, PROMPT, |f| is(f, "remaining-time")).await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/stop")).await,
        StatusCode::NO_CONTENT
    );
    let (paused, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    let remaining = paused.json()["remainingTime"].as_i64().expect("remaining");
    // The pause lasts a while before the turn ends.
    assert!(stream.quiet_for(Duration::from_millis(500)).await);
    assert_eq!(next(&app, &code, "?round=1").await, StatusCode::NO_CONTENT);
    let s = read_until(&mut stream, PROMPT, |f| is(f, "state"))
        .await
        .0
        .json();
    assert_eq!(
        (s["state"].as_str(), s["round"].as_i64()),
        (Some("idle"), Some(2))
    );
    assert_eq!(strings(&s["members"]), ["Ann", "Bob", "Cy"]);

    let h = history(&app, &code).await;
    assert_eq!(
        turns(&h),
        [turn(2, "Cy", "Ann", "next"), turn(1, "Ann", "Bob", "next")]
    );
    assert_eq!(h["turns"][0]["ranMs"].as_i64(), Some(60_000 - remaining));
    assert_eq!(h["turns"][1]["ranMs"].as_i64(), Some(0));
    // Most time driven first.
    assert_eq!(
        h["totals"],
        json!([{"name": "Cy", "turns": 1, "drivenMs": 60_000 - remaining}, {"name": "Ann", "turns": 1, "drivenMs": 0}])
    );
}

#[tokio::test]
async fn next_for_another_round_is_refused_and_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut stream = opened(&app, &code).await;
    for query in ["?round=1", "?round=-1"] {
        let res = app
            .send("PATCH", &format!("/api/{code}/timer/next{query}"))
            .await;
        expect_error(res, StatusCode::CONFLICT, "round_changed").await;
    }
    for query in ["?round=abc", "?round=1.5", "?round="] {
        let res = app
            .send("PATCH", &format!("/api/{code}/timer/next{query}"))
            .await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            err["message"].as_str().unwrap_or("").contains("round"),
            "{query}: {err}"
        );
    }
    let res = app.send("PATCH", "/api/abcdefghijklmnop/timer/next").await;
    expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
    let res = app.send("GET", &format!("/api/{code}/timer/next")).await;
    expect_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
    let r = room(&app, &code).await;
    assert_eq!(
        (strings(&r["members"]), r["timer"]["round"].as_i64()),
        (vec!["Ann".to_string(), "Bob".into(), "Cy".into()], Some(0))
    );
    // Two people press "Next" in round 0: one turn ends.
    assert_eq!(next(&app, &code, "?round=0").await, StatusCode::NO_CONTENT);
    let res = app
        .send("PATCH", &format!("/api/{code}/timer/next?round=0"))
        .await;
    expect_error(res, StatusCode::CONFLICT, "round_changed").await;
    assert_eq!(
        turns(&history(&app, &code).await),
        [turn(1, "Ann", "Bob", "next")]
    );
}

#[tokio::test]
async fn next_is_followed_by_the_break_or_the_auto_start_that_a_time_up_would_bring() {
    let app = TestServer::spawn().await;
    let code = app
        .create_room(json!({"members": ["Ann", "Bob", "Cy"], "timerDuration": 60_000, "breakEvery": 2, "breakDuration": 30_000, "autoStart": true}))
        .await;
    let mut stream = opened(&app, &code).await;
    // Round 1: no break due; the next turn starts by itself.
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    let (event_names, start) = {
        let (state, before) = read_until(&mut stream, PROMPT, |f| {
            is(f, "state") && f.json()["state"] == "running"
        })
        .await;
        (names_of(&before), state.json())
    };
    assert_eq!(
        event_names,
        [
            ("timer".to_string(), "stop".to_string()),
            ("remaining-time".into(), "60000".into()),
            ("state".into(), String::new()),
            ("timer".into(), "start".into())
        ]
    );
    assert_eq!(
        (start["round"].as_i64(), start["phase"].as_str()),
        (Some(1), Some("turn"))
    );
    // Round 2: a break follows.
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    let (state, before) = read_until(&mut stream, PROMPT, |f| {
        is(f, "state") && f.json()["phase"] == "break"
    })
    .await;
    let before = names_of(&before);
    assert!(
        before.contains(&("timer".to_string(), "break".to_string())),
        "{before:?}"
    );
    let s = state.json();
    assert_eq!(
        (s["state"].as_str(), s["round"].as_i64()),
        (Some("running"), Some(2))
    );
    assert_eq!(strings(&s["members"]), ["Cy", "Ann", "Bob"]);
    // During the break, `next` ends the break: no rotation, no round, no turn in the history;
    // then the auto-start begins the turn.
    assert_eq!(next(&app, &code, "?round=2").await, StatusCode::NO_CONTENT);
    let (end, _) = read_until(&mut stream, PROMPT, |f| is(f, "timer")).await;
    assert_eq!(end.pair(), ("timer".into(), "stop".into()));
    assert_eq!(
        stream.next_event(PROMPT).await.pair(),
        ("remaining-time".into(), "60000".into())
    );
    let s = next_state(&mut stream).await;
    assert_eq!(
        (s["phase"].as_str(), s["round"].as_i64()),
        (Some("turn"), Some(2))
    );
    assert_eq!(strings(&s["members"]), ["Cy", "Ann", "Bob"]);
    let (started, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    assert_eq!(started.json()["state"], "running");
    let h = history(&app, &code).await;
    assert_eq!(
        turns(&h),
        [turn(2, "Bob", "Cy", "next"), turn(1, "Ann", "Bob", "next")]
    );
}

#[tokio::test]
async fn a_room_s_history_is_empty_at_first_and_gone_with_the_room() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    assert_eq!(
        history(&app, &code).await,
        json!({"turns": [], "totals": []})
    );
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    assert_eq!(
        turns(&history(&app, &code).await),
        [turn(1, "Ann", "Bob", "next")]
    );
    // Two members: the v1 swap.
    let r = room(&app, &code).await;
    assert_eq!(
        (r["driver"].as_str(), r["navigator"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
    assert_eq!(
        app.send("DELETE", &format!("/api/pair-room/{code}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .send("GET", &format!("/api/pair-room/{code}/history"))
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
}
