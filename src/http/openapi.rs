//! The OpenAPI 3 document of the HTTP API, generated from the handlers' annotations and
//! the types they answer with, served at `/api/openapi.json` and browsable at `/api/docs/`.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use super::{admin, events, health, pages, pair_room, timer};
use crate::error::ErrorBody;
use crate::pairing::{RoomStatus, Snapshot, TimerView};
use crate::schedule::RoomSettings;
use crate::timer::{Period, PhaseName};

/// The `code` path parameter shared by every room endpoint.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct RoomCode {
    /// The room's access code (`[A-Za-z0-9_-]`, 8 to 32 characters).
    code: String,
}

/// `POST /api/pair-room` (read by hand in `input`, described here).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CreateRoomBody {
    /// Who guides: trimmed, 1 to 20 characters, no control characters.
    #[schema(example = "Ann")]
    navigator: String,
    /// Who types: as `navigator`, and not equal to it.
    #[schema(example = "Bob")]
    driver: String,
    /// Full countdown, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000, example = 1500000)]
    timer_duration: i64,
    /// Remaining ms, 1 to `timerDuration` (default): idle when equal, else paused.
    #[schema(minimum = 1)]
    timer_remaining_time: Option<i64>,
    /// At most 2048 characters, returned as given (`""` when absent).
    mission_url: Option<String>,
    /// After a time-up, the next turn starts by itself (default `false`).
    auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never, the default) to 20.
    #[schema(minimum = 0, maximum = 20)]
    break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000 (default 300000).
    #[schema(minimum = 1000, maximum = 3600000)]
    break_duration: Option<i64>,
}

/// `PATCH /api/pair-room/{code}/settings` (read by hand in `input`, described here): any
/// subset of the three; other fields are ignored.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SettingsBody {
    /// After a time-up, the next turn starts by itself.
    auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never) to 20.
    #[schema(minimum = 0, maximum = 20)]
    break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000.
    #[schema(minimum = 1000, maximum = 3600000)]
    break_duration: Option<i64>,
}

/// `PATCH /api/{code}/timer` (read by hand in `input`, described here).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SetDurationBody {
    /// Full countdown, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000)]
    duration: i64,
    /// Remaining ms, 1 to `duration` (default).
    #[schema(minimum = 1)]
    remaining_time: Option<i64>,
}

/// `PATCH /api/pair-room/{code}/status` (read by hand in `input`, described here).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StatusBody {
    /// Only `COMPLETED` may be set.
    #[schema(example = "COMPLETED")]
    status: String,
}

/// The errors every room endpoint may answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum RoomErrors {
    /// No such room.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The database is unavailable; retry later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// `{"status": "ok"}`
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "pairsync",
        description = "A pair-programming timer kept in sync across every screen of a pair room."
    ),
    paths(
        pair_room::create, pair_room::exists, pair_room::read, pair_room::swap,
        pair_room::status, pair_room::settings, pair_room::delete,
        timer::read, timer::update, timer::start, timer::stop, timer::reset,
        events::connect,
        health::healthz, health::readyz, health::metrics,
        admin::list, admin::read,
        pages::index, pages::room, pages::asset,
        document,
    ),
    components(schemas(
        pair_room::Created, pair_room::Exists, pair_room::RoomBody, RoomStatus, TimerView, Snapshot, PhaseName, Period, RoomSettings, ErrorBody,
        CreateRoomBody, SetDurationBody, StatusBody, SettingsBody, Status, admin::Entry, admin::Listing
    )),
    modifiers(&AdminToken)
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This document")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_in_the_route_table_is_documented() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let paths = doc["paths"].as_object().expect("paths");
        let table = super::super::route_table();
        assert!(table.len() > 10, "{table:?}");
        for (path, method) in &table {
            let item = paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} is not in the OpenAPI document"));
            let method = method.as_str().to_lowercase();
            assert!(
                item.get(&method).is_some(),
                "{method} {path} is not documented"
            );
        }
        // And nothing is documented that the server does not route.
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                assert!(
                    table
                        .iter()
                        .any(|(p, m)| p == path && m.as_str().eq_ignore_ascii_case(method)),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }

    #[test]
    fn the_room_snapshot_and_timer_describe_settings_and_phase() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let schemas = &doc["components"]["schemas"];
        // The snapshot flattens the timer in: its own fields are the last part of an `allOf`.
        let snapshot_own = schemas["Snapshot"]["allOf"]
            .as_array()
            .and_then(|parts| parts.last())
            .expect("Snapshot is the timer and its own fields");
        for (name, schema) in [
            ("RoomBody", &schemas["RoomBody"]),
            ("Snapshot", snapshot_own),
        ] {
            assert_eq!(
                schema["properties"]["settings"]["$ref"].as_str(),
                Some("#/components/schemas/RoomSettings"),
                "{name}"
            );
        }
        let settings = &schemas["RoomSettings"]["properties"];
        for field in ["autoStart", "breakEvery", "breakDuration"] {
            assert!(settings.get(field).is_some(), "RoomSettings.{field}");
        }
        assert_eq!(
            schemas["TimerView"]["properties"]["phase"]["$ref"].as_str(),
            Some("#/components/schemas/Period")
        );
        assert_eq!(
            schemas["Period"]["enum"],
            serde_json::json!(["turn", "break"])
        );
        let body = &doc["paths"]["/api/pair-room/{code}/settings"]["patch"]["requestBody"];
        assert!(body["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/SettingsBody")));
    }

    #[test]
    fn error_answers_use_the_error_schema() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let not_found = &doc["paths"]["/api/{code}/timer"]["get"]["responses"]["404"];
        let schema = not_found["content"]["application/json"]["schema"]["$ref"].as_str();
        assert_eq!(schema, Some("#/components/schemas/ErrorBody"));
    }
}
