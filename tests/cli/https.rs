//! `pairsync new` and `pairsync watch` against a server that speaks HTTPS with a
//! certificate made for the test: trusted through the system's store (`SSL_CERT_FILE`),
//! through `PAIRSYNC_CA_CERT`, or both at once, and refused in words without either.

use std::time::Duration;

use serde_json::json;

use crate::expect::eventually;
use crate::new::{assert_says, pairsync, stderr, stdout};
use crate::pty::Pty;
use crate::support::{self, HttpsServer};

/// Longest wait for the server to reflect a key.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn new_over_https_trusts_pairsync_ca_cert() {
    let https = HttpsServer::spawn().await;
    let base = &https.server.base;
    assert!(base.starts_with("https://"), "{base}");
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--member", "Cy", "--server", base,
        ],
        &[("PAIRSYNC_CA_CERT", &https.cert_file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let code = printed
        .trim_end()
        .strip_prefix(&format!("{base}/p/"))
        .unwrap_or_else(|| panic!("not a page URL of {base}: {printed:?}"));
    let room = https.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["members"], json!(["Ann", "Bob", "Cy"]));

    // The same with the flag instead of the variable.
    let out = pairsync(
        &[
            "new",
            "--driver",
            "Bob",
            "--navigator",
            "Ann",
            "--server",
            base,
            "--ca-cert",
            &https.cert_file,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn new_refuses_an_unknown_certificate_in_words() {
    let https = HttpsServer::spawn().await;
    let base = &https.server.base;
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_says(
        err.trim_end(),
        &[base.as_str(), "not trusted", "PAIRSYNC_CA_CERT"],
    );

    // Another certificate in PAIRSYNC_CA_CERT does not vouch for it either.
    let dir = tempfile::tempdir().expect("a temp dir");
    let stranger = support::stranger_cert(dir.path());
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ],
        &[("PAIRSYNC_CA_CERT", &stranger)],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("the server at {base} is not trusted")),
        "{err}"
    );
    assert!(
        err.contains(&format!("nor by one in {stranger} (PAIRSYNC_CA_CERT)")),
        "{err}"
    );

    // A file that is not there is said as such, before any request.
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ],
        &[("PAIRSYNC_CA_CERT", "/nonexistent/ca.pem")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_says(
        stderr(&out).trim_end(),
        &["/nonexistent/ca.pem", "PAIRSYNC_CA_CERT", "No such file"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_authority_on_the_system_pairsync_ca_cert_alone_is_trusted() {
    let https = HttpsServer::spawn().await;
    let base = &https.server.base;
    let no_system = [
        ("SSL_CERT_FILE", "/dev/null"),
        ("SSL_CERT_DIR", "/nonexistent"),
    ];
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ],
        &no_system,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("(none were found on this system)"),
        "{}",
        stderr(&out)
    );
    let mut with_ca = no_system.to_vec();
    with_ca.push(("PAIRSYNC_CA_CERT", &https.cert_file));
    let out = pairsync(
        &[
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ],
        &with_ca,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_over_https_shows_the_room_and_its_keys_reach_the_server() {
    let https = HttpsServer::spawn().await;
    let code = https
        .create_room(json!({"members": ["Ann", "Bob", "Cy"], "timerDuration": 60_000}))
        .await;
    let url = https.server.url(&format!("/p/{code}"));
    let mut pty = Pty::spawn(
        &["watch", &url, "--name", "Ann"],
        &[("PAIRSYNC_CA_CERT", &https.cert_file)],
    );
    pty.shows("driver     Ann");
    pty.shows("waiting    Cy");
    pty.shows("here       Ann · 1 watching");
    pty.shows("● connected");
    pty.send(" ");
    eventually(SERVER_TIMEOUT, || async {
        let timer = https.get_json(&format!("/api/{code}/timer")).await;
        (timer["state"] == "running").then_some(())
    })
    .await;
    pty.shows("running · turn · round 1");
    pty.shows("00:59");
    pty.send("q");
    let ended = pty.finish();
    assert!(ended.quit_cleanly(), "{ended:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_refuses_an_unknown_certificate_before_taking_the_screen() {
    let https = HttpsServer::spawn().await;
    let code = https
        .create_room(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let url = https.server.url(&format!("/p/{code}"));
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    let base = &https.server.base;
    pty.shows(&format!("pairsync: the server at {base} is not trusted"));
    let ended = pty.finish();
    assert_eq!(ended.status, 1, "{ended:?}");
    assert!(ended.modes_restored && ended.screen_restored, "{ended:?}");
    assert!(
        ended.screen.contains("PAIRSYNC_CA_CERT"),
        "{}",
        ended.screen
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_address_of_a_plain_http_server_says_so() {
    let server = support::spawn().await;
    let https_base = server.base.replacen("http://", "https://", 1);
    let out = pairsync(
        &[
            "new",
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--server",
            &https_base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_says(stderr(&out).trim_end(), &[&https_base, "HTTPS", "http://"]);
}

/// The page URL `new` printed for a room on `base`: its access code.
fn printed_code(out: &std::process::Output, base: &str) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    let printed = stdout(out);
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    printed
        .trim_end()
        .strip_prefix(&format!("{base}/p/"))
        .unwrap_or_else(|| panic!("not a page URL of {base}: {printed:?}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_the_system_trusts_is_trusted_and_pairsync_ca_cert_adds_to_the_system_s() {
    let a = HttpsServer::spawn().await;
    let b = HttpsServer::spawn().await;
    // The system's store holds A's certificate only; nothing names one of pairsync's own.
    let system_a = [
        ("SSL_CERT_FILE", a.cert_file.as_str()),
        ("SSL_CERT_DIR", "/nonexistent"),
    ];
    let args = |base: &str| {
        [
            "new", "--member", "Ann", "--member", "Bob", "--server", base,
        ]
        .map(str::to_string)
    };
    let run = |base: &str, env: &[(&str, &str)]| {
        let args = args(base);
        pairsync(&args.iter().map(String::as_str).collect::<Vec<_>>(), env)
    };
    let code = printed_code(&run(&a.server.base, &system_a), &a.server.base);
    let room = a.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(room["members"], json!(["Ann", "Bob"]));
    // B is trusted by neither: refused.
    let out = run(&b.server.base, &system_a);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // With B's certificate in PAIRSYNC_CA_CERT, both are trusted: the system's and the file's.
    let mut both = system_a.to_vec();
    both.push(("PAIRSYNC_CA_CERT", &b.cert_file));
    printed_code(&run(&a.server.base, &both), &a.server.base);
    printed_code(&run(&b.server.base, &both), &b.server.base);
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_trusts_a_certificate_the_system_trusts() {
    let https = HttpsServer::spawn().await;
    let code = https
        .create_room(json!({"members": ["Ann", "Bob"], "timerDuration": 60_000}))
        .await;
    let url = https.server.url(&format!("/p/{code}"));
    let mut pty = Pty::spawn(
        &["watch", &url],
        &[
            ("SSL_CERT_FILE", &https.cert_file),
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    );
    pty.shows("driver     Ann");
    pty.shows("● connected");
    pty.send("q");
    let ended = pty.finish();
    assert!(ended.quit_cleanly(), "{ended:?}");
}
