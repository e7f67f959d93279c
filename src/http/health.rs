//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::Status;

/// `GET /healthz`: the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Status)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Status), (status = 503, description = "Database unavailable", body = ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ready().await?;
    if state.feed.as_ref().is_some_and(|feed| !feed.is_up()) {
        return Err(ApiError::Unavailable);
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
