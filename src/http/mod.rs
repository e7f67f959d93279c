//! The HTTP surface: the one route table, the state handlers share, and the JSON
//! error answers for what the framework itself refuses (bad JSON, big bodies, unknown
//! routes, wrong methods).
//!
//! # Layout
//! - `pair_room`: create, read, swap and delete rooms.
//! - `timer`: read and command a room's timer.
//! - `events`: the SSE stream of a room.
//! - `health`: liveness, readiness and metrics.
//! - `admin`: the operators' room listing behind the bearer token.
//! - `limits`: client addresses and the room-creation rate limit.
//! - `observe`: the access log and HTTP metrics.
//! - `pages`: the web pages and their assets.
//! - `input`: request bodies and their validation.

pub mod admin;
mod events;
mod health;
pub mod input;
pub mod limits;
pub mod observe;
mod pages;
mod pair_room;
mod timer;

use std::net::IpAddr;
use std::sync::Arc;

use actix::Addr;
use actix_web::{web, HttpResponse, Route};
use tokio::sync::watch;

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
    /// The process's metrics.
    pub metrics: Metrics,
    /// The admin bearer token.
    pub admin_token: admin::AdminToken,
    /// Room creations per client address.
    pub creation_limiter: Arc<limits::CreationLimiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// Streams this process holds at most.
    pub stream_cap: usize,
    /// Turns `true` when the server begins to stop; open streams then end.
    pub shutdown: watch::Receiver<bool>,
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A resource that answers `405` to every method it has no route for.
fn resource(path: &str, routes: Vec<Route>) -> actix_web::Resource {
    routes
        .into_iter()
        .fold(web::resource(path), |r, route| r.route(route))
        .default_service(web::to(method_not_allowed))
}

/// Registers every route and the JSON error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(input::json_config())
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(input::path_config())
        .app_data(input::query_config())
        .service(resource(
            "/api/pair-room",
            vec![web::post().to(pair_room::create)],
        ))
        .service(resource(
            "/api/pair-room/{code}",
            vec![
                web::get().to(pair_room::read),
                web::delete().to(pair_room::delete),
            ],
        ))
        .service(resource(
            "/api/pair-room/{code}/pair-swap",
            vec![web::patch().to(pair_room::swap)],
        ))
        .service(resource(
            "/api/{code}/timer",
            vec![web::get().to(timer::read), web::patch().to(timer::update)],
        ))
        .service(resource(
            "/api/{code}/timer/start",
            vec![web::patch().to(timer::start)],
        ))
        .service(resource(
            "/api/{code}/timer/stop",
            vec![web::patch().to(timer::stop)],
        ))
        .service(resource(
            "/api/{code}/timer/reset",
            vec![web::patch().to(timer::reset)],
        ))
        .service(resource(
            "/api/{code}/connect",
            vec![web::get().to(events::connect)],
        ))
        .service(resource("/", vec![web::get().to(pages::index)]))
        .service(resource("/p/{code}", vec![web::get().to(pages::room)]))
        .service(resource(
            "/assets/{name}",
            vec![web::get().to(pages::asset)],
        ))
        .service(resource("/healthz", vec![web::get().to(health::healthz)]))
        .service(resource("/readyz", vec![web::get().to(health::readyz)]))
        .service(resource("/metrics", vec![web::get().to(health::metrics)]))
        .service(resource("/rooms", vec![web::get().to(admin::list)]))
        .service(resource("/rooms/{code}", vec![web::get().to(admin::read)]))
        .default_service(web::to(not_found));
}
