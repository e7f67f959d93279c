//! The web pages: `GET /`, `GET /p/{code}` and `GET /assets/{name}`, served from the
//! assets embedded in [`crate::web`], and the answer to an address nothing serves: the
//! HTML 404 page for a browser, the JSON error for everyone else.

use actix_web::http::header::{self, Accept, CacheControl, CacheDirective, Header, Quality};
use actix_web::{web, HttpRequest, HttpResponse};

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

/// Paths of the API and of the operators' endpoints: a miss there is always JSON.
const API_PREFIXES: &[&str] = &["/api/", "/rooms", "/healthz", "/readyz", "/metrics"];

/// Any address no route serves: `404`, as the HTML page that links to `/` when the
/// request is for a page (not an API path) and its `Accept` prefers HTML to JSON (a
/// browser's address bar), else the JSON `not_found` error.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    let api = path == "/api" || API_PREFIXES.iter().any(|p| path.starts_with(p));
    if !api && prefers_html(&req) {
        return Ok(html(HttpResponse::NotFound(), assets::NOWHERE_HTML));
    }
    Err(ApiError::NotFound)
}

/// Whether the request's `Accept` ranks `text/html` above `application/json`.
fn prefers_html(req: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    quality(&accept, "text", "html") > quality(&accept, "application", "json")
}

/// The quality `accept` gives `kind/sub`, by its most specific matching range (zero
/// when none matches).
fn quality(accept: &Accept, kind: &str, sub: &str) -> Quality {
    let mut best: Option<(u8, Quality)> = None;
    for item in accept.iter() {
        let (t, s) = (item.item.type_().as_str(), item.item.subtype().as_str());
        let specificity = match (t, s) {
            _ if t == kind && s == sub => 2,
            _ if t == kind && s == "*" => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        if best.is_none_or(|(sp, _)| specificity > sp) {
            best = Some((specificity, item.quality));
        }
    }
    best.map_or(Quality::ZERO, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn prefers(accept: &str) -> bool {
        prefers_html(
            &TestRequest::default()
                .insert_header(("accept", accept))
                .to_http_request(),
        )
    }

    #[test]
    fn a_browser_prefers_html_and_api_clients_do_not() {
        assert!(prefers(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!prefers("*/*"));
        assert!(!prefers("application/json"));
        assert!(!prefers("application/json, text/html;q=0.5"));
        assert!(!prefers("text/event-stream"));
        assert!(!prefers_html(&TestRequest::default().to_http_request()));
    }
}
