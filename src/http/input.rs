//! Request bodies: how JSON is read, and the validation that turns it into domain
//! values, with a message that names the field at fault.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use serde_json::{Map, Value};

use super::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::pairing::{Command, NewRoom, RoomStatus};
use crate::schedule::{RoomSettings, SettingsPatch, MAX_BREAK_EVERY};
use crate::timer::{MAX_BREAK_MS, MAX_DURATION_MS, MIN_BREAK_MS, MIN_DURATION_MS};

/// The longest name a navigator or driver may have, in characters.
pub const MAX_NAME_CHARS: usize = 20;
/// The longest mission URL, in characters.
pub const MAX_MISSION_URL_CHARS: usize = 2048;

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

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("the body must be a JSON object"))
}

/// A present, non-null field.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn integer(obj: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match field(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer of milliseconds"))),
    }
}

fn duration(obj: &Map<String, Value>, name: &str) -> Result<i64, ApiError> {
    let ms = integer(obj, name)?.ok_or_else(|| ApiError::invalid(format!("{name} is required")))?;
    if !(MIN_DURATION_MS..=MAX_DURATION_MS).contains(&ms) {
        return Err(ApiError::invalid(format!(
            "{name} must be between {MIN_DURATION_MS} and {MAX_DURATION_MS} milliseconds"
        )));
    }
    Ok(ms)
}

fn remaining(obj: &Map<String, Value>, name: &str, duration: i64) -> Result<i64, ApiError> {
    let ms = integer(obj, name)?.unwrap_or(duration);
    if !(1..=duration).contains(&ms) {
        return Err(ApiError::invalid(format!(
            "{name} must be between 1 and the duration ({duration} milliseconds)"
        )));
    }
    Ok(ms)
}

fn name(obj: &Map<String, Value>, field_name: &str) -> Result<String, ApiError> {
    let raw = match field(obj, field_name) {
        None => return Err(ApiError::invalid(format!("{field_name} is required"))),
        Some(Value::String(s)) => s,
        Some(_) => return Err(ApiError::invalid(format!("{field_name} must be a string"))),
    };
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "{field_name} must be 1 to {MAX_NAME_CHARS} characters after trimming"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field_name} must not contain control characters"
        )));
    }
    Ok(trimmed.to_string())
}

/// The room settings named in `obj` (`autoStart`, `breakEvery`, `breakDuration`), each
/// optional; anything else in `obj` is not looked at.
fn settings_patch(obj: &Map<String, Value>) -> Result<SettingsPatch, ApiError> {
    let auto_start = match field(obj, "autoStart") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::invalid("autoStart must be true or false")),
    };
    let break_every = match field(obj, "breakEvery") {
        None => None,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_BREAK_EVERY).contains(&n) => Some(n),
            _ => {
                return Err(ApiError::invalid(format!(
                    "breakEvery must be an integer from 0 (never) to {MAX_BREAK_EVERY}"
                )))
            }
        },
    };
    let break_duration = match integer(obj, "breakDuration")? {
        Some(ms) if !(MIN_BREAK_MS..=MAX_BREAK_MS).contains(&ms) => {
            return Err(ApiError::invalid(format!(
                "breakDuration must be between {MIN_BREAK_MS} and {MAX_BREAK_MS} milliseconds"
            )))
        }
        ms => ms,
    };
    Ok(SettingsPatch {
        auto_start,
        break_every,
        break_duration,
    })
}

/// `PATCH /api/pair-room/{code}/settings`: any of `{autoStart, breakEvery, breakDuration}`.
pub fn settings(body: &Value) -> Result<Command, ApiError> {
    Ok(Command::Settings(settings_patch(object(body)?)?))
}

/// `POST /api/pair-room`: `{navigator, driver, timerDuration, timerRemainingTime?, missionUrl?,
/// autoStart?, breakEvery?, breakDuration?}`.
pub fn new_room(body: &Value) -> Result<NewRoom, ApiError> {
    let obj = object(body)?;
    let navigator = name(obj, "navigator")?;
    let driver = name(obj, "driver")?;
    if navigator == driver {
        return Err(ApiError::invalid("navigator and driver must differ"));
    }
    let duration = duration(obj, "timerDuration")?;
    let remaining = remaining(obj, "timerRemainingTime", duration)?;
    let mission_url = match field(obj, "missionUrl") {
        None => String::new(),
        Some(Value::String(s)) if s.chars().count() <= MAX_MISSION_URL_CHARS => s.clone(),
        Some(Value::String(_)) => {
            return Err(ApiError::invalid(format!(
                "missionUrl must be at most {MAX_MISSION_URL_CHARS} characters"
            )))
        }
        Some(_) => return Err(ApiError::invalid("missionUrl must be a string")),
    };
    let settings = RoomSettings::default().patched(settings_patch(obj)?);
    Ok(NewRoom {
        navigator,
        driver,
        mission_url,
        duration,
        remaining,
        settings,
    })
}

/// `PATCH /api/{code}/timer`: `{duration, remainingTime?}`.
pub fn set_duration(body: &Value) -> Result<Command, ApiError> {
    let obj = object(body)?;
    let duration = duration(obj, "duration")?;
    let remaining = remaining(obj, "remainingTime", duration)?;
    Ok(Command::SetDuration {
        duration,
        remaining,
    })
}

/// The `round` of `PATCH /api/pair-room/{code}/pair-swap?round=N`, when given.
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
    let completed = RoomStatus::Completed.as_str();
    match field(object(body)?, "status") {
        Some(Value::String(s)) if s == completed => Ok(Command::Complete),
        _ => Err(ApiError::invalid(format!("status must be \"{completed}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            (r.navigator.as_str(), r.remaining, r.mission_url.as_str()),
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
