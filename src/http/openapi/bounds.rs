//! The document's request bodies against the server's reading of them: every bound and
//! type the document states is the one the server enforces, at the limit and one past it.

use serde_json::{json, Value};
use utoipa::OpenApi;

use super::ApiDoc;
use crate::error::ApiError;
use crate::http::input;

/// A body schema of the document, and how the server reads that body.
struct Case {
    schema: &'static str,
    /// A valid body whose bounded fields other fields do not constrain (the durations
    /// at their maximum, so that a remaining time may reach it).
    base: Value,
    read: fn(&Value) -> Result<(), ApiError>,
}

fn cases() -> [Case; 5] {
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
        Case {
            schema: "JoinBody",
            base: json!({"name": "Newcomer"}),
            read: |body| input::join(body).map(drop),
        },
        Case {
            schema: "MembersBody",
            base: json!({"members": ["A", "B"]}),
            read: |body| input::set_members(body).map(drop),
        },
    ]
}

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).expect("serializes")
}

/// The schema `schema` names, following a `$ref` into the components, and past a `oneOf`
/// of `null` and one other schema (an optional field) to that other one.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(one_of) = schema["oneOf"].as_array() {
        let others: Vec<&Value> = one_of.iter().filter(|s| s["type"] != "null").collect();
        if let [other] = others[..] {
            return resolved(doc, other);
        }
    }
    match schema["$ref"].as_str() {
        Some(path) => {
            let name = path.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The JSON types `schema` allows (`null` among them for an optional field).
fn types<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a str> {
    if let Some(one_of) = schema["oneOf"].as_array() {
        return one_of.iter().flat_map(|s| types(doc, s)).collect();
    }
    let schema = resolved(doc, schema);
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        other => panic!("type {other} in {schema}"),
    }
}

/// `n` distinct names.
fn names(n: usize) -> Value {
    json!((0..n).map(|i| format!("member {i}")).collect::<Vec<_>>())
}

/// Sends `body` with `field` set to `value`; `Ok` or the refusal's message. A room's
/// `members` stand instead of its `driver` and `navigator`.
fn with(case: &Case, field: &str, value: Value) -> Result<(), String> {
    let mut body = case.base.clone();
    if field == "members" && !value.is_null() {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("driver");
            fields.remove("navigator");
        }
    }
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
            if let Some(max) = schema["maxItems"].as_u64() {
                let max = usize::try_from(max).expect("small");
                accepted(&case, field, names(max));
                refused_naming(&case, field, names(max + 1));
                bounds += 1;
            }
            if let Some(min) = schema["minItems"].as_u64() {
                let min = usize::try_from(min).expect("small");
                accepted(&case, field, names(min));
                refused_naming(&case, field, names(min - 1));
                bounds += 1;
            }
        }
    }
    // Two durations and two remaining times (min and max each), the mission URL, the
    // two names, the two settings bounds (min and max) in two bodies, the newcomer's name,
    // and the members' count (min and max) in two bodies.
    assert_eq!(
        bounds,
        4 + 4 + 1 + 2 + 8 + 1 + 4,
        "a bound was added or lost"
    );
}

#[test]
fn every_documented_type_is_the_enforced_one() {
    let doc = document();
    for case in cases() {
        let properties = doc["components"]["schemas"][case.schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{} has properties", case.schema));
        for (field, schema) in properties {
            let types = types(&doc, schema);
            let wrong = match types.iter().find(|t| **t != "null").copied() {
                Some("integer") => json!("60000"),
                Some("string") => json!(60000),
                Some("boolean") => json!("true"),
                Some("array") => json!("Ann"),
                other => panic!("{field}: no wrong value for {other:?}"),
            };
            refused_naming(&case, field, wrong);
            if types.contains(&"array") {
                refused_naming(&case, field, json!(["Ann", 1]));
            } else {
                refused_naming(&case, field, json!([1]));
            }
            if types.contains(&"integer") {
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
                // A room's names may be absent one form at a time, not both.
                if !["driver", "navigator"].contains(&field.as_str()) {
                    accepted(&case, field, Value::Null);
                }
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
