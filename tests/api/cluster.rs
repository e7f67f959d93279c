//! Several processes on one PostgreSQL database: every process's streams get the same
//! events, within the contract's 100 ms of the command and every tick on time; a time-up
//! happens once; a delete is everywhere at once; empty rooms pause only when no live
//! process holds a stream, a live process keeps counting and a killed one stops; and a lost
//! change feed makes the process unready until it is back. On SQLite (one process per
//! database) these tests say that they did not run (see `helpers::skipped`).

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::expect::{
    assert_across_in_time, assert_ticks_on_time, assert_within, eventually, expect_error, now_us,
    record_timing, ACROSS_MS, CONTRACT_FEW_MS, TIMER_LATE_MS,
};
use crate::helpers::{now_ms, on_postgres_or_skip, TestServer};
use crate::sse::{EventStream, Frame};

/// Longest wait for an event the test expects; how late it may be is checked apart.
const READ: Duration = Duration::from_secs(5);

/// The contract: a process that dies stops counting within this.
const DEAD_STOPS_COUNTING_MS: i64 = 15_000;

/// Three processes on one database with `env`, or `None` (and a line saying that the test
/// `name` did not run) without PostgreSQL.
async fn three(name: &str, env: &[(&str, &str)]) -> Option<(TestServer, TestServer, TestServer)> {
    if !on_postgres_or_skip(name) {
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

/// `PATCH path` through `server`, which must answer `204`; when the answer came (epoch µs).
async fn command(server: &TestServer, path: &str) -> i64 {
    assert_eq!(server.patch(path).await, StatusCode::NO_CONTENT, "{path}");
    now_us()
}

/// A `state` as the streams compare it: without what it says about the instant it was made.
fn comparable(frames: &[Frame]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(
            |f| match serde_json::from_str::<Value>(f.data.as_deref().unwrap_or("")) {
                Ok(mut v) if f.event.as_deref() == Some("state") => {
                    v.as_object_mut().map(|o| {
                        o.remove("serverTime");
                        o.remove("remainingTime")
                    });
                    ("state".to_string(), v.to_string())
                }
                _ => f.pair(),
            },
        )
        .collect()
}

/// The next `n` events of every stream, read side by side so that each is stamped when
/// it arrives. Asserts that they are the same everywhere, that the first of them reached
/// every stream within the contract's 100 ms (plus the allowance) of the command's answer
/// at `answered_us`, and that every tick and countdown end among them is on time. Returns
/// each stream's frames.
async fn same_everywhere(
    what: &str,
    streams: &mut [&mut EventStream],
    n: usize,
    answered_us: i64,
) -> Vec<Vec<Frame>> {
    let seen = join_all(streams.iter_mut().map(|stream| async move {
        let mut frames = Vec::new();
        for _ in 0..n {
            frames.push(stream.next_event(READ).await);
        }
        frames
    }))
    .await;
    for (i, frames) in seen.iter().enumerate() {
        assert_eq!(
            comparable(frames),
            comparable(&seen[0]),
            "{what}: stream {i}"
        );
        assert_across_in_time(
            &format!("{what}: stream {i}"),
            frames[0].received_us,
            answered_us,
        );
        assert_ticks_on_time(&format!("{what}: stream {i}"), frames);
    }
    seen
}

fn names(frames: &[Frame]) -> Vec<&str> {
    frames.iter().filter_map(|f| f.event.as_deref()).collect()
}

#[tokio::test]
async fn streams_on_three_processes_get_the_same_events_whichever_process_is_asked() {
    let Some((a, b, c)) = three(
        "cluster::streams_on_three_processes_get_the_same_events_whichever_process_is_asked",
        &[],
    )
    .await
    else {
        return;
    };
    let code = a.room(3000).await;
    let (mut on_a, mut on_b, mut on_c) = (
        opened(&a, &code).await,
        opened(&b, &code).await,
        opened(&c, &code).await,
    );
    // Start on one, pause on another, swap and resume on the third.
    let answered = command(&b, &format!("/api/{code}/timer/start")).await;
    // At once, before any stream has heard of it, a read on another process sees it.
    assert_eq!(c.timer(&code).await["state"], "running");
    let seen = same_everywhere(
        "the start",
        &mut [&mut on_a, &mut on_b, &mut on_c],
        3,
        answered,
    )
    .await;
    assert_eq!(names(&seen[0]), ["timer", "state", "remaining-time"]);
    assert_eq!(seen[0][2].data.as_deref(), Some("2000"));
    // The first tick, from the shared deadline, reached all three on time (checked above),
    // and so within a few ms (plus the allowance) of each other.
    let at: Vec<i64> = seen.iter().map(|frames| frames[2].received_us).collect();
    let spread = (at.iter().max().copied().unwrap_or(0) - at.iter().min().copied().unwrap_or(0))
        as f64
        / 1000.0;
    record_timing("spread", spread, "the first tick on three processes");
    assert!(
        spread <= TIMER_LATE_MS as f64,
        "one tick arrived {spread:.1} ms apart on three processes (the contract's few ms are \
         {CONTRACT_FEW_MS}; the bound is {TIMER_LATE_MS})"
    );

    let answered = command(&c, &format!("/api/{code}/timer/stop")).await;
    let seen = same_everywhere(
        "the pause",
        &mut [&mut on_a, &mut on_b, &mut on_c],
        3,
        answered,
    )
    .await;
    assert_eq!(names(&seen[0]), ["timer", "remaining-time", "state"]);
    assert_eq!(seen[0][0].data.as_deref(), Some("pause"));

    let answered = command(&a, &format!("/api/pair-room/{code}/pair-swap?round=0")).await;
    let seen = same_everywhere(
        "the swap",
        &mut [&mut on_a, &mut on_b, &mut on_c],
        1,
        answered,
    )
    .await;
    assert_eq!(names(&seen[0]), ["state"]);

    // Resumed on the third: the rest of the countdown and its time-up, alike and on time.
    let answered = command(&c, &format!("/api/{code}/timer/start")).await;
    let seen = same_everywhere(
        "the resume",
        &mut [&mut on_a, &mut on_b, &mut on_c],
        2,
        answered,
    )
    .await;
    assert_eq!(names(&seen[0]), ["timer", "state"]);
    let rest = join_all([&mut on_a, &mut on_b, &mut on_c].map(|stream| async {
        let mut frames = Vec::new();
        loop {
            let f = stream.next_event(READ).await;
            let done = f.event.as_deref() == Some("state");
            frames.push(f);
            if done {
                return frames;
            }
        }
    }))
    .await;
    for (i, (start, rest)) in seen.iter().zip(&rest).enumerate() {
        let mut frames = start.clone();
        frames.extend(rest.iter().cloned());
        let checked = assert_ticks_on_time(&format!("the countdown on stream {i}"), &frames);
        assert!(checked >= 2, "{frames:?}");
    }
    for other in &rest[1..] {
        assert_eq!(comparable(other), comparable(&rest[0]));
    }
    let after = rest[0].last().expect("a state").json();
    assert_eq!(
        (after["round"].as_i64(), after["state"].as_str()),
        (Some(1), Some("idle"))
    );
}

#[tokio::test]
async fn a_time_up_happens_once_whichever_processes_hold_streams() {
    let Some((a, b, c)) = three(
        "cluster::a_time_up_happens_once_whichever_processes_hold_streams",
        &[],
    )
    .await
    else {
        return;
    };
    let code = a.room(1000).await;
    let (mut on_a, mut on_b, mut on_c) = (
        opened(&a, &code).await,
        opened(&b, &code).await,
        opened(&c, &code).await,
    );
    let answered = command(&a, &format!("/api/{code}/timer/start")).await;
    let seen = same_everywhere(
        "the start and the time-up",
        &mut [&mut on_a, &mut on_b, &mut on_c],
        6,
        answered,
    )
    .await;
    assert_eq!(
        names(&seen[0]),
        [
            "timer",
            "state",
            "remaining-time",
            "timer",
            "remaining-time",
            "state"
        ]
    );
    assert_eq!(seen[0][2].data.as_deref(), Some("0"));
    assert_eq!(seen[0][3].data.as_deref(), Some("stop"));
    let state = seen[0][5].json();
    assert_eq!(
        (state["round"].as_i64(), state["driver"].as_str()),
        (Some(1), Some("Ann"))
    );
    // Nothing more on any stream: a second time-up would follow the first at once.
    let quiet = join_all(
        [&mut on_a, &mut on_b, &mut on_c].map(|s| s.quiet_for(Duration::from_millis(1500))),
    )
    .await;
    assert_eq!(quiet, [true, true, true], "no second time-up");
    for server in [&a, &b, &c] {
        let (_, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(
            (room["timer"]["round"].as_i64(), room["driver"].as_str()),
            (Some(1), Some("Ann"))
        );
    }
}

#[tokio::test]
async fn a_delete_through_one_process_closes_the_streams_on_the_others_and_is_404_everywhere() {
    let Some((a, b, c)) = three(
        "cluster::a_delete_through_one_process_closes_the_streams_on_the_others_and_is_404_everywhere",
        &[],
    )
    .await
    else {
        return;
    };
    let code = a.room(60_000).await;
    // The room is live on B and C: read there, and a stream open on each.
    let mut streams = Vec::new();
    for server in [&b, &c] {
        let (status, _) = server.get_json(&format!("/api/pair-room/{code}")).await;
        assert_eq!(status, StatusCode::OK);
        streams.push(opened(server, &code).await);
    }
    let deleted = a.send("DELETE", &format!("/api/pair-room/{code}")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let answered = now_us();
    // At once, without waiting for any stream: 404 on every process, on every kind of
    // path. The streams are watched meanwhile, so that each end is stamped when it comes.
    let asked = async {
        for server in [&b, &c, &a] {
            for path in [
                format!("/api/pair-room/{code}"),
                format!("/api/{code}/timer"),
                format!("/api/{code}/todos"),
                format!("/api/{code}/connect"),
            ] {
                let res = server.send("GET", &path).await;
                expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
            }
        }
    };
    let watched = join_all(streams.into_iter().map(|mut stream| async move {
        let close = stream.next_event(READ).await;
        let ended = stream.ends_within(READ).await.then(now_us);
        (close, ended)
    }));
    let ((), seen) = futures_util::future::join(asked, watched).await;
    for (close, ended) in seen {
        assert_eq!(close.pair(), ("close".to_string(), "OK".to_string()));
        assert_across_in_time("the delete's close", close.received_us, answered);
        let ended = ended.expect("the stream of a deleted room ends");
        assert_across_in_time("the end of a deleted room's stream", ended, answered);
    }
}

/// `METHOD path` through `server` with the JSON `body` (none for `null`), which must be answered `expected`;
/// the answer's JSON.
async fn call(server: &TestServer, method: &str, path: &str, body: Value, expected: u16) -> Value {
    let mut req = server
        .client
        .request(method.parse().expect("a method"), server.url(path));
    if !body.is_null() {
        req = req.json(&body);
    }
    let res = req.send().await.expect("an answer");
    let status = res.status().as_u16();
    let answer = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expected, "{method} {path}: {answer}");
    answer
}

/// `GET path` on B and C, right after a change through A: each must already show it.
async fn shows_at_once(
    others: [&TestServer; 2],
    path: &str,
    what: &str,
    shows: impl Fn(&Value) -> bool,
) {
    for server in others {
        let (status, body) = server.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            shows(&body),
            "{what}: {path} on {} answered {body}",
            server.base
        );
    }
}

#[tokio::test]
async fn a_get_on_any_process_right_after_a_change_through_another_shows_the_change() {
    let Some((a, b, c)) = three(
        "cluster::a_get_on_any_process_right_after_a_change_through_another_shows_the_change",
        &[],
    )
    .await
    else {
        return;
    };
    let mut members: Vec<String> = ["Ann", "Bob", "Cy"].map(String::from).to_vec();
    let code = a
        .create_room(serde_json::json!({"members": members, "timerDuration": 60_000}))
        .await;
    // The room is live on B and C, each with a stream (never read here).
    let mut _streams = Vec::new();
    for server in [&b, &c] {
        server.get_json(&format!("/api/pair-room/{code}")).await;
        _streams.push(server.connect(&code).await);
    }
    let others = [&b, &c];
    let room = format!("/api/pair-room/{code}");
    let timer = format!("/api/{code}/timer");
    let same_members =
        |members: Vec<String>| move |r: &Value| r["members"] == serde_json::json!(members);
    // Each turn of the loop ends one turn of the room: its round is `i` at the start.
    for i in 0..20_i64 {
        call(
            &a,
            "PATCH",
            &format!("{room}/pair-swap?round={i}"),
            Value::Null,
            204,
        )
        .await;
        members.rotate_left(1);
        shows_at_once(others, &room, "a swap", same_members(members.clone())).await;

        let duration = 60_000 + i * 1000;
        call(
            &a,
            "PATCH",
            &timer,
            serde_json::json!({"duration": duration}),
            204,
        )
        .await;
        shows_at_once(others, &timer, "a duration", |t| t["duration"] == duration).await;

        let length = 60_000 + i;
        call(
            &a,
            "PATCH",
            &format!("{room}/settings"),
            serde_json::json!({"breakDuration": length}),
            204,
        )
        .await;
        shows_at_once(others, &room, "the settings", |r| {
            r["settings"]["breakDuration"] == length
        })
        .await;

        members.reverse();
        call(
            &a,
            "PUT",
            &format!("{room}/members"),
            serde_json::json!({"members": members}),
            204,
        )
        .await;
        shows_at_once(others, &room, "a new order", same_members(members.clone())).await;

        call(
            &a,
            "PATCH",
            &format!("/api/{code}/timer/next"),
            Value::Null,
            204,
        )
        .await;
        members.rotate_left(1);
        shows_at_once(others, &timer, "a next", |t| t["round"] == i + 1).await;
        shows_at_once(
            others,
            &room,
            "a next's order",
            same_members(members.clone()),
        )
        .await;

        let goal = call(
            &a,
            "POST",
            &format!("/api/{code}/todos"),
            serde_json::json!({"content": format!("goal {i}")}),
            201,
        )
        .await;
        let id = goal["id"].as_i64().expect("a goal id");
        let the_goal = |list: &Value| -> Option<Value> {
            list.as_array()?.iter().find(|g| g["id"] == id).cloned()
        };
        shows_at_once(others, &format!("/api/{code}/todos"), "a new goal", |l| {
            the_goal(l).is_some()
        })
        .await;
        call(
            &a,
            "PATCH",
            &format!("/api/todos/{id}/checked"),
            Value::Null,
            204,
        )
        .await;
        shows_at_once(
            others,
            &format!("/api/{code}/todos"),
            "a checked goal",
            |l| the_goal(l).is_some_and(|g| g["isChecked"] == true),
        )
        .await;

        let value = format!("topic {i}");
        call(
            &a,
            "POST",
            &format!("/api/{code}/category"),
            serde_json::json!({"value": value}),
            201,
        )
        .await;
        shows_at_once(
            others,
            &format!("/api/{code}/category"),
            "a category",
            |l| {
                l.as_array()
                    .is_some_and(|l| l.iter().any(|c| c["value"] == value))
            },
        )
        .await;

        let url = format!("https://example.test/{i}");
        call(
            &a,
            "POST",
            &format!("/api/{code}/reference-link"),
            serde_json::json!({"url": url, "categoryId": null}),
            201,
        )
        .await;
        shows_at_once(
            others,
            &format!("/api/{code}/reference-link"),
            "a link",
            |l| l[0]["url"] == url,
        )
        .await;
    }
    call(
        &a,
        "PATCH",
        &format!("{room}/status"),
        serde_json::json!({"status": "COMPLETED"}),
        204,
    )
    .await;
    shows_at_once(others, &room, "the status", |r| r["status"] == "COMPLETED").await;
}

/// The grace every process is given in the pause-when-empty tests.
const GRACE_MS: i64 = 1500;

#[tokio::test]
async fn an_empty_room_pauses_only_once_no_process_has_held_a_stream_for_the_grace() {
    let grace = GRACE_MS.to_string();
    let Some((a, b, c)) = three(
        "cluster::an_empty_room_pauses_only_once_no_process_has_held_a_stream_for_the_grace",
        &[("PAIRSYNC_PAUSE_WHEN_EMPTY", &grace)],
    )
    .await
    else {
        return;
    };
    let code = a.room(600_000).await;
    // Its only stream is on C; A and B run the room's timer with none of their own.
    let mut on_c = opened(&c, &code).await;
    command(&b, &format!("/api/{code}/timer/start")).await;
    let deadline = a.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("running");
    // Several graces go by, told by the stream's own ticks: C's stream keeps it running
    // everywhere.
    for _ in 0..4 {
        loop {
            if on_c.next_event(READ).await.event.as_deref() == Some("remaining-time") {
                break;
            }
        }
        for server in [&a, &b] {
            assert_eq!(server.timer(&code).await["state"], "running");
        }
    }
    let closed = now_ms();
    drop(on_c);
    // The pause, from the server's own numbers: at the grace after the close, and no later
    // than a change takes to cross processes.
    let paused_at = b.paused_at(&code, deadline, READ, ACROSS_MS).await;
    assert_within(
        "pause",
        "the pause of a room whose last stream, on another process, closed",
        paused_at * 1000,
        closed + GRACE_MS,
        ACROSS_MS,
    );
    // One pause, seen alike everywhere.
    let mut remaining = Vec::new();
    for server in [&a, &b, &c] {
        remaining.push(server.timer(&code).await["remainingTime"].clone());
    }
    assert!(remaining.windows(2).all(|w| w[0] == w[1]), "{remaining:?}");
}

#[tokio::test]
async fn a_live_process_keeps_counting_a_killed_one_stops_and_its_clients_continue_elsewhere() {
    let grace = GRACE_MS.to_string();
    let Some((a, b, mut c)) = three(
        "cluster::a_live_process_keeps_counting_a_killed_one_stops_and_its_clients_continue_elsewhere",
        &[("PAIRSYNC_PAUSE_WHEN_EMPTY", &grace)],
    )
    .await
    else {
        return;
    };
    let code = a.room(600_000).await;
    let mut on_c = opened(&c, &code).await;
    command(&a, &format!("/api/{code}/timer/start")).await;
    let started = on_c.skip_greeting().await;
    let deadline = started.json()["deadlineAt"].as_i64().expect("running");
    // Alive, C counts: past the contract's 15 s and the grace after them, its stream (the
    // only one) keeps the room running on every process. The stream's own ticks tell the
    // time; each is checked on time.
    let alive_until = deadline - 600_000 + DEAD_STOPS_COUNTING_MS + GRACE_MS + 1000;
    let mut ticks = 0;
    loop {
        let tick = on_c.next_event(READ).await;
        assert_eq!(tick.event.as_deref(), Some("remaining-time"), "{tick:?}");
        let value = tick.ms();
        crate::expect::assert_on_time(&format!("tick {value}"), tick.received_us, deadline - value);
        ticks += 1;
        for server in [&a, &b] {
            assert_eq!(
                server.timer(&code).await["state"],
                "running",
                "tick {value}"
            );
        }
        if deadline - value >= alive_until {
            break;
        }
    }
    assert!(ticks >= 17, "{ticks}");

    let killed = now_ms();
    c.crash();
    assert!(
        on_c.ends_within(READ).await,
        "the dead process's stream ends"
    );
    // Its client reconnects to another process and continues toward the same deadline.
    let mut again = b.connect(&code).await;
    assert_eq!(again.skip_greeting().await.json()["deadlineAt"], deadline);
    let closed = now_ms();
    drop(again);
    // With no stream anywhere, and the dead process's stream no longer counted (within
    // the contract's 15 s of its death), it pauses: not before the grace after the last
    // stream, and no later than the grace after the dead process stops counting.
    let paused_at = a
        .paused_at(
            &code,
            deadline,
            Duration::from_millis((DEAD_STOPS_COUNTING_MS + GRACE_MS) as u64 + 5000),
            ACROSS_MS,
        )
        .await;
    let due = closed.max(killed + DEAD_STOPS_COUNTING_MS) + GRACE_MS;
    record_timing(
        "dead",
        (paused_at - killed) as f64,
        "the pause after a process was killed, from the kill",
    );
    assert!(
        paused_at >= closed + GRACE_MS,
        "paused {} ms after the last stream closed (the grace is {GRACE_MS})",
        paused_at - closed
    );
    assert!(
        paused_at <= due + ACROSS_MS,
        "paused {} ms after the kill (the bound is {} ms)",
        paused_at - killed,
        due + ACROSS_MS - killed
    );
}

#[tokio::test]
async fn a_cut_change_feed_makes_the_process_unready_then_recovers_and_delivers_again() {
    let Some((a, b, _c)) = three(
        "cluster::a_cut_change_feed_makes_the_process_unready_then_recovers_and_delivers_again",
        &[],
    )
    .await
    else {
        return;
    };
    let code = a.room(60_000).await;
    let mut on_a = opened(&a, &code).await;
    assert_eq!(a.get_json("/readyz").await.0, StatusCode::OK);
    {
        let _cut = a.cut_the_feed();
        // Unready while the feed is away, though the database answers its reads.
        eventually(READ, || async {
            (a.send("GET", "/readyz").await.status() == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(())
        })
        .await;
        for _ in 0..3 {
            let res = a.send("GET", "/readyz").await;
            expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
            let (status, room) = a.get_json(&format!("/api/pair-room/{code}")).await;
            assert_eq!(status, StatusCode::OK, "the database answers: {room}");
            assert_eq!(a.get_json("/healthz").await.0, StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Back by itself once the database takes connections again.
    eventually(READ, || async {
        (a.get_json("/readyz").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    // A change through B after the reconnect reaches A's stream in time.
    let answered = command(&b, &format!("/api/{code}/timer/start")).await;
    let start = on_a.next_event(READ).await;
    assert_eq!(start.pair(), ("timer".to_string(), "start".to_string()));
    assert_across_in_time(
        "a start after the feed came back",
        start.received_us,
        answered,
    );
}

#[tokio::test]
async fn the_cluster_listing_counts_every_process_streams_and_running_rooms() {
    let Some((a, b, c)) = three(
        "cluster::the_cluster_listing_counts_every_process_streams_and_running_rooms",
        &[],
    )
    .await
    else {
        return;
    };
    let watched = a.room(60_000).await;
    let running = a.room(60_000).await;
    let quiet = a.room(60_000).await;
    let _s1 = opened(&a, &watched).await;
    let _s2 = opened(&b, &watched).await;
    let _s3 = opened(&b, &watched).await;
    command(&c, &format!("/api/{running}/timer/start")).await;
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

#[tokio::test]
async fn the_cluster_listing_pages_as_rooms_does_and_rooms_stays_this_process_s() {
    let Some((a, b, c)) = three(
        "cluster::the_cluster_listing_pages_as_rooms_does_and_rooms_stays_this_process_s",
        &[],
    )
    .await
    else {
        return;
    };
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(a.room(60_000).await);
    }
    codes.sort();
    // Streams: the first two on A, the third on B, the last two on C.
    let mut streams = Vec::new();
    for (code, server) in codes.iter().zip([&a, &a, &b, &c, &c]) {
        streams.push(opened(server, code).await);
    }
    let listing = eventually(Duration::from_secs(10), || async {
        let (status, body) = b.admin_json("/rooms?scope=cluster").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let counted: Vec<Value> = body["rooms"]
            .as_array()
            .map(|rooms| rooms.iter().map(|r| r["subscribers"].clone()).collect())
            .unwrap_or_default();
        (counted == vec![Value::from(1); 5]).then_some(body)
    })
    .await;
    assert_eq!(listing["total"], 5);
    // Paged as `/rooms` is: sorted by code, `limit` and `offset`, `total` counting all.
    let (status, page) = c.admin_json("/rooms?scope=cluster&limit=2&offset=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 5);
    let rooms = page["rooms"].as_array().expect("rooms");
    let paged: Vec<&str> = rooms
        .iter()
        .filter_map(|r| r["accessCode"].as_str())
        .collect();
    assert_eq!(paged, [codes[1].as_str(), codes[2].as_str()]);
    for room in rooms {
        assert_eq!(
            (&room["navigator"], &room["driver"]),
            (&Value::from("Ann"), &Value::from("Bob")),
            "{room}"
        );
        assert_eq!(room["subscribers"], 1, "{room}");
        let timer = &room["timer"];
        assert_eq!(
            (
                &timer["state"],
                &timer["duration"],
                &timer["remainingTime"],
                &timer["deadlineAt"],
                &timer["round"]
            ),
            (
                &Value::from("idle"),
                &Value::from(60_000),
                &Value::from(60_000),
                &Value::Null,
                &Value::from(0)
            ),
            "{room}"
        );
        assert!(timer["serverTime"].is_i64(), "{room}");
    }
    let (_, past) = c.admin_json("/rooms?scope=cluster&offset=5").await;
    assert_eq!(
        (
            past["rooms"].as_array().map(Vec::len),
            past["total"].as_i64()
        ),
        (Some(0), Some(5))
    );
    for bad in ["limit=0", "limit=1001", "offset=-1", "limit=x"] {
        let res = c
            .client
            .get(c.url(&format!("/rooms?scope=cluster&{bad}")))
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .send()
            .await
            .expect("an answer");
        expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Without `scope`, each process lists its own live rooms: C holds the last two only.
    assert_eq!(c.live_codes().await, codes[3..]);
}
