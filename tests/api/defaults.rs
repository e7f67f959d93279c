//! The defaults of the contract's settings: what a server does when it is told nothing.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::expect::{assert_heartbeat_gap, assert_within, expect_error, WRITTEN_LATE_MS};
use crate::helpers::{now_ms, TestServer};
use crate::sse::EventStream;

/// The default listen address.
const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default `PAIRSYNC_PAUSE_WHEN_EMPTY`.
const DEFAULT_PAUSE_WHEN_EMPTY: Duration = Duration::from_millis(60_000);
/// The default `PAIRSYNC_HEARTBEAT_MS`.
const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(15_000);
/// The default `PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM`.
const DEFAULT_MAX_SUBSCRIBERS: usize = 64;
/// Longest wait for a server that cannot start to give up.
const GIVE_UP_WITHIN: Duration = Duration::from_secs(20);

#[tokio::test]
async fn with_no_settings_the_server_takes_the_default_address_database_file_and_log_level() {
    // Hold the default address, so that the server's start can only fail there, and say so.
    // (If another process holds it already, it is just as taken.)
    let _held = TcpListener::bind(DEFAULT_BIND).ok();
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .env_clear()
        .current_dir(scratch.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > GIVE_UP_WITHIN {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server kept running although {DEFAULT_BIND} is taken");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut log)
        .expect("the log");
    assert!(!status.success(), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("cannot start") && l.contains(DEFAULT_BIND)),
        "the refusal names the default address: {log}"
    );
    assert!(
        scratch.path().join("pairsync.db").is_file(),
        "the default database is pairsync.db in the working folder"
    );
    // RUST_LOG defaults to `info`: a server given only a free port writes info lines, and
    // no debug ones.
    let app = TestServer::spawn_exactly(&[("PAIRSYNC_BIND", "127.0.0.1:0")], &[]).await;
    let log = app.logs();
    assert!(log.iter().any(|l| l.contains(" INFO ")), "{log:#?}");
    assert!(
        !log.iter()
            .any(|l| l.contains(" DEBUG ") || l.contains(" TRACE ")),
        "{log:#?}"
    );
}

#[tokio::test]
async fn a_room_holds_64_streams_by_default_and_refuses_one_more() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut streams = Vec::new();
    for _ in 0..DEFAULT_MAX_SUBSCRIBERS {
        streams.push(app.connect(&code).await);
    }
    let res = app.send("GET", &format!("/api/{code}/connect")).await;
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "too_many_subscribers").await;
    streams.pop();
    app.until_connect_accepted(&code).await;
}

/// Reads three heartbeats from a quiet stream whose greeting has been read (its last frame
/// at `greeted_us`); each comes at most the default heartbeat (plus the allowance) after
/// the write before it.
async fn three_default_heartbeats(stream: &mut EventStream, greeted_us: i64) {
    let mut last = greeted_us;
    for n in 1..=3 {
        let frame = stream
            .next_frame(DEFAULT_HEARTBEAT * 2)
            .await
            .unwrap_or_else(|| panic!("no write within twice {DEFAULT_HEARTBEAT:?}"));
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "a comment line: {frame:?}"
        );
        assert_heartbeat_gap(
            &format!("default heartbeat {n}"),
            frame.received_us - last,
            DEFAULT_HEARTBEAT,
        );
        last = frame.received_us;
    }
}

/// Waits until shortly before `due` (epoch ms), then until the room's timer, running toward
/// `deadline`, is paused; the instant it paused at.
async fn paused_at_about(app: &TestServer, code: &str, deadline: i64, due: i64) -> i64 {
    let close_to_due = Duration::from_millis((due - now_ms() - 1000).max(0) as u64);
    tokio::time::sleep(close_to_due).await;
    assert_eq!(
        app.timer(code).await["state"],
        "running",
        "paused before the grace"
    );
    app.paused_at(code, deadline, Duration::from_secs(5), WRITTEN_LATE_MS)
        .await
}

/// About a minute and a quarter: the default grace is a minute, and `never` can only be
/// told from it by waiting that long.
#[tokio::test]
async fn by_default_quiet_streams_get_heartbeats_and_an_unwatched_timer_pauses_after_a_minute_but_never_means_never(
) {
    const DURATION: i64 = 300_000;
    let app = TestServer::spawn().await;
    let never = TestServer::spawn_with(&[("PAIRSYNC_PAUSE_WHEN_EMPTY", "never")]).await;
    let quiet = app.room(DURATION).await;
    let mut stream = app.connect(&quiet).await;
    let greeted = stream.skip_greeting().await.received_us;
    let unwatched = app.room(DURATION).await;
    let kept = never.room(DURATION).await;

    app.patch(&format!("/api/{unwatched}/timer/start")).await;
    never.patch(&format!("/api/{kept}/timer/start")).await;
    let deadline = app.timer(&unwatched).await["deadlineAt"]
        .as_i64()
        .expect("deadline");
    let started = deadline - DURATION;
    let grace = DEFAULT_PAUSE_WHEN_EMPTY.as_millis() as i64;

    let ((), paused_at) = tokio::join!(
        three_default_heartbeats(&mut stream, greeted),
        paused_at_about(&app, &unwatched, deadline, started + grace)
    );
    // Paused as if stopped a minute after its start.
    assert_within(
        "pause",
        "the pause of a running timer nobody watches",
        paused_at * 1000,
        started + grace,
        WRITTEN_LATE_MS,
    );

    // The same minute and more has passed for the room of the `never` server.
    let kept_timer = never.timer(&kept).await;
    let kept_started = kept_timer["deadlineAt"].as_i64().expect("still running") - DURATION;
    assert!(now_ms() - kept_started >= grace);
    assert_eq!(kept_timer["state"], "running");
}
