//! A room's goals, at the paths of coduo's todo list: `/api/{code}/todos` to read and add,
//! `/api/todos/{id}/…` to edit, move, check and delete (those paths carry no access code:
//! the goal's random id finds its room). Every change is committed, then told to every
//! stream of the room as `todos`.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::{input, AppState};
use crate::access_code::{self, parse_id};
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::http::bodies::{ContentsBody, OrderBody, TodoBody};
use crate::rooms::ask::{ask, current};
use crate::rooms::messages::{Describe, Execute};
use crate::rules::{Command, CommandError, Goal, GoalError, RoomError};
use crate::store::board;

/// Attempts at drawing an unused goal id (a clash of 53 random bits is already unheard of).
const ID_ATTEMPTS: usize = 3;

/// The path of the goal operations.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TodoPath {
    /// The goal's id: a positive integer below 2^53.
    id: String,
}

/// `GET /api/{code}/todos`
#[utoipa::path(get, path = "/api/{code}/todos", operation_id = "list_todos", tag = "goals", params(RoomCode),
    responses((status = 200, description = "The room's goals, sorted by `order` (always `0 … n−1`)",
        body = Vec<Goal>), RoomErrors))]
pub async fn list(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = current(&state.registry, &state.db, &state.clock, &code).await?;
    Ok(HttpResponse::Ok().json(view.room.goals.list()))
}

/// `POST /api/{code}/todos` with `{"content"}`
#[utoipa::path(post, path = "/api/{code}/todos", operation_id = "add_todo", tag = "goals", params(RoomCode),
    request_body = TodoBody,
    responses(
        (status = 201, description = "The new goal, added last; streams get `todos`", body = Goal),
        (status = 400, description = "Empty or too long content, or a 101st goal; nothing changed", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn add(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let content = input::todo(&body)?;
    for _ in 0..ID_ATTEMPTS {
        let id = access_code::random_id();
        let added = ask(
            &state.registry,
            &code,
            Execute(Command::AddGoal {
                id,
                content: content.clone(),
            }),
        )
        .await;
        match added {
            Ok(()) => {
                let view = ask(&state.registry, &code, Describe).await?;
                let goal = view.room.goals.get(id).cloned().unwrap_or(Goal {
                    id,
                    content: content.clone(),
                    is_checked: false,
                    order: 0,
                });
                return Ok(HttpResponse::Created().json(goal));
            }
            // The id met another (in the room, or in another room's goals, which the
            // database refuses): draw again.
            Err(RoomError::Rejected(CommandError::Goal(GoalError::IdTaken(_))))
            | Err(RoomError::Unavailable) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Applies `command` to the room that holds goal `raw_id`.
async fn change(
    state: &AppState,
    raw_id: &str,
    command: impl FnOnce(i64) -> Command,
) -> Result<HttpResponse, ApiError> {
    let missing = || ApiError::TodoNotFound(format!("no goal has the id {raw_id}"));
    let id = parse_id(raw_id).ok_or_else(missing)?;
    let code = state
        .db
        .run(move |conn| board::room_of_goal(conn, id))
        .await?
        .ok_or_else(missing)?;
    match ask(&state.registry, &code, Execute(command(id))).await {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        // The room went, and its goals with it.
        Err(RoomError::NotFound) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// `PATCH /api/todos/{id}/contents` with `{"contents"}`
#[utoipa::path(patch, path = "/api/todos/{id}/contents", operation_id = "edit_todo", tag = "goals", params(TodoPath),
    request_body = ContentsBody,
    responses(
        (status = 204, description = "The goal's text changed; streams get `todos`"),
        (status = 400, description = "Empty or too long contents; nothing changed", body = ErrorBody),
        (status = 404, description = "No goal has this id (`todo_not_found`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn edit(
    state: web::Data<AppState>,
    path: web::Path<TodoPath>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let content = input::contents(&body)?;
    change(&state, &path.id, |id| Command::EditGoal { id, content }).await
}

/// `PATCH /api/todos/{id}/order` with `{"order"}`
#[utoipa::path(patch, path = "/api/todos/{id}/order", operation_id = "move_todo", tag = "goals", params(TodoPath),
    request_body = OrderBody,
    responses(
        (status = 204, description = "The goal moved to that position (past the end: last) and the \
            others shifted; streams get `todos`"),
        (status = 400, description = "`order` is not a whole number from 0; nothing changed", body = ErrorBody),
        (status = 404, description = "No goal has this id (`todo_not_found`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn reorder(
    state: web::Data<AppState>,
    path: web::Path<TodoPath>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let to = input::order(&body)?;
    change(&state, &path.id, |id| Command::MoveGoal { id, to }).await
}

/// `PATCH /api/todos/{id}/checked`
#[utoipa::path(patch, path = "/api/todos/{id}/checked", operation_id = "check_todo", tag = "goals", params(TodoPath),
    responses(
        (status = 204, description = "`isChecked` flipped; streams get `todos`"),
        (status = 404, description = "No goal has this id (`todo_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn check(
    state: web::Data<AppState>,
    path: web::Path<TodoPath>,
) -> Result<HttpResponse, ApiError> {
    change(&state, &path.id, Command::ToggleGoal).await
}

/// `DELETE /api/todos/{id}`
#[utoipa::path(delete, path = "/api/todos/{id}", operation_id = "delete_todo", tag = "goals", params(TodoPath),
    responses(
        (status = 204, description = "The goal is gone; those after it moved up; streams get `todos`"),
        (status = 404, description = "No goal has this id (`todo_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn remove(
    state: web::Data<AppState>,
    path: web::Path<TodoPath>,
) -> Result<HttpResponse, ApiError> {
    change(&state, &path.id, Command::RemoveGoal).await
}
