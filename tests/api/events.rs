//! The event stream: headers, the connect sequence, ticks and time-up on schedule,
//! heartbeats, the per-room cap, pause-when-empty and stalled clients.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{eventually, now_ms, Frame, TestServer};

const WAIT: Duration = Duration::from_secs(5);
/// How late a tick may reach a client on a busy test machine. The contract wants a few
/// ms; the suite runs many servers at once on two cores, so it allows more, and the
/// benchmark reports the real figure.
const TICK_TOLERANCE_MS: i64 = 250;

fn pair(event: &str, data: &str) -> (String, String) {
    (event.to_string(), data.to_string())
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
    let frames: Vec<Frame> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(stream.next_event(WAIT).await);
        }
        v
    };
    assert_eq!(frames[0].pair(), pair("connect", "OK"));
    assert_eq!(frames[1].pair(), pair("remaining-time", "60000"));
    assert_eq!(frames[2].event.as_deref(), Some("state"));
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = now_ms();
    let mut stream = app.connect(&code).await;
    let connect = stream.next_event(WAIT).await;
    assert_eq!(connect.pair(), pair("connect", "OK"));
    let remaining = stream.next_event(WAIT).await;
    assert!(
        remaining.received_ms - asked < 500,
        "the greeting is immediate"
    );
    let live: i64 = remaining.data.as_deref().unwrap_or("").parse().expect("ms");
    assert!(live < 60000 - 250 && live > 58000, "{live}");
    assert_eq!(
        stream.next_event(WAIT).await.pair(),
        pair("timer", "running")
    );
    let state = stream.next_event(WAIT).await.json();
    assert_eq!(state["state"], "running");
}

#[tokio::test]
async fn start_ticks_and_time_up_arrive_in_order_and_on_time() {
    let app = TestServer::spawn().await;
    let code = app.room(3000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let mut frames = Vec::new();
    for _ in 0..8 {
        frames.push(stream.next_event(WAIT).await);
    }
    let pairs: Vec<_> = frames.iter().map(Frame::pair).collect();
    assert_eq!(pairs[0], pair("timer", "start"));
    assert_eq!(pairs[1].0, "state");
    assert_eq!(
        pairs[2..8],
        [
            pair("remaining-time", "2000"),
            pair("remaining-time", "1000"),
            pair("remaining-time", "0"),
            pair("timer", "stop"),
            pair("remaining-time", "3000"),
            (String::from("state"), pairs[7].1.clone()),
        ]
    );
    let deadline = frames[1].json()["deadlineAt"].as_i64().expect("deadline");
    for (frame, value) in frames[2..5].iter().zip([2000, 1000, 0]) {
        let due = deadline - value;
        assert!(
            frame.received_ms >= due,
            "tick {value} early by {} ms",
            due - frame.received_ms
        );
        assert!(
            frame.received_ms - due <= TICK_TOLERANCE_MS,
            "tick {value} late by {} ms",
            frame.received_ms - due
        );
    }
    let after = frames[7].json();
    assert_eq!(after["state"], "idle");
    assert_eq!(after["round"], 1);
    assert_eq!(
        (after["navigator"].as_str(), after["driver"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
    // Ids strictly increase along the whole stream.
    let ids: Vec<u64> = frames
        .iter()
        .map(|f| {
            f.id.as_deref()
                .and_then(|i| i.parse().ok())
                .expect("numeric id")
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Exactly one time-up, however many streams watch.
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
    assert_eq!(app.timer(&code).await["round"], 1);
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
    stream.next_event(WAIT).await; // timer: start
    let deadline = stream.next_event(WAIT).await.json()["deadlineAt"]
        .as_i64()
        .expect("deadline");
    let tick = stream.next_event(WAIT).await;
    let value: i64 = tick.data.as_deref().unwrap_or("").parse().expect("ms");
    assert_eq!(
        value,
        ((paused - 1) / 1000) * 1000,
        "the first tick is the whole second below"
    );
    assert!(tick.received_ms >= deadline - value);
}

#[tokio::test]
async fn every_stream_of_a_room_gets_the_same_ticks() {
    let app = TestServer::spawn().await;
    let code = app.room(2000).await;
    let mut a = app.connect(&code).await;
    let mut b = app.connect(&code).await;
    a.skip_greeting().await;
    b.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let pa = a.pairs(7, WAIT).await;
    let pb = b.pairs(7, WAIT).await;
    assert_eq!(pa, pb);
    assert_eq!(pa[2], pair("remaining-time", "1000"));
}

#[tokio::test]
async fn a_quiet_stream_gets_heartbeat_comments() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_HEARTBEAT_MS", "400")]).await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    let mut last = Instant::now();
    for _ in 0..3 {
        let frame = stream
            .next_frame(Duration::from_millis(1500))
            .await
            .expect("a heartbeat");
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "{frame:?}"
        );
        let gap = last.elapsed();
        assert!(gap <= Duration::from_millis(400 + 150), "gap {gap:?}");
        last = Instant::now();
    }
}

#[tokio::test]
async fn a_room_refuses_one_stream_more_than_its_cap() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM", "2")]).await;
    let code = app.room(60000).await;
    let mut a = app.connect(&code).await;
    let _b = app.connect(&code).await;
    a.skip_greeting().await;
    let res = app
        .client
        .get(app.url(&format!("/api/{code}/connect")))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"], "too_many_subscribers");
    // Another room is not affected, and closing a stream frees a place.
    let other = app.room(60000).await;
    app.connect(&other).await;
    drop(a);
    app.until_connect_accepted(&code).await;
}

#[tokio::test]
async fn a_running_timer_pauses_after_the_grace_once_its_last_stream_closed() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "700")]).await;
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    // With a stream open, the grace does not run.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(app.timer(&code).await["state"], "running");
    drop(stream);
    let closed = Instant::now();
    let paused_after = eventually(Duration::from_secs(5), || async {
        (app.timer(&code).await["state"] == "paused").then(|| closed.elapsed())
    })
    .await;
    assert!(
        paused_after >= Duration::from_millis(650),
        "paused early: {paused_after:?}"
    );
    assert!(
        paused_after <= Duration::from_millis(700 + 600),
        "paused late: {paused_after:?}"
    );
}

#[tokio::test]
async fn the_grace_counts_from_the_start_when_nobody_watches() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "600")]).await;
    let code = app.room(60000).await;
    let started = Instant::now();
    app.patch(&format!("/api/{code}/timer/start")).await;
    let paused_after = eventually(Duration::from_secs(5), || async {
        (app.timer(&code).await["state"] == "paused").then(|| started.elapsed())
    })
    .await;
    assert!(
        paused_after >= Duration::from_millis(550),
        "{paused_after:?}"
    );
    let remaining = app.timer(&code).await["remainingTime"]
        .as_i64()
        .expect("ms");
    assert!(remaining < 60000 - 500 && remaining > 58000, "{remaining}");
}

#[tokio::test]
async fn pause_when_empty_never_keeps_the_timer_running() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "never")]).await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.timer(&code).await["state"], "running");
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

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_without_slowing_the_others() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let _stalled = stalled_stream(&app, &code);
    let mut reader = app.connect(&code).await;
    reader.skip_greeting().await;
    eventually(WAIT, || async {
        (app.metric("pairsync_sse_streams").await == 2.0).then_some(())
    })
    .await;

    // Every swap sends a state event of ~200 bytes to both streams.
    let mut swaps = 0;
    let started = Instant::now();
    while app.metric("pairsync_streams_dropped_total").await < 1.0 {
        for _ in 0..20 {
            app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
            swaps += 1;
            let f = reader.next_event(WAIT).await;
            assert_eq!(
                f.event.as_deref(),
                Some("state"),
                "the reader gets every event"
            );
        }
        assert!(swaps < 4000, "the stalled stream was never dropped");
    }
    println!(
        "stalled stream dropped after {swaps} events in {:?}",
        started.elapsed()
    );
    assert_eq!(app.metric("pairsync_sse_streams").await, 1.0);
    // The reader keeps getting events promptly.
    let asked = now_ms();
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    let f = reader.next_event(WAIT).await;
    assert!(f.received_ms - asked < 1000);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_the_full_connect_sequence() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut first = app.connect(&code).await;
    first.skip_greeting().await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let last = first.next_event(WAIT).await.id.expect("id");
    drop(first);
    let res = app
        .client
        .get(app.url(&format!("/api/{code}/connect")))
        .header("Last-Event-ID", last)
        .send()
        .await
        .expect("reconnect");
    assert_eq!(res.status(), StatusCode::OK);
    let mut again = crate::helpers::EventStream::from_response(res);
    let pairs = again.pairs(3, WAIT).await;
    assert_eq!(pairs[0], pair("connect", "OK"));
    assert_eq!(pairs[1].0, "remaining-time");
    assert_eq!(pairs[2], pair("timer", "running"));
    assert_eq!(again.next_event(WAIT).await.json()["state"], "running");
}
