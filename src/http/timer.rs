//! `/api/{code}/timer`: read the timer, start, stop, reset, and set its duration.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::{input, AppState};
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::http::bodies::SetDurationBody;
use crate::rooms::ask::{ask, current};
use crate::rooms::messages::Execute;
use crate::rules::Command;
use crate::rules::TimerView;

async fn command(state: &AppState, code: &str, command: Command) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, code, Execute(command)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/{code}/timer`
#[utoipa::path(get, path = "/api/{code}/timer", operation_id = "read_timer", tag = "timer", params(RoomCode),
    responses((status = 200, body = TimerView), RoomErrors))]
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = current(&state.registry, &state.db, &state.clock, &code).await?;
    Ok(HttpResponse::Ok().json(view.room.timer_view(state.clock.now_ms())))
}

/// `PATCH /api/{code}/timer/start`
#[utoipa::path(patch, path = "/api/{code}/timer/start", tag = "timer", params(RoomCode),
    responses((status = 204, description = "Idle or paused → running; running: nothing"), RoomErrors))]
pub async fn start(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Start).await
}

/// `PATCH /api/{code}/timer/stop`
#[utoipa::path(patch, path = "/api/{code}/timer/stop", tag = "timer", params(RoomCode),
    responses((status = 204, description = "Running → paused at the exact remaining ms; otherwise nothing"), RoomErrors))]
pub async fn stop(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Stop).await
}

/// `PATCH /api/{code}/timer/reset`
#[utoipa::path(patch, path = "/api/{code}/timer/reset", tag = "timer", params(RoomCode),
    responses((status = 204, description = "Any state → idle at full duration"), RoomErrors))]
pub async fn reset(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Reset).await
}

/// `PATCH /api/{code}/timer` with `{"duration", "remainingTime"?}`
#[utoipa::path(patch, path = "/api/{code}/timer", tag = "timer", params(RoomCode),
    request_body = SetDurationBody,
    responses((status = 204, description = "Duration set; idle at full, else paused; streams get `timer: update`"),
        (status = 400, description = "Malformed JSON or a failed validation", body = ErrorBody),
        (status = 409, description = "The timer runs", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody), RoomErrors))]
pub async fn update(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let set = input::set_duration(&body)?;
    command(&state, &code, set).await
}
