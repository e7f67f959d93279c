//! What operators rely on: the admin listing, readiness, metrics, the access log,
//! graceful shutdown and the abuse limits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::expect::{eventually, expect_error};
use crate::helpers::{exposition, TestServer, ADMIN_TOKEN};
use crate::sse::EventStream;

const TOKEN: &str = ADMIN_TOKEN;

async fn admin(
    app: &TestServer,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, serde_json::Value, reqwest::header::HeaderMap) {
    let mut req = app.client.get(app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    (
        status,
        res.json().await.unwrap_or(serde_json::Value::Null),
        headers,
    )
}

#[tokio::test]
async fn admin_endpoints_refuse_a_missing_or_wrong_token() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    for path in ["/rooms".to_string(), format!("/rooms/{code}")] {
        // Token comparison is constant-time (the contract): no black-box test can show
        // that without timing statistics, which this suite does not rely on. What it can
        // show is that every wrong token is refused alike, whether it has the right
        // length (wrong at the first byte or the last) or another length.
        let last = TOKEN.len() - 1;
        let wrong_first = format!(
            "{}{}",
            if TOKEN.starts_with('X') { "Y" } else { "X" },
            &TOKEN[1..]
        );
        let wrong_last = format!(
            "{}{}",
            &TOKEN[..last],
            if TOKEN.ends_with('X') { "Y" } else { "X" }
        );
        let shorter = TOKEN[..last].to_string();
        let longer = format!("{TOKEN}2");
        let upper = TOKEN.to_uppercase();
        assert_ne!(upper, TOKEN);
        for token in [
            None,
            Some(""),
            Some("wrong"),
            Some(wrong_first.as_str()),
            Some(wrong_last.as_str()),
            Some(upper.as_str()),
            Some(shorter.as_str()),
            Some(longer.as_str()),
        ] {
            let mut req = app.client.get(app.url(&path));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.expect("request");
            assert_eq!(
                res.headers()["www-authenticate"],
                "Bearer",
                "{path} {token:?}"
            );
            expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
        // Another scheme with the right token is not the bearer scheme.
        let res = app
            .client
            .get(app.url(&path))
            .header("authorization", format!("Basic {TOKEN}"))
            .send()
            .await
            .expect("request");
        expect_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_whatever_its_case() {
    let app = TestServer::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let res = app
            .client
            .get(app.url("/rooms"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
}

/// The access codes of a `/rooms` answer, in its order.
fn listed(answer: &serde_json::Value) -> Vec<String> {
    answer["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| r["accessCode"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn the_listing_pages_a_hundred_rooms_by_default() {
    let app = TestServer::spawn().await;
    let mut codes = Vec::new();
    for _ in 0..101 {
        codes.push(app.room(60000).await);
    }
    codes.sort();
    let (status, first, _) = admin(&app, "/rooms", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["total"], 101);
    assert_eq!(listed(&first), codes[..100]);
    let (_, rest, _) = admin(&app, "/rooms?offset=100", Some(TOKEN)).await;
    assert_eq!(
        (listed(&rest), &rest["total"]),
        (codes[100..].to_vec(), &json!(101))
    );
    let (_, one, _) = admin(&app, "/rooms?limit=1", Some(TOKEN)).await;
    assert_eq!(listed(&one), codes[..1]);
    let (_, all, _) = admin(&app, "/rooms?limit=1000", Some(TOKEN)).await;
    assert_eq!(listed(&all), codes);
}

#[tokio::test]
async fn the_listing_shows_live_rooms_sorted_and_paged_with_live_values() {
    let app = TestServer::spawn().await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(app.room(60000).await);
    }
    codes.sort();
    app.patch(&format!("/api/{}/timer/start", codes[2])).await;
    let mut stream = app.connect(&codes[2]).await;
    stream.skip_greeting().await;

    let (status, all, _) = admin(&app, "/rooms", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["total"], 5);
    let listed: Vec<&str> = all["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| r["accessCode"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(listed, codes.iter().map(String::as_str).collect::<Vec<_>>());
    let running = &all["rooms"][2];
    assert_eq!(running["subscribers"], 1);
    assert_eq!(running["navigator"], "Ann");
    assert_eq!(running["timer"]["state"], "running");
    let remaining = running["timer"]["remainingTime"]
        .as_i64()
        .unwrap_or_else(|| panic!("a remainingTime: {running}"));
    assert!((0..60000).contains(&remaining), "{remaining}");

    let (_, page, _) = admin(&app, "/rooms?limit=2&offset=1", Some(TOKEN)).await;
    assert_eq!(page["total"], 5);
    let paged: Vec<&str> = page["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| r["accessCode"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(paged, vec![codes[1].as_str(), codes[2].as_str()]);
    let (_, past, _) = admin(&app, "/rooms?offset=10", Some(TOKEN)).await;
    assert_eq!(
        (
            past["rooms"].as_array().map(Vec::len),
            past["total"].as_i64()
        ),
        (Some(0), Some(5))
    );

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "offset=-1",
        "offset=1.5",
        "limit=1&limit=2",
        "page=2",
    ] {
        let (status, body, _) = admin(&app, &format!("/rooms?{bad}"), Some(TOKEN)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }

    let (status, one, _) = admin(&app, &format!("/rooms/{}", codes[2]), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["accessCode"], codes[2]);
    assert_eq!(one["subscribers"], 1);
    let (status, missing, _) = admin(&app, "/rooms/NoSuchRoom123", Some(TOKEN)).await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("room_not_found"))
    );
}

#[tokio::test]
async fn a_generated_admin_token_is_logged_once_and_nowhere_else() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_ADMIN_TOKEN", "")]).await;
    let line = app
        .logs()
        .into_iter()
        .find(|l| l.contains("generated admin token: "))
        .expect("the generated token is logged");
    let token = line
        .rsplit("generated admin token: ")
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(token.len() >= 16);
    let (status, _, _) = admin(&app, "/rooms", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = admin(&app, "/rooms", Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mentions = app.logs().iter().filter(|l| l.contains(&token)).count();
    assert_eq!(mentions, 1, "{:?}", app.logs());
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = TestServer::spawn().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    app.cut_off_database();
    let res = app.send("GET", "/readyz").await;
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(
        app.get_json("/healthz").await.0,
        StatusCode::OK,
        "the process still serves"
    );
    app.restore_database();
    // Back within seconds: on PostgreSQL the change feed reconnects with a short backoff.
    eventually(Duration::from_secs(5), || async {
        (app.get_json("/readyz").await.0 == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_series_the_contract_names() {
    let app = TestServer::spawn().await;
    let watched = app.room(60000).await;
    let _idle = app.room(60000).await;
    let res = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain"),
        "{:?}",
        res.headers()
    );
    // Every line is the format's (the reader panics at one that is not).
    let before = exposition::parse(&res.text().await.expect("text"));
    for name in exposition::CONTRACT_SERIES {
        before.value(name);
    }
    assert_eq!(before.value("pairsync_sse_streams"), 0.0);
    assert_eq!(before.value("pairsync_streams_dropped_total"), 0.0);

    // Each series follows what a client can see.
    let mut stream = app.connect(&watched).await;
    stream.skip_greeting().await;
    app.until_metric("pairsync_sse_streams", 1.0).await;
    let (_, listing) = app.admin_json("/rooms").await;
    let live = listing["total"].as_f64().expect("total");
    let now = app.metrics().await;
    assert_eq!(now.value("pairsync_rooms_live"), live);
    // The greeting's four events went out (an idle room: connect, remaining-time, state,
    // and the goals, `todos`, last since v3).
    assert_eq!(
        now.value("pairsync_events_sent_total") - before.value("pairsync_events_sent_total"),
        4.0
    );
    assert_eq!(now.value("pairsync_streams_dropped_total"), 0.0);
    drop(stream);
    app.until_metric("pairsync_sse_streams", 0.0).await;
}

/// Reads events from the stream until it has been quiet for a while; how many came.
async fn count_events(stream: &mut EventStream) -> usize {
    let mut n = 0;
    while let Some(frame) = stream.next_frame(Duration::from_millis(500)).await {
        if frame.event.is_some() {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn events_sent_counts_every_event_written_to_every_stream() {
    let app = TestServer::spawn().await;
    let code = app.room(2000).await;
    let a = app.connect(&code).await.every_event();
    let b = app.connect(&code).await.every_event();
    app.patch(&format!("/api/pair-room/{code}/pair-swap")).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    // Both streams, read to the end of the time-up and then until they stay quiet (who is
    // here may be told a moment after the streams opened); every event counted.
    let mut received = 0;
    for mut stream in [a, b] {
        let mut events = 0;
        loop {
            let f = stream.next_event(Duration::from_secs(5)).await;
            events += 1;
            if f.event.as_deref() == Some("state") && f.json()["round"] == 1 {
                break;
            }
        }
        events += count_events(&mut stream).await;
        // Greeting 3, swap 1, start 2, ticks 2, time-up 3, and who is here.
        assert!(events > 3 + 1 + 2 + 2 + 3, "{events} events");
        received += events;
    }
    assert_eq!(
        app.metric("pairsync_events_sent_total").await,
        received as f64
    );
    // A third stream adds its own greeting and what it reads.
    let mut c = app.connect(&code).await.every_event();
    // A deliberate swap (a round-less one this soon after the time-up would be its own).
    app.patch(&format!("/api/pair-room/{code}/pair-swap?round=1"))
        .await;
    let read = count_events(&mut c).await;
    // Greeting 3 and the swap's state, and who is here (its own arrival) at most once.
    assert!((3 + 1..=3 + 1 + 1).contains(&read), "{read} events");
    assert_eq!(
        app.metric("pairsync_events_sent_total").await,
        (received + read) as f64
    );
}

#[tokio::test]
async fn the_listing_leaves_out_stored_rooms_that_are_not_loaded() {
    let mut app = TestServer::spawn().await;
    let running = app.room(60000).await;
    let idle = app.room(60000).await;
    app.patch(&format!("/api/{running}/timer/start")).await;
    // A new process loads only the rooms whose timer runs.
    app.crash_and_restart();
    assert_eq!(app.live_codes().await, vec![running.clone()]);
    let (status, listing) = app.admin_json("/rooms").await;
    assert_eq!(
        (status, listing["total"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    let res = app
        .client
        .get(app.url(&format!("/rooms/{idle}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
    // Used, it is loaded, and listed. (A command: on PostgreSQL a read goes to the row
    // itself and loads nothing.)
    assert_eq!(
        app.patch(&format!("/api/pair-room/{idle}/pair-swap?round=0"))
            .await,
        StatusCode::NO_CONTENT
    );
    let mut both = vec![running, idle.clone()];
    both.sort();
    assert_eq!(app.live_codes().await, both);
    let (status, one, _) = admin(&app, &format!("/rooms/{idle}"), Some(TOKEN)).await;
    assert_eq!(
        (status, one["accessCode"].as_str()),
        (StatusCode::OK, Some(idle.as_str()))
    );
}

#[tokio::test]
async fn the_access_log_has_one_line_per_request_with_the_code_shortened() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.timer(&code).await;
    let stream = app.connect(&code).await;
    drop(stream);
    let logs = eventually(Duration::from_secs(5), || async {
        let logs = app.logs();
        logs.iter()
            .any(|l| l.contains("ended: client_closed"))
            .then_some(logs)
    })
    .await;
    let access: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("pairsync::access"))
        .collect();
    let timer_line = format!("GET /api/{}…/timer 200", &code[..6]);
    assert!(access.iter().any(|l| l.contains(&timer_line)), "{access:?}");
    assert!(
        access.iter().any(|l| l.contains("POST /api/pair-room 201")),
        "{access:?}"
    );
    assert!(logs
        .iter()
        .any(|l| l.contains(&format!("room {}…: stream 0 opened", &code[..6]))));
    assert!(
        logs.iter().all(|l| !l.contains(&code)),
        "the full code is never logged"
    );
}

#[tokio::test]
async fn sigterm_ends_streams_with_a_retry_finishes_requests_and_exits() {
    let mut app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let deadline = app.timer(&code).await["deadlineAt"].clone();
    let mut a = app.connect(&code).await;
    let mut b = app.connect(&code).await;
    a.skip_greeting().await;
    b.skip_greeting().await;

    // A request in flight: its head is sent, and the server has read it (it answers
    // `100 Continue`), its body not yet.
    let body = br#"{"navigator": "Cy", "driver": "Di", "timerDuration": 5000}"#;
    let mut in_flight =
        TcpStream::connect(app.base.trim_start_matches("http://")).expect("connect");
    in_flight
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        in_flight,
        "POST /api/pair-room HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("head");
    let mut interim = [0u8; 25];
    in_flight
        .read_exact(&mut interim)
        .expect("an interim answer");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    let stopping = Instant::now();
    app.sigterm();
    in_flight.write_all(body).expect("body");
    let mut answer = String::new();
    let _ = in_flight.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "in-flight request: {answer:?}"
    );

    for stream in [&mut a, &mut b] {
        let mut last_retry = None;
        while let Some(frame) = stream.next_frame(Duration::from_secs(5)).await {
            if let Some(r) = frame.retry {
                last_retry = Some(r);
            }
        }
        // The contract bounds every `retry:` at 3000 ms.
        assert!(
            last_retry.is_some_and(|r| r <= 3000),
            "a retry before the end: {last_retry:?}"
        );
    }
    let status = app
        .wait_exit(Duration::from_secs(6))
        .expect("the process exits");
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(6),
        "{:?}",
        stopping.elapsed()
    );

    app.restart();
    let t = app.timer(&code).await;
    assert_eq!(
        (t["state"].as_str(), &t["deadlineAt"]),
        (Some("running"), &deadline)
    );
}

#[tokio::test]
async fn room_creation_is_rate_limited_per_client_behind_a_trusted_proxy() {
    let app = TestServer::spawn_with(&[
        ("PAIRSYNC_CREATE_PER_MINUTE", "3"),
        ("PAIRSYNC_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let create = |client: &'static str| {
        let req = app
            .client
            .post(app.url("/api/pair-room"))
            .header("x-forwarded-for", client)
            .json(&json!({"navigator": "A", "driver": "B", "timerDuration": 60000}));
        async move { req.send().await.expect("request") }
    };
    for _ in 0..3 {
        assert_eq!(create("203.0.113.7").await.status(), StatusCode::CREATED);
    }
    let limited = create("203.0.113.7").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap_or("")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        create("198.51.100.4").await.status(),
        StatusCode::CREATED,
        "another client is not affected"
    );
}

#[tokio::test]
async fn room_creation_counts_an_ipv6_client_by_its_64_bit_network() {
    let app = TestServer::spawn_with(&[
        ("PAIRSYNC_CREATE_PER_MINUTE", "2"),
        ("PAIRSYNC_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let create = |client: &'static str| {
        let req = app
            .client
            .post(app.url("/api/pair-room"))
            .header("x-forwarded-for", client)
            .json(&json!({"navigator": "A", "driver": "B", "timerDuration": 60000}));
        async move { req.send().await.expect("request").status() }
    };
    // A client rotating through the addresses of its /64 is one client.
    assert_eq!(create("2001:db8:7:8::1").await, StatusCode::CREATED);
    assert_eq!(create("2001:db8:7:8::2").await, StatusCode::CREATED);
    assert_eq!(
        create("2001:db8:7:8:1234:5678:9abc:def0").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(create("2001:db8:7:9::1").await, StatusCode::CREATED);
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_CREATE_PER_MINUTE", "1")]).await;
    for _ in 0..3 {
        let res = app
            .client
            .post(app.url("/api/pair-room"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"navigator": "A", "driver": "B", "timerDuration": 60000}))
            .send()
            .await
            .expect("request");
        // The peer is loopback (not limited); the header is not believed.
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn the_process_stream_cap_answers_503_with_retry_after() {
    let app = TestServer::spawn_with(&[("PAIRSYNC_MAX_STREAMS", "2")]).await;
    let one = app.room(60000).await;
    let two = app.room(60000).await;
    let mut a = app.connect(&one).await;
    let mut b = app.connect(&two).await;
    a.skip_greeting().await;
    b.skip_greeting().await;
    let res = app
        .client
        .get(app.url(&format!("/api/{one}/connect")))
        .send()
        .await
        .expect("request");
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "too_many_streams").await;
    drop(a);
    app.until_connect_accepted(&one).await;
}

#[tokio::test]
async fn the_openapi_document_and_the_api_browser_are_served() {
    let app = TestServer::spawn().await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/pair-room",
        "/api/{code}/timer",
        "/api/{code}/connect",
        "/rooms",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let page = app
        .client
        .get(app.url("/api/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("<html"));
}
