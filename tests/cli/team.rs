//! `pairsync watch` in a team's room: the whole order, who is here, `n` for the next
//! turn, the bell at a time-up, and the first open goals.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::eventually;
use crate::helpers::TestServer;
use crate::pty::Pty;
use crate::sse::EventStream;
use crate::support;

/// Longest wait for the server to reflect a key.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// A room of `members` (the first drives) with turns of `ms`; its code and page URL.
async fn team(server: &TestServer, members: &[&str], ms: i64) -> (String, String) {
    let code = server
        .create_room(json!({"members": members, "timerDuration": ms}))
        .await;
    let url = server.url(&format!("/p/{code}"));
    (code, url)
}

async fn room_json(server: &TestServer, code: &str) -> Value {
    let (status, body) = server.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn assert_quit_cleanly(pty: &mut Pty) {
    let ended = pty.finish();
    assert!(ended.quit_cleanly(), "{ended:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_shows_the_whole_order_and_who_is_here() {
    let server = support::spawn_with(&[("PAIRSYNC_HEARTBEAT_MS", "1000")]).await;
    let (code, url) = team(&server, &["Ann", "Bob", "Cy", "Dee"], 60_000).await;
    let mut pty = Pty::spawn(&["watch", &url, "--name", "Cy"], &[]);
    pty.shows("driver     Ann");
    pty.shows("navigator  Bob");
    pty.shows("waiting    Cy, Dee");
    pty.shows("here       Cy · 1 watching");
    pty.shows("space start   r reset   s swap   n next   q quit");

    // Someone else comes in by name, and someone without one.
    let named = server
        .client
        .get(server.url(&format!("/api/{code}/connect?name=Dee")))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("a stream");
    assert_eq!(named.status(), StatusCode::OK);
    let named = EventStream::from_response(named);
    let anonymous = server.connect(&code).await;
    pty.shows("here       Cy, Dee · 3 watching");

    // They leave again.
    drop(named);
    drop(anonymous);
    pty.shows("here       Cy · 1 watching");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn pairsync_name_names_the_watcher_too() {
    let server = support::spawn().await;
    let (_code, url) = team(&server, &["Ann", "Bob"], 60_000).await;
    let mut pty = Pty::spawn(&["watch", &url], &[("PAIRSYNC_NAME", "Bob")]);
    pty.shows("here       Bob · 1 watching");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_cannot_be_one_is_refused_in_words() {
    let server = support::spawn().await;
    let (_code, url) = team(&server, &["Ann", "Bob"], 60_000).await;
    let mut pty = Pty::spawn(&["watch", &url, "--name", "Bartholomew Fitzwilliam"], &[]);
    pty.shows("pairsync: --name: Names can be at most 20 characters");
    let ended = pty.finish();
    assert_eq!((ended.status, ended.modes_restored), (1, true));
}

#[tokio::test(flavor = "multi_thread")]
async fn n_ends_the_turn_and_the_order_moves_on() {
    let server = support::spawn().await;
    let (code, url) = team(&server, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    pty.shows("waiting    Cy");
    pty.send(" ");
    pty.shows("running · turn · round 1");

    pty.send("n");
    eventually(SERVER_TIMEOUT, || async {
        (room_json(&server, &code).await["members"] == json!(["Bob", "Cy", "Ann"])).then_some(())
    })
    .await;
    let room = room_json(&server, &code).await;
    assert_eq!(room["timer"]["round"], 1);
    pty.shows("idle · turn · round 2");
    pty.shows("driver     Bob");
    pty.shows("navigator  Cy");
    pty.shows("waiting    Ann");
    pty.shows("Next turn: Bob drives now, Cy navigates.");
    pty.shows("01:00");
    // Only a countdown that runs out rings.
    assert_eq!(pty.bells(), 0);

    // Twice more, and the order is back where it began.
    pty.send("n");
    pty.shows("idle · turn · round 3");
    pty.send("n");
    pty.shows("idle · turn · round 4");
    pty.shows("driver     Ann");
    pty.shows("waiting    Cy");
    assert_eq!(
        room_json(&server, &code).await["members"],
        json!(["Ann", "Bob", "Cy"])
    );
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_time_up_in_a_team_still_rings_the_bell_and_moves_the_order() {
    let server = support::spawn().await;
    let (_code, url) = team(&server, &["Ann", "Bob", "Cy"], 2_000).await;
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    pty.shows("driver     Ann");
    pty.send(" ");
    pty.shows("00:01");
    assert_eq!(pty.bells(), 0);
    pty.shows("Time is up! Bob drives now, Cy navigates.");
    pty.shows("idle · turn · round 2");
    pty.shows("waiting    Ann");
    assert_eq!(pty.bells(), 1);
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}

/// Adds the goal `content` to the room `code`; its id.
async fn add_goal(server: &TestServer, code: &str, content: &str) -> i64 {
    let res = server
        .client
        .post(server.url(&format!("/api/{code}/todos")))
        .json(&json!({ "content": content }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), StatusCode::CREATED);
    let goal: Value = res.json().await.expect("the goal");
    goal["id"].as_i64().expect("an id")
}

/// Flips the goal `id` checked.
async fn check_goal(server: &TestServer, id: i64) {
    let res = server
        .client
        .patch(server.url(&format!("/api/todos/{id}/checked")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// The screen's rows from the one that begins with `goals` on, up to a blank one.
fn goal_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("goals"))
        .take_while(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("goals").trim().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_shows_the_first_open_goals_in_order_as_they_change() {
    let server = support::spawn().await;
    let (code, url) = team(&server, &["Ann", "Bob", "Cy"], 60_000).await;
    let alpha = add_goal(&server, &code, "Alpha").await;
    let beta = add_goal(&server, &code, "Beta").await;
    add_goal(&server, &code, "Gamma").await;
    check_goal(&server, beta).await;
    let mut pty = Pty::spawn(&["watch", &url], &[]);
    pty.shows("goals      Alpha");
    let screen = pty.until("the open goals", |s| goal_rows(s).len() >= 2);
    assert_eq!(goal_rows(&screen)[..2], ["Alpha", "Gamma"], "{screen}");
    assert!(!screen.contains("Beta"), "{screen}");
    // A new goal comes last; a checked one goes.
    add_goal(&server, &code, "Delta").await;
    let screen = pty.until("Delta", |s| goal_rows(s).iter().any(|g| g == "Delta"));
    assert_eq!(
        goal_rows(&screen)[..3],
        ["Alpha", "Gamma", "Delta"],
        "{screen}"
    );
    check_goal(&server, alpha).await;
    let screen = pty.until("Alpha gone", |s| !s.contains("Alpha"));
    assert_eq!(goal_rows(&screen)[..2], ["Gamma", "Delta"], "{screen}");
    pty.send("q");
    assert_quit_cleanly(&mut pty);
}
