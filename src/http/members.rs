//! `/api/pair-room/{code}/members`: someone joins, someone leaves, or the whole order is
//! replaced. Every change is committed, then told to every stream as `state`.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::{input, AppState};
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::http::bodies::{JoinBody, MembersBody};
use crate::rooms::ask::ask;
use crate::rooms::messages::Execute;
use crate::rules::Command;

async fn change(state: &AppState, code: &str, command: Command) -> Result<HttpResponse, ApiError> {
    ask(&state.registry, code, Execute(command)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/pair-room/{code}/members` with `{"name"}`
#[utoipa::path(post, path = "/api/pair-room/{code}/members", operation_id = "join_member", tag = "members", params(RoomCode),
    request_body = JoinBody,
    responses(
        (status = 204, description = "The name joined at the end of the order; streams get `state`"),
        (status = 400, description = "A bad name, a name already in the room, or a 13th member; nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn join(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let join = input::join(&body)?;
    change(&state, &code, join).await
}

/// `PUT /api/pair-room/{code}/members` with `{"members": [names]}`
#[utoipa::path(put, path = "/api/pair-room/{code}/members", operation_id = "replace_members", tag = "members", params(RoomCode),
    request_body = MembersBody,
    responses(
        (status = 204, description = "The whole order replaced (renames, reorders, joins and leaves at once); \
            streams get `state`; the round and the timer stay as they are"),
        (status = 400, description = "Fewer than 2 or more than 12 names, a duplicate or a bad name; nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn replace(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let set = input::set_members(&body)?;
    change(&state, &code, set).await
}

/// The path of `DELETE /api/pair-room/{code}/members/{name}`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The room's access code.
    #[param(pattern = "^[A-Za-z0-9_-]{8,32}$")]
    code: String,
    /// The member's name, percent-encoded.
    name: String,
}

/// `DELETE /api/pair-room/{code}/members/{name}`
#[utoipa::path(delete, path = "/api/pair-room/{code}/members/{name}", operation_id = "remove_member", tag = "members",
    params(MemberPath),
    responses(
        (status = 204, description = "The member left; streams get `state`"),
        (status = 400, description = "Fewer than 2 members would remain; nothing changed", body = ErrorBody),
        (status = 404, description = "No such room (`room_not_found`), or no member of it has that name \
            (`member_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn leave(
    state: web::Data<AppState>,
    path: web::Path<MemberPath>,
) -> Result<HttpResponse, ApiError> {
    let MemberPath { code, name } = path.into_inner();
    change(&state, &code, Command::Leave(name)).await
}
