//! `/api/pair-room`: create a room, read it, swap its roles, delete it.

use actix_web::http::header;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::client::ClientKey;
use super::{input, AppState};
use crate::clock::now_ms;
use crate::error::{ApiError, ErrorBody};
use crate::http::openapi::{CreateRoomBody, RoomCode, RoomErrors};
use crate::pairing::{Command, TimerView};
use crate::rooms::client::ask;
use crate::rooms::messages::{Create, Delete, Describe, Execute, RoomView};

/// The answer to a room creation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    access_code: String,
}

/// A room as `GET /api/pair-room/{code}` shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomBody {
    access_code: String,
    navigator: String,
    driver: String,
    #[schema(example = "IN_PROGRESS")]
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
#[utoipa::path(post, path = "/api/pair-room", tag = "pair rooms",
    request_body = CreateRoomBody,
    responses(
        (status = 201, description = "Created; `Location` names the room", body = Created,
            headers(("Location" = String, description = "/api/pair-room/{accessCode}"))),
        (status = 400, description = "Malformed JSON or a failed validation", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 429, description = "Too many rooms created from this address", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let new_room = input::new_room(&body)?;
    let client = ClientKey::of_request(&req, &state.trusted_proxies);
    state.creation_limiter.take(client)?;
    let code = state.registry.send(Create(new_room)).await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/pair-room/{code}")))
        .json(Created { access_code: code }))
}

/// `GET /api/pair-room/{code}`
#[utoipa::path(get, path = "/api/pair-room/{code}", tag = "pair rooms", params(RoomCode),
    responses((status = 200, body = RoomBody), RoomErrors))]
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = ask(&state.registry, &code, Describe).await?;
    Ok(HttpResponse::Ok().json(RoomBody::new(view, now_ms())))
}

/// `PATCH /api/pair-room/{code}/pair-swap`
#[utoipa::path(patch, path = "/api/pair-room/{code}/pair-swap", tag = "pair rooms", params(RoomCode),
    responses((status = 204, description = "Navigator and driver traded places; streams get `state`"), RoomErrors))]
pub async fn swap(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, &code, Execute(Command::Swap)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/pair-room/{code}`
#[utoipa::path(delete, path = "/api/pair-room/{code}", tag = "pair rooms", params(RoomCode),
    responses((status = 204, description = "Deleted; every stream gets `close: OK` and ends"), RoomErrors))]
pub async fn delete(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, &code, Delete).await??;
    Ok(HttpResponse::NoContent().finish())
}
