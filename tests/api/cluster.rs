//! Several processes on one PostgreSQL database: each process's streams hear of every
//! change committed through another, and a delete is everywhere at once. On SQLite (one
//! process per database) these tests say so and check nothing.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{TestServer, POSTGRES_ENV};

/// How long a change may take to reach another process's streams here (the contract says
/// 100 ms on loopback; the rest is margin for a loaded test machine).
const ACROSS: Duration = Duration::from_millis(1500);

/// Three processes on one database, or `None` (and a line saying so) without PostgreSQL.
async fn three() -> Option<(TestServer, TestServer, TestServer)> {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!("skipped: {POSTGRES_ENV} is not set, so the several-process tests did not run");
        return None;
    }
    let a = TestServer::spawn().await;
    let (b, c) = (a.sibling(), a.sibling());
    Some((a, b, c))
}

#[tokio::test]
async fn a_start_through_one_process_reaches_the_streams_of_the_others_with_its_events() {
    let Some((a, b, c)) = three().await else {
        return;
    };
    let code = a.room(60_000).await;
    let mut on_a = a.connect(&code).await;
    on_a.skip_greeting().await;
    let mut on_c = c.connect(&code).await;
    on_c.skip_greeting().await;
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    // At once, before any stream has heard of it, a read on another process sees it.
    assert_eq!(c.timer(&code).await["state"], "running");
    let mut deadlines = Vec::new();
    for stream in [&mut on_a, &mut on_c] {
        let events = stream.pairs(2, ACROSS).await;
        assert_eq!(events[0], ("timer".to_string(), "start".to_string()));
        let state: serde_json::Value = serde_json::from_str(&events[1].1).expect("state is JSON");
        deadlines.push(state["deadlineAt"].as_i64().expect("running"));
    }
    assert_eq!(deadlines[0], deadlines[1]);
    // Reads on any process reflect the change.
    for server in [&a, &b, &c] {
        assert_eq!(server.timer(&code).await["state"], "running");
    }
}

#[tokio::test]
async fn a_delete_through_one_process_closes_the_streams_on_the_others_and_is_404_everywhere() {
    let Some((a, b, c)) = three().await else {
        return;
    };
    let code = a.room(60_000).await;
    let mut on_a = a.connect(&code).await;
    on_a.skip_greeting().await;
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
