//! `pairsync watch` in a pseudo-terminal against the real server: what it shows, what
//! its keys do, how it leaves the terminal, and how it lives through a restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::eventually;
use crate::helpers::TestServer;
use crate::pty::Pty;
use crate::support;

/// Longest wait for the server to reflect a key.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// A room for Ann (navigator) and Bob (driver) of `ms`, and its page URL.
async fn room(server: &TestServer, ms: i64) -> (String, String) {
    let code = server
        .create_room(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": ms}))
        .await;
    let url = server.url(&format!("/p/{code}"));
    (code, url)
}

async fn room_json(server: &TestServer, code: &str) -> Value {
    let (status, body) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `pairsync watch URL`, once it shows the room.
fn watching(url: &str) -> Pty {
    let mut pty = Pty::spawn(&["watch", url], &[]);
    pty.shows("navigator  ");
    pty
}

/// Waits for the client to end and checks that it left the terminal as it found it.
fn assert_quit_cleanly(pty: &mut Pty) {
    let ended = pty.finish();
    assert!(ended.quit_cleanly(), "{ended:?}");
}

/// Waits until the server's timer of `code` is in `state`.
async fn until_timer(server: &TestServer, code: &str, state: &str) {
    eventually(SERVER_TIMEOUT, || async {
        (server.timer(code).await["state"] == state).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_shows_the_names_the_countdown_and_the_state() {
    let server = support::spawn().await;
    let (code, url) = room(&server, 90_000).await;
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    pty.shows(&format!("room {code}"));
    pty.shows("01:30");
    pty.shows("idle · turn · round 1");
    pty.shows("driver     Bob");
    pty.shows("navigator  Ann");
    pty.shows("connected");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn space_starts_the_servers_timer_and_the_countdown_moves() {
    let server = support::spawn().await;
    let (code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);

    pty.send(" ");
    until_timer(&server, &code, "running").await;
    pty.shows("running · turn · round 1");
    pty.shows("00:59");
    let mark = pty.written();
    pty.shows("00:58");
    // Between two seconds only the countdown is written again, not the rest.
    let between = pty.written_since(mark);
    assert!(!between.contains("navigator"), "{between:?}");
    assert!(!between.contains("driver"), "{between:?}");

    pty.send(" ");
    until_timer(&server, &code, "paused").await;
    pty.shows("paused · turn · round 1");
    pty.send("r");
    until_timer(&server, &code, "idle").await;
    pty.shows("01:00");
    pty.shows("idle · turn · round 1");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn s_swaps_the_roles_on_the_server_and_on_screen() {
    let server = support::spawn().await;
    let (code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);
    pty.send("s");
    eventually(SERVER_TIMEOUT, || async {
        (room_json(&server, &code).await["driver"] == "Ann").then_some(())
    })
    .await;
    pty.shows("driver     Ann");
    pty.shows("navigator  Bob");
    pty.shows("Roles swapped");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn time_up_rings_the_bell_and_shows_the_next_round() {
    let server = support::spawn().await;
    let (_code, url) = room(&server, 2_000).await;
    let mut pty = watching(&url);
    pty.send(" ");
    pty.shows("00:01");
    assert_eq!(pty.bells(), 0);
    pty.shows("idle · turn · round 2");
    pty.shows("Time is up!");
    pty.shows("driver     Ann");
    assert_eq!(pty.bells(), 1);
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_break_shows_its_phase_and_its_end_rings_the_bell_again() {
    let server = support::spawn().await;
    let code = server
        .create_room(json!({
            "navigator": "Ann", "driver": "Bob", "timerDuration": 1_000,
            "breakEvery": 1, "breakDuration": 3_000
        }))
        .await;
    let mut pty = watching(&server.url(&format!("/p/{code}")));
    pty.send(" ");
    pty.shows("running · break · after round 1");
    pty.shows("Time for a break. Then Ann drives, Bob navigates.");
    assert_eq!(pty.bells(), 1);
    pty.shows("idle · turn · round 2");
    pty.shows("The break is over. Ann drives now, Bob navigates.");
    assert_eq!(pty.bells(), 2);
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn s_right_after_a_time_up_swaps_because_the_swap_names_its_round() {
    // A swap that names no round within 10 s of a time-up is taken for that time-up's own
    // swap and changes nothing (the contract's rule for coduo's pages); the terminal always
    // names the round, so its swap right after a time-up swaps.
    let server = TestServer::spawn().await;
    let (code, url) = room(&server, 1_000).await;
    let mut pty = watching(&url);
    pty.send(" ");
    pty.shows("idle · turn · round 1");
    pty.shows("driver     Ann");
    let time_up = room_json(&server, &code).await;
    assert_eq!(
        (
            time_up["timer"]["round"].as_i64(),
            time_up["driver"].as_str()
        ),
        (Some(1), Some("Ann"))
    );
    pty.send("s");
    eventually(SERVER_TIMEOUT, || async {
        (room_json(&server, &code).await["driver"] == "Bob").then_some(())
    })
    .await;
    pty.shows("driver     Bob");
    let swapped = room_json(&server, &code).await;
    assert_eq!(swapped["timer"]["round"], 1, "{swapped}");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resized_terminal_gets_the_view_redrawn_to_fit() {
    let server = support::spawn().await;
    let (_code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);
    let hint = "space start   r reset   s swap   q quit";
    let at_80 = pty.shows(hint);
    let indent = |screen: &str| {
        let line = screen
            .lines()
            .find(|l| l.contains("driver"))
            .expect("a driver row");
        line.len() - line.trim_start().len()
    };
    assert_eq!(indent(&at_80), (80 - hint.len()) / 2);

    pty.resize(50, 12);
    let at_50 = pty.until("the view centred in 50 columns", |s| {
        s.lines()
            .any(|l| l.starts_with(&format!("{}driver", " ".repeat((50 - hint.len()) / 2))))
    });
    // Every row of the view, and nothing left over from the larger screen.
    let rows: Vec<&str> = at_50
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 7, "{at_50}");
    assert!(
        rows.contains(&"driver     Bob") && rows.contains(&hint),
        "{at_50}"
    );
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_quits_and_restores_the_terminal() {
    let server = support::spawn().await;
    let (_code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);
    pty.send("\u{3}");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_room_says_so_and_exits_1() {
    let server = support::spawn().await;
    let url = server.url("/p/NoSuchRoom123");
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    pty.shows("pairsync: room NoSuchRoom123 does not exist");
    let ended = pty.finish();
    assert_eq!((ended.status, ended.modes_restored), (1, true));
    assert_eq!(
        ended.screen.matches("NoSuchRoom123").count(),
        1,
        "{}",
        ended.screen
    );

    let mut by_code = Pty::spawn(&["watch", "--server", &server.base, "NoSuchRoom123"], &[]);
    by_code.shows("room NoSuchRoom123 does not exist");
    assert_eq!(by_code.finish().status, 1);

    // One access code in 64 begins with `-`: still a code, not an option.
    let mut dash = Pty::spawn(&["watch", "--server", &server.base, "-NoSuchRoom12"], &[]);
    dash.shows("room -NoSuchRoom12 does not exist");
    assert_eq!(dash.finish().status, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_with_pairsync_server_finds_the_room() {
    let server = support::spawn().await;
    let (code, _url) = room(&server, 60_000).await;
    let mut pty = Pty::spawn(&["watch", &code], &[("PAIRSYNC_SERVER", &server.base)]);
    pty.shows("driver     Bob");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_room_ends_the_view_with_one_line() {
    let server = support::spawn().await;
    let (code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);
    let res = server
        .send("DELETE", &format!("/api/pair-room/{code}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ended = pty.finish();
    assert!(
        ended
            .screen
            .contains(&format!("pairsync: room {code} was deleted")),
        "{}",
        ended.screen
    );
    assert_eq!(ended.status, 1);
    assert!(ended.modes_restored && ended.screen_restored, "{ended:?}");
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn it_reconnects_by_itself_after_a_crash_and_says_so_meanwhile() {
    let bind = format!("127.0.0.1:{}", free_port());
    let mut server = support::spawn_with(&[("PAIRSYNC_BIND", &bind)]).await;
    let (code, url) = room(&server, 60_000).await;
    let mut pty = watching(&url);
    pty.shows("● connected");

    server.crash();
    pty.shows("reconnecting");
    server.restart();
    pty.shows("● connected");

    // The view works as before: a key reaches the restarted server.
    pty.send(" ");
    until_timer(&server, &code, "running").await;
    pty.shows("running · turn");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}
