//! Room writes on PostgreSQL go in batches: many commands at once through one process are
//! each acknowledged only once committed, and reach the streams of the other processes in
//! order from the row the change feed carried, without those processes reading it; a
//! change too large for one notification reaches them too, in chunks, as its own change
//! and from its row, however quickly the next one follows; and a
//! process killed in the middle of a storm of starts has lost none it acknowledged. On
//! SQLite (one process per database) these tests say that they did not run (see
//! `helpers::skipped`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{on_postgres_or_skip, TestServer};
use crate::sse::EventStream;

/// Longest wait for an event the test expects.
const READ: Duration = Duration::from_secs(10);

/// The value of `pairsync_feed_changes_applied_total{how=…}` (0 before the first).
async fn applied(server: &TestServer, how: &str) -> f64 {
    server
        .metrics()
        .await
        .samples
        .iter()
        .find(|s| {
            s.name == "pairsync_feed_changes_applied_total"
                && s.labels.len() == 1
                && s.labels.get("how").map(String::as_str) == Some(how)
        })
        .map_or(0.0, |s| s.value)
}

async fn opened(server: &TestServer, code: &str) -> EventStream {
    let mut stream = server.connect(code).await;
    stream.skip_greeting().await;
    stream
}

#[tokio::test]
async fn many_starts_at_once_through_one_process_are_committed_in_batches_and_reach_the_other_process_s_streams_without_a_read(
) {
    if !on_postgres_or_skip(
        "group_commit::many_starts_at_once_through_one_process_are_committed_in_batches_and_reach_the_other_process_s_streams_without_a_read",
    ) {
        return;
    }
    const ROOMS: usize = 60;
    let a = TestServer::spawn().await;
    let b = a.sibling();
    let codes = join_all((0..ROOMS).map(|_| b.room(600_000))).await;
    let mut streams = Vec::new();
    for code in &codes {
        streams.push(opened(&b, code).await);
    }
    let (read_before, carried_before) = (applied(&b, "read").await, applied(&b, "carried").await);
    let batches_before = a.metric("pairsync_write_batches_total").await;
    let writes_before = a.metric("pairsync_write_batch_writes_total").await;

    let paths: Vec<String> = codes
        .iter()
        .map(|code| format!("/api/{code}/timer/start"))
        .collect();
    let answers = join_all(paths.iter().map(|path| a.patch(path))).await;
    assert!(
        answers.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{answers:?}"
    );
    for (code, stream) in codes.iter().zip(&mut streams) {
        let start = stream.next_event(READ).await;
        assert_eq!(start.pair(), ("timer".into(), "start".into()), "{code}");
        let state = stream.next_event(READ).await;
        assert_eq!(state.event.as_deref(), Some("state"), "{code}");
        assert_eq!(state.json()["state"], "running", "{code}");
    }
    // Every change was applied from the row its notification carried; none was read.
    assert_eq!(applied(&b, "read").await, read_before);
    assert_eq!(applied(&b, "carried").await, carried_before + ROOMS as f64);
    let writes = a.metric("pairsync_write_batch_writes_total").await - writes_before;
    let batches = a.metric("pairsync_write_batches_total").await - batches_before;
    assert_eq!(writes, ROOMS as f64);
    assert!(
        batches < writes,
        "{writes} writes in {batches} transactions: none was batched"
    );
    for code in &codes {
        assert_eq!(b.timer(code).await["state"], "running", "{code}");
    }
}

/// The next `todos` list on `stream`.
async fn next_todos(stream: &mut EventStream) -> Value {
    loop {
        let frame = stream.next_event(READ).await;
        if frame.event.as_deref() == Some("todos") {
            return frame.json();
        }
    }
}

/// The room's goals as a read returns them.
async fn read_todos(server: &TestServer, code: &str) -> Value {
    let (status, list) = server.get_json(&format!("/api/{code}/todos")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

#[tokio::test]
async fn changes_too_large_for_one_notification_reach_the_other_process_s_streams_each_as_its_own_event_without_a_read(
) {
    if !on_postgres_or_skip(
        "group_commit::changes_too_large_for_one_notification_reach_the_other_process_s_streams_each_as_its_own_event_without_a_read",
    ) {
        return;
    }
    let a = TestServer::spawn().await;
    let b = a.sibling();
    let code = a.room(600_000).await;
    let mut stream = b.connect(&code).await.every_event();
    // The greeting's goals list ends it.
    assert_eq!(next_todos(&mut stream).await, json!([]));
    // 480 characters, most of them two to four bytes: 20 goals are far over 8,000 bytes.
    let long = |i: usize| format!("{i:02} {}", "목표🎯é ".repeat(95).trim_end());
    let (read_before, carried_before) = (applied(&b, "read").await, applied(&b, "carried").await);
    let mut ids = Vec::new();
    for i in 0..20 {
        let res = a
            .client
            .post(a.url(&format!("/api/{code}/todos")))
            .json(&json!({ "content": long(i) }))
            .send()
            .await
            .expect("a request");
        assert_eq!(res.status(), StatusCode::CREATED);
        let goal: Value = res.json().await.expect("the goal");
        ids.push(goal["id"].as_i64().expect("an id"));
        assert_eq!(
            next_todos(&mut stream).await.as_array().map(Vec::len),
            Some(i + 1)
        );
    }
    // Two oversize changes in quick succession, three times over: each reaches the stream
    // on the other process as its own event, in order.
    let mut changes = 20;
    for round in 0..3 {
        let added = a
            .client
            .post(a.url(&format!("/api/{code}/todos")))
            .json(&json!({ "content": long(20 + round) }))
            .send()
            .await
            .expect("a request")
            .status();
        assert_eq!(added, StatusCode::CREATED);
        let checked = a.patch(&format!("/api/todos/{}/checked", ids[round])).await;
        assert_eq!(checked, StatusCode::NO_CONTENT);
        changes += 2;
        let first = next_todos(&mut stream).await;
        assert_eq!(first.as_array().map(Vec::len), Some(21 + round), "{round}");
        assert_eq!(first[round]["isChecked"], false, "{round}");
        assert_eq!(first[20 + round]["content"], long(20 + round).as_str());
        let second = next_todos(&mut stream).await;
        assert_eq!(second.as_array().map(Vec::len), Some(21 + round), "{round}");
        assert_eq!(second[round]["isChecked"], true, "{round}");
        assert_eq!(read_todos(&b, &code).await, second);
    }
    let contents: Vec<String> = read_todos(&b, &code)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|g| g["content"].as_str().map(str::to_string))
        .collect();
    let wanted: Vec<String> = (0..23).map(long).collect();
    assert_eq!(contents, wanted);
    // Every change was applied from the row its chunks carried; none was read.
    assert_eq!(applied(&b, "read").await, read_before);
    assert_eq!(
        applied(&b, "carried").await,
        carried_before + changes as f64
    );
}

#[tokio::test]
async fn a_process_killed_in_a_storm_of_starts_has_lost_none_it_acknowledged() {
    if !on_postgres_or_skip(
        "group_commit::a_process_killed_in_a_storm_of_starts_has_lost_none_it_acknowledged",
    ) {
        return;
    }
    const ROOMS: usize = 300;
    const KILL_AFTER: usize = 30;
    let mut a = TestServer::spawn().await;
    let b = a.sibling();
    let codes = join_all((0..ROOMS).map(|_| b.room(600_000))).await;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let (first_acks, mut enough) = tokio::sync::mpsc::channel::<()>(1);
    let storm: Vec<_> = codes
        .iter()
        .map(|code| {
            let (client, url) = (a.client.clone(), a.url(&format!("/api/{code}/timer/start")));
            let (acknowledged, first_acks) = (acknowledged.clone(), first_acks.clone());
            tokio::spawn(async move {
                let answer = client.patch(url).send().await.map(|r| r.status());
                if matches!(answer, Ok(s) if s.is_success())
                    && acknowledged.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER
                {
                    let _ = first_acks.try_send(());
                }
                answer
            })
        })
        .collect();
    drop(first_acks);
    enough.recv().await.expect("the first starts acknowledged");
    a.crash();
    let answers: Vec<_> = join_all(storm)
        .await
        .into_iter()
        .map(|joined| joined.expect("the request task"))
        .collect();
    let mut lost_answers = 0;
    for (code, answer) in codes.iter().zip(&answers) {
        let state = b.timer(code).await["state"].clone();
        match answer {
            Ok(status) if status.is_success() => {
                assert_eq!(state, "running", "{code}: acknowledged, not committed")
            }
            Ok(status) => assert_eq!(state, "idle", "{code}: refused ({status}), yet applied"),
            // Killed before it answered: committed or not, never half.
            Err(_) => {
                lost_answers += 1;
                assert!(state == "running" || state == "idle", "{code}: {state}");
            }
        }
    }
    assert!(
        lost_answers > 0,
        "every start was answered before the kill: the storm was over"
    );
    assert!(acknowledged.load(Ordering::SeqCst) >= KILL_AFTER);
}
