//! A room's reference links and their categories, at the paths of coduo's reference card:
//! `/api/{code}/reference-link` and `/api/{code}/category`. Every change is committed, then
//! told to every stream of the room as `links` (the whole list, category names included).
//! pairsync makes no outbound request: a link's `headTitle` is its URL's host.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::{input, AppState};
use crate::access_code::{self, parse_id};
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::http::bodies::{CategoryBody, CategoryRenameBody, LinkBody};
use crate::rooms::ask::{ask, current};
use crate::rooms::messages::{Describe, Execute};
use crate::rules::{Category, Command, CommandError, Link, LinkError, LinkView, RoomError};

/// Attempts at drawing an unused id.
const ID_ATTEMPTS: usize = 3;

/// Applies `command` to the room `code`; `Ok(false)` when its random id met another.
async fn apply(state: &AppState, code: &str, command: Command) -> Result<bool, ApiError> {
    match ask(&state.registry, code, Execute(command)).await {
        Ok(()) => Ok(true),
        Err(RoomError::Rejected(CommandError::Link(LinkError::IdTaken)))
        | Err(RoomError::Unavailable) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The query of `GET /api/{code}/reference-link`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LinksQuery {
    /// Only the links of this category.
    category_id: Option<String>,
}

/// `GET /api/{code}/reference-link[?categoryId=ID]`
#[utoipa::path(get, path = "/api/{code}/reference-link", operation_id = "list_links", tag = "links", params(RoomCode, LinksQuery),
    responses((status = 200, description = "The room's links, newest first", body = Vec<LinkView>),
        RoomErrors))]
pub async fn list(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<LinksQuery>,
) -> Result<HttpResponse, ApiError> {
    let view = current(&state.registry, &state.db, &state.clock, &code).await?;
    Ok(HttpResponse::Ok().json(view.room.links.views(query.category_id.as_deref())))
}

/// `POST /api/{code}/reference-link` with `{"url", "categoryId"}`
#[utoipa::path(post, path = "/api/{code}/reference-link", operation_id = "add_link", tag = "links", params(RoomCode),
    request_body = LinkBody,
    responses(
        (status = 201, description = "The new link; streams get `links`", body = LinkView),
        (status = 400, description = "Not an http or https URL, over 2048 characters, or a 101st link; \
            nothing changed", body = ErrorBody),
        (status = 404, description = "No such room, or no category of it has `categoryId` \
            (`category_not_found`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn add_link(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (url, host, category) = input::link(&body)?;
    for _ in 0..ID_ATTEMPTS {
        let id = access_code::random_id();
        let link = Link {
            id,
            url: url.clone(),
            host: host.clone(),
            category: category.clone(),
            added_at: state.clock.now_ms(),
        };
        if apply(&state, &code, Command::AddLink(link)).await? {
            let view = ask(&state.registry, &code, Describe).await?;
            let added = view.room.links.views(None).into_iter().find(|l| l.id == id);
            return added.map(|link| HttpResponse::Created().json(link)).ok_or(
                ApiError::LinkNotFound(format!("the link {id} was deleted at once")),
            );
        }
    }
    Err(ApiError::Unavailable)
}

/// The path of `DELETE /api/{code}/reference-link/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LinkPath {
    /// The room's access code.
    #[param(pattern = "^[A-Za-z0-9_-]{8,32}$")]
    code: String,
    /// The link's id.
    id: String,
}

/// `DELETE /api/{code}/reference-link/{id}`
#[utoipa::path(delete, path = "/api/{code}/reference-link/{id}", operation_id = "delete_link", tag = "links", params(LinkPath),
    responses(
        (status = 204, description = "The link is gone; streams get `links`"),
        (status = 404, description = "No such room, or no link of it has this id (`link_not_found`)",
            body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn remove_link(
    state: web::Data<AppState>,
    path: web::Path<LinkPath>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.id).ok_or_else(|| {
        ApiError::LinkNotFound(format!("no link of this room has the id {}", path.id))
    })?;
    ask(
        &state.registry,
        &path.code,
        Execute(Command::RemoveLink(id)),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/{code}/category`
#[utoipa::path(get, path = "/api/{code}/category", operation_id = "list_categories", tag = "links", params(RoomCode),
    responses((status = 200, description = "The room's categories, oldest first", body = Vec<Category>),
        RoomErrors))]
pub async fn categories(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = current(&state.registry, &state.db, &state.clock, &code).await?;
    Ok(HttpResponse::Ok().json(view.room.links.categories()))
}

/// `POST /api/{code}/category` with `{"value"}`
#[utoipa::path(post, path = "/api/{code}/category", operation_id = "add_category", tag = "links", params(RoomCode),
    request_body = CategoryBody,
    responses(
        (status = 201, description = "The new category; streams get `links`", body = Category),
        (status = 400, description = "An empty, too long or taken name, or a 31st category; nothing changed",
            body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        RoomErrors))]
pub async fn add_category(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let name = input::category(&body)?;
    for _ in 0..ID_ATTEMPTS {
        let id = access_code::random_id().to_string();
        let command = Command::AddCategory {
            id: id.clone(),
            name: name.clone(),
        };
        if apply(&state, &code, command).await? {
            return Ok(HttpResponse::Created().json(Category {
                id,
                value: name.clone(),
            }));
        }
    }
    Err(ApiError::Unavailable)
}

/// `PATCH /api/{code}/category` with `{"categoryId", "updatedCategoryName"}`
#[utoipa::path(patch, path = "/api/{code}/category", operation_id = "rename_category", tag = "links", params(RoomCode),
    request_body = CategoryRenameBody,
    responses(
        (status = 204, description = "Renamed; streams get `links`"),
        (status = 400, description = "An empty, too long or taken name; nothing changed", body = ErrorBody),
        (status = 404, description = "No such room, or no category of it has `categoryId` \
            (`category_not_found`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn rename_category(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = input::category_rename(&body)?;
    ask(
        &state.registry,
        &code,
        Execute(Command::RenameCategory { id, name }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The path of `DELETE /api/{code}/category/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CategoryPath {
    /// The room's access code.
    #[param(pattern = "^[A-Za-z0-9_-]{8,32}$")]
    code: String,
    /// The category's id.
    id: String,
}

/// `DELETE /api/{code}/category/{id}`
#[utoipa::path(delete, path = "/api/{code}/category/{id}", operation_id = "delete_category", tag = "links", params(CategoryPath),
    responses(
        (status = 204, description = "The category is gone; its links have none; streams get `links`"),
        (status = 404, description = "No such room, or no category of it has this id \
            (`category_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody)))]
pub async fn remove_category(
    state: web::Data<AppState>,
    path: web::Path<CategoryPath>,
) -> Result<HttpResponse, ApiError> {
    let CategoryPath { code, id } = path.into_inner();
    ask(&state.registry, &code, Execute(Command::RemoveCategory(id))).await?;
    Ok(HttpResponse::NoContent().finish())
}
