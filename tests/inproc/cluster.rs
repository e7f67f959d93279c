//! Two processes on one PostgreSQL database and one manual clock: the registry's sweep and
//! the presence heartbeat, which run only on a shared database, each observed at the
//! instant the clock reaches it. Process B runs in the test's actix system; process A, in
//! an actix system of its own, is killed (no clean stop) when the test says. Without
//! `PAIRSYNC_TEST_POSTGRES` these tests say so in one line and check nothing.

use pairsync::clock::Clock;
use pairsync::rooms::presence::{BEAT, FLUSH_AFTER};
use pairsync::store::presence::PROCESS_TTL_MS;
use reqwest::StatusCode;
use serde_json::Value;

use crate::app::{App, DELIVERY, T0};
use crate::expect::eventually;
use crate::postgres::TestDatabase;

/// How often a registry on a shared database loads the running rooms live nowhere in its
/// process (`SWEEP` in `src/rooms/registry.rs`), in ms.
const SWEEP_MS: i64 = 5_000;

/// [`BEAT`] in ms.
fn beat_ms() -> i64 {
    i64::try_from(BEAT.as_millis()).expect("a beat of a few seconds")
}

/// Moves the shared clock to `ms` after [`T0`].
async fn advance_to(app: &App, ms: i64) {
    let now = app.now() - T0;
    assert!(ms >= now, "the clock is already at {now}");
    app.advance(u64::try_from(ms - now).unwrap_or(0)).await;
}

/// The access codes `GET /rooms` of `app` lists: the rooms live in that process.
async fn live(app: &App) -> Vec<String> {
    let (status, listing) = app.send("GET", "/rooms?limit=1000", None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    codes(&listing)
}

fn codes(listing: &Value) -> Vec<String> {
    listing["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["accessCode"].as_str().map(str::to_string))
        .collect()
}

/// The streams of `code` that `GET /rooms?scope=cluster` of `app` counts over every live
/// process; `None` when it does not list the room.
async fn cluster_streams(app: &App, code: &str) -> Option<i64> {
    let (status, listing) = app.send("GET", "/rooms?scope=cluster", None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    listing["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["accessCode"] == code)
        .map(|r| r["subscribers"].as_i64().unwrap_or(-1))
}

/// `(state, round)` of the live room `code` as `GET /rooms/{code}` of `app` describes it
/// (which loads nothing).
async fn described(app: &App, code: &str) -> (String, i64) {
    let (status, entry) = app.send("GET", &format!("/rooms/{code}"), None).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    (
        entry["timer"]["state"].as_str().unwrap_or("?").to_string(),
        entry["timer"]["round"].as_i64().unwrap_or(-1),
    )
}

#[actix_web::test]
async fn a_running_room_whose_process_died_is_loaded_by_the_next_sweep_of_another_and_times_up_there_on_time(
) {
    let Some(db) = TestDatabase::create(
        "cluster::a_running_room_whose_process_died_is_loaded_by_the_next_sweep_of_another_and_times_up_there_on_time",
    ) else {
        return;
    };
    let (clock, manual) = Clock::manual(T0);
    let b = App::process(&db.url, &clock, &manual).await;
    let a = App::process_elsewhere(&db.url, &clock, &manual).await;
    let code = a.room(10_000).await;
    a.advance(1000).await;
    a.patch(&format!("/api/{code}/timer/start")).await;
    a.kill().await;

    // Nothing asked B for the room: it is live there only once B's sweep comes round.
    assert!(!live(&b).await.contains(&code));
    advance_to(&b, SWEEP_MS - 1).await;
    assert!(!live(&b).await.contains(&code));
    advance_to(&b, SWEEP_MS).await;
    assert!(live(&b).await.contains(&code));
    assert_eq!(described(&b, &code).await, ("running".to_string(), 0));

    // Its time-up happens through B at the deadline A set, with no request to bring it.
    let deadline = 1000 + 10_000;
    advance_to(&b, deadline - 1).await;
    assert_eq!(described(&b, &code).await, ("running".to_string(), 0));
    assert_eq!(db.round_and_time_up(&code), (0, None));
    advance_to(&b, deadline).await;
    assert_eq!(described(&b, &code).await, ("idle".to_string(), 1));
    assert_eq!(db.round_and_time_up(&code), (1, Some(T0 + deadline)));
    assert_eq!(b.timer(&code).await["round"], 1);
}

#[actix_web::test]
async fn a_process_heartbeat_moves_with_each_beat_of_the_clock_and_its_streams_count_until_a_ttl_after_the_last(
) {
    let Some(db) = TestDatabase::create(
        "cluster::a_process_heartbeat_moves_with_each_beat_of_the_clock_and_its_streams_count_until_a_ttl_after_the_last",
    ) else {
        return;
    };
    let (clock, manual) = Clock::manual(T0);
    let b = App::process(&db.url, &clock, &manual).await;
    let a = App::process_elsewhere(&db.url, &clock, &manual).await;
    let process = a
        .process
        .clone()
        .expect("a process id on a shared database");
    let code = a.room(600_000).await;
    let (_stream, _) = a.connect(&code).await;

    // A reports its first stream a moment later on its clock (with its heartbeat); B counts
    // it then, though the room is not live in B.
    let flush = i64::try_from(FLUSH_AFTER.as_millis()).expect("short");
    advance_to(&a, flush - 1).await;
    assert_eq!(cluster_streams(&b, &code).await, None);
    advance_to(&a, flush).await;
    eventually(DELIVERY, || async {
        (cluster_streams(&b, &code).await == Some(1)).then_some(())
    })
    .await;
    assert!(!live(&b).await.contains(&code));
    assert_eq!(db.heartbeat(&process), Some(T0 + flush));

    // The heartbeat moves by a beat each time the clock reaches one, and not before.
    let beats = PROCESS_TTL_MS / beat_ms() + 1;
    for beat in 1..=beats {
        advance_to(&a, beat * beat_ms() - 1).await;
        let previous = if beat == 1 {
            flush
        } else {
            (beat - 1) * beat_ms()
        };
        assert_eq!(db.heartbeat(&process), Some(T0 + previous));
        advance_to(&a, beat * beat_ms()).await;
        assert_eq!(db.heartbeat(&process), Some(T0 + beat * beat_ms()));
    }
    // Longer than a process counts after a heartbeat: the beats keep A's stream counted.
    let last = beats * beat_ms();
    assert!(last > PROCESS_TTL_MS);
    assert_eq!(cluster_streams(&b, &code).await, Some(1));

    // A dies without removing its rows, just before its next beat (the latest a death can
    // be after a beat): its stream counts until a TTL after its last beat, and its room
    // leaves the cluster listing then.
    let killed = last + beat_ms() - 1;
    advance_to(&a, killed).await;
    a.kill().await;
    advance_to(&b, last + PROCESS_TTL_MS - 1).await;
    assert_eq!(cluster_streams(&b, &code).await, Some(1));
    advance_to(&b, last + PROCESS_TTL_MS).await;
    assert_eq!(cluster_streams(&b, &code).await, None);
    assert_eq!(db.heartbeat(&process), Some(T0 + last));
    // The contract: a process that dies stops counting within 15 s.
    assert!(
        last + PROCESS_TTL_MS <= killed + 15_000,
        "a process killed {} ms after its last beat counted for {} ms after its death",
        killed - last,
        last + PROCESS_TTL_MS - killed
    );
}
