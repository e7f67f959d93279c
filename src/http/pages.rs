//! The web pages: `GET /`, `GET /p/{code}` and `GET /assets/{name}`, served from the
//! assets embedded in [`crate::web`].

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::RoomCode;
use crate::rooms::ask::ask;
use crate::rooms::messages::Describe;
use crate::rooms::RoomError;
use crate::web as assets;

fn html(mut response: actix_web::HttpResponseBuilder, body: &'static str) -> HttpResponse {
    response
        .content_type(assets::HTML_CONTENT_TYPE)
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(body)
}

/// `GET /`: create a pair room.
#[utoipa::path(get, path = "/", tag = "pages",
    responses((status = 200, description = "The page that creates a room", content_type = "text/html", body = String)))]
pub async fn index() -> HttpResponse {
    html(HttpResponse::Ok(), assets::INDEX_HTML)
}

/// `GET /p/{code}`: the room's page, or a 404 page that links to `/`.
#[utoipa::path(get, path = "/p/{code}", tag = "pages", params(RoomCode),
    responses((status = 200, description = "The room's page", content_type = "text/html", body = String),
        (status = 404, description = "No such room: a page that links to `/`", content_type = "text/html", body = String)))]
pub async fn room(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match ask(&state.registry, &code, Describe).await {
        Ok(_) => Ok(html(HttpResponse::Ok(), assets::ROOM_HTML)),
        Err(RoomError::NotFound) => Ok(html(HttpResponse::NotFound(), assets::MISSING_HTML)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /assets/{name}`: a stylesheet, script or icon.
#[utoipa::path(get, path = "/assets/{name}", tag = "pages",
    params(("name" = String, Path, description = "e.g. `app.css`, `room.js`")),
    responses((status = 200, description = "The file", body = String),
        (status = 404, description = "No such asset", body = ErrorBody)))]
pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (content_type, body) = assets::asset(&name).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}
