//! Every stream gets every tick, on whichever process it is: a start that leaves the
//! remaining time only a few ms above a whole second (less than the change feed takes to
//! reach the other processes) still gives the other processes' streams that first whole
//! second, late by no more than the feed's delay, and never early. On SQLite (one process
//! per database) this says so and checks nothing.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::expect::{assert_on_time, now_us, ACROSS_MS};
use crate::helpers::{on_postgres_or_skip, TestServer};
use crate::sse::EventStream;

/// The turns' length above the whole seconds: `5000 + k` ms for each `k`.
const ABOVE_MS: [i64; 8] = [1, 2, 4, 7, 10, 13, 16, 20];
/// The whole seconds counted from.
const WHOLE_MS: i64 = 5_000;
#[tokio::test]
async fn a_start_a_few_ms_above_a_whole_second_gives_every_process_s_streams_that_second() {
    if !on_postgres_or_skip(
        "cluster_ticks::a_start_a_few_ms_above_a_whole_second_gives_every_process_s_streams_that_second",
    ) {
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
        let status = through.patch(&format!("/api/{code}/timer/start")).await;
        let answered_ms = now_us() / 1000;
        assert_eq!(status, StatusCode::NO_CONTENT, "start {code}");
        let deadline = through.timer(&code).await["deadlineAt"]
            .as_i64()
            .expect("a running timer's deadlineAt");
        for (p, stream) in streams.into_iter().enumerate() {
            watched.push(first_ticks(stream, k, p, (deadline, answered_ms)));
        }
    }
    let seen = join_all(watched).await;

    for (k, p, (deadline, answered_ms), ticks) in seen {
        let what = format!("turn of {} ms, stream on process {p}", WHOLE_MS + k);
        let values: Vec<i64> = ticks.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            values,
            [WHOLE_MS, WHOLE_MS - 1_000],
            "{what}: every whole second, from the first"
        );
        // The first tick is due `k` ms after the start, sooner than the start may reach the
        // other processes: never early, and no later than the contract's 100 ms (plus the
        // suite's allowance) after the later of its due time and the start's answer.
        let (_, first_us) = ticks[0];
        let due_ms = deadline - WHOLE_MS;
        assert!(
            first_us >= due_ms * 1000,
            "{what}: the first tick came {:.1} ms early",
            (due_ms * 1000 - first_us) as f64 / 1000.0
        );
        let latest_ms = due_ms.max(answered_ms) + ACROSS_MS;
        assert!(
            first_us <= latest_ms * 1000,
            "{what}: the first tick came {:.1} ms after it was due (the start was answered {} ms after)",
            (first_us - due_ms * 1000) as f64 / 1000.0,
            answered_ms - due_ms
        );
        // By the second, every process has the start: on time by the shared deadline.
        let (v, second_us) = ticks[1];
        assert_on_time(&format!("{what}: tick {v}"), second_us, deadline - v);
    }
}

/// The first two `remaining-time` ticks a stream gets after the start, each with when it
/// came (epoch µs); `(k, process, (deadlineAt, when the start was answered), ticks)`.
async fn first_ticks(
    mut stream: EventStream,
    k: i64,
    process: usize,
    due: (i64, i64),
) -> (i64, usize, (i64, i64), Vec<(i64, i64)>) {
    let mut ticks = Vec::new();
    let mut started = false;
    while ticks.len() < 2 {
        let frame = stream.next_event(Duration::from_secs(5)).await;
        match frame.event.as_deref() {
            Some("timer") if frame.data.as_deref() == Some("start") => started = true,
            Some("remaining-time") if started => ticks.push((frame.ms(), frame.received_us)),
            _ => {}
        }
    }
    (k, process, due, ticks)
}
