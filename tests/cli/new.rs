//! `pairsync new`: creates a room and prints its page URL, or the server's refusal, or
//! every problem with its arguments in words before anything is sent.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::support;

/// `pairsync ARGS` with only `env` set; its output.
pub fn pairsync(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `line` is one of pairsync's own messages (`pairsync: …`) and says each of
/// `facts` (what is wrong, with the flag or setting to change); the words around them are
/// the program's to choose.
pub fn assert_says(line: &str, facts: &[&str]) {
    assert!(
        line.starts_with("pairsync: "),
        "not pairsync's message: {line}"
    );
    for fact in facts {
        assert!(line.contains(fact), "it does not say {fact:?}: {line}");
    }
}

#[tokio::test]
async fn new_prints_the_page_url_of_a_room_made_as_asked() {
    let server = support::spawn().await;
    let out = pairsync(
        &[
            "new",
            "--driver",
            "Bob",
            "--navigator",
            "Ann",
            "--minutes",
            "1.5",
            "--server",
            &server.base,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    let code = printed
        .trim_end()
        .strip_prefix(&format!("{}/p/", server.base))
        .unwrap_or_else(|| panic!("not a page URL of {}: {printed:?}", server.base));

    let (status, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(room["driver"], "Bob");
    assert_eq!(room["navigator"], "Ann");
    assert_eq!(room["duration"], 90_000);
    assert_eq!(room["timer"]["state"], "idle");

    let page = server.send("GET", &format!("/p/{code}")).await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn new_finds_the_server_in_pairsync_server() {
    let server = support::spawn().await;
    let out = pairsync(
        &["new", "--driver", "Bob", "--navigator", "Ann"],
        &[("PAIRSYNC_SERVER", &server.base)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("{}/p/", server.base)));
}

#[tokio::test]
async fn new_without_a_server_setting_talks_to_127_0_0_1_8080() {
    // The contract's default, where a server of the test listens (if another process holds
    // the port, the server cannot start and the test fails saying so).
    let server = support::spawn_with(&[("PAIRSYNC_BIND", "127.0.0.1:8080")]).await;
    assert_eq!(server.base, "http://127.0.0.1:8080");
    let out = pairsync(&["new", "--driver", "Bob", "--navigator", "Ann"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let code = printed
        .trim_end()
        .strip_prefix("http://127.0.0.1:8080/p/")
        .unwrap_or_else(|| panic!("not a page URL on the default server: {printed:?}"));
    let (status, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(
        (room["driver"].as_str(), room["navigator"].as_str()),
        (Some("Bob"), Some("Ann"))
    );
}

#[tokio::test]
async fn a_refused_room_is_said_in_minutes_and_flags_then_as_the_server_said_it_and_exits_1() {
    let server = support::spawn().await;
    // What the server says to the same request.
    let res = server
        .client
        .post(server.url("/api/pair-room"))
        .json(&json!({"driver": "Ann", "navigator": "Ann", "timerDuration": 60_000}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.expect("json");
    let message = body["message"].as_str().expect("a message");

    let out = pairsync(
        &[
            "new",
            "--driver",
            "Ann",
            "--navigator",
            "Ann",
            "--minutes",
            "1",
            "--server",
            &server.base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    // In the person's words first, then the server's message as it said it.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_says(lines[0], &["names", "--driver", "--navigator"]);
    assert_eq!(lines[1], format!("pairsync: (the server said: {message})"));

    let out = pairsync(
        &[
            "new",
            "--driver",
            "Ann",
            "--navigator",
            "Bob",
            "--minutes",
            "0",
            "--server",
            &server.base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    // In the person's units first, then as the server said it (in its own words).
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_says(
        lines.first().copied().unwrap_or_default(),
        &["at least 1 second", "--minutes"],
    );
    assert_eq!(
        lines.get(1).copied(),
        Some("pairsync: (the server said: timerDuration must be at least 1000)"),
        "{err}"
    );

    let out = pairsync(
        &[
            "new",
            "--driver",
            "Ann",
            "--navigator",
            "Bob",
            "--minutes",
            "1441",
            "--server",
            &server.base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_says(
        stderr(&out).lines().next().unwrap_or_default(),
        &["at most 24 hours", "--minutes"],
    );
}

#[test]
fn an_unreachable_server_is_one_line_and_exit_1() {
    // Port 9 on loopback: nothing listens there.
    let out = pairsync(
        &[
            "new",
            "--driver",
            "Ann",
            "--navigator",
            "Bob",
            "--server",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.starts_with("pairsync: cannot reach the server at http://127.0.0.1:9"),
        "{err}"
    );
}

#[test]
fn a_server_setting_in_the_environment_does_not_stop_the_client() {
    let out = pairsync(
        &[
            "new",
            "--driver",
            "Ann",
            "--navigator",
            "Bob",
            "--server",
            "http://127.0.0.1:9",
        ],
        &[("PAIRSYNC_HEARTBEAT_MS", "0")],
    );
    // The client ran (and found nothing listening) instead of refusing the setting.
    assert!(
        stderr(&out).contains("cannot reach the server"),
        "{}",
        stderr(&out)
    );
}

/// The access code in the page URL `new` printed for `server`.
fn printed_code(out: &Output, base: &str) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    let printed = stdout(out);
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    printed
        .trim_end()
        .strip_prefix(&format!("{base}/p/"))
        .unwrap_or_else(|| panic!("not a page URL of {base}: {printed:?}"))
        .to_string()
}

#[tokio::test]
async fn new_with_members_makes_a_room_in_their_order_with_its_settings() {
    let server = support::spawn().await;
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--member",
            " Cy ",
            "--minutes",
            "2",
            "--auto-start",
            "--break-every",
            "3",
            "--break-minutes",
            "1.5",
            "--server",
            &server.base,
        ],
        &[],
    );
    let code = printed_code(&out, &server.base);
    let (status, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["members"], json!(["Ann", "Bob", "Cy"]));
    assert_eq!(
        (&room["driver"], &room["navigator"]),
        (&json!("Ann"), &json!("Bob"))
    );
    assert_eq!(room["duration"], 120_000);
    assert_eq!(
        room["settings"],
        json!({"autoStart": true, "breakEvery": 3, "breakDuration": 90_000})
    );
}

#[tokio::test]
async fn settings_left_out_are_the_servers_defaults() {
    let server = support::spawn().await;
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--server",
            &server.base,
        ],
        &[],
    );
    let code = printed_code(&out, &server.base);
    let (_, room) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["members"], json!(["Ann", "Bob"]));
    assert_eq!(room["duration"], 25 * 60_000);
    assert_eq!(
        room["settings"],
        json!({"autoStart": false, "breakEvery": 0, "breakDuration": 300_000})
    );
}

#[test]
fn every_problem_is_said_at_once_in_words_before_anything_is_sent() {
    // Nothing listens on port 9: the problems are found before any request.
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bartholomew Fitzwilliam",
            "--member",
            "Ann",
            "--minutes",
            "0",
            "--break-every",
            "25",
            "--break-minutes",
            "90",
            "--server",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    // Every problem at once, one line each, in the order of the flags.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let facts: [&[&str]; 5] = [
        &["at most 20 characters", "Bartholomew Fitzwilliam", "23"],
        &["Ann", "twice"],
        &["at least 1 second"],
        &["at most 20 turns", "25"],
        &["at most 60 minutes"],
    ];
    assert_eq!(lines.len(), facts.len(), "{err}");
    for (line, facts) in lines.iter().zip(facts) {
        assert_says(line, facts);
    }
}

#[test]
fn one_member_is_not_a_room() {
    let out = pairsync(
        &["new", "--member", "Ann", "--server", "http://127.0.0.1:9"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_says(err.trim_end(), &["at least 2 members", "--member"]);
}

#[test]
fn members_and_driver_at_once_is_a_usage_error() {
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--driver",
            "Cy",
            "--navigator",
            "Dee",
            "--server",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(err.contains("--member"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
}

#[tokio::test]
async fn with_no_certificate_authority_on_the_system_plain_http_still_works() {
    let server = support::spawn().await;
    // rustls-native-certs reads only these when they are set: no authority at all.
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--server",
            &server.base,
        ],
        &[
            ("SSL_CERT_FILE", "/dev/null"),
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    );
    printed_code(&out, &server.base);
}
