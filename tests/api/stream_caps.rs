//! The stream caps: `PAIRSYNC_MAX_STREAMS_PER_CLIENT` per client address (IPv6 clients by
//! their /64, behind a trusted proxy the client it names), and `PAIRSYNC_MAX_STREAMS` for
//! the process, which concurrent connects cannot pass together; a refused or ended stream
//! gives its place back.

use std::time::Duration;

use reqwest::StatusCode;

use super::expect::{eventually, expect_error};
use super::helpers::TestServer;
use super::sse::EventStream;

const WAIT: Duration = Duration::from_secs(5);

/// Settings for a server behind a proxy on loopback that names clients.
const BEHIND_PROXY: (&str, &str) = ("PAIRSYNC_TRUSTED_PROXIES", "127.0.0.1");

/// `GET /api/{code}/connect` as the proxy forwards it for `client` (`None`: no header).
async fn connect_as(app: &TestServer, code: &str, client: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(&format!("/api/{code}/connect")));
    if let Some(client) = client {
        req = req.header("x-forwarded-for", client);
    }
    req.send().await.expect("connect request")
}

/// An open stream of `client`, read through its greeting.
async fn open_as(app: &TestServer, code: &str, client: Option<&str>) -> EventStream {
    let res = connect_as(app, code, client).await;
    assert_eq!(res.status(), StatusCode::OK, "{client:?}");
    let mut stream = EventStream::from_response(res);
    stream.skip_greeting().await;
    stream
}

/// Asserts that `res` is the per-client refusal: `429 rate_limited` with `Retry-After`.
async fn assert_client_refusal(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap_or("")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1, "{retry_after}");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited", "{body}");
}

#[tokio::test]
async fn a_client_over_its_stream_cap_gets_429_while_others_connect() {
    let app =
        TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "2"), BEHIND_PROXY]).await;
    let one = app.room(60000).await;
    let two = app.room(60000).await;
    let first = open_as(&app, &one, Some("203.0.113.7")).await;
    let _second = open_as(&app, &two, Some("203.0.113.7")).await;

    assert_client_refusal(connect_as(&app, &one, Some("203.0.113.7")).await).await;
    assert_client_refusal(connect_as(&app, &two, Some("203.0.113.7")).await).await;
    let _other = open_as(&app, &one, Some("198.51.100.4")).await;

    // Closing one of its streams gives the client a place again.
    drop(first);
    eventually(WAIT, || async {
        (connect_as(&app, &one, Some("203.0.113.7")).await.status() == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn loopback_peers_that_name_no_client_are_not_counted() {
    let app =
        TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "1"), BEHIND_PROXY]).await;
    let code = app.room(60000).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(open_as(&app, &code, None).await);
    }
    // The proxy's own address in the header names no other client either.
    streams.push(open_as(&app, &code, Some("127.0.0.1")).await);
    let _named = open_as(&app, &code, Some("203.0.113.7")).await;
    assert_client_refusal(connect_as(&app, &code, Some("203.0.113.7")).await).await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_name_a_client() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "1")]).await;
    let code = app.room(60000).await;
    let _a = open_as(&app, &code, Some("203.0.113.7")).await;
    let _b = open_as(&app, &code, Some("203.0.113.7")).await;
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64_bit_network() {
    let app =
        TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "2"), BEHIND_PROXY]).await;
    let code = app.room(60000).await;
    let _a = open_as(&app, &code, Some("2001:db8:1:2::1")).await;
    let _b = open_as(&app, &code, Some("2001:db8:1:2::2")).await;
    assert_client_refusal(connect_as(&app, &code, Some("2001:db8:1:2:ffff::9")).await).await;
    let _next_network = open_as(&app, &code, Some("2001:db8:1:3::1")).await;
}

/// The contract's default `PAIRSYNC_MAX_STREAMS_PER_CLIENT`.
const DEFAULT_PER_CLIENT: usize = 256;

/// Opens `n` streams of `client`, spread over rooms so that no room holds more than the
/// default 64 of them; the streams and the rooms.
async fn open_many(app: &TestServer, client: &str, n: usize) -> (Vec<EventStream>, Vec<String>) {
    const PER_ROOM: usize = 60;
    let mut rooms = Vec::new();
    for _ in 0..n.div_ceil(PER_ROOM) {
        rooms.push(app.room(60000).await);
    }
    let mut streams = Vec::new();
    for i in 0..n {
        streams.push(open_as(app, &rooms[i / PER_ROOM], Some(client)).await);
    }
    (streams, rooms)
}

#[tokio::test]
async fn a_client_holds_256_streams_by_default_and_is_refused_one_more() {
    let app = TestServer::spawn_with(&[BEHIND_PROXY]).await;
    let (mut streams, rooms) = open_many(&app, "203.0.113.7", DEFAULT_PER_CLIENT).await;
    assert_client_refusal(connect_as(&app, &rooms[0], Some("203.0.113.7")).await).await;
    // Over all rooms: a new room is no way round it; another client is not affected.
    let fresh = app.room(60000).await;
    assert_client_refusal(connect_as(&app, &fresh, Some("203.0.113.7")).await).await;
    let _other = open_as(&app, &fresh, Some("198.51.100.4")).await;
    streams.pop();
    eventually(WAIT, || async {
        (connect_as(&app, &fresh, Some("203.0.113.7")).await.status() == StatusCode::OK)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn zero_turns_the_per_client_cap_off() {
    // More than the default cap would let one client hold.
    const MORE: usize = DEFAULT_PER_CLIENT + 44;
    let app =
        TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "0"), BEHIND_PROXY]).await;
    let (streams, _) = open_many(&app, "203.0.113.7", MORE).await;
    assert_eq!(app.metric("pairsync_sse_streams").await, MORE as f64);
    drop(streams);
}

#[tokio::test]
async fn a_stream_the_room_refuses_gives_its_place_back() {
    let app = TestServer::spawn_with(&[
        ("PAIRSYNC_MAX_STREAMS_PER_CLIENT", "2"),
        ("PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM", "1"),
        BEHIND_PROXY,
    ])
    .await;
    let full = app.room(60000).await;
    let other = app.room(60000).await;
    let _held = open_as(&app, &full, Some("203.0.113.7")).await;
    for _ in 0..3 {
        // The room is full, and unknown codes have no room: neither keeps a place.
        let res = connect_as(&app, &full, Some("203.0.113.7")).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body["error"], "too_many_subscribers");
        let res = connect_as(&app, "NoSuchRoom000000", Some("203.0.113.7")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let _second = open_as(&app, &other, Some("203.0.113.7")).await;
    assert_client_refusal(connect_as(&app, &other, Some("203.0.113.7")).await).await;
}

#[tokio::test]
async fn concurrent_connects_never_pass_the_process_cap() {
    const CAP: usize = 5;
    const CONNECTS: usize = 40;
    let cap = CAP.to_string();
    let app = TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS", cap.as_str())]).await;
    let code = app.room(60000).await;
    let answers =
        futures_util::future::join_all((0..CONNECTS).map(|_| connect_as(&app, &code, None))).await;
    let (open, refused): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .partition(|res| res.status() == StatusCode::OK);
    assert_eq!(open.len(), CAP, "streams let through at once");
    assert_eq!(refused.len(), CONNECTS - CAP);
    for res in refused {
        assert!(res.headers().contains_key("retry-after"), "{res:?}");
        expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "too_many_streams").await;
    }
    assert_eq!(app.metric("pairsync_sse_streams").await, CAP as f64);
}
