//! The HTTP surface: the one route table, the state handlers share, and the JSON
//! error answers for what the framework itself refuses (bad JSON, big bodies, unknown
//! routes, wrong methods).
//!
//! # Layout
//! - `pair_room`: create, look up, read, swap, set up, complete and delete rooms.
//! - `timer`: read and command a room's timer.
//! - `members`: join, leave, and replace a room's order of members.
//! - `history`: a room's completed turns and each driver's totals.
//! - `goals`: a room's goals (coduo's todo list).
//! - `reference_links`: a room's reference links and their categories.
//! - `sign_in`: the one sign-in call coduo's frontend makes (nobody is signed in).
//! - `events`: the SSE stream of a room.
//! - `health`: liveness, readiness and metrics.
//! - `admin`: the operators' room listing behind the bearer token.
//! - `client_address`: who the client of a request is, and the key per-client limits count it under.
//! - `limits`: the room-creation rate limit and the body size limit.
//! - `stream_gate`: the process and per-client stream caps.
//! - `headers`: the security headers of every answer (the pages' content security policy).
//! - `observe`: the access log and HTTP metrics.
//! - `cors`: cross-origin calls from the configured origins.
//! - `openapi`: the OpenAPI document and the API browser.
//! - `api_types`: the path parameter, shared errors and event schema that handlers and the
//!   document both name (a leaf, so neither imports the other for them).
//! - `pages`: the web pages and their assets.
//! - `bodies`: the JSON request bodies, their schemas and their bounds.
//! - `input`: how request bodies and query values are read and refused.

pub mod admin;
pub mod api_types;
pub mod bodies;
pub mod client_address;
pub mod cors;
mod events;
mod goals;
pub mod headers;
mod health;
mod history;
pub mod input;
pub mod limits;
mod members;
pub mod observe;
pub mod openapi;
mod pages;
mod pair_room;
mod reference_links;
mod sign_in;
pub mod stream_gate;
mod timer;

use std::net::IpAddr;
use std::sync::Arc;

use actix::Addr;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::ResponseError;
use actix_web::{guard, web, HttpResponse, Route};
use tokio::sync::watch;
use utoipa_swagger_ui::SwaggerUi;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::rooms::RoomRegistry;
use crate::store::Db;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The supervisor of the live rooms.
    pub registry: Addr<RoomRegistry>,
    /// The database, for readiness checks.
    pub db: Db,
    /// The change feed from other processes, when the database is shared.
    pub feed: Option<crate::store::feed::FeedHealth>,
    /// The clock every answer is timed by.
    pub clock: Clock,
    /// The process's metrics.
    pub metrics: Metrics,
    /// The admin bearer token.
    pub admin_token: admin::AdminToken,
    /// Room creations per client address.
    pub creation_limiter: Arc<limits::CreationLimiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// The process and per-client stream caps.
    pub streams: Arc<stream_gate::StreamGate>,
    /// Turns `true` when the server begins to stop; open streams then end.
    pub shutdown: watch::Receiver<bool>,
}

/// A `405` that names, in `Allow`, the methods the path answers.
fn method_not_allowed(allowed: &[Method]) -> Route {
    let mut names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    if allowed.contains(&Method::GET) {
        names.push(Method::HEAD.as_str());
    }
    let allow = names.join(", ");
    web::to(move || {
        let mut res = ApiError::MethodNotAllowed.error_response();
        if let Ok(value) = HeaderValue::from_str(&allow) {
            res.headers_mut().insert(header::ALLOW, value);
        }
        std::future::ready(res)
    })
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Every route: path, method and handler, in matching order. The OpenAPI document is
/// checked against this table, so the two cannot drift.
fn table() -> Vec<(&'static str, Method, Route)> {
    use Method as M;
    // GET routes also answer HEAD (actix-web sends the head without the body).
    let get = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    vec![
        ("/api/pair-room", M::POST, web::post().to(pair_room::create)),
        // Before `/api/pair-room/{code}`, which would take `exists` for a code.
        ("/api/pair-room/exists", M::GET, get().to(pair_room::exists)),
        ("/api/pair-room/{code}", M::GET, get().to(pair_room::read)),
        (
            "/api/pair-room/{code}",
            M::DELETE,
            web::delete().to(pair_room::delete),
        ),
        (
            "/api/pair-room/{code}/pair-swap",
            M::PATCH,
            web::patch().to(pair_room::swap),
        ),
        (
            "/api/pair-room/{code}/status",
            M::PATCH,
            web::patch().to(pair_room::status),
        ),
        (
            "/api/pair-room/{code}/settings",
            M::PATCH,
            web::patch().to(pair_room::settings),
        ),
        (
            "/api/pair-room/{code}/members",
            M::POST,
            web::post().to(members::join),
        ),
        (
            "/api/pair-room/{code}/members",
            M::PUT,
            web::put().to(members::replace),
        ),
        (
            "/api/pair-room/{code}/members/{name}",
            M::DELETE,
            web::delete().to(members::leave),
        ),
        (
            "/api/pair-room/{code}/history",
            M::GET,
            get().to(history::read),
        ),
        ("/api/{code}/timer", M::GET, get().to(timer::read)),
        (
            "/api/{code}/timer",
            M::PATCH,
            web::patch().to(timer::update),
        ),
        (
            "/api/{code}/timer/start",
            M::PATCH,
            web::patch().to(timer::start),
        ),
        (
            "/api/{code}/timer/stop",
            M::PATCH,
            web::patch().to(timer::stop),
        ),
        (
            "/api/{code}/timer/reset",
            M::PATCH,
            web::patch().to(timer::reset),
        ),
        (
            "/api/{code}/timer/next",
            M::PATCH,
            web::patch().to(timer::next),
        ),
        ("/api/{code}/connect", M::GET, get().to(events::connect)),
        ("/api/{code}/todos", M::GET, get().to(goals::list)),
        ("/api/{code}/todos", M::POST, web::post().to(goals::add)),
        (
            "/api/todos/{id}/contents",
            M::PATCH,
            web::patch().to(goals::edit),
        ),
        (
            "/api/todos/{id}/order",
            M::PATCH,
            web::patch().to(goals::reorder),
        ),
        (
            "/api/todos/{id}/checked",
            M::PATCH,
            web::patch().to(goals::check),
        ),
        (
            "/api/todos/{id}",
            M::DELETE,
            web::delete().to(goals::remove),
        ),
        (
            "/api/{code}/category",
            M::GET,
            get().to(reference_links::categories),
        ),
        (
            "/api/{code}/category",
            M::POST,
            web::post().to(reference_links::add_category),
        ),
        (
            "/api/{code}/category",
            M::PATCH,
            web::patch().to(reference_links::rename_category),
        ),
        (
            "/api/{code}/category/{id}",
            M::DELETE,
            web::delete().to(reference_links::remove_category),
        ),
        (
            "/api/{code}/reference-link",
            M::GET,
            get().to(reference_links::list),
        ),
        (
            "/api/{code}/reference-link",
            M::POST,
            web::post().to(reference_links::add_link),
        ),
        (
            "/api/{code}/reference-link/{id}",
            M::DELETE,
            web::delete().to(reference_links::remove_link),
        ),
        ("/api/sign-in/check", M::GET, get().to(sign_in::check)),
        ("/api/openapi.json", M::GET, get().to(openapi::document)),
        ("/", M::GET, get().to(pages::index)),
        ("/p/{code}", M::GET, get().to(pages::room)),
        ("/assets/{name}", M::GET, get().to(pages::asset)),
        ("/healthz", M::GET, get().to(health::healthz)),
        ("/readyz", M::GET, get().to(health::readyz)),
        ("/metrics", M::GET, get().to(health::metrics)),
        ("/rooms", M::GET, get().to(admin::list)),
        ("/rooms/{code}", M::GET, get().to(admin::read)),
    ]
}

/// Every `(path, method)` the server routes.
pub fn route_table() -> Vec<(&'static str, Method)> {
    table()
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect()
}

/// Registers every route and the JSON error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(input::json_config())
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(input::path_config())
        .app_data(input::query_config());
    // One resource per path, each answering 405 to the methods it has no route for.
    let mut resources: Vec<(&'static str, actix_web::Resource, Vec<Method>)> = Vec::new();
    for (path, method, route) in table() {
        match resources.iter_mut().find(|(p, _, _)| *p == path) {
            Some((_, resource, methods)) => {
                let taken = std::mem::replace(resource, web::resource(path));
                *resource = taken.route(route);
                methods.push(method);
            }
            None => resources.push((path, web::resource(path).route(route), vec![method])),
        }
    }
    for (_, resource, methods) in resources {
        cfg.service(resource.default_service(method_not_allowed(&methods)));
    }
    cfg.service(
        SwaggerUi::new("/api/docs/{_:.*}").config(
            utoipa_swagger_ui::Config::from("/api/openapi.json")
                // Within the pages' content security policy: no badge image from an
                // outside validator, and no top bar (its logo carries an inline style).
                .validator_url("none")
                .use_base_layout(),
        ),
    )
    .service(web::redirect("/api/docs", "/api/docs/"))
    .default_service(web::to(not_found));
}
