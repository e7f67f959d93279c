//! `/api/{code}/timer`: read the timer, start, stop, reset, end the turn now (`next`), and
//! set its duration.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

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

/// The query of `PATCH /api/{code}/timer/next`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// The round the request is meant for: the turn ends only while the room's `round` is
    /// this, so that two people pressing "Next" at once end one turn, not two.
    #[param(value_type = Option<i64>)]
    round: Option<String>,
}

/// `PATCH /api/{code}/timer/next[?round=N]`
#[utoipa::path(patch, path = "/api/{code}/timer/next", operation_id = "next_turn", tag = "timer", params(RoomCode, NextQuery),
    responses(
        (status = 204, description = "The turn ended now, as at a time-up but without its final tick: \
            the members rotate, `round` + 1, idle at full duration (streams get `timer: stop`, \
            `remaining-time`, `state`), then a break or auto-start as the settings say. During a break, \
            the break ends instead"),
        (status = 400, description = "`round` is not an integer", body = ErrorBody),
        (status = 409, description = "The room is in another round than `round`; nothing changed", body = ErrorBody),
        RoomErrors))]
pub async fn next(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, ApiError> {
    let round = input::round(query.into_inner().round.as_deref())?;
    command(&state, &code, Command::Next { round }).await
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
