//! Crashes (`kill -9`) and restarts on the same database file.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::expect::{assert_on_time, assert_within, eventually, record_timing, WRITTEN_LATE_MS};
use crate::helpers::{now_ms, TestServer};
use crate::sse::{EventStream, Frame};

/// Reads `stream` through the time-up (its `state` with `round` 1): the events on the
/// way, every tick and the time-up checked against `deadline`.
async fn through_the_time_up(stream: &mut EventStream, deadline: i64) -> Vec<Frame> {
    let mut seen = Vec::new();
    let mut stopped = false;
    loop {
        let f = stream.next_event(Duration::from_secs(6)).await;
        if f.event.as_deref() == Some("remaining-time") && !stopped {
            let value = f.ms();
            assert_on_time(&format!("tick {value}"), f.received_us, deadline - value);
        }
        if f.pair() == ("timer".into(), "stop".into()) {
            assert_within(
                "time-up",
                "the time-up",
                f.received_us,
                deadline,
                WRITTEN_LATE_MS,
            );
            stopped = true;
        }
        let done = f.event.as_deref() == Some("state") && f.json()["round"] == 1;
        seen.push(f);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn a_paused_room_comes_back_exactly_after_a_crash() {
    let mut app = TestServer::spawn().await;
    let code = app
        .create_room(
            json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 60000, "missionUrl": "m"}),
        )
        .await;
    // A turn ended (round 1), then a swap: roles and round both differ from a new room's.
    for path in [
        format!("/api/{code}/timer/next"),
        format!("/api/pair-room/{code}/pair-swap?round=1"),
        format!("/api/{code}/timer/start"),
    ] {
        assert_eq!(app.patch(&path).await, StatusCode::NO_CONTENT, "{path}");
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stop = format!("/api/{code}/timer/stop");
    assert_eq!(app.patch(&stop).await, StatusCode::NO_CONTENT);
    let (_, before) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(before["timer"]["round"], 1);

    app.crash_and_restart();

    let (status, after) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    for key in [
        "navigator",
        "driver",
        "missionUrl",
        "createdAt",
        "duration",
        "remainingTime",
    ] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["timer"]["state"], "paused");
    assert_eq!(after["timer"]["round"], before["timer"]["round"]);
}

#[tokio::test]
async fn a_running_room_keeps_its_deadline_across_a_crash_and_reaches_time_up() {
    let mut app = TestServer::spawn().await;
    let code = app.room(4000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");

    app.crash_and_restart();

    let timer = app.timer(&code).await;
    assert_eq!(timer["state"], "running");
    assert_eq!(timer["deadlineAt"], deadline);
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    let seen = through_the_time_up(&mut stream, deadline).await;
    assert!(
        seen.iter()
            .any(|f| f.pair() == ("remaining-time".into(), "0".into())),
        "the final tick: {seen:?}"
    );
    let timer = app.timer(&code).await;
    assert_eq!(
        (timer["state"].as_str(), timer["round"].as_i64()),
        (Some("idle"), Some(1))
    );
}

#[tokio::test]
async fn a_time_up_that_fell_due_while_down_has_happened_after_restart() {
    let mut app = TestServer::spawn().await;
    let code = app.room(1000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    app.crash();
    // Stay down until the deadline has passed.
    let wait = (deadline - now_ms() + 50).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    app.restart();

    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["timer"]["state"], "idle");
    assert_eq!(room["timer"]["round"], 1);
    assert_eq!(room["remainingTime"], 1000);
    assert_eq!(
        (room["navigator"].as_str(), room["driver"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
}

#[tokio::test]
async fn running_rooms_are_loaded_at_start_and_time_up_without_any_request() {
    let mut app = TestServer::spawn().await;
    let code = app.room(4000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    app.crash_and_restart();
    // Only the operators' listing is asked (it loads nothing): the room is live, running.
    let (_, listing) = app.admin_json("/rooms").await;
    assert_eq!(
        listing["rooms"][0]["accessCode"],
        code.as_str(),
        "{listing}"
    );
    assert_eq!(
        listing["rooms"][0]["timer"]["state"], "running",
        "the restart took longer than the countdown: {listing}"
    );
    // Watched from now on (the room is live already): its time-up comes on time, once.
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    through_the_time_up(&mut stream, deadline).await;
    assert!(stream.quiet_for(Duration::from_millis(500)).await);
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (
            room["timer"]["round"].as_i64(),
            room["navigator"].as_str(),
            room["driver"].as_str()
        ),
        (Some(1), Some("Bob"), Some("Ann"))
    );
}

#[tokio::test]
async fn pause_when_empty_counts_from_the_servers_start_after_a_restart() {
    const GRACE: Duration = Duration::from_millis(600);
    let mut app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "600")]).await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    app.crash();
    drop(stream);
    // The new process starts between these two instants.
    let restarting = now_ms();
    app.restart();
    let restarted = now_ms();
    let paused_at = app
        .paused_at(&code, deadline, Duration::from_secs(5), WRITTEN_LATE_MS)
        .await;
    let grace = GRACE.as_millis() as i64;
    assert!(
        paused_at >= restarting + grace,
        "paused {} ms after the restart began",
        paused_at - restarting
    );
    let late = paused_at - (restarted + grace);
    record_timing("pause", late as f64, "the pause after a restart");
    assert!(
        late <= WRITTEN_LATE_MS,
        "paused {late} ms after the grace counted from the moment the restarted process \
         answered (the bound is {WRITTEN_LATE_MS} ms)"
    );
}

#[tokio::test]
async fn every_acknowledged_change_survives_a_crash() {
    let mut app = TestServer::spawn().await;
    let mut codes = Vec::new();
    for i in 0..10 {
        let code = app.room(60000 + i).await;
        if i % 2 == 0 {
            app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
        }
        codes.push(code);
    }
    app.crash_and_restart();
    for (i, code) in codes.iter().enumerate() {
        let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(room["duration"], 60000 + i as i64);
        let expected = if i % 2 == 0 { "Bob" } else { "Ann" };
        assert_eq!(room["navigator"], expected);
    }
}

#[tokio::test]
async fn two_processes_on_one_database_apply_a_time_up_once() {
    let app = TestServer::spawn().await;
    let other = app.sibling();
    let code = app.room(2000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    // Each process has the running room live: one from the start, the other loads it for
    // its stream.
    let mut a = app.connect(&code).await;
    let mut b = other.connect(&code).await;
    for stream in [&mut a, &mut b] {
        assert_eq!(stream.skip_greeting().await.json()["state"], "running");
    }
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    // Both streams, read side by side through the time-up: its ticks and its time-up on
    // time, one `timer: stop` each, and nothing after it.
    let seen = futures_util::future::join_all(
        [&mut a, &mut b].map(|stream| through_the_time_up(stream, deadline)),
    )
    .await;
    for events in &seen {
        let stops = events
            .iter()
            .filter(|f| f.pair() == ("timer".into(), "stop".into()))
            .count();
        assert_eq!(stops, 1, "{events:?}");
        let last = events.last().expect("the time-up's state").json();
        assert_eq!(
            (last["state"].as_str(), last["navigator"].as_str()),
            (Some("idle"), Some("Bob"))
        );
    }
    for stream in [&mut a, &mut b] {
        assert!(
            stream.quiet_for(Duration::from_millis(500)).await,
            "a second time-up"
        );
    }
    // One round, one swap, whichever process is asked.
    for server in [&app, &other] {
        let (_, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(
            (
                room["timer"]["state"].as_str(),
                room["timer"]["round"].as_i64(),
                room["navigator"].as_str()
            ),
            (Some("idle"), Some(1), Some("Bob"))
        );
    }
}

/// What one writer of the concurrent-writes test saw: its room, the last duration the
/// server acknowledged, and the one it was sending when the server died.
struct Written {
    code: String,
    acknowledged: i64,
    in_flight: i64,
}

/// Sets the room's duration to a new value after each acknowledgement, until the server
/// stops answering; counts each acknowledgement in `acks`.
async fn write_until_gone(
    client: reqwest::Client,
    base: String,
    code: String,
    start: i64,
    acks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Written {
    let mut acknowledged = start;
    loop {
        let next = acknowledged + 1000;
        let sent = client
            .patch(format!("{base}/api/{code}/timer"))
            .json(&json!({"duration": next}))
            .send()
            .await;
        match sent {
            Ok(res) if res.status() == StatusCode::NO_CONTENT => {
                acknowledged = next;
                acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(res) => panic!("a write was answered {}", res.status()),
            Err(_) => {
                return Written {
                    code,
                    acknowledged,
                    in_flight: next,
                }
            }
        }
    }
}

/// Creates rooms one after the other until the server stops answering, counting each in
/// `acks`; the access codes acknowledged, each with its navigator's name.
async fn create_until_gone(
    client: reqwest::Client,
    base: String,
    acks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<(String, String)> {
    let mut created = Vec::new();
    for n in 0.. {
        let navigator = format!("Nav{n}");
        let sent = client
            .post(format!("{base}/api/pair-room"))
            .json(&json!({"navigator": navigator, "driver": "Dri", "timerDuration": 60000}))
            .send()
            .await;
        match sent {
            Ok(res) if res.status() == StatusCode::CREATED => {
                let body: serde_json::Value = res.json().await.expect("json");
                let code = body["accessCode"].as_str().expect("accessCode").to_string();
                created.push((code, navigator));
                acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(res) => panic!("a creation was answered {}", res.status()),
            Err(_) => break,
        }
    }
    created
}

#[tokio::test]
async fn a_kill_during_concurrent_writes_to_many_rooms_loses_no_acknowledged_state() {
    /// Rooms written at once, one writer each.
    const ROOMS: usize = 24;
    /// Acknowledged writes before the kill.
    const ACKS_BEFORE_KILL: usize = 300;
    let mut app = TestServer::spawn().await;
    let mut codes = Vec::new();
    for _ in 0..ROOMS {
        codes.push(app.room(60_000).await);
    }
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = codes
        .iter()
        .map(|code| {
            tokio::spawn(write_until_gone(
                app.client.clone(),
                app.base.clone(),
                code.clone(),
                60_000,
                acks.clone(),
            ))
        })
        .collect();
    let creations = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let creator = tokio::spawn(create_until_gone(
        app.client.clone(),
        app.base.clone(),
        creations.clone(),
    ));
    eventually(Duration::from_secs(30), || async {
        // Writes and creations both under way.
        (acks.load(std::sync::atomic::Ordering::SeqCst) >= ACKS_BEFORE_KILL
            && creations.load(std::sync::atomic::Ordering::SeqCst) > 0)
            .then_some(())
    })
    .await;

    app.crash();
    let mut written = Vec::new();
    for writer in writers {
        written.push(writer.await.expect("a writer"));
    }
    let created = creator.await.expect("the creator");
    app.restart();

    for w in &written {
        let duration = app.timer(&w.code).await["duration"]
            .as_i64()
            .expect("duration");
        // The write in flight at the kill may have been committed without its answer.
        assert!(
            duration == w.acknowledged || duration == w.in_flight,
            "room {}: duration {duration}, acknowledged {}, in flight {}",
            w.code,
            w.acknowledged,
            w.in_flight
        );
    }
    assert!(!created.is_empty(), "no room was created before the kill");
    for (code, navigator) in &created {
        let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(status, StatusCode::OK, "a created room is gone");
        assert_eq!(room["navigator"], navigator.as_str());
    }
}

/// Starts sent all at once for rooms no actor holds (after a restart, none is live) each
/// start their own room, an unknown code among them is `404`, and the rooms are read from
/// the database together, a few reads for the lot rather than one per room.
#[tokio::test]
async fn starts_at_once_for_rooms_not_live_each_start_their_own_room_from_reads_made_together() {
    const ROOMS: i64 = 150;
    let mut app = TestServer::spawn().await;
    let mut codes = Vec::new();
    for i in 0..ROOMS {
        let body = json!({"navigator": format!("Nav{i}"), "driver": "Bob",
                          "timerDuration": 60_000 + i * 1000});
        codes.push(app.create_room(body).await);
    }
    app.crash_and_restart();
    let reads_before = app.metric("pairsync_room_load_reads_total").await;
    let rooms_before = app.metric("pairsync_room_load_rooms_total").await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAA".to_string();
    let all: Vec<&String> = codes.iter().chain(std::iter::once(&unknown)).collect();
    let paths: Vec<String> = all
        .iter()
        .map(|c| format!("/api/{c}/timer/start"))
        .collect();
    let answers = futures_util::future::join_all(paths.iter().map(|path| app.patch(path))).await;
    for (code, status) in all.iter().zip(&answers) {
        let wanted = if **code == unknown {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::NO_CONTENT
        };
        assert_eq!(*status, wanted, "start of {code}");
    }
    for (i, code) in (0..).zip(&codes) {
        let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(room["navigator"], format!("Nav{i}"), "{code}");
        assert_eq!(room["timer"]["state"], "running", "{code}");
        assert_eq!(room["duration"], 60_000 + i * 1000, "{code}");
    }
    let reads = app.metric("pairsync_room_load_reads_total").await - reads_before;
    let rooms = app.metric("pairsync_room_load_rooms_total").await - rooms_before;
    assert_eq!(rooms, (ROOMS + 1) as f64, "each room asked for once");
    assert!(
        reads < rooms,
        "{rooms} rooms in {reads} reads: none were read together"
    );
}
