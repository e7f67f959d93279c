//! The browser side of pairsync: the web pages and their static assets,
//! embedded in the binary at compile time from `src/web/assets/`.
//!
//! This module owns only content; routing lives with the HTTP layer:
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | `200` [`INDEX_HTML`] (create a pair room) |
//! | `GET /p/{code}` | `200` [`ROOM_HTML`] when the room exists, else `404` [`MISSING_HTML`] |
//! | `GET /assets/{name}` | `200` with the body and content type of [`asset`]`(name)`, else `404` |
//! | any other page address, asked by a browser | `404` [`NOWHERE_HTML`] |
//!
//! All HTML pages are served as [`HTML_CONTENT_TYPE`]. The pages are static:
//! nothing is templated in. The room page reads its access code from
//! `location.pathname` (`/p/{code}`) and draws everything from the room's event
//! stream (`GET /api/{code}/connect`, with `?name=` once the visitor gave a name),
//! so [`ROOM_HTML`] is the same bytes for every room. Besides the stream it asks
//! for the history (`GET /api/pair-room/{code}/history`, when a turn ended), and
//! for the goals (`GET /api/{code}/todos`) only when its own goal changes are
//! answered but not yet shown by a `todos` event, and for the room
//! (`GET /api/pair-room/{code}`) when its own change of the members is answered
//! but not yet shown by a `state` event. Pages load their CSS and JavaScript from
//! `/assets/<name>`.

/// Content type of every HTML page of this module.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// `GET /`: the page that creates a pair room (driver, navigator, up to ten
/// more members, minutes, breaks) with `POST /api/pair-room`, then opens
/// `/p/{accessCode}`.
pub const INDEX_HTML: &str = include_str!("assets/index.html");

/// `GET /p/{code}` for an existing room: the countdown, the controls, the
/// members in turn order (to add, remove, rename and reorder), who is here, the
/// room's goals (to add, edit, check, reorder and delete) and its history, kept
/// live by the room's event stream.
pub const ROOM_HTML: &str = include_str!("assets/room.html");

/// The body of the `404` answer to `GET /p/{code}` for an unknown code:
/// says the room does not exist and links to `/`.
pub const MISSING_HTML: &str = include_str!("assets/missing.html");

/// The body of the `404` answer to a browser asking for a page at an address that has
/// none (`/p/`, `/p/{code}/`, a typo): says so and links to `/`.
pub const NOWHERE_HTML: &str = include_str!("assets/nowhere.html");

/// `/assets/app.css`: the one stylesheet (light and dark, phone to desktop).
pub const APP_CSS: &str = include_str!("assets/app.css");

/// `/assets/create.js`: the script of [`INDEX_HTML`].
pub const CREATE_JS: &str = include_str!("assets/create.js");

/// `/assets/room.js`: the script of [`ROOM_HTML`].
pub const ROOM_JS: &str = include_str!("assets/room.js");

/// `/assets/stream.js`: the room's event stream, shared by the tabs of one room in
/// one browser (one of them holds it), loaded by [`ROOM_HTML`] before [`ROOM_JS`].
pub const STREAM_JS: &str = include_str!("assets/stream.js");

/// `/assets/input.js`: the API's input rules in the pages' words (minutes, turns,
/// names), loaded by [`INDEX_HTML`] and [`ROOM_HTML`] before their own scripts.
pub const INPUT_JS: &str = include_str!("assets/input.js");

/// `/assets/favicon.svg`: the tab icon of every page.
pub const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// Every file served under `/assets/`: `(name, content type, body)`, where
/// `name` is the path after `/assets/`.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", APP_CSS),
    ("create.js", "text/javascript; charset=utf-8", CREATE_JS),
    ("stream.js", "text/javascript; charset=utf-8", STREAM_JS),
    ("room.js", "text/javascript; charset=utf-8", ROOM_JS),
    ("input.js", "text/javascript; charset=utf-8", INPUT_JS),
    ("favicon.svg", "image/svg+xml", FAVICON_SVG),
];

/// Looks up `/assets/{name}`: `Some((content type, body))`, or `None` for an
/// unknown name.
#[must_use]
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, content_type, body)| (*content_type, *body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: &[(&str, &str)] = &[
        ("index.html", INDEX_HTML),
        ("room.html", ROOM_HTML),
        ("missing.html", MISSING_HTML),
        ("nowhere.html", NOWHERE_HTML),
    ];

    #[test]
    fn every_asset_a_page_references_is_served() {
        for (page, html) in PAGES {
            for part in html.split("/assets/").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_'
                    })
                    .collect();
                assert!(
                    asset(&name).is_some(),
                    "{page} references /assets/{name}, which is not served"
                );
            }
        }
    }

    #[test]
    fn asset_names_are_unique_and_bodies_are_not_empty() {
        for (i, (name, content_type, body)) in ASSETS.iter().enumerate() {
            assert!(!body.trim().is_empty(), "{name} is empty");
            assert!(!content_type.is_empty(), "{name} has no content type");
            assert!(
                ASSETS.iter().skip(i + 1).all(|(other, _, _)| other != name),
                "{name} is listed twice"
            );
        }
    }

    #[test]
    fn unknown_asset_is_none() {
        assert!(asset("nope.js").is_none());
        assert!(asset("../Cargo.toml").is_none());
    }

    #[test]
    fn pages_are_static_html_documents() {
        for (page, html) in PAGES {
            assert!(
                html.starts_with("<!doctype html>"),
                "{page} is not an HTML document"
            );
            assert!(!html.contains("{{"), "{page} holds a template placeholder");
        }
    }

    #[test]
    fn room_page_has_the_elements_its_script_and_tests_use() {
        for id in [
            "countdown",
            "start",
            "pause",
            "reset",
            "swap",
            "driver",
            "navigator",
            "connection",
            "duration",
            "copy-link",
            "status",
            "room-heading",
            "phase-label",
            "enable-alerts",
            "breaks-form",
            "auto-start",
            "break-every",
            "break-minutes",
            "save-breaks",
            "breaks-error",
            "next",
            "up-next",
            "presence",
            "you-are",
            "change-name",
            "name-form",
            "visitor-name",
            "save-name",
            "skip-name",
            "members",
            "members-error",
            "add-member-form",
            "add-member-name",
            "add-member",
            "add-member-error",
            "history",
            "history-totals",
            "history-turns",
            "goals",
            "goals-count",
            "goal-list",
            "goals-error",
            "add-goal-form",
            "add-goal-text",
            "add-goal",
            "add-goal-error",
        ] {
            assert!(
                ROOM_HTML.contains(&format!("id=\"{id}\"")),
                "room.html lacks #{id}"
            );
        }
    }

    /// The ids a script looks up by a literal (`byId('x')`, `getElementById('x')`).
    fn ids_looked_up(script: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for call in ["byId('", "getElementById('"] {
            for part in script.split(call).skip(1) {
                if let Some(end) = part.find('\'') {
                    ids.push(part[..end].to_string());
                }
            }
        }
        ids
    }

    #[test]
    fn every_element_a_script_looks_up_is_on_its_page() {
        for (script_name, script, page) in [
            ("room.js", ROOM_JS, ROOM_HTML),
            ("create.js", CREATE_JS, INDEX_HTML),
        ] {
            let ids = ids_looked_up(script);
            assert!(ids.len() > 5, "{script_name}: no lookups found");
            for id in ids {
                assert!(
                    page.contains(&format!("id=\"{id}\"")),
                    "{script_name} looks up #{id}, which its page lacks"
                );
            }
        }
    }

    #[test]
    fn every_name_field_holds_at_most_twenty_characters() {
        for (page, html, ids) in [
            ("index.html", INDEX_HTML, &["driver", "navigator"][..]),
            (
                "room.html",
                ROOM_HTML,
                &["visitor-name", "add-member-name"][..],
            ),
        ] {
            for id in ids {
                let tag = html
                    .split(&format!("id=\"{id}\""))
                    .nth(1)
                    .and_then(|rest| rest.split('>').next())
                    .unwrap_or_else(|| panic!("{page} lacks #{id}"));
                assert!(
                    tag.contains("maxlength=\"20\""),
                    "{page}: #{id} has no maxlength=\"20\""
                );
            }
        }
        // Fields the scripts make for more members, and to rename one, are bounded too.
        assert!(CREATE_JS.contains("maxLength = MAX_NAME_CHARS"));
        assert!(ROOM_JS.contains("maxLength: MAX_NAME_CHARS"));
        assert!(INPUT_JS.contains("var MAX_NAME_CHARS = 20;"));
        assert!(CREATE_JS.contains("var MAX_NAME_CHARS = rules.MAX_NAME_CHARS;"));
        assert!(ROOM_JS.contains("var MAX_NAME_CHARS = window.PairsyncInput.MAX_NAME_CHARS;"));
    }

    #[test]
    fn home_page_can_add_members() {
        for id in [
            "create-form",
            "driver",
            "navigator",
            "more-members",
            "add-member",
            "members-note",
        ] {
            assert!(
                INDEX_HTML.contains(&format!("id=\"{id}\"")),
                "index.html lacks #{id}"
            );
        }
    }

    #[test]
    fn pages_carry_no_inline_script_or_style() {
        for (page, html) in PAGES {
            assert!(!html.contains("<script>"), "{page} has an inline script");
            assert!(!html.contains("<style"), "{page} has a style element");
            assert!(!html.contains(" style=\""), "{page} has a style attribute");
            let handler = html.split(" on").skip(1).any(|rest| {
                let word: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
                !word.is_empty() && rest[word.len()..].starts_with("=\"")
            });
            assert!(!handler, "{page} has an inline event handler");
        }
    }

    #[test]
    fn room_page_loads_the_shared_stream_before_its_script() {
        let stream = ROOM_HTML
            .find("<script src=\"/assets/stream.js\" defer></script>")
            .expect("room.html loads stream.js, deferred");
        let room = ROOM_HTML
            .find("<script src=\"/assets/room.js\" defer></script>")
            .expect("room.html loads room.js, deferred");
        assert!(stream < room, "stream.js must run before room.js");
    }

    #[test]
    fn both_forms_load_the_input_rules_before_their_script() {
        let rules = "<script src=\"/assets/input.js\" defer></script>";
        for (page, html, script) in [
            ("index.html", INDEX_HTML, "create.js"),
            ("room.html", ROOM_HTML, "room.js"),
        ] {
            let at = html
                .find(rules)
                .unwrap_or_else(|| panic!("{page} loads input.js, deferred"));
            let own = html
                .find(&format!("<script src=\"/assets/{script}\" defer></script>"))
                .unwrap_or_else(|| panic!("{page} loads {script}, deferred"));
            assert!(at < own, "{page}: input.js must run before {script}");
        }
    }

    #[test]
    fn missing_page_links_home() {
        assert!(MISSING_HTML.contains("href=\"/\""));
    }
}
