//! The team room on the manual clock: the order rotates at a time-up and a break keeps it;
//! `next` ends a turn, a break, or an idle turn at the instant it is asked; and arrivals
//! within a second are told in one `presence` event, the next one a second later.

use serde_json::{json, Value};

use pairsync::clock::Clock;

use crate::app::{event, pairs, App, T0};
use crate::postgres::TestDatabase;
use crate::sse::{EventStream, Frame};

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

/// Reads events until one named `name`; it, and the `(event, data)` of those before it
/// (`state` and `presence` data left out).
async fn until(stream: &mut EventStream, name: &str) -> (Frame, Vec<(String, String)>) {
    let mut before = Vec::new();
    loop {
        let frame = event(stream).await;
        if frame.event.as_deref() == Some(name) {
            return (frame, before);
        }
        let (e, d) = frame.pair();
        before.push(match e.as_str() {
            "state" | "presence" | "todos" | "links" => (e, String::new()),
            _ => (e, d),
        });
    }
}

/// Reads the greeting of a stream opened with `connect_as` (through `links` or `todos`,
/// whichever comes last, and any `presence`): the snapshot.
async fn greeting(stream: &mut EventStream) -> Value {
    let (state, _) = until(stream, "state").await;
    until(stream, "todos").await;
    state.json()
}

/// A marker: a `PATCH /settings` that changes nothing visible but is told as `state` at
/// once; asserts that it is the next event, so that nothing else was due.
async fn nothing_else_due(app: &App, code: &str, stream: &mut EventStream) {
    app.patch_json(code).await;
    let next = event(stream).await;
    assert_eq!(next.event.as_deref(), Some("state"), "{next:?}");
}

impl App {
    async fn patch_json(&self, code: &str) {
        let (status, body) = self
            .send(
                "PATCH",
                &format!("/api/pair-room/{code}/settings"),
                Some(json!({"breakDuration": 300_000})),
            )
            .await;
        assert_eq!(status.as_u16(), 204, "{body}");
    }
}

/// The server on SQLite, and, with a PostgreSQL server to test on, one process on a
/// PostgreSQL database of its own (kept while the process lives).
async fn each_backend(test: &str) -> Vec<(App, Option<TestDatabase>)> {
    let mut apps = vec![(App::start().await, None)];
    if let Some(db) = TestDatabase::create(test) {
        let (clock, manual) = Clock::manual(T0);
        apps.push((App::process(&db.url, &clock, &manual).await, Some(db)));
    }
    apps
}

#[actix_web::test]
async fn the_order_rotates_at_each_time_up_and_a_break_keeps_it_to_the_millisecond() {
    for (app, _db) in each_backend(
        "team::the_order_rotates_at_each_time_up_and_a_break_keeps_it_to_the_millisecond",
    )
    .await
    {
        rotation(&app).await;
    }
}

async fn rotation(app: &App) {
    let code = app
        .create(
            json!({"members": ["Ann", "Bob", "Cy"], "timerDuration": 2000,
                       "autoStart": true, "breakEvery": 1, "breakDuration": 1000}),
        )
        .await;
    let mut stream = app.connect_as(&code, None).await;
    greeting(&mut stream).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    until(&mut stream, "state").await;
    app.advance(2000).await;
    let (stop, before) = until(&mut stream, "timer").await;
    assert_eq!(stop.pair(), ("timer".into(), "stop".into()));
    assert_eq!(
        before.last(),
        Some(&("remaining-time".to_string(), "0".to_string()))
    );
    let (state, _) = until(&mut stream, "state").await;
    let s = state.json();
    assert_eq!(strings(&s["members"]), ["Bob", "Cy", "Ann"]);
    assert_eq!(
        (
            s["driver"].as_str(),
            s["navigator"].as_str(),
            s["round"].as_i64()
        ),
        (Some("Bob"), Some("Cy"), Some(1))
    );
    // The break starts at once, the order as the time-up left it.
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[("timer", "break"), ("remaining-time", "1000")])
    );
    let s = state.json();
    assert_eq!(
        (s["phase"].as_str(), s["deadlineAt"].as_i64()),
        (Some("break"), Some(T0 + 3000))
    );
    assert_eq!(strings(&s["members"]), ["Bob", "Cy", "Ann"]);
    app.advance(999).await;
    nothing_else_due(app, &code, &mut stream).await;
    app.advance(1).await;
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[
            ("remaining-time", "0"),
            ("timer", "stop"),
            ("remaining-time", "2000")
        ])
    );
    let s = state.json();
    assert_eq!(
        (
            s["phase"].as_str(),
            s["state"].as_str(),
            s["round"].as_i64()
        ),
        (Some("turn"), Some("idle"), Some(1))
    );
    assert_eq!(strings(&s["members"]), ["Bob", "Cy", "Ann"]);
    // The next turn starts by itself and rotates at its own time-up.
    let (started, before) = until(&mut stream, "state").await;
    assert_eq!(before, pairs(&[("timer", "start")]));
    assert_eq!(started.json()["deadlineAt"], T0 + 5000);
    app.advance(2000).await;
    until(&mut stream, "timer").await;
    let (state, _) = until(&mut stream, "state").await;
    assert_eq!(strings(&state.json()["members"]), ["Cy", "Ann", "Bob"]);
    assert_eq!(state.json()["serverTime"], T0 + 5000);
}

#[actix_web::test]
async fn next_ends_an_idle_turn_a_running_turn_and_a_break_at_the_instant_it_is_asked() {
    for (app, _db) in each_backend(
        "team::next_ends_an_idle_turn_a_running_turn_and_a_break_at_the_instant_it_is_asked",
    )
    .await
    {
        next_turn(&app).await;
    }
}

async fn next_turn(app: &App) {
    let code = app
        .create(
            json!({"members": ["Ann", "Bob", "Cy"], "timerDuration": 60_000,
                       "breakEvery": 2, "breakDuration": 10_000}),
        )
        .await;
    let mut stream = app.connect_as(&code, None).await;
    greeting(&mut stream).await;
    // Idle.
    app.patch(&format!("/api/{code}/timer/next")).await;
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[("timer", "stop"), ("remaining-time", "60000")])
    );
    let s = state.json();
    assert_eq!(
        (s["state"].as_str(), s["round"].as_i64()),
        (Some("idle"), Some(1))
    );
    assert_eq!(strings(&s["members"]), ["Bob", "Cy", "Ann"]);
    // Running, 1500 ms in: one tick went, no final tick; round 2 brings the break.
    app.patch(&format!("/api/{code}/timer/start")).await;
    until(&mut stream, "state").await;
    app.advance(1500).await;
    app.patch(&format!("/api/{code}/timer/next?round=1")).await;
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[
            ("remaining-time", "59000"),
            ("timer", "stop"),
            ("remaining-time", "60000")
        ])
    );
    assert_eq!(strings(&state.json()["members"]), ["Cy", "Ann", "Bob"]);
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[("timer", "break"), ("remaining-time", "10000")])
    );
    let s = state.json();
    assert_eq!(
        (
            s["phase"].as_str(),
            s["round"].as_i64(),
            s["deadlineAt"].as_i64()
        ),
        (Some("break"), Some(2), Some(T0 + 11_500))
    );
    // During the break, 4000 ms in: the break ends; the order and round stay.
    app.advance(4000).await;
    app.patch(&format!("/api/{code}/timer/next")).await;
    let (state, before) = until(&mut stream, "state").await;
    assert_eq!(
        before,
        pairs(&[
            ("remaining-time", "9000"),
            ("remaining-time", "8000"),
            ("remaining-time", "7000"),
            ("remaining-time", "6000"),
            ("timer", "stop"),
            ("remaining-time", "60000")
        ])
    );
    let s = state.json();
    assert_eq!(
        (
            s["phase"].as_str(),
            s["state"].as_str(),
            s["round"].as_i64()
        ),
        (Some("turn"), Some("idle"), Some(2))
    );
    assert_eq!(strings(&s["members"]), ["Cy", "Ann", "Bob"]);
    // Nothing was left due: the old deadlines pass unseen.
    app.advance(60_000).await;
    nothing_else_due(app, &code, &mut stream).await;
    let (_, history) = app
        .send("GET", &format!("/api/pair-room/{code}/history"), None)
        .await;
    assert_eq!(
        history["turns"],
        json!([
            {"round": 2, "driver": "Bob", "navigator": "Cy", "endedAt": T0 + 1500, "ranMs": 1500, "end": "next"},
            {"round": 1, "driver": "Ann", "navigator": "Bob", "endedAt": T0, "ranMs": 0, "end": "next"},
        ])
    );
}

#[actix_web::test]
async fn arrivals_within_a_second_are_told_in_one_presence_event_and_the_next_a_second_later() {
    let app = App::start().await;
    let code = app
        .create(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let mut watcher = app.connect_as(&code, None).await;
    // The watcher's own arrival is in its greeting; that counts as told.
    let snapshot = greeting(&mut watcher).await;
    assert_eq!(
        (&snapshot["here"], &snapshot["watching"]),
        (&json!([]), &json!(1))
    );
    // Three arrivals at the same instant: nothing before a second has passed.
    let mut others = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let mut s = app.connect_as(&code, Some(name)).await;
        greeting(&mut s).await;
        others.push(s);
    }
    app.advance(999).await;
    nothing_else_due(&app, &code, &mut watcher).await;
    app.advance(1).await;
    let (told, before) = until(&mut watcher, "presence").await;
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(
        told.json(),
        json!({"here": ["Ann", "Bob", "Cy"], "watching": 4})
    );
    // Two changes right after: one event, a second after the last one, with the latest.
    others.pop();
    let mut dee = app.connect_as(&code, Some("Dee")).await;
    greeting(&mut dee).await;
    app.advance(999).await;
    nothing_else_due(&app, &code, &mut watcher).await;
    app.advance(1).await;
    let (told, _) = until(&mut watcher, "presence").await;
    assert_eq!(
        told.json(),
        json!({"here": ["Ann", "Bob", "Dee"], "watching": 4})
    );
    // Nothing changed since: nothing more is told.
    app.advance(5000).await;
    nothing_else_due(&app, &code, &mut watcher).await;
}

#[actix_web::test]
async fn a_stream_greeted_while_another_was_ending_is_told_the_count_once_that_one_ended() {
    let app = App::start().await;
    let code = app
        .create(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let mut watcher = app.connect_as(&code, None).await;
    greeting(&mut watcher).await;
    app.advance(1000).await;
    // A page's stream; a second later it is told to everyone at once: 2 watching.
    let old = app.connect_as(&code, None).await;
    let (told, _) = until(&mut watcher, "presence").await;
    assert_eq!(told.json()["watching"], json!(2));
    // Within that second the page reopens its stream: the new one is greeted before the
    // old one's end is seen, with 3 watching.
    let mut new = app.connect_as(&code, None).await;
    assert_eq!(greeting(&mut new).await["watching"], json!(3));
    drop(old);
    let path = format!("/api/pair-room/{code}");
    for _ in 0..100 {
        if app.send("GET", &path, None).await.1["watching"] == json!(2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.send("GET", &path, None).await.1["watching"], json!(2));
    // Back at what the others were told; the newcomer still shows its greeting's 3 until
    // the next event, a second after the last one, tells it (and everyone) 2.
    app.advance(999).await;
    nothing_else_due(&app, &code, &mut new).await;
    app.advance(1).await;
    let (told, _) = until(&mut new, "presence").await;
    assert_eq!(told.json(), json!({"here": [], "watching": 2}));
}

#[actix_web::test]
async fn history_lists_the_last_hundred_turns_and_totals_count_every_turn() {
    for (app, _db) in
        each_backend("team::history_lists_the_last_hundred_turns_and_totals_count_every_turn").await
    {
        hundred_turns(&app).await;
    }
}

async fn hundred_turns(app: &App) {
    const TURNS: i64 = 105;
    let names = ["Ann", "Bob", "Cy"];
    let code = app
        .create(json!({"members": names, "timerDuration": 60_000}))
        .await;
    // Turn i (0-based) is driven by names[i % 3], runs 10 + i ms and ends by `next`.
    let mut ended_at = T0;
    let mut expected_turns = Vec::new();
    for i in 0..TURNS {
        app.patch(&format!("/api/{code}/timer/start")).await;
        app.advance(10 + i as u64).await;
        app.patch(&format!("/api/{code}/timer/next")).await;
        ended_at += 10 + i;
        expected_turns.push(json!({
            "round": i + 1,
            "driver": names[(i % 3) as usize],
            "navigator": names[((i + 1) % 3) as usize],
            "endedAt": ended_at,
            "ranMs": 10 + i,
            "end": "next",
        }));
    }
    let (status, history) = app
        .send("GET", &format!("/api/pair-room/{code}/history"), None)
        .await;
    assert_eq!(status.as_u16(), 200, "{history}");
    // The last 100, newest first: rounds 105 down to 6.
    expected_turns.reverse();
    expected_turns.truncate(100);
    assert_eq!(history["turns"], Value::Array(expected_turns));
    // Totals over all 105 turns, the five no longer listed included, most driven first.
    let driven = |d: i64| {
        (0..TURNS)
            .filter(|i| i % 3 == d)
            .map(|i| 10 + i)
            .sum::<i64>()
    };
    assert_eq!(
        history["totals"],
        json!([
            {"name": "Cy", "turns": 35, "drivenMs": driven(2)},
            {"name": "Bob", "turns": 35, "drivenMs": driven(1)},
            {"name": "Ann", "turns": 35, "drivenMs": driven(0)},
        ])
    );
}
