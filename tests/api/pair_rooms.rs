//! Creating, reading, swapping and deleting pair rooms.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::expect_error;
use crate::helpers::{now_ms, TestServer};

#[tokio::test]
async fn creating_a_room_answers_201_with_its_location_and_an_unguessable_code() {
    let app = TestServer::spawn().await;
    let res = app
        .client
        .post(app.url("/api/pair-room"))
        .json(&json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 60000}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let body: serde_json::Value = res.json().await.expect("json");
    let code = body["accessCode"].as_str().expect("code");
    assert_eq!(location, format!("/api/pair-room/{code}"));
    assert_code_shape(code);
    // At least 64 random bits: in an alphabet of 64 characters that takes at least 11 of
    // them, and codes made one after another differ in many places, not in a counter.
    let mut codes = vec![code.to_string()];
    for _ in 1..CODES_COMPARED {
        let next = app.room(60000).await;
        assert_code_shape(&next);
        codes.push(next);
    }
    for (i, a) in codes.iter().enumerate() {
        assert!(
            a.len() >= MIN_RANDOM_CHARS,
            "{a} is too short for 64 random bits"
        );
        for b in &codes[i + 1..] {
            let differing = a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count();
            assert!(
                differing >= MIN_DIFFERING_CHARS,
                "{a} and {b} differ in {differing} places"
            );
        }
    }
    // The bits that vary: at each position, the characters seen there carry at most
    // log2(how many differ) bits (6 at most, in an alphabet of 64); summed over the
    // positions, that must reach 64. A code of a few random characters beside a clock or
    // a counter varies in too few places to.
    let longest = codes.iter().map(String::len).max().unwrap_or(0);
    let varying_bits: f64 = (0..longest)
        .map(|i| {
            let seen: HashSet<u8> = codes
                .iter()
                .filter_map(|c| c.as_bytes().get(i).copied())
                .collect();
            (seen.len() as f64).log2().min(6.0)
        })
        .sum();
    assert!(
        varying_bits >= 64.0,
        "the codes vary in {varying_bits:.1} bits: {codes:?}"
    );
    // No common beginning (a clock's high digits), and not made in order.
    for len in 3..=longest {
        let mut by_prefix: HashMap<&str, usize> = HashMap::new();
        for c in codes.iter().filter(|c| c.len() >= len) {
            *by_prefix.entry(&c[..len]).or_default() += 1;
        }
        let most = by_prefix.values().copied().max().unwrap_or(0);
        assert!(
            most * 20 <= codes.len(),
            "{most} codes begin alike in {len} characters"
        );
    }
    assert!(
        !codes.windows(2).all(|w| w[0] < w[1]),
        "the codes come in order"
    );
    assert!(
        !codes.windows(2).all(|w| w[0] > w[1]),
        "the codes come in order"
    );
}

/// Codes made and compared with each other for randomness.
const CODES_COMPARED: usize = 200;
/// 64 bits in characters of 6 bits each.
const MIN_RANDOM_CHARS: usize = 11;
/// Two codes with at least 64 random bits each agree by chance in some places, but hardly
/// in all but a few: this many differing places is the least the suite accepts.
const MIN_DIFFERING_CHARS: usize = 4;

/// URL-safe and 8 to 32 characters long.
fn assert_code_shape(code: &str) {
    assert!((8..=32).contains(&code.len()), "{code}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{code}"
    );
}

#[tokio::test]
async fn a_room_reads_back_with_live_timer_values() {
    let app = TestServer::spawn().await;
    let before = now_ms();
    let code = app
        .create_room(json!({
            "navigator": "  Ann ", "driver": "Bob", "timerDuration": 60000,
            "missionUrl": "https://tracker.example/task/7"
        }))
        .await;
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["accessCode"], code);
    assert_eq!(room["navigator"], "Ann");
    assert_eq!(room["driver"], "Bob");
    assert_eq!(room["status"], "IN_PROGRESS");
    assert_eq!(room["missionUrl"], "https://tracker.example/task/7");
    assert_eq!(room["duration"], 60000);
    assert_eq!(room["remainingTime"], 60000);
    let created = room["createdAt"].as_i64().expect("createdAt");
    assert!(created >= before && created <= now_ms());
    let timer = &room["timer"];
    assert_eq!(timer["state"], "idle");
    assert_eq!(timer["deadlineAt"], serde_json::Value::Null);
    assert_eq!(timer["round"], 0);

    app.patch(&format!("/api/{code}/timer/start")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    let timer = &room["timer"];
    let deadline = timer["deadlineAt"].as_i64().expect("deadline");
    let server_time = timer["serverTime"].as_i64().expect("serverTime");
    assert_eq!(
        timer["remainingTime"].as_i64(),
        Some(deadline - server_time)
    );
    assert_eq!(room["remainingTime"], timer["remainingTime"]);
    let remaining = room["remainingTime"].as_i64().expect("remainingTime");
    assert!(remaining < 60000, "{remaining}");
}

#[tokio::test]
async fn a_room_created_part_way_is_paused_and_mission_url_defaults_to_empty() {
    let app = TestServer::spawn().await;
    let code = app
        .create_room(json!({"navigator": "A", "driver": "B", "timerDuration": 60000, "timerRemainingTime": 12345}))
        .await;
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["timer"]["state"], "paused");
    assert_eq!(room["remainingTime"], 12345);
    assert_eq!(room["missionUrl"], "");
    let full = app
        .create_room(json!({"navigator": "A", "driver": "B", "timerDuration": 5000, "timerRemainingTime": 5000}))
        .await;
    assert_eq!(app.timer(&full).await["state"], "idle");
    let least = app
        .create_room(json!({"navigator": "A", "driver": "B", "timerDuration": 5000, "timerRemainingTime": 1}))
        .await;
    let t = app.timer(&least).await;
    assert_eq!(
        (t["state"].as_str(), t["remainingTime"].as_i64()),
        (Some("paused"), Some(1))
    );
}

#[tokio::test]
async fn invalid_rooms_are_refused_with_a_message_naming_the_field() {
    let app = TestServer::spawn().await;
    let cases = [
        (json!({"driver": "B", "timerDuration": 60000}), "navigator"),
        (
            json!({"navigator": "   ", "driver": "B", "timerDuration": 60000}),
            "navigator",
        ),
        (
            json!({"navigator": "A", "driver": "x".repeat(21), "timerDuration": 60000}),
            "driver",
        ),
        (
            json!({"navigator": "A\nB", "driver": "B", "timerDuration": 60000}),
            "navigator",
        ),
        (
            json!({"navigator": "Same", "driver": "Same ", "timerDuration": 60000}),
            "driver",
        ),
        (json!({"navigator": "A", "driver": "B"}), "timerDuration"),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": 999}),
            "timerDuration",
        ),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": 86_400_001}),
            "timerDuration",
        ),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": "60000"}),
            "timerDuration",
        ),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": 5000, "timerRemainingTime": 0}),
            "timerRemainingTime",
        ),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": 5000, "timerRemainingTime": 5001}),
            "timerRemainingTime",
        ),
        (
            json!({"navigator": "A", "driver": "B", "timerDuration": 5000, "missionUrl": "m".repeat(2049)}),
            "missionUrl",
        ),
        (
            json!({"navigator": 1, "driver": "B", "timerDuration": 5000}),
            "navigator",
        ),
        (json!({"navigator": "A", "timerDuration": 60000}), "driver"),
        (
            json!({"navigator": "A", "driver": "", "timerDuration": 60000}),
            "driver",
        ),
        (
            json!({"navigator": "A", "driver": " \t ", "timerDuration": 60000}),
            "driver",
        ),
        (
            json!({"navigator": "A", "driver": "B\u{7}", "timerDuration": 60000}),
            "driver",
        ),
        (
            json!({"navigator": "A", "driver": ["B"], "timerDuration": 60000}),
            "driver",
        ),
        (
            json!({"navigator": "A", "driver": null, "timerDuration": 60000}),
            "driver",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .client
            .post(app.url("/api/pair-room"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json"));
        let err: serde_json::Value = res.json().await.expect("json error");
        assert_eq!(err["error"], "invalid_request");
        let message = err["message"].as_str().expect("message");
        assert!(message.contains(field), "{body} → {message}");
    }
}

#[tokio::test]
async fn names_at_the_limits_are_accepted() {
    let app = TestServer::spawn().await;
    let code = app
        .create_room(json!({"navigator": "ü".repeat(20), "driver": "B", "timerDuration": 1000}))
        .await;
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["navigator"], "ü".repeat(20));
    let code = app
        .create_room(json!({"navigator": "A", "driver": "  d  ", "timerDuration": 86_400_000, "missionUrl": "m".repeat(2048)}))
        .await;
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["driver"], "d");
    assert_eq!(room["duration"], 86_400_000);
    assert_eq!(room["missionUrl"], "m".repeat(2048));
    let code = app
        .create_room(json!({"navigator": "A", "driver": "D".repeat(20), "timerDuration": 1000}))
        .await;
    assert_eq!(
        app.get_json(&format!("/api/pair-room/{code}")).await.1["driver"],
        "D".repeat(20)
    );
}

#[tokio::test]
async fn pair_swap_trades_the_roles_and_tells_every_stream() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let mut one = app.connect(&code).await;
    let mut two = app.connect(&code).await;
    one.skip_greeting().await;
    two.skip_greeting().await;
    assert_eq!(
        app.patch(&format!("/api/pair-room/{code}/pair-swap")).await,
        StatusCode::NO_CONTENT
    );
    for stream in [&mut one, &mut two] {
        let state = stream.next_event(Duration::from_secs(5)).await;
        assert_eq!(state.event.as_deref(), Some("state"));
        assert_eq!(state.json()["navigator"], "Bob");
        assert_eq!(state.json()["driver"], "Ann");
    }
    let (_, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (room["navigator"].as_str(), room["driver"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
}

#[tokio::test]
async fn deleting_a_room_closes_its_streams_and_forgets_it_everywhere() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    let mut stream = app.connect(&code).await;
    stream.skip_greeting().await;
    let res = app
        .client
        .delete(app.url(&format!("/api/pair-room/{code}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let close = stream.next_event(Duration::from_secs(5)).await;
    assert_eq!(close.pair(), ("close".to_string(), "OK".to_string()));
    assert!(
        stream.ends_within(Duration::from_secs(5)).await,
        "the stream ends"
    );

    // Every endpoint that takes the code, each with a body it would take.
    let none = Value::Null;
    for (method, path, body) in [
        ("GET", format!("/api/pair-room/{code}"), none.clone()),
        ("DELETE", format!("/api/pair-room/{code}"), none.clone()),
        (
            "PATCH",
            format!("/api/pair-room/{code}/pair-swap"),
            none.clone(),
        ),
        (
            "PATCH",
            format!("/api/pair-room/{code}/pair-swap?round=0"),
            none.clone(),
        ),
        ("GET", format!("/api/{code}/timer"), none.clone()),
        (
            "PATCH",
            format!("/api/{code}/timer"),
            json!({"duration": 5000}),
        ),
        ("PATCH", format!("/api/{code}/timer/start"), none.clone()),
        ("PATCH", format!("/api/{code}/timer/stop"), none.clone()),
        ("PATCH", format!("/api/{code}/timer/reset"), none.clone()),
        ("PATCH", format!("/api/{code}/timer/next"), none.clone()),
        ("GET", format!("/api/{code}/connect"), none.clone()),
        ("GET", format!("/api/{code}/connect?name=Ann"), none.clone()),
        (
            "PATCH",
            format!("/api/pair-room/{code}/settings"),
            json!({"autoStart": true}),
        ),
        (
            "PATCH",
            format!("/api/pair-room/{code}/status"),
            json!({"status": "COMPLETED"}),
        ),
        (
            "POST",
            format!("/api/pair-room/{code}/members"),
            json!({"name": "Cy"}),
        ),
        (
            "PUT",
            format!("/api/pair-room/{code}/members"),
            json!({"members": ["Ann", "Bob"]}),
        ),
        (
            "DELETE",
            format!("/api/pair-room/{code}/members/Ann"),
            none.clone(),
        ),
        (
            "GET",
            format!("/api/pair-room/{code}/history"),
            none.clone(),
        ),
        ("GET", format!("/api/{code}/todos"), none.clone()),
        (
            "POST",
            format!("/api/{code}/todos"),
            json!({"content": "a goal"}),
        ),
        ("GET", format!("/api/{code}/category"), none.clone()),
        (
            "POST",
            format!("/api/{code}/category"),
            json!({"value": "Docs"}),
        ),
        (
            "PATCH",
            format!("/api/{code}/category"),
            json!({"categoryId": "c1", "updatedCategoryName": "Specs"}),
        ),
        ("DELETE", format!("/api/{code}/category/c1"), none.clone()),
        ("GET", format!("/api/{code}/reference-link"), none.clone()),
        (
            "POST",
            format!("/api/{code}/reference-link"),
            json!({"url": "https://docs.rs/", "categoryId": null}),
        ),
        (
            "DELETE",
            format!("/api/{code}/reference-link/1"),
            none.clone(),
        ),
    ] {
        let mut req = app
            .client
            .request(method.parse().expect("a method"), app.url(&path));
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.expect("an answer");
        expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
    }
}

#[tokio::test]
async fn unknown_codes_are_room_not_found_on_every_endpoint() {
    let app = TestServer::spawn().await;
    for path in [
        "/api/pair-room/doesNotExist123",
        "/api/doesNotExist123/timer",
        "/api/doesNotExist123/connect",
        "/api/pair-room/x",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"], "room_not_found", "{path}");
    }
}
