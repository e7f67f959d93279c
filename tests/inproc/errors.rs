//! Refusals in process: each a JSON error with the contract's status and code. Each is
//! whole when the handler returns, so these call the server's app directly, without a
//! socket ([`Direct`]).

use reqwest::StatusCode;
use serde_json::json;

use crate::app::Direct;

async fn refused(
    app: &Direct,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    status: StatusCode,
    error: &str,
) {
    let (got, answer) = app.send(method, path, body).await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (status, Some(error)),
        "{method} {path}: {answer}"
    );
    assert!(
        answer["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
}

#[actix_web::test]
async fn bad_input_is_a_400_that_names_the_field() {
    let app = Direct::start().await;
    let create = |body| {
        refused(
            &app,
            "POST",
            "/api/pair-room",
            Some(body),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
    };
    create(json!({"navigator": "Ann", "driver": "Ann", "timerDuration": 60_000})).await;
    create(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 999})).await;
    create(json!({"navigator": "", "driver": "Bob", "timerDuration": 60_000})).await;
    let code = app.room(60_000).await;
    refused(
        &app,
        "PATCH",
        &format!("/api/{code}/timer"),
        Some(json!({"duration": 60_000, "remainingTime": 0})),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[actix_web::test]
async fn unknown_rooms_and_routes_are_404s() {
    let app = Direct::start().await;
    for path in ["/api/pair-room/nosuchroom1", "/api/nosuchroom1/timer"] {
        refused(
            &app,
            "GET",
            path,
            None,
            StatusCode::NOT_FOUND,
            "room_not_found",
        )
        .await;
    }
    refused(
        &app,
        "PATCH",
        "/api/nosuchroom1/timer/start",
        None,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    app.connect_refused("nosuchroom1", StatusCode::NOT_FOUND, "room_not_found")
        .await;
    refused(
        &app,
        "GET",
        "/api/nothing/here/at/all",
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[actix_web::test]
async fn a_duration_change_while_running_is_a_409() {
    let app = Direct::start().await;
    let code = app.room(60_000).await;
    app.patch(&format!("/api/{code}/timer/start")).await;
    refused(
        &app,
        "PATCH",
        &format!("/api/{code}/timer"),
        Some(json!({"duration": 5000})),
        StatusCode::CONFLICT,
        "timer_running",
    )
    .await;
}

#[actix_web::test]
async fn a_stream_over_the_room_cap_is_a_429() {
    let app = Direct::start_with(|s| s.max_subscribers_per_room = 1).await;
    let code = app.room(60_000).await;
    let _kept = app.connect(&code).await;
    app.connect_refused(&code, StatusCode::TOO_MANY_REQUESTS, "too_many_subscribers")
        .await;
}
