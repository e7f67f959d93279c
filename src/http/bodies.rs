//! The JSON request bodies, each declared once: its fields (serde), its schema in the
//! OpenAPI document (utoipa) and its bounds (garde) sit on the same type, and the unit
//! tests below check the documented bounds against the enforced ones. Fields not named
//! here are ignored, as the contract asks. Numbers are whole and written without a fraction
//! or an exponent (`60000`, not `60000.0`): JSON Schema cannot say so, the descriptions do.

use std::borrow::Cow;

use garde::Validate;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::pairing::{Command, NewRoom};
use crate::schedule::{RoomSettings, SettingsPatch, MAX_BREAK_EVERY};
use crate::timer::{MAX_BREAK_MS, MAX_DURATION_MS, MIN_BREAK_MS, MIN_DURATION_MS};

/// The longest name a navigator or driver may have, in characters.
pub const MAX_NAME_CHARS: usize = 20;
/// The longest mission URL, in characters.
pub const MAX_MISSION_URL_CHARS: usize = 2048;

/// Regular-expression classes of [`NAME_PATTERN`], in the dialect that JSON Schema (ECMA-262),
/// Python and Rust share: `\uXXXX` escapes and ranges only.
macro_rules! name_class {
    // Unicode `White_Space`, what `str::trim` takes off.
    (space) => {
        r"[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
    // Neither white space nor a control character (Unicode `Cc`).
    (edge) => {
        r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
    // Not a control character.
    (inner) => {
        r"[^\u0000-\u001F\u007F-\u009F]"
    };
}

/// A name as the server accepts it: any white space around 1 to 20 characters that are not
/// control characters and that neither start nor end with white space.
pub const NAME_PATTERN: &str = concat!(
    "^",
    name_class!(space),
    "*",
    name_class!(edge),
    // Up to 20 characters: an edge one, up to 18 of any kind, and another edge one.
    "(",
    name_class!(inner),
    "{0,18}",
    name_class!(edge),
    ")?",
    name_class!(space),
    "*$"
);

/// A navigator's or driver's name as sent; the server keeps it trimmed.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// The name without the white space around it.
    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }
}

impl PartialSchema for Name {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "1 to {MAX_NAME_CHARS} characters once the white space around them is trimmed \
                 (the name is kept trimmed), none of them a control character"
            )))
            .min_length(Some(1))
            .pattern(Some(NAME_PATTERN))
            .into()
    }
}

impl ToSchema for Name {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Name")
    }
}

/// The rule of [`NAME_PATTERN`], with a message for each way to break it.
fn valid_name(name: &Name, _: &()) -> garde::Result {
    let trimmed = name.trimmed();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(garde::Error::new(format!(
            "must be 1 to {MAX_NAME_CHARS} characters after trimming"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    Ok(())
}

/// The driver's rule beside [`valid_name`]: not the navigator's name, once both are trimmed.
fn differs_from(navigator: &Name) -> impl FnOnce(&Name, &()) -> garde::Result + '_ {
    move |driver, _| {
        if driver.trimmed() == navigator.trimmed() {
            return Err(garde::Error::new("must differ from navigator"));
        }
        Ok(())
    }
}

/// The rule of a remaining time beside its `minimum`: at most the duration its body names
/// (which the schema's `maximum` cannot say).
fn at_most_the(duration: &'static str, ms: i64) -> impl FnOnce(&Option<i64>, &()) -> garde::Result {
    move |remaining, _| match remaining {
        Some(remaining) if *remaining > ms => Err(garde::Error::new(format!(
            "must be at most the {duration} ({ms})"
        ))),
        _ => Ok(()),
    }
}

/// `POST /api/pair-room`: a new room. The settings are optional, as in
/// `PATCH /api/pair-room/{code}/settings`. Other fields are ignored.
/// Numbers are written without a fraction or an exponent (`60000`, not `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 1500000})))]
pub struct CreateRoomBody {
    /// Who guides.
    #[garde(custom(valid_name))]
    pub navigator: Name,
    /// Who types: as `navigator`, and not equal to it once both are trimmed.
    #[garde(custom(valid_name), custom(differs_from(&self.navigator)))]
    pub driver: Name,
    /// The full countdown of a turn, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000, example = 1500000)]
    #[garde(range(min = MIN_DURATION_MS, max = MAX_DURATION_MS))]
    pub timer_duration: i64,
    /// The ms left on the new timer: 1 to `timerDuration` (never more than `timerDuration`),
    /// `timerDuration` when absent. The timer is idle when it equals `timerDuration`, else
    /// paused.
    #[schema(minimum = 1, maximum = 86400000)]
    #[garde(range(min = 1), custom(at_most_the("timerDuration", self.timer_duration)))]
    pub timer_remaining_time: Option<i64>,
    /// A link to what the pair works on: at most 2048 characters, stored and returned as
    /// given (`""` when absent).
    #[schema(max_length = 2048)]
    #[garde(length(chars, max = MAX_MISSION_URL_CHARS))]
    pub mission_url: Option<String>,
    /// After a time-up, the next turn starts by itself (default `false`).
    #[garde(skip)]
    pub auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never, the default) to 20.
    #[schema(minimum = 0, maximum = 20)]
    #[garde(range(min = 0, max = MAX_BREAK_EVERY))]
    pub break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000 (default 300000).
    #[schema(minimum = 1000, maximum = 3600000)]
    #[garde(range(min = MIN_BREAK_MS, max = MAX_BREAK_MS))]
    pub break_duration: Option<i64>,
}

impl From<CreateRoomBody> for NewRoom {
    fn from(body: CreateRoomBody) -> NewRoom {
        let duration = body.timer_duration;
        NewRoom {
            navigator: body.navigator.trimmed().to_string(),
            driver: body.driver.trimmed().to_string(),
            mission_url: body.mission_url.unwrap_or_default(),
            duration,
            remaining: body.timer_remaining_time.unwrap_or(duration),
            settings: RoomSettings::default().patched(SettingsPatch {
                auto_start: body.auto_start,
                break_every: body.break_every,
                break_duration: body.break_duration,
            }),
        }
    }
}

/// `PATCH /api/pair-room/{code}/settings`: any subset of the three; the others are kept.
/// Other fields are ignored. Numbers are written without a fraction or an exponent
/// (`60000`, not `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SettingsBody {
    /// After a time-up, the next turn starts by itself.
    #[garde(skip)]
    pub auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never) to 20.
    #[schema(minimum = 0, maximum = 20)]
    #[garde(range(min = 0, max = MAX_BREAK_EVERY))]
    pub break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000.
    #[schema(minimum = 1000, maximum = 3600000)]
    #[garde(range(min = MIN_BREAK_MS, max = MAX_BREAK_MS))]
    pub break_duration: Option<i64>,
}

impl From<SettingsBody> for Command {
    fn from(body: SettingsBody) -> Command {
        Command::Settings(SettingsPatch {
            auto_start: body.auto_start,
            break_every: body.break_every,
            break_duration: body.break_duration,
        })
    }
}

/// `PATCH /api/{code}/timer`: a new duration, while the timer does not run. Other fields
/// are ignored. Numbers are written without a fraction or an exponent (`60000`, not
/// `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SetDurationBody {
    /// The full countdown of a turn, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000, example = 1500000)]
    #[garde(range(min = MIN_DURATION_MS, max = MAX_DURATION_MS))]
    pub duration: i64,
    /// The ms left: 1 to `duration` (never more than `duration`), `duration` when absent.
    /// The timer becomes idle when it equals `duration`, else paused.
    #[schema(minimum = 1, maximum = 86400000)]
    #[garde(range(min = 1), custom(at_most_the("duration", self.duration)))]
    pub remaining_time: Option<i64>,
}

impl From<SetDurationBody> for Command {
    fn from(body: SetDurationBody) -> Command {
        Command::SetDuration {
            duration: body.duration,
            remaining: body.remaining_time.unwrap_or(body.duration),
        }
    }
}

/// The one status a client may set.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum SettableStatus {
    /// The pair is done.
    #[serde(rename = "COMPLETED")]
    Completed,
}

/// `PATCH /api/pair-room/{code}/status`: `{"status": "COMPLETED"}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct StatusBody {
    /// Only `COMPLETED` may be set.
    #[garde(skip)]
    pub status: SettableStatus,
}

impl From<StatusBody> for Command {
    fn from(body: StatusBody) -> Command {
        match body.status {
            SettableStatus::Completed => Command::Complete,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use utoipa::OpenApi;

    use crate::error::ApiError;
    use crate::http::input;
    use crate::http::openapi::ApiDoc;

    /// A body schema of the document, and how the server reads that body.
    struct Case {
        schema: &'static str,
        /// A valid body whose bounded fields other fields do not constrain (the durations
        /// at their maximum, so that a remaining time may reach it).
        base: Value,
        read: fn(&Value) -> Result<(), ApiError>,
    }

    fn cases() -> [Case; 3] {
        [
            Case {
                schema: "CreateRoomBody",
                base: json!({"navigator": "A", "driver": "B", "timerDuration": 86_400_000}),
                read: |body| input::new_room(body).map(drop),
            },
            Case {
                schema: "SetDurationBody",
                base: json!({"duration": 86_400_000}),
                read: |body| input::set_duration(body).map(drop),
            },
            Case {
                schema: "SettingsBody",
                base: json!({}),
                read: |body| input::settings(body).map(drop),
            },
        ]
    }

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("serializes")
    }

    /// The schema `schema` names, following a `$ref` into the components.
    fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(path) => {
                let name = path.rsplit('/').next().unwrap_or_default();
                &doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    /// Sends `body` with `field` set to `value`; `Ok` or the refusal's message.
    fn with(case: &Case, field: &str, value: Value) -> Result<(), String> {
        let mut body = case.base.clone();
        body[field] = value;
        match (case.read)(&body) {
            Ok(()) => Ok(()),
            Err(ApiError::InvalidRequest(message)) => Err(message),
            Err(other) => panic!("{body}: refused with {other:?}, not a 400"),
        }
    }

    fn refused_naming(case: &Case, field: &str, value: Value) {
        match with(case, field, value.clone()) {
            Ok(()) => panic!("{}.{field} = {value} was accepted", case.schema),
            Err(message) => assert!(message.contains(field), "{field} = {value}: {message}"),
        }
    }

    fn accepted(case: &Case, field: &str, value: Value) {
        if let Err(message) = with(case, field, value.clone()) {
            panic!("{}.{field} = {value} was refused: {message}", case.schema);
        }
    }

    #[test]
    fn every_documented_bound_is_the_enforced_one() {
        let doc = document();
        let mut bounds = 0;
        for case in cases() {
            let properties = doc["components"]["schemas"][case.schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{} has properties", case.schema));
            for (field, schema) in properties {
                let schema = resolved(&doc, schema);
                if let Some(max) = schema["maximum"].as_i64() {
                    accepted(&case, field, json!(max));
                    refused_naming(&case, field, json!(max + 1));
                    bounds += 1;
                }
                if let Some(min) = schema["minimum"].as_i64() {
                    accepted(&case, field, json!(min));
                    refused_naming(&case, field, json!(min - 1));
                    bounds += 1;
                }
                // Lengths count characters, as JSON Schema does: a two-byte one here.
                if let Some(max) = schema["maxLength"].as_u64() {
                    let max = usize::try_from(max).expect("small");
                    accepted(&case, field, json!("é".repeat(max)));
                    refused_naming(&case, field, json!("é".repeat(max + 1)));
                    bounds += 1;
                }
                if let Some(min) = schema["minLength"].as_u64() {
                    let min = usize::try_from(min).expect("small");
                    refused_naming(&case, field, json!("é".repeat(min - 1)));
                    bounds += 1;
                }
            }
        }
        // Two durations and two remaining times (min and max each), the mission URL, the
        // two names, and the two settings bounds (min and max) in two bodies.
        assert_eq!(bounds, 4 + 4 + 1 + 2 + 8, "a bound was added or lost");
    }

    #[test]
    fn every_documented_type_is_the_enforced_one() {
        let doc = document();
        for case in cases() {
            let properties = doc["components"]["schemas"][case.schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{} has properties", case.schema));
            for (field, schema) in properties {
                let schema = resolved(&doc, schema);
                let types: Vec<&str> = match &schema["type"] {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    other => panic!("{field}: type {other}"),
                };
                let wrong = match types[0] {
                    "integer" => json!("60000"),
                    "string" => json!(60000),
                    "boolean" => json!("true"),
                    other => panic!("{field}: no wrong value for {other}"),
                };
                refused_naming(&case, field, wrong);
                refused_naming(&case, field, json!([1]));
                if types[0] == "integer" {
                    // A fraction is refused even when JSON Schema would count it as an
                    // integer; the descriptions say numbers are written without one.
                    refused_naming(&case, field, json!(60000.5));
                    refused_naming(&case, field, json!(60000.0));
                }
                // An optional field may be null: it is then absent.
                let required = doc["components"]["schemas"][case.schema]["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|name| name == field.as_str()));
                if required {
                    refused_naming(&case, field, Value::Null);
                } else {
                    assert!(types.contains(&"null"), "{field} is optional: null");
                    accepted(&case, field, Value::Null);
                }
            }
        }
    }

    #[test]
    fn a_remaining_time_is_at_most_the_duration_and_its_description_says_so() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for (case, remaining, duration) in [
            ("CreateRoomBody", "timerRemainingTime", "timerDuration"),
            ("SetDurationBody", "remainingTime", "duration"),
        ] {
            let description = schemas[case]["properties"][remaining]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                description.contains(&format!("never more than `{duration}`")),
                "{case}.{remaining}: {description}"
            );
            let case = cases()
                .into_iter()
                .find(|c| c.schema == case)
                .expect("a case");
            for (d, r, ok) in [(5000, 5000, true), (5000, 5001, false), (1000, 1000, true)] {
                let mut body = case.base.clone();
                body[duration] = json!(d);
                body[remaining] = json!(r);
                match (case.read)(&body) {
                    Ok(()) => assert!(ok, "{body} was accepted"),
                    Err(ApiError::InvalidRequest(m)) => {
                        assert!(!ok, "{body} was refused: {m}");
                        assert!(m.contains(remaining), "{body}: {m}");
                    }
                    Err(other) => panic!("{body}: {other:?}"),
                }
            }
        }
    }

    /// Names around the pattern's edges: every character up to U+3100 (all of Unicode's
    /// white space and control characters among them) alone, inside and around a name,
    /// and names at and over the length bound with and without white space around them.
    fn sample_names() -> Vec<String> {
        let mut names = Vec::new();
        for c in (0..0x3100).filter_map(char::from_u32).chain(['\u{1F600}']) {
            names.push(c.to_string());
            names.push(format!("a{c}b"));
            names.push(format!("{c}ab"));
            names.push(format!("ab{c}"));
        }
        for core in [
            "x".repeat(20),
            "😀".repeat(20),
            format!("x{}x", " ".repeat(18)),
        ] {
            names.push(core.clone());
            names.push(format!(" \t{core}\u{3000}\n"));
            names.push(format!("{core}y"));
            names.push(format!(" {core}y "));
        }
        names.push(String::new());
        names.push("\u{2028}\u{2029}".to_string());
        names
    }

    #[test]
    fn the_name_pattern_accepts_exactly_the_names_the_server_accepts() {
        let doc = document();
        let name = &doc["components"]["schemas"]["Name"];
        let pattern = regex::Regex::new(name["pattern"].as_str().expect("a pattern"))
            .expect("the pattern compiles");
        assert_eq!(name["minLength"], 1);
        let case = cases().into_iter().next().expect("the creation");
        for sample in sample_names() {
            // A driver no sample trims to, so that only the navigator's rules apply.
            let mut body = case.base.clone();
            body["navigator"] = json!(sample);
            body["driver"] = json!("driver-of-the-test");
            let accepted = (case.read)(&body).is_ok();
            assert_eq!(pattern.is_match(&sample), accepted, "{sample:?}");
        }
    }
}
