//! `pairsync new`: creates a room and prints its page URL, or the server's refusal.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestServer;

/// `pairsync ARGS` with only `env` set; its output.
fn pairsync(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn new_prints_the_page_url_of_a_room_made_as_asked() {
    let server = TestServer::spawn().await;
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
    let server = TestServer::spawn().await;
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
    let server = TestServer::spawn_with(&[("PAIRSYNC_BIND", "127.0.0.1:8080")]).await;
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
async fn a_refused_room_prints_the_servers_message_and_exits_1() {
    let server = TestServer::spawn().await;
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
    assert_eq!(stderr(&out).trim_end(), format!("pairsync: {message}"));

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
    assert!(stderr(&out).contains("timerDuration"), "{}", stderr(&out));
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
