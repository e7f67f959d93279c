//! Who is here, on the real binary: streams named with `?name=`, `here` and `watching` in
//! the Room and the snapshot, and the `presence` event, at most once a second with the
//! latest values. Runs on SQLite, and on PostgreSQL when the suite does.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::expect::{expect_error, LOADED_MACHINE_MS};
use crate::helpers::TestServer;
use crate::sse::{EventStream, Frame};
use crate::team_support::{connect_as, encode, presence_of, room, team_room, until_here, PROMPT};

/// The contract: every stream hears of a change of who is here within 2 s.
const PRESENCE_WITHIN: Duration = Duration::from_secs(2);
/// What the suite allows on top of a bound, for a loaded test machine (tests/README.md,
/// "Timing").
const ALLOWANCE: Duration = Duration::from_millis(LOADED_MACHINE_MS as u64);
/// The contract: at most one `presence` event per second per room. A client sees two
/// events a little closer than they were sent when the first was delayed on its way by the
/// loaded machine: by at most the suite's allowance. A room told without a limit sends its
/// events milliseconds apart, far inside this.
const RECEIPT_JITTER_MS: i64 = LOADED_MACHINE_MS;

/// Reads `stream`'s greeting (through `state`); the snapshot.
async fn greeting(stream: &mut EventStream) -> serde_json::Value {
    loop {
        let frame = stream.next_event(PROMPT).await;
        if frame.event.as_deref() == Some("state") {
            return frame.json();
        }
    }
}

/// Every `presence` event `stream` brings within `window`.
async fn presences_for(stream: &mut EventStream, window: Duration) -> Vec<Frame> {
    let end = Instant::now() + window;
    let mut seen = Vec::new();
    while let Some(frame) = stream
        .next_frame(end.saturating_duration_since(Instant::now()))
        .await
    {
        if frame.event.as_deref() == Some("presence") {
            seen.push(frame);
        }
    }
    seen
}

#[tokio::test]
async fn a_stream_with_a_bad_name_is_refused_and_opens_nothing() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    let long = "x".repeat(21);
    for bad in ["", "   ", long.as_str(), "A\u{7}n", "A\nn"] {
        let res = app
            .send("GET", &format!("/api/{code}/connect?name={}", encode(bad)))
            .await;
        assert!(
            res.headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json")),
            "{bad:?}"
        );
        let err = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            err["message"].as_str().unwrap_or("").contains("name"),
            "{bad:?}: {err}"
        );
    }
    let res = app
        .send("GET", "/api/abcdefghijklmnop/connect?name=Ann")
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
    // No stream was counted; a good name (any name, not only a member's) is.
    let _cy = connect_as(&app, &code, " Cy ").await;
    until_here(&app, &code, &["Cy"], 1, PRESENCE_WITHIN + ALLOWANCE).await;
}

#[tokio::test]
async fn here_lists_the_distinct_names_of_open_streams_and_watching_counts_every_stream() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    let r = room(&app, &code).await;
    assert_eq!(presence_of(&r), (Vec::<String>::new(), 0));
    let _anonymous = app.connect(&code).await;
    let ann = connect_as(&app, &code, "Ann").await;
    let mut ann_again = connect_as(&app, &code, "Ann").await;
    let _zed = connect_as(&app, &code, "Zed").await;
    let _bob = connect_as(&app, &code, "Bob").await;
    until_here(
        &app,
        &code,
        &["Ann", "Bob", "Zed"],
        5,
        PRESENCE_WITHIN + ALLOWANCE,
    )
    .await;
    // A stream's snapshot says who was here when it opened, itself included: the
    // anonymous stream, Ann's first, and this one.
    let snapshot = greeting(&mut ann_again).await;
    assert_eq!(
        presence_of(&snapshot),
        (vec!["Ann".to_string()], 3),
        "{snapshot}"
    );
    // One of two streams of a name closes: the name stays.
    drop(ann);
    until_here(
        &app,
        &code,
        &["Ann", "Bob", "Zed"],
        4,
        PRESENCE_WITHIN + ALLOWANCE,
    )
    .await;
    drop(ann_again);
    until_here(&app, &code, &["Bob", "Zed"], 3, PRESENCE_WITHIN + ALLOWANCE).await;
}

#[tokio::test]
async fn presence_events_come_at_most_once_a_second_carrying_the_latest_values() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    let mut watcher = app.connect(&code).await.every_event();
    greeting(&mut watcher).await;
    // Let the watcher's own arrival be told (or not) before the burst.
    let first = presences_for(&mut watcher, PRESENCE_WITHIN + ALLOWANCE).await;
    assert!(first.len() <= 1, "{first:?}");
    // A burst of five arrivals within a second.
    let mut streams = Vec::new();
    for name in ["Cy", "Dee", "Eve", "Fay", "Gus"] {
        streams.push(connect_as(&app, &code, name).await);
    }
    let burst_done = crate::helpers::now_ms();
    let seen = presences_for(
        &mut watcher,
        PRESENCE_WITHIN + ALLOWANCE + Duration::from_secs(1),
    )
    .await;
    assert!(!seen.is_empty(), "the burst was never told");
    assert!(
        seen.len() <= 3,
        "five arrivals told {} times: {seen:?}",
        seen.len()
    );
    let mut all: Vec<&Frame> = first.iter().chain(seen.iter()).collect();
    all.sort_by_key(|f| f.received_us);
    for pair in all.windows(2) {
        let gap = (pair[1].received_us - pair[0].received_us) / 1000;
        assert!(
            gap >= 1000 - RECEIPT_JITTER_MS,
            "two presence events {gap} ms apart"
        );
    }
    let last = seen.last().expect("one");
    let names = ["Cy", "Dee", "Eve", "Fay", "Gus"]
        .map(String::from)
        .to_vec();
    assert_eq!(presence_of(&last.json()), (names.clone(), 6));
    let late = last.received_us / 1000 - burst_done;
    assert!(
        late <= (PRESENCE_WITHIN + ALLOWANCE).as_millis() as i64,
        "told {late} ms after the burst"
    );
    // Quiet since: the next change is told on its own, within the bound.
    streams.truncate(4);
    let told = presences_for(&mut watcher, PRESENCE_WITHIN + ALLOWANCE).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(presence_of(&told[0].json()), (names[..4].to_vec(), 5));
}
