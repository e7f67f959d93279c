//! Every JSON request body, as bytes off the wire: the room creation, the timer update,
//! the status change, a member joining and the whole order of members, and the query
//! values `round` and `name`. None may panic; each refusal is a 400 with a message; and
//! whatever is accepted keeps the contract's bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pairsync::error::ApiError;
use pairsync::http::input::{self, MAX_MISSION_URL_CHARS, MAX_NAME_CHARS};
use pairsync::rules::{Command, Members, MAX_DURATION_MS, MAX_MEMBERS, MIN_DURATION_MS, MIN_MEMBERS};
use serde_json::Value;

/// A refusal must be the contract's `400 invalid_request` with a sentence.
fn refused_in_words(error: &ApiError) {
    match error {
        ApiError::InvalidRequest(message) => assert!(!message.is_empty()),
        other => panic!("a body was refused with {other:?}, not a 400"),
    }
}

/// The timer bounds every accepted body keeps.
fn timer_in_bounds(duration: i64, remaining: i64) {
    assert!((MIN_DURATION_MS..=MAX_DURATION_MS).contains(&duration));
    assert!((1..=duration).contains(&remaining));
}

/// A name as the contract accepts it: trimmed, 1 to 20 characters, no control character,
/// and the trimmed string field of the body.
fn name_kept(name: &str, sent: &Value) {
    assert_eq!(Some(name), sent.as_str().map(str::trim));
    let chars = name.chars().count();
    assert!((1..=MAX_NAME_CHARS).contains(&chars), "{name:?}");
    assert!(!name.chars().any(char::is_control), "{name:?}");
}

/// Members as the contract accepts them: 2 to 12 names, each kept, no two the same.
fn members_kept(members: &Members, sent: &[Value]) {
    let names = members.names();
    assert!((MIN_MEMBERS..=MAX_MEMBERS).contains(&names.len()));
    assert_eq!(names.len(), sent.len());
    for (name, sent) in names.iter().zip(sent) {
        name_kept(name, sent);
    }
    for (i, name) in names.iter().enumerate() {
        assert!(!names[i + 1..].contains(name), "{name:?} twice");
    }
}

fn check_new_room(body: &Value) {
    match input::new_room(body) {
        Ok(room) => {
            match body["members"].as_array() {
                Some(sent) => {
                    assert!(body["driver"].is_null() && body["navigator"].is_null());
                    members_kept(&room.members, sent);
                }
                None => {
                    name_kept(room.members.navigator(), &body["navigator"]);
                    name_kept(room.members.driver(), &body["driver"]);
                    assert_eq!(room.members.names().len(), 2);
                }
            }
            timer_in_bounds(room.duration, room.remaining);
            assert_eq!(Some(room.duration), body["timerDuration"].as_i64());
            assert!(room.mission_url.chars().count() <= MAX_MISSION_URL_CHARS);
            match &body["missionUrl"] {
                Value::Null => assert_eq!(room.mission_url, ""),
                sent => assert_eq!(Some(room.mission_url.as_str()), sent.as_str()),
            }
        }
        Err(e) => refused_in_words(&e),
    }
}

fn check_set_duration(body: &Value) {
    match input::set_duration(body) {
        Ok(Command::SetDuration {
            duration,
            remaining,
        }) => {
            timer_in_bounds(duration, remaining);
            assert_eq!(Some(duration), body["duration"].as_i64());
        }
        Ok(other) => panic!("a timer update became {other:?}"),
        Err(e) => refused_in_words(&e),
    }
}

fn check_status(body: &Value) {
    match input::status(body) {
        Ok(command) => {
            assert_eq!(command, Command::Complete);
            assert_eq!(body["status"], "COMPLETED");
        }
        Err(e) => refused_in_words(&e),
    }
}

fn check_members(body: &Value) {
    match input::join(body) {
        Ok(Command::Join(name)) => name_kept(&name, &body["name"]),
        Ok(other) => panic!("a join became {other:?}"),
        Err(e) => refused_in_words(&e),
    }
    match input::set_members(body) {
        Ok(Command::SetMembers(members)) => {
            members_kept(&members, body["members"].as_array().map_or(&[], Vec::as_slice))
        }
        Ok(other) => panic!("a new order became {other:?}"),
        Err(e) => refused_in_words(&e),
    }
}

fn check_stream_name(raw: &str) {
    match input::stream_name(Some(raw)) {
        Ok(Some(name)) => name_kept(&name, &Value::String(raw.to_string())),
        Ok(None) => panic!("a name given is not absent"),
        Err(e) => refused_in_words(&e),
    }
}

fn check_round(raw: &str) {
    match input::round(Some(raw)) {
        Ok(round) => assert_eq!(round, raw.parse().ok()),
        Err(e) => refused_in_words(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_round(text);
        check_stream_name(text);
    }
    // As the server reads a body: any JSON value, then the validation of each route.
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check_new_room(&body);
    check_set_duration(&body);
    check_status(&body);
    check_members(&body);
});
