//! The clean stop, `Running::stop`, as the binary calls it on SIGTERM: on the whole server
//! `startup::start` builds and serves (its own listener), with the manual clock.

use std::time::Duration;

use pairsync::clock::{Clock, ManualClock};
use pairsync::rooms::presence::FLUSH_AFTER;
use pairsync::startup::{self, Running};
use reqwest::StatusCode;

use crate::app::{settings, DELIVERY, T0};
use crate::postgres::TestDatabase;
use crate::sse::EventStream;

/// The shutdown grace of these servers: long, so that a stop that waited for an open
/// stream instead of ending it first would take this long.
const GRACE: Duration = Duration::from_secs(60);
/// How long a stop may take here: the streams end at once, so it needs no grace at all.
const STOPPED_WITHIN: Duration = Duration::from_secs(10);

/// A server on `database_url` on its own listener; its base URL.
fn started(database_url: &str) -> (Running, String, ManualClock) {
    let mut settings = settings(database_url);
    settings.shutdown_grace_ms = GRACE;
    let (clock, manual) = Clock::manual(T0);
    let running = startup::start(settings, clock).expect("the server starts");
    let base = format!("http://{}", running.local_addr);
    (running, base, manual)
}

/// Creates a room through `base` and opens its stream, read through the greeting.
async fn room_and_stream(base: &str) -> (String, EventStream) {
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/api/pair-room"))
        .json(&serde_json::json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 60_000}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: serde_json::Value = res.json().await.expect("json");
    let code = created["accessCode"].as_str().expect("code").to_string();
    let res = client
        .get(format!("{base}/api/{code}/connect"))
        .send()
        .await
        .expect("connect");
    assert_eq!(res.status(), StatusCode::OK);
    let mut stream = EventStream::from_response(res);
    stream.skip_greeting().await;
    (code, stream)
}

#[actix_web::test]
async fn a_stop_ends_each_stream_with_a_short_retry_and_then_stops_accepting() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let database = scratch.path().join("pairsync.db");
    let (running, base, _clock) = started(database.to_str().expect("utf-8 path"));
    let addr = running.local_addr;
    let (_, mut stream) = room_and_stream(&base).await;

    let stopping = actix_web::rt::spawn(running.stop());
    // First the stream: `retry: 250`, then its end.
    let frame = stream.next_frame(DELIVERY).await.expect("a last frame");
    assert_eq!((frame.retry, &frame.event), (Some(250), &None), "{frame:?}");
    assert!(stream.ends_within(DELIVERY).await, "the stream ended");
    // Then the server: it stops well inside its grace, since no stream was left to wait
    // for, and accepts nothing more.
    tokio::time::timeout(STOPPED_WITHIN, stopping)
        .await
        .expect("stopped long before the grace is over")
        .expect("the stop ran to its end");
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "a connection after the stop: {refused:?}");
}

#[actix_web::test]
async fn a_stop_on_a_shared_database_removes_this_process_from_the_presence_tables() {
    let Some(db) = TestDatabase::create(
        "a_stop_on_a_shared_database_removes_this_process_from_the_presence_tables",
    ) else {
        return;
    };
    let (running, base, manual) = started(&db.url);
    let (_, stream) = room_and_stream(&base).await;
    // The process reported itself at its start, and reports its stream, then the stream's
    // end, a moment (on its clock) after each.
    let process =
        crate::expect::eventually(DELIVERY, || async { db.processes().into_iter().next() }).await;
    crate::expect::eventually(DELIVERY, || async {
        manual.advance(FLUSH_AFTER).await;
        (db.presence_streams(&process) == [1]).then_some(())
    })
    .await;
    // Stopped with the stream open: its end, told as the process stops, is written after
    // the goodbye by no one.
    let _open = stream;
    running.stop().await;
    assert_eq!(db.heartbeat(&process), None);
    assert_eq!(db.presence_streams(&process), Vec::<i64>::new());
}
