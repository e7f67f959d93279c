//! The server's own settings and housekeeping: where it listens, what it refuses to start
//! on, how flags stand in for the environment, and which rooms it keeps in memory.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::expect::{
    assert_heartbeat_gap, assert_within, eventually, expect_error, WRITTEN_LATE_MS,
};
use crate::helpers::TestServer;

#[tokio::test]
async fn the_server_logs_its_real_address_and_answers_healthz() {
    let app = TestServer::spawn().await;
    assert!(app
        .logs()
        .iter()
        .any(|l| l.contains(&format!("listening on {}", app.base))));
    assert!(!app.base.ends_with(":0"));
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn an_idle_room_is_unloaded_after_its_idle_time_and_loads_again_on_use() {
    const IDLE: Duration = Duration::from_millis(300);
    let app = TestServer::spawn_with(&[("PAIRSYNC_ROOM_IDLE_MS", "300")]).await;
    let code = app.room(60000).await;
    // While a stream is open the room stays live.
    let stream = app.connect(&code).await;
    app.until_metric("pairsync_rooms_live", 1.0).await;
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    let closed = Instant::now();
    drop(stream);
    let unloaded_after = eventually(Duration::from_secs(5), || async {
        (app.metric("pairsync_rooms_live").await == 0.0).then(|| closed.elapsed())
    })
    .await;
    assert!(unloaded_after >= IDLE, "unloaded early: {unloaded_after:?}");
    assert!(app.live_codes().await.is_empty());

    // Used again, it comes back from the database as it was.
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["navigator"], "Bob");
    let mut stream = app.connect(&code).await;
    assert_eq!(stream.skip_greeting().await.json()["navigator"], "Bob");
    app.until_metric("pairsync_rooms_live", 1.0).await;
    assert_eq!(app.live_codes().await, vec![code]);
}

#[tokio::test]
async fn a_room_with_a_running_timer_or_a_stream_stays_loaded_while_an_idle_one_goes() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_ROOM_IDLE_MS", "200")]).await;
    let running = app.room(60000).await;
    app.patch(&format!("/api/{running}/timer/start")).await;
    let watched = app.room(60000).await;
    let _stream = app.connect(&watched).await;
    // Live, then left after the other two were last used: once it is gone, they have had
    // as long to go.
    let idle = app.room(60000).await;
    let visit = app.connect(&idle).await;
    assert!(app.live_codes().await.contains(&idle));
    drop(visit);
    eventually(Duration::from_secs(5), || async {
        (!app.live_codes().await.contains(&idle)).then_some(())
    })
    .await;
    let mut expected = vec![running, watched];
    expected.sort();
    assert_eq!(app.live_codes().await, expected);
    assert_eq!(app.metric("pairsync_rooms_live").await, 2.0);
}

#[tokio::test]
async fn every_setting_can_be_given_as_a_flag_instead_of_the_environment() {
    const HEARTBEAT: Duration = Duration::from_millis(300);
    const GRACE: Duration = Duration::from_millis(300);
    let app = TestServer::spawn_exactly(
        &[],
        &[
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "flags.db",
            "--admin-token",
            "flag-token",
            "--heartbeat-ms",
            "300",
            "--pause-when-empty",
            "300",
            "--max-subscribers-per-room",
            "1",
            "--rust-log",
            "info,pairsync::access=off",
        ],
    )
    .await;
    assert!(!app.base.ends_with(":0"), "{}", app.base);
    assert!(
        app.scratch().join("flags.db").is_file(),
        "the SQLite file named by the flag"
    );

    // --admin-token
    let with = |token: &'static str| {
        let req = app.client.get(app.url("/rooms")).bearer_auth(token);
        async move { req.send().await.expect("request") }
    };
    assert_eq!(with("flag-token").await.status(), StatusCode::OK);
    expect_error(
        with("test-admin-token").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // --max-subscribers-per-room and --heartbeat-ms
    let code = app.room(60000).await;
    let mut stream = app.connect(&code).await;
    let mut last = stream.skip_greeting().await.received_us;
    let refused = app.send("GET", &format!("/api/{code}/connect")).await;
    expect_error(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_subscribers",
    )
    .await;
    for n in 1..=3 {
        let frame = stream.next_frame(HEARTBEAT * 2).await.expect("a heartbeat");
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "{frame:?}"
        );
        assert_heartbeat_gap(
            &format!("--heartbeat-ms: heartbeat {n}"),
            frame.received_us - last,
            HEARTBEAT,
        );
        last = frame.received_us;
    }

    // --pause-when-empty: paused (by the server's own numbers) the grace after the start.
    let unwatched = app.room(60000).await;
    app.patch(&format!("/api/{unwatched}/timer/start")).await;
    let deadline = app.timer(&unwatched).await["deadlineAt"]
        .as_i64()
        .expect("running");
    let paused_at = app
        .paused_at(
            &unwatched,
            deadline,
            Duration::from_secs(5),
            WRITTEN_LATE_MS,
        )
        .await;
    assert_within(
        "pause",
        "--pause-when-empty: the pause of an unwatched timer",
        paused_at * 1000,
        deadline - 60000 + GRACE.as_millis() as i64,
        WRITTEN_LATE_MS,
    );

    // --rust-log: info lines are written, the access log is switched off. The stream's
    // `opened` line is written after the requests before it had been answered.
    eventually(Duration::from_secs(5), || async {
        app.logs()
            .iter()
            .any(|l| l.contains("stream 0 opened"))
            .then_some(())
    })
    .await;
    let logs = app.logs();
    assert!(logs.iter().any(|l| l.contains("listening on")), "{logs:?}");
    assert!(
        !logs.iter().any(|l| l.contains("pairsync::access")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn a_sqlite_url_names_the_database_file() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let file = scratch.path().join("by-url.db");
    let url = format!("sqlite://{}", file.to_str().expect("utf-8 path"));
    let mut app = TestServer::spawn_exactly(
        &[
            ("PAIRSYNC_BIND", "127.0.0.1:0"),
            ("DATABASE_URL", &url),
            ("RUST_LOG", "info"),
        ],
        &[],
    )
    .await;
    assert!(file.is_file(), "the server created {}", file.display());
    let code = app.room(60000).await;
    app.crash_and_restart();
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (status, room["navigator"].as_str()),
        (StatusCode::OK, Some("Ann"))
    );
}

#[tokio::test]
async fn a_database_url_it_cannot_use_stops_the_start_with_a_reason() {
    for url in [
        "postgres://nobody@127.0.0.1:1/none",
        "/nonexistent-dir/for/sure/p.db",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pairsync"))
            .env_clear()
            .env("PAIRSYNC_BIND", "127.0.0.1:0")
            .env("DATABASE_URL", url)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{url}");
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("cannot start"), "{url}: {log}");
        assert!(!log.contains("listening on"), "{url}: {log}");
    }
}
