//! Request bodies and query values as the handlers read them: JSON off the wire, then the
//! body type of [`super::bodies`] with its validation, refused with a `400` whose message
//! names the field at fault.

mod field_order;
mod wording;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use garde::Validate;
use serde::de::DeserializeOwned;
use serde_json::Value;

use self::field_order::InFieldOrder;
use super::bodies::{
    CategoryBody, CategoryRenameBody, ContentsBody, CreateRoomBody, JoinBody, LinkBody,
    MembersBody, OrderBody, SetDurationBody, SettingsBody, StatusBody, TodoBody,
};
use super::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::rules::{links, members, Command, NewRoom};

pub use super::bodies::{MAX_MISSION_URL_CHARS, MAX_NAME_CHARS};

/// JSON bodies: at most [`MAX_BODY_BYTES`], any content type, errors as the contract's JSON.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(false)
        .error_handler(|err, _req: &HttpRequest| {
            match err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => ApiError::PayloadTooLarge,
                JsonPayloadError::Deserialize(e) => {
                    ApiError::invalid(format!("the body is not valid JSON: {e}"))
                }
                JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
                    ApiError::PayloadTooLarge
                }
                other => ApiError::invalid(format!("the body could not be read: {other}")),
            }
            .into()
        })
}

/// A path segment that cannot be decoded names no room.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_: PathError, _| ApiError::RoomNotFound.into())
}

/// Query strings that do not parse are a 400 naming the problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::invalid(format!("invalid query string: {err}")).into()
    })
}

/// `body` as a `T`: a JSON object whose fields have the types `T` declares (unknown fields
/// are ignored) and keep the bounds it declares. The message names one fault, whatever the
/// order of the keys: a wrong type first, then a missing field, then a broken bound, each
/// in the order `T` declares its fields.
pub fn read<T>(body: &Value) -> Result<T, ApiError>
where
    T: DeserializeOwned + Validate<Context = ()>,
{
    let Value::Object(object) = body else {
        return Err(ApiError::invalid("the body must be a JSON object"));
    };
    let typed: T = serde_path_to_error::deserialize(InFieldOrder(object.clone()))
        .map_err(|e| ApiError::invalid(wording::type_fault(&e)))?;
    garde::with_i18n(wording::Predicates, || typed.validate())
        .map_err(|report| ApiError::invalid(wording::sentence(&report)))?;
    Ok(typed)
}

/// `PATCH /api/pair-room/{code}/settings`: any of `{autoStart, breakEvery, breakDuration}`.
pub fn settings(body: &Value) -> Result<Command, ApiError> {
    read::<SettingsBody>(body).map(Command::from)
}

/// `POST /api/pair-room`: `{navigator, driver | members, timerDuration, timerRemainingTime?,
/// missionUrl?, autoStart?, breakEvery?, breakDuration?}`.
pub fn new_room(body: &Value) -> Result<NewRoom, ApiError> {
    let body = read::<CreateRoomBody>(body)?;
    let members = body.members().map_err(ApiError::invalid)?;
    Ok(body.into_new_room(members))
}

/// `POST /api/pair-room/{code}/members`: `{"name"}`.
pub fn join(body: &Value) -> Result<Command, ApiError> {
    read::<JoinBody>(body).map(Command::from)
}

/// `PUT /api/pair-room/{code}/members`: `{"members": [names]}`.
pub fn set_members(body: &Value) -> Result<Command, ApiError> {
    read::<MembersBody>(body)?
        .command()
        .map_err(ApiError::invalid)
}

/// `POST /api/{code}/todos`: `{"content"}`, trimmed.
pub fn todo(body: &Value) -> Result<String, ApiError> {
    read::<TodoBody>(body).map(|b| b.content.trimmed().to_string())
}

/// `PATCH /api/todos/{id}/contents`: `{"contents"}`, trimmed.
pub fn contents(body: &Value) -> Result<String, ApiError> {
    read::<ContentsBody>(body).map(|b| b.contents.trimmed().to_string())
}

/// `PATCH /api/todos/{id}/order`: `{"order"}`, a position from 0.
pub fn order(body: &Value) -> Result<u64, ApiError> {
    let order = read::<OrderBody>(body)?.order;
    u64::try_from(order).map_err(|_| ApiError::invalid("order must be at least 0"))
}

/// `POST /api/{code}/category`: `{"value"}`, trimmed.
pub fn category(body: &Value) -> Result<String, ApiError> {
    read::<CategoryBody>(body).map(|b| b.value.trimmed().to_string())
}

/// `PATCH /api/{code}/category`: `{"categoryId", "updatedCategoryName"}`; the id and the
/// trimmed name.
pub fn category_rename(body: &Value) -> Result<(String, String), ApiError> {
    read::<CategoryRenameBody>(body)
        .map(|b| (b.category_id, b.updated_category_name.trimmed().to_string()))
}

/// `POST /api/{code}/reference-link`: `{"url", "categoryId"}`; the URL, its host, and the
/// category's id when one is named.
pub fn link(body: &Value) -> Result<(String, String, Option<String>), ApiError> {
    let body = read::<LinkBody>(body)?;
    let (url, host) = links::url(body.url.trimmed()).map_err(|_| {
        ApiError::invalid("url must be an http or https URL of at most 2048 characters")
    })?;
    Ok((url, host, body.category_id))
}

/// The `name` of `GET /api/{code}/connect?name=NAME`, when given: a member name's rules.
pub fn stream_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|name| members::name(name).map_err(|e| ApiError::invalid(format!("name {e}"))))
        .transpose()
}

/// `PATCH /api/{code}/timer`: `{duration, remainingTime?}`.
pub fn set_duration(body: &Value) -> Result<Command, ApiError> {
    read::<SetDurationBody>(body).map(Command::from)
}

/// The `round` of `PATCH /api/pair-room/{code}/pair-swap?round=N` (or of `timer/next`),
/// when given.
pub fn round(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|n| {
        n.parse()
            .map_err(|_| ApiError::invalid("round must be an integer"))
    })
    .transpose()
}

/// `PATCH /api/pair-room/{code}/status`: `{"status": "COMPLETED"}`, the one status a
/// client may set.
pub fn status(body: &Value) -> Result<Command, ApiError> {
    read::<StatusBody>(body).map(Command::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RoomSettings, SettingsPatch};
    use serde_json::json;

    fn message(r: Result<NewRoom, ApiError>) -> String {
        match r {
            Err(ApiError::InvalidRequest(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_full_request_is_trimmed_and_defaults_remaining_to_duration() {
        let r =
            new_room(&json!({"navigator": "  Ada ", "driver": "Linus", "timerDuration": 60000}))
                .expect("valid");
        assert_eq!(
            (r.members.navigator(), r.remaining, r.mission_url.as_str()),
            ("Ada", 60000, "")
        );
    }

    #[test]
    fn each_failed_validation_names_its_field() {
        let base = json!({"navigator": "A", "driver": "B", "timerDuration": 60000});
        let cases = [
            ("navigator", json!("")),
            ("navigator", json!("x".repeat(21))),
            ("navigator", json!("a\u{7}b")),
            ("driver", json!(5)),
            ("timerDuration", json!(999)),
            ("timerDuration", json!(86_400_001)),
            ("timerDuration", json!("60000")),
            ("timerDuration", json!(1500.5)),
            ("timerRemainingTime", json!(0)),
            ("timerRemainingTime", json!(60001)),
            ("missionUrl", json!("u".repeat(2049))),
            ("missionUrl", json!(["x"])),
            ("autoStart", json!("yes")),
            ("autoStart", json!(1)),
            ("breakEvery", json!(-1)),
            ("breakEvery", json!(21)),
            ("breakEvery", json!(2.5)),
            ("breakDuration", json!(999)),
            ("breakDuration", json!(3_600_001)),
            ("breakDuration", json!("300000")),
        ];
        for (field, value) in cases {
            let mut body = base.clone();
            body[field] = value.clone();
            let m = message(new_room(&body));
            assert!(m.contains(field), "{field}={value}: {m}");
        }
    }

    #[test]
    fn a_new_room_takes_its_settings_or_the_defaults() {
        let base = json!({"navigator": "A", "driver": "B", "timerDuration": 60000});
        assert_eq!(
            new_room(&base).expect("valid").settings,
            RoomSettings::default()
        );
        let mut full = base.clone();
        full["autoStart"] = json!(true);
        full["breakEvery"] = json!(20);
        full["breakDuration"] = json!(1000);
        full["pairId"] = json!(null);
        assert_eq!(
            new_room(&full).expect("valid").settings,
            RoomSettings {
                auto_start: true,
                break_every: 20,
                break_duration: 1000
            }
        );
    }

    #[test]
    fn a_settings_change_names_any_subset_ignores_other_fields_and_names_a_bad_field() {
        assert_eq!(
            settings(&json!({"breakEvery": 0, "theme": "dark"})),
            Ok(Command::Settings(SettingsPatch {
                break_every: Some(0),
                ..SettingsPatch::default()
            }))
        );
        assert_eq!(
            settings(&json!({})),
            Ok(Command::Settings(SettingsPatch::default()))
        );
        for (body, field) in [
            (json!({"autoStart": "true"}), "autoStart"),
            (json!({"breakEvery": 100}), "breakEvery"),
            (json!({"breakDuration": 3_600_001}), "breakDuration"),
            (json!({"breakDuration": 1.5}), "breakDuration"),
            (json!([true]), "object"),
        ] {
            match settings(&body) {
                Err(ApiError::InvalidRequest(m)) => assert!(m.contains(field), "{body}: {m}"),
                other => panic!("{body}: expected a 400, got {other:?}"),
            }
        }
    }

    #[test]
    fn equal_names_and_missing_fields_are_refused() {
        assert!(message(new_room(
            &json!({"navigator": "A", "driver": " A ", "timerDuration": 1000})
        ))
        .contains("differ"));
        assert!(
            message(new_room(&json!({"driver": "B", "timerDuration": 1000}))).contains("navigator")
        );
        assert!(message(new_room(&json!([1, 2]))).contains("object"));
    }

    #[test]
    fn set_duration_defaults_remaining_and_checks_bounds() {
        assert_eq!(
            set_duration(&json!({"duration": 5000})),
            Ok(Command::SetDuration {
                duration: 5000,
                remaining: 5000
            })
        );
        assert!(set_duration(&json!({"duration": 5000, "remainingTime": 6000})).is_err());
        assert!(set_duration(&json!({})).is_err());
    }

    #[test]
    fn a_swap_round_is_an_integer_when_given() {
        assert_eq!(round(None), Ok(None));
        assert_eq!(round(Some("3")), Ok(Some(3)));
        for bad in ["", "x", "1.5", "99999999999999999999"] {
            match round(Some(bad)) {
                Err(ApiError::InvalidRequest(m)) => assert!(m.contains("round"), "{bad}: {m}"),
                other => panic!("{bad}: expected a 400, got {other:?}"),
            }
        }
    }

    #[test]
    fn only_the_completed_status_may_be_set() {
        assert_eq!(
            status(&json!({"status": "COMPLETED"})),
            Ok(Command::Complete)
        );
        for body in [
            json!({"status": "IN_PROGRESS"}),
            json!({"status": "completed"}),
            json!({"status": null}),
            json!({"status": 1}),
            json!({}),
        ] {
            match status(&body) {
                Err(ApiError::InvalidRequest(m)) => assert!(m.contains("status"), "{body}: {m}"),
                other => panic!("{body}: expected a 400, got {other:?}"),
            }
        }
        assert!(status(&json!("COMPLETED")).is_err());
    }
}
