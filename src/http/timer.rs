//! `/api/{code}/timer`: read the timer, start, stop, reset, and set its duration.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::{input, AppState};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::pairing::Command;
use crate::rooms::client::ask;
use crate::rooms::messages::{Describe, Execute};

async fn command(state: &AppState, code: &str, command: Command) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, code, Execute(command)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/{code}/timer`
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = ask(&state.registry, &code, Describe).await?;
    Ok(HttpResponse::Ok().json(view.room.timer_view(now_ms())))
}

/// `PATCH /api/{code}/timer/start`
pub async fn start(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Start).await
}

/// `PATCH /api/{code}/timer/stop`
pub async fn stop(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Stop).await
}

/// `PATCH /api/{code}/timer/reset`
pub async fn reset(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    command(&state, &code, Command::Reset).await
}

/// `PATCH /api/{code}/timer` with `{"duration", "remainingTime"?}`
pub async fn update(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let set = input::set_duration(&body)?;
    command(&state, &code, set).await
}
