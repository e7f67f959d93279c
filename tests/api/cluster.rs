//! Several processes on one PostgreSQL database: every process's streams get the same
//! events, a time-up happens once, a delete is everywhere at once, empty rooms pause only
//! when no process holds a stream, and a lost change feed recovers. On SQLite (one process
//! per database) these tests say so and check nothing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::expect::eventually;
use crate::helpers::{TestServer, POSTGRES_ENV};
use crate::sse::EventStream;

/// How long a change may take to reach another process's streams here (the contract says
/// 100 ms on loopback; the rest is margin for a loaded test machine).
const ACROSS: Duration = Duration::from_millis(1500);
/// How far apart the same tick may arrive on the streams of different processes.
const TICK_SPREAD_MS: i64 = 50;

/// Three processes on one database with `env`, or `None` (and a line saying so) without
/// PostgreSQL.
async fn three(env: &[(&str, &str)]) -> Option<(TestServer, TestServer, TestServer)> {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!("skipped: {POSTGRES_ENV} is not set, so the several-process tests did not run");
        return None;
    }
    let a = TestServer::spawn_with(env).await;
    let (b, c) = (a.sibling(), a.sibling());
    Some((a, b, c))
}

async fn opened(server: &TestServer, code: &str) -> EventStream {
    let mut stream = server.connect(code).await;
    stream.skip_greeting().await;
    stream
}

/// The next `n` events of every stream, which must be the same everywhere.
async fn same_everywhere(streams: &mut [&mut EventStream], n: usize) -> Vec<(String, String)> {
    let mut seen: Vec<Vec<(String, String)>> = Vec::new();
    for stream in streams.iter_mut() {
        seen.push(stream.pairs(n, ACROSS).await);
    }
    // `state` carries the instant it was made; compare what it says about the room.
    let strip = |events: &Vec<(String, String)>| -> Vec<(String, String)> {
        events
            .iter()
            .map(|(e, d)| match serde_json::from_str::<Value>(d) {
                Ok(mut v) if e == "state" => {
                    v.as_object_mut().map(|o| {
                        o.remove("serverTime");
                        o.remove("remainingTime")
                    });
                    (e.clone(), v.to_string())
                }
                _ => (e.clone(), d.clone()),
            })
            .collect()
    };
    for other in &seen[1..] {
        assert_eq!(strip(other), strip(&seen[0]));
    }
    seen.swap_remove(0)
}

fn names(events: &[(String, String)]) -> Vec<&str> {
    events.iter().map(|(e, _)| e.as_str()).collect()
}

#[tokio::test]
async fn streams_on_three_processes_get_the_same_events_whichever_process_is_asked() {
    let Some((a, b, c)) = three(&[]).await else {
        return;
    };
    let code = a.room(3000).await;
    let (mut on_a, mut on_b, mut on_c) = (
        opened(&a, &code).await,
        opened(&b, &code).await,
        opened(&c, &code).await,
    );
    // Start on one, pause on another, swap and resume on the third.
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    // At once, before any stream has heard of it, a read on another process sees it.
    assert_eq!(c.timer(&code).await["state"], "running");
    let events = same_everywhere(&mut [&mut on_a, &mut on_b, &mut on_c], 2).await;
    assert_eq!(names(&events), ["timer", "state"]);
    // The first tick, from the shared deadline, reaches all three within a few ms.
    let mut at = Vec::new();
    for stream in [&mut on_a, &mut on_b, &mut on_c] {
        let tick = stream.next_event(ACROSS * 2).await;
        assert_eq!(
            tick.pair(),
            ("remaining-time".to_string(), "2000".to_string())
        );
        at.push(tick.received_ms);
    }
    let spread = at.iter().max().copied().unwrap_or(0) - at.iter().min().copied().unwrap_or(0);
    assert!(
        spread <= TICK_SPREAD_MS,
        "one tick arrived {spread} ms apart: {at:?}"
    );
    assert_eq!(
        c.patch(&format!("/api/{code}/timer/stop")).await,
        StatusCode::NO_CONTENT
    );
    let events = same_everywhere(&mut [&mut on_a, &mut on_b, &mut on_c], 3).await;
    assert_eq!(names(&events), ["timer", "remaining-time", "state"]);
    assert_eq!(events[0].1, "pause");
    assert_eq!(
        a.patch(&format!("/api/pair-room/{code}/pair-swap?round=0"))
            .await,
        StatusCode::NO_CONTENT
    );
    let events = same_everywhere(&mut [&mut on_a, &mut on_b, &mut on_c], 1).await;
    assert_eq!(names(&events), ["state"]);
}

#[tokio::test]
async fn a_time_up_happens_once_whichever_processes_hold_streams() {
    let Some((a, b, c)) = three(&[]).await else {
        return;
    };
    let code = a.room(1000).await;
    let (mut on_a, mut on_b, mut on_c) = (
        opened(&a, &code).await,
        opened(&b, &code).await,
        opened(&c, &code).await,
    );
    assert_eq!(
        a.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let events = same_everywhere(&mut [&mut on_a, &mut on_b, &mut on_c], 6).await;
    assert_eq!(
        names(&events),
        [
            "timer",
            "state",
            "remaining-time",
            "timer",
            "remaining-time",
            "state"
        ]
    );
    assert_eq!(events[2].1, "0");
    assert_eq!(events[3].1, "stop");
    let state: Value = serde_json::from_str(&events[5].1).expect("state");
    assert_eq!(
        (state["round"].as_i64(), state["driver"].as_str()),
        (Some(1), Some("Ann"))
    );
    for stream in [&mut on_a, &mut on_b, &mut on_c] {
        assert!(
            stream.quiet_for(Duration::from_millis(1500)).await,
            "no second time-up"
        );
    }
    for server in [&a, &b, &c] {
        assert_eq!(server.timer(&code).await["round"], 1);
    }
}

#[tokio::test]
async fn a_delete_through_one_process_closes_the_streams_on_the_others_and_is_404_everywhere() {
    let Some((a, b, c)) = three(&[]).await else {
        return;
    };
    let code = a.room(60_000).await;
    let mut on_a = opened(&a, &code).await;
    let (status, _) = b.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    let deleted = c.send("DELETE", &format!("/api/pair-room/{code}")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        on_a.pairs(1, ACROSS).await,
        [("close".to_string(), "OK".to_string())]
    );
    assert!(on_a.ends_within(ACROSS).await);
    for server in [&a, &b, &c] {
        let (status, body) = server.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("room_not_found"))
        );
    }
}

/// The grace every process is given in the pause-when-empty tests.
const GRACE_MS: u64 = 1500;

#[tokio::test]
async fn an_empty_room_pauses_only_once_no_process_has_held_a_stream_for_the_grace() {
    let grace = GRACE_MS.to_string();
    let Some((a, b, c)) = three(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", &grace)]).await else {
        return;
    };
    let code = a.room(600_000).await;
    // Its only stream is on C; A and B run the room's timer with none of their own.
    let on_c = opened(&c, &code).await;
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let _ = a.timer(&code).await;
    // Several graces go by: C's stream keeps it running everywhere.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(3 * GRACE_MS) {
        assert_eq!(a.timer(&code).await["state"], "running");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed = Instant::now();
    drop(on_c);
    let paused_after = eventually(Duration::from_secs(10), || async {
        (b.timer(&code).await["state"] == "paused").then(|| closed.elapsed())
    })
    .await;
    assert!(
        paused_after >= Duration::from_millis(GRACE_MS),
        "paused {paused_after:?} after the last stream"
    );
    // One pause, seen alike everywhere.
    let mut remaining = Vec::new();
    for server in [&a, &b, &c] {
        remaining.push(server.timer(&code).await["remainingTime"].clone());
    }
    assert!(remaining.windows(2).all(|w| w[0] == w[1]), "{remaining:?}");
}

#[tokio::test]
async fn a_killed_process_stops_counting_and_its_clients_continue_elsewhere_on_the_same_deadline() {
    let grace = GRACE_MS.to_string();
    let Some((a, b, mut c)) = three(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", &grace)]).await else {
        return;
    };
    let code = a.room(600_000).await;
    let mut on_c = opened(&c, &code).await;
    assert_eq!(
        a.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let started = on_c.skip_greeting().await;
    let deadline = started.json()["deadlineAt"].as_i64().expect("running");
    c.crash();
    assert!(
        on_c.ends_within(ACROSS).await,
        "the dead process's stream ends"
    );
    // Its client reconnects to another process and continues toward the same deadline.
    let mut again = b.connect(&code).await;
    assert_eq!(again.skip_greeting().await.json()["deadlineAt"], deadline);
    drop(again);
    // With no stream anywhere, and the dead process's stream no longer counted, it pauses.
    let paused = eventually(Duration::from_secs(20), || async {
        (a.timer(&code).await["state"] == "paused").then_some(())
    });
    paused.await;
}

#[tokio::test]
async fn a_cut_change_feed_makes_the_process_unready_then_recovers_and_delivers_again() {
    let Some((a, b, _c)) = three(&[]).await else {
        return;
    };
    let code = a.room(60_000).await;
    let mut on_a = opened(&a, &code).await;
    a.cut_feed_connections();
    eventually(Duration::from_secs(5), || async {
        (a.get_json("/readyz").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    // A change through B after the reconnect reaches A's stream.
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let events = on_a.pairs(2, ACROSS).await;
    assert_eq!(events[0], ("timer".to_string(), "start".to_string()));
}

#[tokio::test]
async fn the_cluster_listing_counts_every_process_streams_and_running_rooms() {
    let Some((a, b, c)) = three(&[]).await else {
        return;
    };
    let watched = a.room(60_000).await;
    let running = a.room(60_000).await;
    let quiet = a.room(60_000).await;
    let _s1 = opened(&a, &watched).await;
    let _s2 = opened(&b, &watched).await;
    let _s3 = opened(&b, &watched).await;
    assert_eq!(
        c.patch(&format!("/api/{running}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let listing = eventually(Duration::from_secs(10), || async {
        let (status, body) = c.admin_json("/rooms?scope=cluster").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let counted = body["rooms"]
            .as_array()
            .and_then(|rooms| rooms.iter().find(|r| r["accessCode"] == watched.as_str()))
            .map(|r| r["subscribers"].clone());
        (counted == Some(Value::from(3))).then_some(body)
    })
    .await;
    let codes: Vec<&str> = listing["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["accessCode"].as_str())
        .collect();
    let mut expected = vec![watched.as_str(), running.as_str()];
    expected.sort();
    assert_eq!(codes, expected);
    assert!(!codes.contains(&quiet.as_str()));
    assert_eq!(listing["total"], 2);
}
