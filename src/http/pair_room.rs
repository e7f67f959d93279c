//! `/api/pair-room`: create a room, read it, swap its roles, delete it.

use actix_web::http::header;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::{input, limits, AppState};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::pairing::{Command, TimerView};
use crate::rooms::client::ask;
use crate::rooms::messages::{Create, Delete, Describe, Execute, RoomView};

/// The answer to a room creation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    access_code: String,
}

/// A room as `GET /api/pair-room/{code}` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomBody {
    access_code: String,
    navigator: String,
    driver: String,
    status: &'static str,
    mission_url: String,
    duration: i64,
    remaining_time: i64,
    created_at: i64,
    timer: TimerView,
}

impl RoomBody {
    /// The room as seen at `now`.
    pub fn new(view: RoomView, now: i64) -> RoomBody {
        let timer = view.room.timer_view(now);
        let room = view.room;
        RoomBody {
            access_code: room.access_code,
            navigator: room.navigator,
            driver: room.driver,
            status: "IN_PROGRESS",
            mission_url: room.mission_url,
            duration: timer.duration,
            remaining_time: timer.remaining_time,
            created_at: room.created_at,
            timer,
        }
    }
}

/// `POST /api/pair-room`
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let new_room = input::new_room(&body)?;
    let client = limits::client_addr(&req, &state.trusted_proxies);
    state.creation_limiter.take(client, Instant::now())?;
    let code = state.registry.send(Create(new_room)).await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/pair-room/{code}")))
        .json(Created { access_code: code }))
}

/// `GET /api/pair-room/{code}`
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = ask(&state.registry, &code, Describe).await?;
    Ok(HttpResponse::Ok().json(RoomBody::new(view, now_ms())))
}

/// `PATCH /api/pair-room/{code}/pair-swap`
pub async fn swap(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, &code, Execute(Command::Swap)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/pair-room/{code}`
pub async fn delete(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, &code, Delete).await??;
    Ok(HttpResponse::NoContent().finish())
}
