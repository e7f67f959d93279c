//! The server's own settings and housekeeping: where it listens, what it refuses to start
//! on, and which rooms it keeps in memory.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{eventually, TestServer};

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
async fn an_idle_room_is_unloaded_and_loads_again_on_use() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_ROOM_IDLE_MS", "300")]).await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    assert_eq!(app.metric("pairsync_rooms_live").await, 1.0);
    eventually(Duration::from_secs(5), || async {
        (app.metric("pairsync_rooms_live").await == 0.0).then_some(())
    })
    .await;
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["navigator"], "Bob");
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    assert_eq!(app.metric("pairsync_rooms_live").await, 1.0);
}

#[tokio::test]
async fn a_room_with_a_running_timer_or_a_stream_stays_loaded() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_ROOM_IDLE_MS", "200")]).await;
    let running = app.room(60000).await;
    app.patch(&format!("/api/{running}/timer/start")).await;
    let watched = app.room(60000).await;
    let _stream = app.connect(&watched).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.metric("pairsync_rooms_live").await, 2.0);
}

#[tokio::test]
async fn settings_come_from_flags_as_well_as_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flags.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .env_clear()
        .args(["--bind", "127.0.0.1:0", "--database-url"])
        .arg(&db)
        .args(["--heartbeat-ms", "300", "--rust-log", "info"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("listening on http://"))
        .expect("a listening line");
    let _ = child.kill();
    let _ = child.wait();
    assert!(!line.ends_with(":0"), "{line}");
    assert!(db.exists(), "the SQLite file named by the flag was created");
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
