//! The event stream: headers, the connect sequence, ticks and time-up on schedule,
//! heartbeats, the per-room cap, pause-when-empty and stalled clients.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::{
    assert_heartbeat_gap, assert_on_time, assert_within, expect_error, now_us, TIMER_LATE_MS,
    WRITTEN_LATE_MS,
};
use crate::helpers::{now_ms, TestServer};
use crate::sse::{EventStream, Frame};

const WAIT: Duration = Duration::from_secs(5);

fn pair(event: &str, data: &str) -> (String, String) {
    (event.to_string(), data.to_string())
}

/// Asserts that the frames' ids strictly increase.
fn assert_ids_increase(frames: &[Frame]) {
    let ids: Vec<u64> = frames.iter().map(Frame::id_number).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");
}

#[tokio::test]
async fn the_stream_has_event_stream_headers_and_starts_with_retry() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    let first = stream.next_frame(WAIT).await.expect("a first frame");
    let retry = first.retry.expect("retry comes first");
    assert!(retry > 0 && retry <= 3000, "{retry}");
}

#[tokio::test]
async fn a_new_stream_of_an_idle_room_gets_connect_remaining_and_state() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.push(stream.next_event(WAIT).await);
    }
    assert_eq!(frames[0].pair(), pair("connect", "OK"));
    assert_eq!(frames[1].pair(), pair("remaining-time", "60000"));
    assert_eq!(frames[2].event.as_deref(), Some("state"));
    assert_ids_increase(&frames);
    let state = frames[2].json();
    for key in [
        "state",
        "duration",
        "remainingTime",
        "deadlineAt",
        "serverTime",
        "round",
        "navigator",
        "driver",
    ] {
        assert!(state.get(key).is_some(), "snapshot lacks {key}: {state}");
    }
    assert_eq!(state["navigator"], "Ann");
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_late_joiner_of_a_running_room_is_told_at_once_that_it_runs() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    let asked = now_ms();
    let mut stream = app.connect(&code).await;
    let answered_us = now_us();
    let connect = stream.next_event(WAIT).await;
    assert_eq!(connect.pair(), pair("connect", "OK"));
    let remaining = stream.next_event(WAIT).await;
    assert_eq!(remaining.event.as_deref(), Some("remaining-time"));
    // At once: with the answer, not at the next tick or heartbeat.
    assert_within(
        "greeting",
        "the greeting after the answer",
        remaining.received_us,
        answered_us / 1000,
        TIMER_LATE_MS,
    );
    // The live remaining time, when the stream opened.
    let live = remaining.ms();
    let received_ms = remaining.received_us / 1000;
    assert!(
        live <= deadline - asked && live >= deadline - received_ms,
        "{live} outside [{}, {}]",
        deadline - received_ms,
        deadline - asked
    );
    assert_eq!(
        stream.next_event(WAIT).await.pair(),
        pair("timer", "running")
    );
    let state = stream.next_event(WAIT).await.json();
    assert_eq!(state["state"], "running");
    assert_eq!(state["deadlineAt"], deadline);
}

#[tokio::test]
async fn start_ticks_and_time_up_arrive_in_order_and_on_time_on_every_stream_once() {
    const STREAMS: usize = 3;
    let app = TestServer::spawn().await;
    let code = app.room(3000).await;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut stream = app.connect(&code).await;
        stream.skip_greeting().await;
        streams.push(stream);
    }
    app.patch(&format!("/api/{code}/timer/start")).await;
    // Read side by side, so that each frame is stamped when it arrives.
    let seen = futures_util::future::join_all(streams.iter_mut().map(|stream| async move {
        let mut frames = Vec::new();
        for _ in 0..8 {
            frames.push(stream.next_event(WAIT).await);
        }
        frames
    }))
    .await;
    for frames in seen {
        let pairs: Vec<_> = frames.iter().map(Frame::pair).collect();
        assert_eq!(pairs[0], pair("timer", "start"));
        assert_eq!(pairs[1].0, "state");
        assert_eq!(
            pairs[2..7],
            [
                pair("remaining-time", "2000"),
                pair("remaining-time", "1000"),
                pair("remaining-time", "0"),
                pair("timer", "stop"),
                pair("remaining-time", "3000"),
            ]
        );
        assert_eq!(pairs[7].0, "state");
        let deadline = frames[1].json()["deadlineAt"].as_i64().expect("deadline");
        for (frame, value) in frames[2..5].iter().zip([2000, 1000, 0]) {
            assert_on_time(
                &format!("tick {value}"),
                frame.received_us,
                deadline - value,
            );
        }
        let after = frames[7].json();
        assert_eq!(after["state"], "idle");
        assert_eq!(after["round"], 1);
        assert_eq!(
            (after["navigator"].as_str(), after["driver"].as_str()),
            (Some("Bob"), Some("Ann"))
        );
        assert_ids_increase(&frames);
    }
    // Exactly one time-up, however many streams watch: nothing more on any stream (a
    // second time-up would follow the first at once), one round, one swap.
    for stream in &mut streams {
        assert!(stream.quiet_for(Duration::from_millis(500)).await);
    }
    let timer = app.timer(&code).await;
    assert_eq!(
        (&timer["round"], &timer["state"]),
        (&json!(1), &json!("idle"))
    );
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (room["navigator"].as_str(), room["driver"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
}

#[tokio::test]
async fn ticks_after_a_resume_fall_on_whole_seconds_of_the_new_deadline() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.patch(&format!("/api/{code}/timer/stop")).await;
    let paused = app.timer(&code).await["remainingTime"]
        .as_i64()
        .expect("ms");
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    assert_eq!(stream.next_event(WAIT).await.pair(), pair("timer", "start"));
    let deadline = stream.next_event(WAIT).await.json()["deadlineAt"]
        .as_i64()
        .expect("deadline");
    let first = ((paused - 1) / 1000) * 1000;
    for value in [first, first - 1000] {
        let tick = stream.next_event(WAIT).await;
        assert_eq!(
            tick.pair(),
            pair("remaining-time", &value.to_string()),
            "whole seconds below the paused {paused} ms"
        );
        assert_on_time(&format!("tick {value}"), tick.received_us, deadline - value);
    }
}

/// The parts of a `state` snapshot that are the same for every stream; `serverTime` (and
/// with it a running timer's `remainingTime`) is when each answer was made.
fn shared_part(state: &Value) -> Value {
    let mut state = state.clone();
    if let Some(map) = state.as_object_mut() {
        map.remove("serverTime");
        if map.get("state").and_then(Value::as_str) == Some("running") {
            map.remove("remainingTime");
        }
    }
    state
}

#[tokio::test]
async fn every_stream_of_a_room_gets_the_same_events() {
    let app = TestServer::spawn().await;
    let code = app.room(2000).await;
    let mut a = app.connect(&code).await;
    let mut b = app.connect(&code).await;
    a.skip_greeting().await;
    b.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    // Read side by side, so that each frame is stamped when it arrives.
    let frames = futures_util::future::join_all([&mut a, &mut b].map(|stream| async move {
        let mut frames = Vec::new();
        for _ in 0..7 {
            frames.push(stream.next_event(WAIT).await);
        }
        frames
    }))
    .await;
    let mut seen = Vec::new();
    for frames in &frames {
        let mut events = Vec::new();
        for f in frames {
            let data = match f.event.as_deref() {
                Some("state") => shared_part(&f.json()),
                _ => Value::from(f.data.clone().unwrap_or_default()),
            };
            events.push((f.event.clone().unwrap_or_default(), data));
        }
        seen.push(events);
        // Every stream's ticks are on time.
        let deadline = frames[1].json()["deadlineAt"].as_i64().expect("deadline");
        for (frame, value) in frames[2..4].iter().zip([1000, 0]) {
            assert_eq!(frame.pair(), pair("remaining-time", &value.to_string()));
            assert_on_time(
                &format!("tick {value}"),
                frame.received_us,
                deadline - value,
            );
        }
    }
    // The same events, in the same order, with the same data on both streams.
    assert_eq!(seen[0], seen[1]);
    let names: Vec<&str> = seen[0].iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "timer",
            "state",
            "remaining-time",
            "remaining-time",
            "timer",
            "remaining-time",
            "state"
        ]
    );
}

#[tokio::test]
async fn a_quiet_stream_gets_heartbeat_comments() {
    const HEARTBEAT: Duration = Duration::from_millis(400);
    let app = TestServer::spawn_with(&[("PAIRSYNC_HEARTBEAT_MS", "400")]).await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    let mut last = stream.skip_greeting().await.received_us;
    for n in 1..=3 {
        let frame = stream.next_frame(HEARTBEAT * 2).await.expect("a heartbeat");
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "{frame:?}"
        );
        assert_heartbeat_gap(
            &format!("heartbeat {n}"),
            frame.received_us - last,
            HEARTBEAT,
        );
        last = frame.received_us;
    }
}

#[tokio::test]
async fn a_room_refuses_one_stream_more_than_its_cap() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM", "2")]).await;
    let code = app.room(60000).await;
    let mut a = app.connect(&code).await;
    let _b = app.connect(&code).await;
    a.skip_greeting().await;
    let res = app.send("GET", &format!("/api/{code}/connect")).await;
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "too_many_subscribers").await;
    // Another room is not affected, and closing a stream frees a place.
    let other = app.room(60000).await;
    app.connect(&other).await;
    drop(a);
    app.until_connect_accepted(&code).await;
}

/// The room's deadline while it runs.
async fn deadline_of(app: &TestServer, code: &str) -> i64 {
    app.timer(code).await["deadlineAt"]
        .as_i64()
        .expect("a running timer's deadline")
}

/// Asserts that the timer paused (at `paused_at`, epoch ms) no earlier than `grace` after
/// `since_ms` and at most [`WRITTEN_LATE_MS`] later.
fn assert_paused_on_time(what: &str, paused_at: i64, since_ms: i64, grace: Duration) {
    let due = since_ms + grace.as_millis() as i64;
    assert_within("pause", what, paused_at * 1000, due, WRITTEN_LATE_MS);
}

#[tokio::test]
async fn a_running_timer_pauses_after_the_grace_once_its_last_stream_closed() {
    const GRACE: Duration = Duration::from_millis(700);
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "700")]).await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = deadline_of(&app, &code).await;
    // With a stream open, the grace does not run: at the first tick, a second after the
    // start and past the grace, the timer still runs.
    while stream.next_event(WAIT).await.pair() != pair("remaining-time", "59000") {}
    assert_eq!(app.timer(&code).await["state"], "running");
    let closed = now_ms();
    drop(stream);
    let paused_at = app.paused_at(&code, deadline, WAIT, WRITTEN_LATE_MS).await;
    assert_paused_on_time(
        "the pause after the last stream closed",
        paused_at,
        closed,
        GRACE,
    );
}

#[tokio::test]
async fn the_grace_counts_from_the_start_when_nobody_watches() {
    const GRACE: Duration = Duration::from_millis(600);
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "600")]).await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = deadline_of(&app, &code).await;
    let started = deadline - 60000;
    // Paused as if stopped at the end of the grace, counted from the start.
    let paused_at = app.paused_at(&code, deadline, WAIT, WRITTEN_LATE_MS).await;
    assert_paused_on_time("the pause after the start", paused_at, started, GRACE);
}

#[tokio::test]
async fn an_automatic_pause_keeps_the_exact_remaining_millisecond() {
    let mut app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "300")]).await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = deadline_of(&app, &code).await;
    app.paused_at(&code, deadline, WAIT, WRITTEN_LATE_MS).await;
    let paused = app.timer(&code).await;
    assert_eq!(paused["deadlineAt"], Value::Null);
    let remaining = paused["remainingTime"].as_i64().expect("ms");
    // It does not move, not even across a crash.
    let mut stream = app.connect(&code).await;
    assert_eq!(
        stream.skip_greeting().await.json()["remainingTime"],
        remaining
    );
    drop(stream);
    app.crash_and_restart();
    assert_eq!(app.timer(&code).await["remainingTime"], remaining);
    // A resume runs toward now + exactly that.
    let before = now_ms();
    app.patch(&format!("/api/{code}/timer/start")).await;
    let after = now_ms();
    let deadline = deadline_of(&app, &code).await;
    assert!(
        deadline >= before + remaining && deadline <= after + remaining,
        "{deadline} outside [{}, {}]",
        before + remaining,
        after + remaining
    );
}

#[tokio::test]
async fn the_grace_starts_again_when_another_stream_comes_and_goes() {
    const GRACE: Duration = Duration::from_millis(800);
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "800")]).await;
    let code = app.room(60000).await;
    let first = app.connect(&code).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = deadline_of(&app, &code).await;
    let first_closed = now_ms();
    drop(first);
    app.until_metric("pairsync_sse_streams", 0.0).await;
    // The grace runs now. Another stream comes, stays half of it, and goes.
    let mut second = app.connect(&code).await;
    assert_eq!(
        second.skip_greeting().await.json()["state"],
        "running",
        "the second stream came within the grace"
    );
    tokio::time::sleep(GRACE / 2).await;
    let second_closed = now_ms();
    drop(second);
    let paused_at = app.paused_at(&code, deadline, WAIT, WRITTEN_LATE_MS).await;
    assert_paused_on_time(
        "the pause after the second stream closed",
        paused_at,
        second_closed,
        GRACE,
    );
    assert!(paused_at - first_closed >= (GRACE + GRACE / 2).as_millis() as i64);
}

/// Bytes the kernel holds for one loopback connection, from `/proc/net/tcp`: those
/// written by the server and not yet taken by the client's socket, plus those the client's
/// socket holds unread.
fn kernel_bytes(server_port: u16, client_port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp (Linux)");
    let port = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    let queue = |queues: &str, which: usize| {
        queues
            .split(':')
            .nth(which)
            .and_then(|q| u64::from_str_radix(q, 16).ok())
            .unwrap_or(0)
    };
    let mut total = 0;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(queues)) = (
            fields.get(1).and_then(|a| port(a)),
            fields.get(2).and_then(|a| port(a)),
            fields.get(4),
        ) else {
            continue;
        };
        if (local, remote) == (server_port, client_port) {
            total += queue(queues, 0); // the server's send queue
        } else if (local, remote) == (client_port, server_port) {
            total += queue(queues, 1); // the client's receive queue
        }
    }
    total
}

/// Opens a stream on a raw socket with a tiny receive buffer and never reads it.
fn stalled_stream(app: &TestServer, code: &str) -> TcpStream {
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .set_recv_buffer_size(1024)
        .expect("small receive buffer");
    socket.connect(&addr.into()).expect("connect");
    let mut tcp: TcpStream = socket.into();
    write!(
        tcp,
        "GET /api/{code}/connect HTTP/1.1\r\nHost: test\r\n\r\n"
    )
    .expect("request");
    tcp
}

/// The contract's bound on what the server holds for a stream whose client stopped
/// reading: at most this many events, or at most [`BACKLOG_BYTES`].
const BACKLOG_EVENTS: u64 = 256;
/// See [`BACKLOG_EVENTS`].
const BACKLOG_BYTES: u64 = 64 * 1024;

/// The longest round trip of a swap (its request, its commit, its `state` event on a
/// stream) that counts as not slowed. The contract gives no number for it ("never slows
/// the room's other streams"); a stream that waited on a stalled one would take longer with
/// every event of the pile, hundreds of ms near the bound. Measured here (tests/README.md):
/// median 3 ms, worst median of ten runs 9 ms, on SQLite and on PostgreSQL.
const UNSLOWED_ROUND_TRIP_MS: i64 = 50;

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_at_the_backlog_bound_without_slowing_the_others() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let stalled = stalled_stream(&app, &code);
    let client_port = stalled.local_addr().expect("local address").port();
    let server_port = stalled.peer_addr().expect("peer address").port();
    let mut reader = app.connect(&code).await;
    reader.skip_greeting().await;
    app.until_metric("pairsync_sse_streams", 2.0).await;

    // Every swap sends one `state` event to both streams. The stalled stream's events go
    // first to the kernel's buffers (measured), then pile up in the server, which must
    // drop the stream once the pile passes the bound.
    let mut swaps: u64 = 0;
    let mut event_bytes = u64::MAX;
    let mut in_kernel = 0;
    let mut round_trips = Vec::new();
    while app.metric("pairsync_streams_dropped_total").await < 1.0 {
        in_kernel = in_kernel.max(kernel_bytes(server_port, client_port));
        let asked = now_us();
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
        swaps += 1;
        let f = reader.next_event(WAIT).await;
        assert_eq!(
            f.event.as_deref(),
            Some("state"),
            "the reader gets every event"
        );
        round_trips.push((f.received_us - asked) / 1000);
        let wire = format!(
            "id: {}\nevent: state\ndata: {}\n\n",
            f.id.as_deref().unwrap_or(""),
            f.data.as_deref().unwrap_or("")
        );
        event_bytes = event_bytes.min(wire.len() as u64);
        assert!(swaps < 10_000, "the stalled stream was never dropped");
    }
    // Upper bounds: every kernel byte counted as a whole event, the greeting not counted.
    let kernel_events = in_kernel.div_ceil(event_bytes);
    let allowed = BACKLOG_EVENTS.max(BACKLOG_BYTES / event_bytes) + 1;
    let held = swaps.saturating_sub(kernel_events);
    println!(
        "stalled stream dropped after {swaps} events; {in_kernel} bytes \
         (≤ {kernel_events} events) in the kernel, ≤ {held} held by the server"
    );
    assert!(
        held <= allowed,
        "the server held {held} events of {event_bytes} bytes or more (at most {allowed})"
    );
    // The reader is not slowed: a stream that waited on the stalled one would take longer
    // and longer as the pile grew, most of its round trips with it. The median is what
    // that shows; one late round trip alone is a busy machine's scheduling.
    round_trips.sort_unstable();
    let median = round_trips[round_trips.len() / 2];
    assert!(
        median <= UNSLOWED_ROUND_TRIP_MS,
        "the reader is slowed: a swap reached it in {median} ms (median of {swaps})"
    );
    app.until_metric("pairsync_sse_streams", 1.0).await;
    // The reader keeps getting events promptly.
    let mut after = Vec::new();
    for _ in 0..3 {
        let asked = now_us();
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
        after.push((reader.next_event(WAIT).await.received_us - asked) / 1000);
    }
    after.sort_unstable();
    assert!(
        after[1] <= UNSLOWED_ROUND_TRIP_MS,
        "after the drop, swaps reached the reader in {after:?} ms"
    );
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_the_full_connect_sequence() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut first = app.connect(&code).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(first.next_event(WAIT).await);
    }
    app.patch(&format!("/api/{code}/timer/start")).await;
    for _ in 0..2 {
        seen.push(first.next_event(WAIT).await);
    }
    // Ids increase from the greeting on into the broadcasts.
    assert_ids_increase(&seen);
    let last = seen[seen.len() - 1].id.clone().expect("id");
    drop(first);

    let res = app
        .client
        .get(app.url(&format!("/api/{code}/connect")))
        .header("Last-Event-ID", last)
        .send()
        .await
        .expect("reconnect");
    assert_eq!(res.status(), StatusCode::OK);
    let mut again = EventStream::from_response(res);
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(again.next_event(WAIT).await);
    }
    let pairs: Vec<_> = seen.iter().map(Frame::pair).collect();
    assert_eq!(pairs[0], pair("connect", "OK"));
    assert_eq!(pairs[1].0, "remaining-time");
    assert_eq!(pairs[2], pair("timer", "running"));
    assert_eq!(seen[3].json()["state"], "running");
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    loop {
        let f = again.next_event(WAIT).await;
        let done = f.event.as_deref() == Some("state");
        seen.push(f);
        if done {
            break;
        }
    }
    assert_ids_increase(&seen);
}
