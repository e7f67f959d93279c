//! `/api/pair-room`: create a room, ask whether one exists, read it, swap its roles, change
//! its settings, mark it completed, delete it.

use actix_web::http::header;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::client_address::ClientKey;
use super::{input, AppState};
use crate::access_code;
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::http::bodies::{CreateRoomBody, SettingsBody, StatusBody};
use crate::rooms::ask::{ask, current};
use crate::rooms::messages::{Delete, Execute, RoomView};
use crate::rooms::registry::Create;
use crate::rules::RoomSettings;
use crate::rules::{Command, PresenceView, RoomStatus, TimerView};
use crate::store::rooms;

/// The answer to a room creation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    /// The new room's access code: what every operation on the room takes as `{code}`.
    #[schema(pattern = "^[A-Za-z0-9_-]{8,32}$")]
    access_code: String,
}

/// A room as `GET /api/pair-room/{code}` shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomBody {
    access_code: String,
    /// `members[1]`.
    navigator: String,
    /// `members[0]`.
    driver: String,
    /// Everyone in turn order: the driver, the navigator, then those who wait.
    members: Vec<String>,
    status: RoomStatus,
    mission_url: String,
    duration: i64,
    remaining_time: i64,
    created_at: i64,
    timer: TimerView,
    settings: RoomSettings,
    /// Who is here, flattened (`here`, `watching`).
    #[serde(flatten)]
    presence: PresenceView,
}

impl RoomBody {
    /// The room as seen at `now`.
    pub fn new(view: RoomView, now: i64) -> RoomBody {
        let timer = view.room.timer_view(now);
        let room = view.room;
        RoomBody {
            navigator: room.navigator().to_string(),
            driver: room.driver().to_string(),
            members: room.members.names().to_vec(),
            access_code: room.access_code,
            status: room.status,
            mission_url: room.mission_url,
            duration: timer.duration,
            remaining_time: timer.remaining_time,
            created_at: room.created_at,
            timer,
            settings: room.settings,
            presence: view.presence,
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

/// The query of `GET /api/pair-room/exists`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExistsQuery {
    /// The access code to look for; none at all is a code no room has.
    access_code: Option<String>,
}

/// The answer to `GET /api/pair-room/exists`.
#[derive(Serialize, ToSchema)]
pub struct Exists {
    /// Whether a room has this access code.
    exists: bool,
}

/// `GET /api/pair-room/exists?access_code={code}`
#[utoipa::path(get, path = "/api/pair-room/exists", tag = "pair rooms", params(ExistsQuery),
    responses(
        (status = 200, description = "Whether the room exists; `false` for an unknown, malformed or missing code", body = Exists),
        (status = 503, description = "Database unavailable", body = ErrorBody)))]
pub async fn exists(
    state: web::Data<AppState>,
    query: Option<web::Query<ExistsQuery>>,
) -> Result<HttpResponse, ApiError> {
    // A query that names no code, or cannot be read, asks about a code no room has.
    let code = query
        .and_then(|q| q.into_inner().access_code)
        .unwrap_or_default();
    let exists = access_code::is_well_formed(&code)
        && state.db.run(move |conn| rooms::exists(conn, &code)).await?;
    Ok(HttpResponse::Ok().json(Exists { exists }))
}

/// `GET /api/pair-room/{code}`
#[utoipa::path(get, path = "/api/pair-room/{code}", operation_id = "read_room", tag = "pair rooms", params(RoomCode),
    responses((status = 200, body = RoomBody), RoomErrors))]
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = current(&state.registry, &state.db, &state.clock, &code).await?;
    Ok(HttpResponse::Ok().json(RoomBody::new(view, state.clock.now_ms())))
}

/// The query of `PATCH /api/pair-room/{code}/pair-swap`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SwapQuery {
    /// The round the swap is meant for: it swaps only while the room's `round` is this.
    /// Without it, a swap within 10 s of a time-up, with nothing else changed since, is
    /// that time-up's own swap and changes nothing.
    #[param(value_type = Option<i64>)]
    round: Option<String>,
}

/// `PATCH /api/pair-room/{code}/pair-swap[?round=N]`
#[utoipa::path(patch, path = "/api/pair-room/{code}/pair-swap", tag = "pair rooms",
    params(RoomCode, SwapQuery),
    responses(
        (status = 204, description = "Navigator and driver traded places (streams get `state`), \
            or the swap was the latest time-up's own (nothing changed)"),
        (status = 400, description = "`round` is not an integer", body = ErrorBody),
        (status = 409, description = "The room is in another round than `round`; nothing changed", body = ErrorBody),
        RoomErrors))]
pub async fn swap(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<SwapQuery>,
) -> Result<HttpResponse, ApiError> {
    let round = input::round(query.into_inner().round.as_deref())?;
    ask(&state.registry, &code, Execute(Command::Swap { round })).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /api/pair-room/{code}/status` with `{"status": "COMPLETED"}`
#[utoipa::path(patch, path = "/api/pair-room/{code}/status", tag = "pair rooms", params(RoomCode),
    request_body = StatusBody,
    responses(
        (status = 204, description = "The room is completed and a running timer stopped; \
            streams get `timer: complete`, then `state`"),
        (status = 400, description = "Malformed JSON, or a status other than `COMPLETED`", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn status(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let complete = input::status(&body)?;
    ask(&state.registry, &code, Execute(complete)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /api/pair-room/{code}/settings` with any of `{autoStart, breakEvery, breakDuration}`
#[utoipa::path(patch, path = "/api/pair-room/{code}/settings", tag = "pair rooms", params(RoomCode),
    request_body = SettingsBody,
    responses(
        (status = 204, description = "The settings named are changed (the others kept); \
            streams get `state`. They apply from the next end of a countdown"),
        (status = 400, description = "Malformed JSON, or a value out of bounds (the message names the field)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn settings(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let change = input::settings(&body)?;
    ask(&state.registry, &code, Execute(change)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/pair-room/{code}`
#[utoipa::path(delete, path = "/api/pair-room/{code}", tag = "pair rooms", params(RoomCode),
    responses((status = 204, description = "Deleted; every stream gets `close: OK` and ends"), RoomErrors))]
pub async fn delete(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, &code, Delete).await?;
    Ok(HttpResponse::NoContent().finish())
}
