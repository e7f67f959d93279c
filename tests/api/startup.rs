//! Start-up as the person who runs the server meets it: the first lines say where to open
//! it and whether other machines can; every refusal to start names what it tried, why it
//! failed and what to do (the facts are checked, not the sentence around them); the admin
//! token can come from a file;
//! `--help` names every flag with its variable; a browser that mistypes an address gets
//! the HTML 404 page, and API clients keep their JSON; `pairsync serve` runs the same server
//! as `pairsync` alone, its flags after the subcommand.

use std::net::TcpListener;
use std::process::Command;

use reqwest::StatusCode;

use crate::expect::assert_heartbeat_gap;
use crate::helpers::{failed_start, TestServer};

/// What `Accept` a browser's address bar sends.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The refusal line of a start that failed: what follows `cannot start: `.
fn refusal(logs: &str) -> String {
    logs.lines()
        .find_map(|l| {
            l.split_once("cannot start: ")
                .map(|(_, why)| why.to_string())
        })
        .unwrap_or_else(|| panic!("no refusal in the log: {logs}"))
}

/// Asserts that `said` (a refusal) says each of `facts`: what was tried, why it failed,
/// what to do. The words around them are the program's to choose.
fn assert_says(said: &str, facts: &[&str]) {
    for fact in facts {
        assert!(said.contains(fact), "it does not say {fact:?}: {said}");
    }
}

/// The messages of a log, without env_logger's `[time LEVEL target] ` prefix.
fn messages(logs: &[String]) -> Vec<String> {
    logs.iter()
        .map(|l| {
            l.split_once("] ")
                .map_or(l.as_str(), |(_, m)| m)
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_first_lines_say_where_to_open_it_and_that_loopback_is_this_machine_only() {
    let app = TestServer::spawn_exactly(
        &[("PAIRSYNC_BIND", "127.0.0.1:0"), ("RUST_LOG", "info")],
        &[],
    )
    .await;
    let address = app.base.trim_start_matches("http://");
    let port = address.rsplit_once(':').expect("a port").1;
    let said = messages(&app.logs());
    // First, the address to open; then, among the first three lines, that loopback is this
    // machine only, with the setting and the flag that share it on this port; and the
    // contract's `listening on` line.
    assert!(said[0].contains(&format!("http://{address}/")), "{said:#?}");
    let share = said[..3]
        .iter()
        .find(|l| l.contains("this machine only"))
        .unwrap_or_else(|| panic!("no line says loopback is this machine only: {said:#?}"));
    assert_says(
        share,
        &[
            "127.0.0.1",
            &format!("PAIRSYNC_BIND=0.0.0.0:{port}"),
            &format!("--bind 0.0.0.0:{port}"),
        ],
    );
    assert!(
        said[..3].contains(&format!("listening on http://{address}")),
        "{said:#?}"
    );
    // The generated admin token comes after, with how to keep one.
    let token = said
        .iter()
        .position(|l| l.contains("generated admin token"))
        .expect("the generated token is told");
    assert!(token > 2, "{said:#?}");
    assert!(
        said[token].contains("PAIRSYNC_ADMIN_TOKEN_FILE"),
        "{}",
        said[token]
    );
}

#[tokio::test]
async fn pairsync_serve_runs_the_server_and_takes_its_flags_after_the_subcommand() {
    let app = TestServer::spawn_exactly(
        &[("PAIRSYNC_BIND", "127.0.0.1:0"), ("RUST_LOG", "info")],
        &["serve"],
    )
    .await;
    assert!(
        messages(&app.logs())
            .iter()
            .any(|l| l.starts_with("listening on http://")),
        "{:#?}",
        app.logs()
    );
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!(
        (status, health),
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    let code = app.room(60_000).await;
    let (status, room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(
        (status, &room["accessCode"]),
        (StatusCode::OK, &serde_json::json!(code))
    );

    // A flag after the subcommand: heartbeats every 300 ms.
    const HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(300);
    let app = TestServer::spawn_exactly(
        &[("PAIRSYNC_BIND", "127.0.0.1:0"), ("RUST_LOG", "info")],
        &["serve", "--heartbeat-ms", "300"],
    )
    .await;
    let code = app.room(60_000).await;
    let mut stream = app.connect(&code).await;
    let mut last = stream.skip_greeting().await.received_us;
    for n in 1..=2 {
        let frame = stream.next_frame(HEARTBEAT * 2).await.expect("a heartbeat");
        assert!(
            frame.comment.is_some() && frame.event.is_none(),
            "{frame:?}"
        );
        assert_heartbeat_gap(
            &format!("heartbeat {n}"),
            frame.received_us - last,
            HEARTBEAT,
        );
        last = frame.received_us;
    }
}

#[tokio::test]
async fn a_server_on_every_address_does_not_warn_about_loopback() {
    let app =
        TestServer::spawn_exactly(&[("PAIRSYNC_BIND", "0.0.0.0:0"), ("RUST_LOG", "info")], &[])
            .await;
    let said = messages(&app.logs());
    assert!(said[0].starts_with("open http://127.0.0.1:"), "{said:#?}");
    assert!(
        !said.iter().any(|l| l.contains("this machine only")),
        "{said:#?}"
    );
}

#[test]
fn database_problems_name_what_was_tried_the_cause_and_what_to_do() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let folder = scratch.path().to_str().expect("utf-8");
    let missing = format!("{folder}/missing/pairsync.db");
    let missing_folder = format!("{folder}/missing");
    // Each: the URL, then what the refusal must say (what it tried, why, what to do).
    let cases: [(&str, Vec<&str>); 4] = [
        (
            &missing,
            vec![&missing, &missing_folder, "does not exist", "DATABASE_URL"],
        ),
        (folder, vec![folder, "a folder, not a file", "DATABASE_URL"]),
        (
            "mysql://root:hunter2@db.example/rooms",
            vec![
                "mysql://root:***@db.example/rooms",
                "does not support",
                "sqlite://",
                "postgres://",
            ],
        ),
        (
            // Port 1 on loopback: nothing listens there.
            "postgres://ann:hunter2@127.0.0.1:1/rooms",
            vec![
                "postgres://ann:***@127.0.0.1:1/rooms",
                "nothing answers",
                "DATABASE_URL",
            ],
        ),
    ];
    for (url, facts) in cases {
        let (status, logs) = failed_start(&[("DATABASE_URL", url)]);
        assert!(!status.success(), "{url}");
        assert_says(&refusal(&logs), &facts);
        assert!(
            !logs.contains("hunter2"),
            "a password is never logged: {logs}"
        );
    }
}

#[test]
fn a_taken_port_says_so_and_how_to_choose_another() {
    let held = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = held.local_addr().expect("address");
    let (status, logs) = failed_start(&[("PAIRSYNC_BIND", &addr.to_string())]);
    assert!(!status.success());
    let another = format!("127.0.0.1:{}", (addr.port().wrapping_add(1)).max(1024));
    assert_says(
        &refusal(&logs),
        &[
            &addr.to_string(),
            "already listens",
            "PAIRSYNC_BIND",
            &another,
        ],
    );
}

#[test]
fn the_admin_token_file_is_refused_when_missing_empty_or_beside_the_token() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let missing = scratch.path().join("absent");
    let empty = scratch.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    let (missing, empty) = (
        missing.to_str().expect("utf-8"),
        empty.to_str().expect("utf-8"),
    );
    // Each: the settings, then what the refusal must say (what it tried, why, what to do).
    let cases = [
        (
            vec![("PAIRSYNC_ADMIN_TOKEN_FILE", missing)],
            vec![missing, "PAIRSYNC_ADMIN_TOKEN_FILE", "no such file"],
        ),
        (
            vec![("PAIRSYNC_ADMIN_TOKEN_FILE", empty)],
            vec![empty, "is empty", "unset PAIRSYNC_ADMIN_TOKEN_FILE"],
        ),
        (
            vec![
                ("PAIRSYNC_ADMIN_TOKEN_FILE", empty),
                ("PAIRSYNC_ADMIN_TOKEN", "t"),
            ],
            vec![
                "PAIRSYNC_ADMIN_TOKEN and PAIRSYNC_ADMIN_TOKEN_FILE",
                "both set",
                "only one",
            ],
        ),
    ];
    for (env, facts) in cases {
        let (status, logs) = failed_start(&env);
        assert!(!status.success(), "{env:?}");
        assert_says(&refusal(&logs), &facts);
    }
}

#[tokio::test]
async fn the_admin_token_file_gives_the_token_the_admin_endpoints_take() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let file = scratch.path().join("token");
    std::fs::write(&file, "from-a-file\n").expect("write");
    let app = TestServer::spawn_exactly(
        &[
            ("PAIRSYNC_BIND", "127.0.0.1:0"),
            ("RUST_LOG", "info"),
            ("PAIRSYNC_ADMIN_TOKEN_FILE", file.to_str().expect("utf-8")),
        ],
        &[],
    )
    .await;
    let rooms = |token: &'static str| app.client.get(app.url("/rooms")).bearer_auth(token).send();
    assert_eq!(
        rooms("from-a-file").await.expect("rooms").status(),
        StatusCode::OK
    );
    assert_eq!(
        rooms("test-admin-token").await.expect("rooms").status(),
        StatusCode::UNAUTHORIZED,
        "only the file's token opens them"
    );
    assert!(
        !app.logs()
            .iter()
            .any(|l| l.contains("generated admin token")),
        "{:#?}",
        app.logs()
    );
}

/// The entries of a `--help` text: each option's lines, from its `-` to the next one's.
fn entries(help: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for line in help.lines() {
        if line.trim_start().starts_with('-') || entries.is_empty() {
            entries.push(String::new());
        }
        if let Some(entry) = entries.last_mut() {
            entry.push_str(line.trim_start());
            entry.push(' ');
        }
    }
    entries
}

#[test]
fn help_names_every_flag_with_its_variable_and_postgresql() {
    let out = Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, variable) in [
        ("--bind", "PAIRSYNC_BIND"),
        ("--database-url", "DATABASE_URL"),
        ("--admin-token", "PAIRSYNC_ADMIN_TOKEN"),
        ("--admin-token-file", "PAIRSYNC_ADMIN_TOKEN_FILE"),
        ("--pause-when-empty", "PAIRSYNC_PAUSE_WHEN_EMPTY"),
        ("--heartbeat-ms", "PAIRSYNC_HEARTBEAT_MS"),
        (
            "--max-subscribers-per-room",
            "PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM",
        ),
        ("--room-idle-ms", "PAIRSYNC_ROOM_IDLE_MS"),
        ("--create-per-minute", "PAIRSYNC_CREATE_PER_MINUTE"),
        ("--trusted-proxies", "PAIRSYNC_TRUSTED_PROXIES"),
        ("--allowed-origins", "PAIRSYNC_ALLOWED_ORIGINS"),
        ("--max-streams", "PAIRSYNC_MAX_STREAMS"),
        (
            "--max-streams-per-client",
            "PAIRSYNC_MAX_STREAMS_PER_CLIENT",
        ),
        ("--tls-cert", "PAIRSYNC_TLS_CERT"),
        ("--tls-key", "PAIRSYNC_TLS_KEY"),
        ("--shutdown-grace-ms", "PAIRSYNC_SHUTDOWN_GRACE_MS"),
        ("--rust-log", "RUST_LOG"),
    ] {
        let entry = entries(&help)
            .into_iter()
            .find(|e| e.trim_start().starts_with(&format!("{flag} ")))
            .unwrap_or_else(|| panic!("{flag} is not in --help:\n{help}"));
        assert!(
            entry.contains(&format!("[env: {variable}")),
            "{flag}: {entry}"
        );
    }
    assert!(help.contains("PostgreSQL"), "{help}");
    // Flags are named as flags, not as the struct's fields.
    for field in ["trusted_proxies", "tls_key", "tls_cert"] {
        assert!(!help.contains(field), "{field} in --help:\n{help}");
    }
}

#[tokio::test]
async fn a_browser_gets_the_html_404_page_and_api_clients_keep_json() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let get = |path: String, accept: &'static str| {
        app.client
            .get(app.url(&path))
            .header("accept", accept)
            .send()
    };
    for path in [
        "/p/".to_string(),
        format!("/p/{code}/"),
        "/pp/abc".to_string(),
    ] {
        let page = get(path.clone(), BROWSER_ACCEPT).await.expect("page");
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        let kind = page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let body = page.text().await.expect("body");
        assert!(body.contains("Page not found"), "{path}: {body}");
        assert!(body.contains("href=\"/\""), "{path}: it links home");

        let json = get(path.clone(), "*/*").await.expect("json");
        assert_eq!(json.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = json.json().await.expect("a JSON error");
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }
    // API paths stay JSON even for a browser.
    for path in ["/api/nothing", "/rooms/none/x", "/metrics/x", "/healthz/x"] {
        let res = get(path.to_string(), BROWSER_ACCEPT).await.expect("api");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = res.json().await.expect("a JSON error");
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }
}
