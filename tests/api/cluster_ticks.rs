//! Every stream gets every tick, on whichever process it is: a start that leaves the
//! remaining time only a few ms above a whole second (less than the change feed takes to
//! reach the other processes) still gives the other processes' streams that first whole
//! second, late by no more than the feed's delay, and never early. On SQLite (one process
//! per database) this says so and checks nothing.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{now_ms, TestServer, POSTGRES_ENV};
use crate::sse::EventStream;

/// The turns' length above the whole seconds: `5000 + k` ms for each `k`.
const ABOVE_MS: [i64; 8] = [1, 2, 4, 7, 10, 13, 16, 20];
/// The whole seconds counted from.
const WHOLE_MS: i64 = 5_000;
/// How late a tick may reach a stream of another process: the contract's 100 ms for a
/// change to cross processes, as the first tick waits for the start to arrive, plus
/// 150 ms for a loaded two-core CI machine running three servers and PostgreSQL.
const LATE_MS: i64 = 250;

#[tokio::test]
async fn a_start_a_few_ms_above_a_whole_second_gives_every_process_s_streams_that_second() {
    if std::env::var(POSTGRES_ENV).is_err() {
        eprintln!(
            "skipped: {POSTGRES_ENV} is not set, so the several-process tick test did not run"
        );
        return;
    }
    let a = TestServer::spawn().await;
    let processes = [a.sibling(), a.sibling()];
    let servers = [&a, &processes[0], &processes[1]];

    // One room per `k`, three streams each (one per process), all opened before any start.
    let mut rooms = Vec::new();
    for (i, k) in ABOVE_MS.iter().enumerate() {
        let code = a.room(WHOLE_MS + k).await;
        let mut streams = Vec::new();
        for server in servers {
            let mut stream = server.connect(&code).await;
            stream.skip_greeting().await;
            streams.push(stream);
        }
        rooms.push((i, *k, code, streams));
    }

    // Each start through another process; every stream then reads its first two ticks.
    let mut watched = Vec::new();
    for (i, k, code, streams) in rooms {
        let through = servers[i % servers.len()];
        let sent_ms = now_ms();
        let status = through.patch(&format!("/api/{code}/timer/start")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "start {code}");
        for (p, stream) in streams.into_iter().enumerate() {
            watched.push(first_ticks(stream, k, p, sent_ms));
        }
    }
    let seen = join_all(watched).await;

    for (k, p, sent_ms, ticks) in seen {
        let what = format!("turn of {} ms, stream on process {p}", WHOLE_MS + k);
        let values: Vec<i64> = ticks.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            values,
            [WHOLE_MS, WHOLE_MS - 1_000],
            "{what}: every whole second, from the first"
        );
        // Due `k` ms after the start (the start was sent at `sent_ms`, so the deadline is
        // no earlier than `sent_ms + 5000 + k`).
        let (_, first_at) = ticks[0];
        assert!(
            first_at >= sent_ms + k,
            "{what}: the first tick came {} ms before it was due",
            sent_ms + k - first_at
        );
        let (_, second_at) = ticks[1];
        assert!(
            second_at >= sent_ms + k + 1_000,
            "{what}: the second tick came early"
        );
        assert!(
            first_at <= sent_ms + k + LATE_MS + start_round_trip_allowance(),
            "{what}: the first tick came {} ms after it was due",
            first_at - sent_ms - k
        );
    }
}

/// What the start's own request may add before the deadline is set (the deadline is
/// counted from when the server took the start, not from when it was sent).
fn start_round_trip_allowance() -> i64 {
    100
}

/// The first two `remaining-time` ticks a stream gets after the start, each with when it
/// came (epoch ms); `(k, process, when the start was sent, ticks)`.
async fn first_ticks(
    mut stream: EventStream,
    k: i64,
    process: usize,
    sent_ms: i64,
) -> (i64, usize, i64, Vec<(i64, i64)>) {
    let mut ticks = Vec::new();
    let mut started = false;
    while ticks.len() < 2 {
        let frame = stream.next_event(Duration::from_secs(5)).await;
        match frame.event.as_deref() {
            Some("timer") if frame.data.as_deref() == Some("start") => started = true,
            Some("remaining-time") if started => ticks.push((frame.ms(), frame.received_ms)),
            _ => {}
        }
    }
    (k, process, sent_ms, ticks)
}
