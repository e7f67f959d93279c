//! The contract's flows on the manual clock: every tick, time-up and grace at its exact
//! instant.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::app::{event, next, pairs, App, T0};
use crate::expect::eventually;

/// After the clock stood just short of a due instant, a swap is the next event: nothing
/// due later went out before it. Swaps twice, so the roles end as they were.
async fn nothing_sent_yet(app: &App, code: &str, stream: &mut crate::sse::EventStream) {
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    assert_eq!(event(stream).await.event.as_deref(), Some("state"));
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    assert_eq!(event(stream).await.event.as_deref(), Some("state"));
}

#[actix_web::test]
async fn a_countdown_ticks_at_each_whole_second_and_times_up_with_a_swap() {
    let app = App::start().await;
    let code = app.room(3000).await;
    let (mut stream, greeting) = app.connect(&code).await;
    assert_eq!(greeting["serverTime"], T0);
    app.advance(500).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    assert_eq!(next(&mut stream, 1).await, pairs(&[("timer", "start")]));
    let state = event(&mut stream).await.json();
    assert_eq!(state["deadlineAt"], T0 + 3500);
    assert_eq!(state["serverTime"], T0 + 500);
    for (value, due) in [(2000, 1500), (1000, 2500)] {
        app.advance(due - 1 - (app.now() - T0) as u64).await;
        nothing_sent_yet(&app, &code, &mut stream).await;
        app.advance(1).await;
        assert_eq!(app.now(), T0 + due as i64);
        assert_eq!(
            next(&mut stream, 1).await,
            pairs(&[("remaining-time", &value.to_string())])
        );
    }
    app.advance(999).await;
    nothing_sent_yet(&app, &code, &mut stream).await;
    app.advance(1).await;
    assert_eq!(
        next(&mut stream, 3).await,
        pairs(&[
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "3000")
        ])
    );
    let state = event(&mut stream).await.json();
    assert_eq!(
        (
            &state["state"],
            &state["round"],
            &state["navigator"],
            &state["driver"]
        ),
        (&json!("idle"), &json!(1), &json!("Bob"), &json!("Ann"))
    );
    assert_eq!(state["serverTime"], T0 + 3500);
    // The time-up happened once: a long wait later nothing more has changed.
    app.advance(60_000).await;
    assert_eq!(app.timer(&code).await["round"], 1);
}

#[actix_web::test]
async fn a_pause_keeps_the_remaining_time_to_the_millisecond_however_long_it_lasts() {
    let app = App::start().await;
    let code = app.room(5000).await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    next(&mut stream, 2).await;
    app.advance(1234).await;
    app.patch(&format!("/api/{code}/timer/stop")).await;
    assert_eq!(
        next(&mut stream, 3).await,
        pairs(&[
            ("remaining-time", "4000"),
            ("timer", "pause"),
            ("remaining-time", "3766")
        ])
    );
    assert_eq!(event(&mut stream).await.json()["state"], "paused");
    app.advance(60_000).await;
    let timer = app.timer(&code).await;
    assert_eq!(
        (timer["state"].as_str(), timer["remainingTime"].as_i64()),
        (Some("paused"), Some(3766))
    );
    app.patch(&format!("/api/{code}/timer/start")).await;
    next(&mut stream, 1).await;
    assert_eq!(
        event(&mut stream).await.json()["deadlineAt"],
        app.now() + 3766
    );
    // The first tick after the resume is 3000, due 766 ms later.
    app.advance(765).await;
    nothing_sent_yet(&app, &code, &mut stream).await;
    app.advance(1).await;
    assert_eq!(
        next(&mut stream, 1).await,
        pairs(&[("remaining-time", "3000")])
    );
}

#[actix_web::test]
async fn reset_returns_to_the_full_duration_and_keeps_roles_and_round() {
    let app = App::start().await;
    let code = app.room(2000).await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    app.advance(2000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    app.advance(700).await;
    let skipped = next(&mut stream, 8).await;
    assert_eq!(
        skipped.last(),
        Some(&("timer".to_string(), "start".to_string()))
    );
    event(&mut stream).await;
    app.patch(&format!("/api/{code}/timer/reset")).await;
    assert_eq!(
        next(&mut stream, 2).await,
        pairs(&[("timer", "reset"), ("remaining-time", "2000")])
    );
    let state = event(&mut stream).await.json();
    assert_eq!(
        (&state["state"], &state["round"], &state["driver"]),
        (&json!("idle"), &json!(1), &json!("Ann"))
    );
}

#[actix_web::test]
async fn an_update_sets_the_duration_and_is_refused_while_running() {
    let app = App::start().await;
    let code = app.room(60_000).await;
    let (mut stream, _) = app.connect(&code).await;
    let (status, _) = app
        .send(
            "PATCH",
            &format!("/api/{code}/timer"),
            Some(json!({"duration": 120_000, "remainingTime": 45_000})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        next(&mut stream, 2).await,
        pairs(&[("timer", "update"), ("remaining-time", "45000")])
    );
    let state = event(&mut stream).await.json();
    assert_eq!(
        (&state["state"], &state["duration"]),
        (&json!("paused"), &json!(120_000))
    );
    app.patch(&format!("/api/{code}/timer/start")).await;
    let (status, body) = app
        .send(
            "PATCH",
            &format!("/api/{code}/timer"),
            Some(json!({"duration": 5000})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("timer_running"))
    );
}

#[actix_web::test]
async fn a_swap_trades_the_roles_on_every_stream() {
    let app = App::start().await;
    let code = app.room(60_000).await;
    let (mut first, _) = app.connect(&code).await;
    let (mut second, _) = app.connect(&code).await;
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    for stream in [&mut first, &mut second] {
        let state = event(stream).await.json();
        assert_eq!(
            (&state["navigator"], &state["driver"]),
            (&json!("Bob"), &json!("Ann"))
        );
    }
}

#[actix_web::test]
async fn a_delete_closes_every_stream_and_the_room_is_gone_from_then_on() {
    let app = App::start().await;
    let code = app.room(60_000).await;
    let (mut stream, _) = app.connect(&code).await;
    let (status, _) = app
        .send("DELETE", &format!("/api/pair-room/{code}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(next(&mut stream, 1).await, pairs(&[("close", "OK")]));
    assert!(stream.ends_within(crate::app::DELIVERY).await);
    let (status, body) = app
        .send("GET", &format!("/api/pair-room/{code}"), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("room_not_found"))
    );
}

/// The room's stream count as the admin listing of this process sees it.
async fn subscribers(app: &App, code: &str) -> Option<i64> {
    let (status, body) = app.send("GET", &format!("/rooms/{code}"), None).await;
    (status == StatusCode::OK).then(|| body["subscribers"].as_i64().unwrap_or(-1))
}

#[actix_web::test]
async fn an_empty_running_room_pauses_exactly_a_grace_after_its_last_stream_closed() {
    let app = App::start_with(|s| {
        s.pause_when_empty = pairsync::config::Grace::After(Duration::from_secs(60));
    })
    .await;
    let code = app.room(600_000).await;
    let (stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    app.advance(10_000).await;
    drop(stream);
    eventually(crate::app::DELIVERY, || async {
        (subscribers(&app, &code).await == Some(0)).then_some(())
    })
    .await;
    // A second stream comes and goes: the grace starts again from its close.
    let (stream, _) = app.connect(&code).await;
    app.advance(20_000).await;
    drop(stream);
    eventually(crate::app::DELIVERY, || async {
        (subscribers(&app, &code).await == Some(0)).then_some(())
    })
    .await;
    app.advance(59_999).await;
    assert_eq!(app.timer(&code).await["state"], "running");
    app.advance(1).await;
    let timer = app.timer(&code).await;
    assert_eq!(
        (timer["state"].as_str(), timer["remainingTime"].as_i64()),
        (Some("paused"), Some(600_000 - 90_000))
    );
}

#[actix_web::test]
async fn a_room_with_nothing_going_on_is_forgotten_after_its_idle_time_and_comes_back_on_demand() {
    let app = App::start_with(|s| s.room_idle_ms = Duration::from_secs(10)).await;
    let code = app.room(60_000).await;
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    app.advance(9_999).await;
    assert_eq!(subscribers(&app, &code).await, Some(0));
    app.advance(1).await;
    eventually(crate::app::DELIVERY, || async {
        subscribers(&app, &code).await.is_none().then_some(())
    })
    .await;
    let (status, body) = app
        .send("GET", &format!("/api/pair-room/{code}"), None)
        .await;
    assert_eq!(
        (status, body["driver"].as_str()),
        (StatusCode::OK, Some("Ann"))
    );
}

#[actix_web::test]
async fn a_quiet_stream_gets_a_heartbeat_comment_before_the_heartbeat_period_ends() {
    let app = App::start_with(|s| s.heartbeat_ms = Duration::from_secs(4)).await;
    let code = app.room(60_000).await;
    let (mut stream, _) = app.connect(&code).await;
    // The contract: at most the heartbeat period without a write. In each of three periods
    // in a row, with no event, the stream gets a comment line (how early is the server's).
    for period in 1..=3 {
        app.advance(4_000).await;
        let frame = stream
            .next_frame(crate::app::DELIVERY)
            .await
            .unwrap_or_else(|| panic!("nothing in heartbeat period {period}"));
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "period {period}: {frame:?}"
        );
    }
}

#[actix_web::test]
async fn a_time_up_that_cannot_be_written_sends_only_the_final_tick_and_happens_once_the_database_is_back(
) {
    let app = App::start().await;
    let code = app.room(1000).await;
    let (mut stream, _) = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    next(&mut stream, 2).await;
    let lock = app.lock_database();
    // The write waits out SQLite's busy timeout (real seconds), then fails: the stream
    // knew the deadline and ticked to it, and nothing else is told.
    app.advance(1000).await;
    assert_eq!(
        next(&mut stream, 1).await,
        pairs(&[("remaining-time", "0")])
    );
    drop(lock);
    // The database is back: the process recovers by itself, with no request, and the
    // time-up is applied and told once.
    app.advance(5000).await;
    assert_eq!(
        next(&mut stream, 2).await,
        pairs(&[("timer", "stop"), ("remaining-time", "1000")])
    );
    let state = event(&mut stream).await.json();
    assert_eq!(
        (&state["round"], &state["state"]),
        (&json!(1), &json!("idle"))
    );
    // Once: nothing more is due however long it runs; the next event is a request's.
    app.advance(60_000).await;
    assert_eq!(app.timer(&code).await["round"], json!(1));
    app.patch(&format!("/api/{code}/timer/start")).await;
    assert_eq!(next(&mut stream, 1).await, pairs(&[("timer", "start")]));
}
