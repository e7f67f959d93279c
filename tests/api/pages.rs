//! The pages' security headers: every HTML page (and the API browser, with its one
//! documented relaxation) carries a `Content-Security-Policy`, `X-Content-Type-Options:
//! nosniff` and `Referrer-Policy: no-referrer`, and holds no inline script or style.

use reqwest::StatusCode;

use super::helpers::TestServer;

/// What the policy of every page must say, at least.
const REQUIRED: &[&str] = &["default-src 'self'", "frame-ancestors 'none'"];

fn directives(policy: &str) -> Vec<String> {
    policy
        .split(';')
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// `GET path` (or `HEAD`): the status, the policy's directives, and the body.
async fn fetch(app: &TestServer, method: &str, path: &str) -> (StatusCode, Vec<String>, String) {
    let res = app.send(method, path).await;
    let status = res.status();
    let headers = res.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    let policy = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"))
        .to_str()
        .expect("ascii");
    let policy = directives(policy);
    for needed in REQUIRED {
        assert!(
            policy.iter().any(|d| d == needed),
            "{path}: {needed} missing from {policy:?}"
        );
    }
    assert!(
        policy.iter().all(|d| !d.contains("'unsafe-")),
        "{path}: {policy:?}"
    );
    (status, policy, res.text().await.expect("body"))
}

/// The start tags of an HTML text, lowercased (`<script src=…>`, `<style>`…).
fn start_tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag.to_lowercase()))
        .filter(|tag| tag.starts_with(|c: char| c.is_ascii_alphabetic()))
        .collect()
}

/// The attribute names of a start tag's text (`button id="x" title="one two"` →
/// `["id", "title"]`): quoted values are skipped whole, whatever words they hold.
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = tag.chars().peekable();
    // The element's own name.
    while chars.peek().is_some_and(|c| !c.is_whitespace()) {
        chars.next();
    }
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() && chars.peek().is_none() {
            return names;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.peek().copied() {
                Some(quote @ ('"' | '\'')) => {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                    }
                }
                _ => {
                    while chars.peek().is_some_and(|c| !c.is_whitespace()) {
                        chars.next();
                    }
                }
            }
        }
        if !name.is_empty() {
            names.push(name);
        }
    }
}

#[test]
fn attribute_names_skip_the_words_of_quoted_values() {
    assert_eq!(
        attribute_names("button id=\"next\" title=\"one on two\" disabled onclick='x()'"),
        ["id", "title", "disabled", "onclick"]
    );
}

/// Panics when `html` holds an inline script, an inline style or an event handler
/// attribute: what a policy without `'unsafe-inline'` refuses.
fn assert_nothing_inline(path: &str, html: &str) {
    for tag in start_tags(html) {
        let name = tag.split_whitespace().next().unwrap_or("");
        assert!(
            name != "script" || tag.contains("src="),
            "{path}: inline script <{tag}>"
        );
        assert!(name != "style", "{path}: inline <style>");
        let attributes = attribute_names(&tag);
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        assert!(
            !attributes.contains(&"style"),
            "{path}: style attribute in <{tag}>"
        );
        assert!(
            !attributes.iter().any(|a| a.starts_with("on")),
            "{path}: event handler attribute in <{tag}>"
        );
        assert!(!tag.contains("javascript:"), "{path}: javascript: URL");
    }
}

#[tokio::test]
async fn every_html_page_carries_the_security_headers() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let room = format!("/p/{code}");
    for (path, status) in [
        ("/", StatusCode::OK),
        (room.as_str(), StatusCode::OK),
        ("/p/NoSuchRoom000000", StatusCode::NOT_FOUND),
        ("/api/docs/", StatusCode::OK),
    ] {
        let (got, _, _) = fetch(&app, "GET", path).await;
        assert_eq!(got, status, "GET {path}");
        let (got, _, body) = fetch(&app, "HEAD", path).await;
        assert_eq!(got, status, "HEAD {path}");
        assert_eq!(body, "", "HEAD {path} has no body");
    }
}

#[tokio::test]
async fn the_pages_hold_no_inline_script_or_style() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let room = format!("/p/{code}");
    for path in ["/", room.as_str(), "/p/NoSuchRoom000000", "/api/docs/"] {
        let (_, _, html) = fetch(&app, "GET", path).await;
        assert!(html.to_lowercase().contains("<html"), "{path} is a page");
        assert_nothing_inline(path, &html);
    }
}

#[test]
fn the_inline_check_finds_what_the_policy_would_refuse() {
    for html in [
        "<p>x</p><script>alert(1)</script>",
        "<style>p{}</style>",
        "<div style=\"color:red\">",
        "<button onclick=\"go()\">",
        "<a href=\"javascript:go()\">",
    ] {
        let caught = std::panic::catch_unwind(|| assert_nothing_inline("sample", html));
        assert!(caught.is_err(), "{html} passed the check");
    }
    assert_nothing_inline("sample", "<script src=\"/assets/room.js\" defer></script>");
}

#[tokio::test]
async fn the_api_browser_relaxes_only_its_images_to_data_urls() {
    let app = TestServer::spawn().await;
    let (_, page, _) = fetch(&app, "GET", "/").await;
    let (status, docs, _) = fetch(&app, "GET", "/api/docs/").await;
    assert_eq!(status, StatusCode::OK);
    let added: Vec<&String> = docs.iter().filter(|d| !page.contains(d)).collect();
    let dropped: Vec<&String> = page.iter().filter(|d| !docs.contains(d)).collect();
    assert_eq!(added, ["img-src 'self' data:"]);
    assert_eq!(dropped, ["img-src 'self'"]);
}

#[tokio::test]
async fn scripts_and_styles_are_served_with_types_that_nosniff_accepts() {
    let app = TestServer::spawn().await;
    for (path, kind) in [
        ("/assets/create.js", "text/javascript"),
        ("/assets/room.js", "text/javascript"),
        ("/assets/stream.js", "text/javascript"),
        ("/assets/input.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let res = app.send("GET", path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let content_type = res.headers()["content-type"].to_str().expect("ascii");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
    }
}
