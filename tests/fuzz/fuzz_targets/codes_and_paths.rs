//! Access codes and the paths that carry them: the shape check every room route makes,
//! the code taken from a request path by the server's own route patterns and shortened
//! for the access log, the change-feed payload between processes, and the room page URLs
//! the terminal client reads. None may panic, and each keeps its promise: the log shows a
//! room's path as its route with the code cut to six characters, however the code was
//! spelled; a payload reads back as it was written; a room address found in a URL is found
//! again in its own page URL.

#![no_main]

use std::sync::LazyLock;

use actix_web::dev::{Path, ResourceDef, Url};
use actix_web::http::Uri;
use libfuzzer_sys::fuzz_target;
use pairsync::access_code::{self, MAX_LEN, MIN_LEN};
use pairsync::cli::address::{server_base, watch_target};
use pairsync::http::observe::loggable_path;
use pairsync::http::route_table;
use pairsync::store::feed::Change;

/// The server's routes that name a `{code}`, as the router matches them (built once: the
/// router keeps the names of its segments for the life of the process).
static CODE_ROUTES: LazyLock<Vec<ResourceDef>> = LazyLock::new(|| {
    route_table()
        .into_iter()
        .filter(|(pattern, _)| pattern.contains("{code}"))
        .map(|(pattern, _)| ResourceDef::new(pattern))
        .collect()
});

/// The contract's shape of an access code, written out independently of the server.
fn has_code_shape(code: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&code.chars().count())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_code(code: &str) {
    assert_eq!(access_code::is_well_formed(code), has_code_shape(code));
    let first_six: String = code.chars().take(6).collect();
    assert_eq!(access_code::short(code), first_six);
}

/// Matches `raw` against every route that names a `{code}`, as the router does, and checks
/// what the access log would write.
fn check_logged_path(raw: &str) {
    let Ok(uri) = raw.parse::<Uri>() else {
        return;
    };
    for route in CODE_ROUTES.iter() {
        let mut path = Path::new(Url::new(uri.clone()));
        if !route.capture_match_info(&mut path) {
            continue;
        }
        let Some(code) = path.get("code") else {
            continue;
        };
        // However the request spelled the code (percent-encoded, say), the log shows the
        // route with the code's first six characters, never the whole code.
        let pattern = route.pattern().unwrap_or_default();
        let first_six: String = code.chars().take(6).collect();
        assert_eq!(
            loggable_path(uri.path(), Some(pattern), Some(code)),
            pattern.replace("{code}", &format!("{first_six}…")),
            "{raw:?}"
        );
    }
}

fn check_feed_payload(text: &str) {
    if let Some(change) = Change::parse(text) {
        assert_eq!(Change::parse(&change.payload()), Some(change));
    }
    // What a process writes (always for a well-formed code), any other process reads back.
    if let Some((code, told)) = text.split_once('\n') {
        if access_code::is_well_formed(code) {
            let change = Change {
                code: code.to_string(),
                version: told.len() as i64,
                told: told.to_string(),
                carried: None,
            };
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
    }
}

fn check_room_url(text: &str) {
    let Ok(address) = watch_target(text, "http://127.0.0.1:8080") else {
        return;
    };
    assert!(address
        .code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        watch_target(&address.page_url(), "http://127.0.0.1:8080").ok(),
        Some(address.clone()),
        "the page URL {} of {text:?}",
        address.page_url()
    );
    if let Ok(base) = server_base(text) {
        assert_eq!(server_base(&base).ok(), Some(base));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_code(text);
    check_logged_path(text);
    check_feed_payload(text);
    check_room_url(text);
});
