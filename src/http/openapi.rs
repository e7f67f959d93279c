//! The OpenAPI 3.2 document of the HTTP API, generated from the handlers' annotations and
//! the types they read and answer with, served at `/api/openapi.json` and browsable at
//! `/api/docs/`.
//!
//! - `bounds` (tests): the bodies' documented bounds against the enforced ones.
//! - `links`: the links from a created room's access code to every operation that takes it.
//!
//! The API browser's files answer `HEAD` as they answer `GET`, like every other page
//! ([`head_as_get`]).

#[cfg(test)]
mod bounds;
mod links;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use self::links::AccessCodeLinks;
use super::api_types::{Status, StreamEvent};
use super::bodies::{
    CategoryBody, CategoryRenameBody, ContentsBody, CreateRoomBody, JoinBody, LinkBody,
    MemberNames, MembersBody, OrderBody, SetDurationBody, SettingsBody, StatusBody, TodoBody,
};
use super::{
    admin, events, goals, health, history, members, pages, pair_room, reference_links, sign_in,
    timer,
};
use crate::error::ErrorBody;
use crate::rules::{
    Category, Goal, LinkView, Phase, PresenceView, RoomSettings, RoomStatus, Snapshot, StateName,
    TimerView,
};

/// Where the API browser's files are served.
const BROWSER_PREFIX: &str = "/api/docs/";

/// Routes a `HEAD` for the API browser's files as a `GET`: its routes answer `GET` only.
/// The connection still knows the request was a `HEAD`, so the answer carries the
/// headers and no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD && req.path().starts_with(BROWSER_PREFIX) {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

struct BearerScheme;

impl Modify for BearerScheme {
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
    version = "3.2.0",
    info(
        title = "pairsync",
        description = "A pair-programming timer kept in sync across every screen of a pair room."
    ),
    paths(
        pair_room::create, pair_room::exists, pair_room::read, pair_room::swap,
        pair_room::status, pair_room::settings, pair_room::delete,
        members::join, members::replace, members::leave, history::read,
        goals::list, goals::add, goals::edit, goals::reorder, goals::check, goals::remove,
        reference_links::list, reference_links::add_link, reference_links::remove_link,
        reference_links::categories, reference_links::add_category,
        reference_links::rename_category, reference_links::remove_category, sign_in::check,
        timer::read, timer::update, timer::start, timer::stop, timer::reset, timer::next,
        events::connect,
        health::healthz, health::readyz, health::metrics,
        admin::list, admin::read,
        pages::index, pages::room, pages::asset,
        document,
    ),
    components(schemas(
        pair_room::Created, pair_room::Exists, pair_room::RoomBody, RoomStatus, TimerView,
        Snapshot, StateName, Phase, RoomSettings, ErrorBody,
        CreateRoomBody, SetDurationBody, StatusBody, SettingsBody, Status, StreamEvent,
        JoinBody, MembersBody, MemberNames, PresenceView, history::HistoryBody,
        history::TurnBody, history::TotalBody, Goal, Category, LinkView, sign_in::SignedIn,
        TodoBody, ContentsBody, OrderBody, CategoryBody, CategoryRenameBody, LinkBody,
        admin::Entry, admin::Listing, admin::Scope
    )),
    modifiers(&BearerScheme, &AccessCodeLinks)
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
        // Flattened fields make an `allOf`: the fields of every part, each part's own.
        let fields = |schema: &serde_json::Value| -> serde_json::Map<String, serde_json::Value> {
            let parts = match schema["allOf"].as_array() {
                Some(parts) => parts.clone(),
                None => vec![schema.clone()],
            };
            let mut all = serde_json::Map::new();
            for part in parts {
                let part = match part["$ref"].as_str() {
                    Some(r) => schemas[r.rsplit('/').next().unwrap_or_default()].clone(),
                    None => part,
                };
                if let Some(props) = part["properties"].as_object() {
                    all.extend(props.clone());
                }
            }
            all
        };
        for name in ["RoomBody", "Snapshot"] {
            let fields = fields(&schemas[name]);
            assert_eq!(
                fields["settings"]["$ref"].as_str(),
                Some("#/components/schemas/RoomSettings"),
                "{name}"
            );
            for field in ["members", "here", "watching", "navigator", "driver"] {
                assert!(fields.contains_key(field), "{name}.{field}");
            }
        }
        let settings = &schemas["RoomSettings"]["properties"];
        for field in ["autoStart", "breakEvery", "breakDuration"] {
            assert!(settings.get(field).is_some(), "RoomSettings.{field}");
        }
        assert_eq!(
            schemas["TimerView"]["properties"]["phase"]["$ref"].as_str(),
            Some("#/components/schemas/Phase")
        );
        assert_eq!(
            schemas["Phase"]["enum"],
            serde_json::json!(["turn", "break"])
        );
        let body = &doc["paths"]["/api/pair-room/{code}/settings"]["patch"]["requestBody"];
        assert!(body["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/SettingsBody")));
    }

    /// Every operation of the document: `(path, method, operation)`.
    fn operations(doc: &serde_json::Value) -> Vec<(&str, &str, &serde_json::Value)> {
        let paths = doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().expect("path item");
                item.iter()
                    .map(move |(method, op)| (path.as_str(), method.as_str(), op))
            })
            .collect()
    }

    #[test]
    fn a_created_rooms_access_code_links_to_every_operation_that_takes_it() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let created = &doc["paths"]["/api/pair-room"]["post"]["responses"]["201"];
        assert_eq!(
            created["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Created"
        );
        assert!(doc["components"]["schemas"]["Created"]["properties"]["accessCode"].is_object());
        let links = created["links"].as_object().expect("links");
        let mut ids = std::collections::HashSet::new();
        let mut linked = 0;
        for (path, method, op) in operations(&doc) {
            let id = op["operationId"].as_str().expect("an operation id");
            assert!(ids.insert(id), "operation id {id} is used twice");
            let parameter = if path.contains("{code}") {
                "code"
            } else if path == "/api/pair-room/exists" {
                "access_code"
            } else {
                assert!(links.get(id).is_none(), "{method} {path} takes no code");
                continue;
            };
            let link = &links[id];
            assert_eq!(link["operationId"], id, "{method} {path}");
            assert_eq!(
                link["parameters"][parameter], "$response.body#/accessCode",
                "{method} {path}"
            );
            linked += 1;
        }
        // Every room route that takes a code, the pages' and the operators' included.
        let with_code = super::super::route_table()
            .iter()
            .filter(|(path, _)| path.contains("{code}"))
            .count();
        assert_eq!(linked, with_code + 1);
        assert_eq!(links.len(), linked);
    }

    #[test]
    fn the_stream_is_described_event_by_event() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        assert_eq!(doc["openapi"], "3.2.0", "itemSchema is OpenAPI 3.2");
        let stream = &doc["paths"]["/api/{code}/connect"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"];
        assert_eq!(
            stream["itemSchema"]["$ref"],
            "#/components/schemas/StreamEvent"
        );
        let kinds = doc["components"]["schemas"]["StreamEvent"]["oneOf"]
            .as_array()
            .expect("one schema per kind of event");
        let names: Vec<&str> = kinds
            .iter()
            .map(|k| k["properties"]["event"]["enum"][0].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [
                "connect",
                "remaining-time",
                "timer",
                "state",
                "presence",
                "todos",
                "links",
                "close"
            ]
        );
        for (kind, item) in [(5, "Goal"), (6, "LinkView")] {
            let data = &kinds[kind]["properties"]["data"];
            assert_eq!(data["contentMediaType"], "application/json");
            assert_eq!(
                data["contentSchema"]["items"]["$ref"],
                format!("#/components/schemas/{item}")
            );
        }
        for kind in kinds {
            assert_eq!(kind["required"], serde_json::json!(["event", "data", "id"]));
        }
        let words: Vec<&str> = crate::rules::TimerEvent::ALL
            .iter()
            .map(|e| e.as_str())
            .collect();
        assert_eq!(
            kinds[2]["properties"]["data"]["enum"],
            serde_json::json!(words)
        );
        let state = &kinds[3]["properties"]["data"];
        assert_eq!(state["contentMediaType"], "application/json");
        assert_eq!(
            state["contentSchema"]["$ref"],
            "#/components/schemas/Snapshot"
        );
    }

    #[test]
    fn error_answers_use_the_error_schema() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let not_found = &doc["paths"]["/api/{code}/timer"]["get"]["responses"]["404"];
        let schema = not_found["content"]["application/json"]["schema"]["$ref"].as_str();
        assert_eq!(schema, Some("#/components/schemas/ErrorBody"));
    }
}
