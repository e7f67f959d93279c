//! The team room on three processes sharing one PostgreSQL database: a rotation happens
//! once per time-up whichever process applies it, and every process's streams see the
//! same order; the history holds one entry per turn; who is here is counted across
//! processes, and a killed process's streams stop counting; goals reach every process's
//! streams in commit order. On SQLite (one process per database) these tests say so and
//! check nothing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::{assert_within, now_us, record_timing, ACROSS_MS, LOADED_MACHINE_MS};
use crate::helpers::{TestServer, POSTGRES_ENV};
use crate::sse::EventStream;
use crate::team_support::{connect_as, is, presence_of, read_until, room, strings, until_here};

/// How long the test waits for a change to reach another process's streams before it
/// gives up; how late it came is checked apart, where it matters.
const ACROSS: Duration = Duration::from_millis(1500);
/// The contract: a process that dies stops counting within 15 s.
const DEAD_STOPS_COUNTING: Duration = Duration::from_secs(15);
/// The contract: every stream hears of a change of who is here within 2 s of it.
const PRESENCE_WITHIN: Duration = Duration::from_secs(2);
/// What the suite allows on top of a bound, for a loaded test machine (tests/README.md,
/// "Timing").
const ALLOWANCE: Duration = Duration::from_millis(LOADED_MACHINE_MS as u64);

async fn three(test: &str) -> Option<(TestServer, TestServer, TestServer)> {
    if std::env::var(POSTGRES_ENV).is_err() {
        crate::helpers::skipped(
            test,
            &format!("{POSTGRES_ENV} is not set; it runs on the PostgreSQL pass"),
        );
        return None;
    }
    let a = TestServer::spawn().await;
    let (b, c) = (a.sibling(), a.sibling());
    Some((a, b, c))
}

/// What a `state` says about the order: `(round, state, members)`.
fn order_of(state: &Value) -> (i64, String, Vec<String>) {
    (
        state["round"].as_i64().expect("round"),
        state["state"].as_str().expect("state").to_string(),
        strings(&state["members"]),
    )
}

#[tokio::test]
async fn a_rotation_happens_once_per_time_up_and_every_process_s_streams_see_the_same_order() {
    let Some((a, b, c)) = three("team_cluster::a_rotation_happens_once_per_time_up_and_every_process_s_streams_see_the_same_order").await else {
        return;
    };
    let code = a
        .create_room(json!({"members": ["Ann", "Bob", "Cy", "Dee"], "timerDuration": 1000, "autoStart": true}))
        .await;
    let mut streams: Vec<EventStream> = Vec::new();
    for server in [&a, &b, &c] {
        let mut s = server.connect(&code).await;
        s.skip_greeting().await;
        streams.push(s);
    }
    assert_eq!(
        b.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let mut seen = Vec::new();
    for stream in &mut streams {
        let mut orders = Vec::new();
        loop {
            let (state, _) = read_until(stream, Duration::from_secs(5), |f| is(f, "state")).await;
            let order = order_of(&state.json());
            let done = order.0 == 3 && order.1 == "idle";
            orders.push(order);
            if done {
                break;
            }
        }
        seen.push(orders);
    }
    // Stop the fourth turn wherever it is.
    assert_eq!(
        c.patch(&format!("/api/{code}/timer/reset")).await,
        StatusCode::NO_CONTENT
    );
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let idles: Vec<(i64, Vec<String>)> = seen[0]
        .iter()
        .filter(|o| o.1 == "idle")
        .map(|o| (o.0, o.2.clone()))
        .collect();
    assert_eq!(
        idles,
        [
            (1, v(&["Bob", "Cy", "Dee", "Ann"])),
            (2, v(&["Cy", "Dee", "Ann", "Bob"])),
            (3, v(&["Dee", "Ann", "Bob", "Cy"])),
        ]
    );
    assert_eq!(seen[1], seen[0], "B's stream");
    assert_eq!(seen[2], seen[0], "C's stream");
    for server in [&a, &b, &c] {
        let (status, h) = server
            .get_json(&format!("/api/pair-room/{code}/history"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let turns: Vec<(i64, String, i64)> = h["turns"]
            .as_array()
            .expect("turns")
            .iter()
            .map(|t| {
                (
                    t["round"].as_i64().unwrap_or(-1),
                    t["driver"].as_str().unwrap_or("").to_string(),
                    t["ranMs"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert!(turns.len() == 3 || turns.len() == 4, "{h}");
        assert_eq!(
            turns[turns.len() - 3..],
            [
                (3, "Cy".to_string(), 1000),
                (2, "Bob".into(), 1000),
                (1, "Ann".into(), 1000)
            ],
            "{h}"
        );
        let r = room(server, &code).await;
        assert!(
            matches!(r["timer"]["round"].as_i64(), Some(3) | Some(4)),
            "{r}"
        );
        assert_eq!(
            r["timer"]["round"].as_i64(),
            Some(2 + turns.len() as i64 - 2),
            "{r}"
        );
    }
}

#[tokio::test]
async fn who_is_here_is_counted_across_processes_and_a_killed_process_stops_counting() {
    let Some((a, b, mut c)) = three(
        "team_cluster::who_is_here_is_counted_across_processes_and_a_killed_process_stops_counting",
    )
    .await
    else {
        return;
    };
    let code = a
        .create_room(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let mut on_a = connect_as(&a, &code, "Ann").await;
    let _on_b = connect_as(&b, &code, "Bob").await;
    let _cy = connect_as(&c, &code, "Cy").await;
    let _anonymous_on_c = c.connect(&code).await;
    let bound = PRESENCE_WITHIN + ALLOWANCE;
    for server in [&a, &b, &c] {
        until_here(server, &code, &["Ann", "Bob", "Cy"], 4, bound).await;
    }
    // Every stream hears it: A's latest presence event says so.
    let (told, _) = read_until(&mut on_a, bound, |f| {
        is(f, "presence")
            && presence_of(&f.json()) == (vec!["Ann".into(), "Bob".into(), "Cy".into()], 4)
    })
    .await;
    drop(told);
    // While C lives its streams count, however long.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            presence_of(&room(&b, &code).await),
            (vec!["Ann".into(), "Bob".into(), "Cy".into()], 4)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.crash();
    let killed = Instant::now();
    // Within the bound, the survivors count only their own streams, and never fewer.
    let mut last = None;
    while killed.elapsed() < DEAD_STOPS_COUNTING + ALLOWANCE {
        let seen = presence_of(&room(&a, &code).await);
        assert!(seen.1 >= 2, "{seen:?}: a living stream was not counted");
        if seen == (vec!["Ann".to_string(), "Bob".into()], 2) {
            last = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = last.unwrap_or_else(|| {
        panic!(
            "still counted {:?} after the kill",
            DEAD_STOPS_COUNTING + ALLOWANCE
        )
    });
    eprintln!("a killed process stopped counting after {after:?}");
    // The change (C's streams no longer counted) is told within 2 s of it.
    let (told, _) = read_until(&mut on_a, PRESENCE_WITHIN + ALLOWANCE, |f| {
        is(f, "presence") && presence_of(&f.json()) == (vec!["Ann".into(), "Bob".into()], 2)
    })
    .await;
    assert_eq!(told.json()["watching"], 2);
    assert_eq!(
        presence_of(&room(&b, &code).await),
        (vec!["Ann".into(), "Bob".into()], 2)
    );
}

#[tokio::test]
async fn a_stream_opened_or_closed_on_one_process_is_told_on_another_within_2_s() {
    let Some((a, b, _c)) = three(
        "team_cluster::a_stream_opened_or_closed_on_one_process_is_told_on_another_within_2_s",
    )
    .await
    else {
        return;
    };
    // The contract's 2 s, plus the suite's allowance for a loaded machine (tests/README.md,
    // "Timing").
    let within_ms = 2000 + LOADED_MACHINE_MS;
    let within = Duration::from_millis(within_ms as u64);
    let code = a
        .create_room(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let mut on_a = a.connect(&code).await.every_event();
    // B's named stream opens: its answer is the change.
    let bob = connect_as(&b, &code, "Bob").await;
    let opened = now_us();
    let (told, _) = read_until(&mut on_a, within, |f| {
        is(f, "presence") && presence_of(&f.json()) == (vec!["Bob".into()], 2)
    })
    .await;
    let late = (told.received_us - opened) / 1000;
    record_timing(
        "presence",
        late as f64 - 2000.0,
        "an arrival on another process",
    );
    assert!(
        late <= within_ms,
        "told on A {late} ms after B's stream opened"
    );
    // It closes: told on A within the bound again.
    drop(bob);
    let closed = now_us();
    let (told, _) = read_until(&mut on_a, within, |f| {
        is(f, "presence") && presence_of(&f.json()) == (vec![], 1)
    })
    .await;
    let late = (told.received_us - closed) / 1000;
    record_timing(
        "presence",
        late as f64 - 2000.0,
        "a leave on another process",
    );
    assert!(
        late <= within_ms,
        "told on A {late} ms after B's stream closed"
    );
}

#[tokio::test]
async fn goal_changes_through_any_process_reach_every_process_s_streams_in_commit_order() {
    let Some((a, b, c)) = three("team_cluster::goal_changes_through_any_process_reach_every_process_s_streams_in_commit_order").await else {
        return;
    };
    let code = a.room(60_000).await;
    let mut streams = Vec::new();
    for server in [&a, &b, &c] {
        let mut s = server.connect(&code).await.every_event();
        next_todos(&mut s, ACROSS)
            .await
            .expect("the greeting's goals");
        streams.push(s);
    }
    let call = |server: &TestServer, method: &str, path: String, body: Option<Value>| {
        let mut req = server
            .client
            .request(method.parse().expect("method"), server.url(&path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send()
    };
    let mut ids = Vec::new();
    for (server, content) in [(&a, "one"), (&b, "two"), (&c, "three")] {
        let res = call(
            server,
            "POST",
            format!("/api/{code}/todos"),
            Some(json!({"content": content})),
        )
        .await
        .expect("add");
        assert_eq!(res.status(), StatusCode::CREATED);
        ids.push(
            res.json::<Value>().await.expect("goal")["id"]
                .as_i64()
                .expect("id"),
        );
    }
    // coduo drags "three" onto "one": it takes the order of the drop target, 0.
    let mut last_asked = now_us();
    for (server, method, path, body) in [
        (
            &a,
            "PATCH",
            format!("/api/todos/{}/order", ids[2]),
            Some(json!({"order": 0})),
        ),
        (&b, "PATCH", format!("/api/todos/{}/checked", ids[0]), None),
        (&c, "DELETE", format!("/api/todos/{}", ids[1]), None),
        (
            &a,
            "PATCH",
            format!("/api/todos/{}/contents", ids[0]),
            Some(json!({"contents": "won"})),
        ),
    ] {
        last_asked = now_us();
        let res = call(server, method, path, body).await.expect("change");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let expected: Vec<Vec<(&str, bool)>> = vec![
        vec![("one", false)],
        vec![("one", false), ("two", false)],
        vec![("one", false), ("two", false), ("three", false)],
        vec![("three", false), ("one", false), ("two", false)],
        vec![("three", false), ("one", true), ("two", false)],
        vec![("three", false), ("one", true)],
        vec![("three", false), ("won", true)],
    ];
    let want: Vec<Vec<(String, bool)>> = expected
        .iter()
        .map(|l| l.iter().map(|(c, k)| (c.to_string(), *k)).collect())
        .collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        // Every list a stream is told is one the changes committed, each later than the
        // one before, none told twice, up to the last.
        let mut at = None;
        let mut lists = Vec::new();
        let mut last_told = None;
        while at != Some(want.len() - 1) {
            let frame = next_todos(stream, ACROSS).await.unwrap_or_else(|| {
                panic!("stream {i}: the last list not within {ACROSS:?}; had {lists:?}")
            });
            let list = frame.json();
            let orders: Vec<i64> = list
                .as_array()
                .expect("list")
                .iter()
                .map(|g| g["order"].as_i64().unwrap_or(-1))
                .collect();
            assert_eq!(
                orders,
                (0..orders.len() as i64).collect::<Vec<_>>(),
                "{list}"
            );
            let list: Vec<(String, bool)> = list
                .as_array()
                .expect("list")
                .iter()
                .map(|g| {
                    (
                        g["content"].as_str().unwrap_or("").to_string(),
                        g["isChecked"] == true,
                    )
                })
                .collect();
            let index = want
                .iter()
                .position(|w| *w == list)
                .unwrap_or_else(|| panic!("stream {i}: {list:?} was never committed"));
            assert!(
                at.is_none_or(|before| index > before),
                "stream {i}: {list:?} after {lists:?}"
            );
            at = Some(index);
            lists.push(list);
            last_told = Some(frame.received_us);
        }
        // The last change reached every process's streams within the contract's 100 ms,
        // plus the suite's allowance.
        assert_within(
            "across",
            &format!("stream {i}: the last goal change"),
            last_told.expect("told"),
            last_asked / 1000,
            ACROSS_MS,
        );
        let more = next_todos(stream, Duration::from_millis(300)).await;
        assert!(
            more.is_none(),
            "stream {i}: more after the last list: {more:?}"
        );
    }
}

/// The next `todos` event of `stream` within `within`, other events skipped.
async fn next_todos(stream: &mut EventStream, within: Duration) -> Option<crate::sse::Frame> {
    let end = Instant::now() + within;
    loop {
        let frame = stream
            .next_frame(end.saturating_duration_since(Instant::now()))
            .await?;
        if is(&frame, "todos") {
            return Some(frame);
        }
    }
}
