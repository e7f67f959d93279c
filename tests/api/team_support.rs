//! What the team-room tests share: rooms made of members, the member, history and
//! `next` calls, named streams, and reading a stream up to the event a test waits for.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestServer;
use crate::sse::{EventStream, Frame};

/// Longest wait for an event that is due at once (a broadcast after a request, a greeting).
pub const PROMPT: Duration = Duration::from_secs(5);

/// Creates a room of `duration` ms whose members are `names`, in that order.
pub async fn team_room(app: &TestServer, names: &[&str], duration: i64) -> String {
    app.create_room(json!({"members": names, "timerDuration": duration}))
        .await
}

/// `GET /api/pair-room/{code}`, which must answer `200`.
pub async fn room(app: &TestServer, code: &str) -> Value {
    let (status, body) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The strings of a JSON array.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("a string: {s}"))
                .to_string()
        })
        .collect()
}

/// The room's members, in turn order, as `GET /api/pair-room/{code}` shows them.
pub async fn members(app: &TestServer, code: &str) -> Vec<String> {
    strings(&room(app, code).await["members"])
}

/// `POST /api/pair-room/{code}/members` with `{"name": name}`.
pub async fn join(app: &TestServer, code: &str, name: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/pair-room/{code}/members")))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("join request")
}

/// `DELETE /api/pair-room/{code}/members/{encoded}`: `encoded` goes on the wire as given.
pub async fn leave(app: &TestServer, code: &str, encoded: &str) -> reqwest::Response {
    app.send(
        "DELETE",
        &format!("/api/pair-room/{code}/members/{encoded}"),
    )
    .await
}

/// `PUT /api/pair-room/{code}/members` with `body`.
pub async fn put_members(app: &TestServer, code: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/pair-room/{code}/members")))
        .json(&body)
        .send()
        .await
        .expect("put members request")
}

/// `PATCH /api/{code}/timer/next` with this query (`""` for none); the status.
pub async fn next(app: &TestServer, code: &str, query: &str) -> StatusCode {
    app.patch(&format!("/api/{code}/timer/next{query}")).await
}

/// A stream of the room as the timer tests read it (`presence` set aside), greeting read.
pub async fn opened(app: &TestServer, code: &str) -> EventStream {
    let mut stream = app.connect(code).await;
    stream.skip_greeting().await;
    stream
}

/// `s` percent-encoded for a path segment or a query value: everything but unreserved
/// characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The next event of `stream`, which must be `state`; its snapshot.
pub async fn next_state(stream: &mut EventStream) -> Value {
    let frame = stream.next_event(PROMPT).await;
    assert_eq!(frame.event.as_deref(), Some("state"), "{frame:?}");
    frame.json()
}

/// Reads events until one that `wanted` accepts (within `within` in all); that event and
/// every event read before it.
pub async fn read_until(
    stream: &mut EventStream,
    within: Duration,
    wanted: impl Fn(&Frame) -> bool,
) -> (Frame, Vec<Frame>) {
    let deadline = Instant::now() + within;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = stream
            .next_frame(left)
            .await
            .unwrap_or_else(|| panic!("not within {within:?}; read so far: {before:?}"));
        if frame.event.is_none() {
            continue;
        }
        if wanted(&frame) {
            return (frame, before);
        }
        before.push(frame);
    }
}

/// Whether `frame` is `event: name`.
pub fn is(frame: &Frame, name: &str) -> bool {
    frame.event.as_deref() == Some(name)
}

/// The `(event, data)` pairs of frames, `state` shown as `state` only.
pub fn names_of(frames: &[Frame]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|f| match f.event.as_deref() {
            Some("state") => ("state".to_string(), String::new()),
            _ => f.pair(),
        })
        .collect()
}

/// Opens the room's stream as `name`'s (`?name=`, percent-encoded here), every event
/// returned; the greeting is left to read.
pub async fn connect_as(app: &TestServer, code: &str, name: &str) -> EventStream {
    let res = app
        .client
        .get(app.url(&format!("/api/{code}/connect?name={}", encode(name))))
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .expect("connect request");
    assert_eq!(res.status(), StatusCode::OK);
    EventStream::from_response(res).every_event()
}

/// Waits (at most `within`) until `GET /api/pair-room/{code}` shows `here` and `watching`.
pub async fn until_here(
    app: &TestServer,
    code: &str,
    here: &[&str],
    watching: i64,
    within: Duration,
) {
    let want = (
        here.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        watching,
    );
    let mut last = None;
    let found = tokio::time::timeout(within, async {
        loop {
            let r = room(app, code).await;
            let got = (strings(&r["here"]), r["watching"].as_i64().unwrap_or(-1));
            if got == want {
                return;
            }
            last = Some(got);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "not {want:?} within {within:?}; last {last:?}"
    );
}

/// The `(here, watching)` a `presence` event or a snapshot carries.
pub fn presence_of(v: &Value) -> (Vec<String>, i64) {
    (
        strings(&v["here"]),
        v["watching"].as_i64().expect("watching"),
    )
}
