//! The team room on the real binary: members in turn order (made, joined, left, replaced,
//! and every refusal changing nothing). Runs on SQLite, and on PostgreSQL when the suite
//! does.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::expect_error;
use crate::helpers::TestServer;

use crate::team_support::{
    encode, is, join, leave, members, names_of, next, next_state, opened, put_members, read_until,
    room, strings, team_room, PROMPT,
};

/// How many rooms `GET /rooms` counts (the rooms this process holds).
async fn live_rooms(app: &TestServer) -> i64 {
    let (status, listing) = app.admin_json("/rooms").await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    listing["total"].as_i64().expect("total")
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `n` distinct names: `m0`, `m1`, …
fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

// ---------------------------------------------------------------------------------------
// Members

#[tokio::test]
async fn a_room_made_of_members_keeps_their_order_and_the_first_two_drive_and_navigate() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &[" Dee ", "Ann", "Bob", "Cy"], 60_000).await;
    let r = room(&app, &code).await;
    assert_eq!(strings(&r["members"]), ["Dee", "Ann", "Bob", "Cy"], "{r}");
    assert_eq!(
        (r["driver"].as_str(), r["navigator"].as_str()),
        (Some("Dee"), Some("Ann"))
    );
    // The snapshot a new stream is greeted with says the same.
    let snapshot = opened_state(&app, &code).await;
    assert_eq!(strings(&snapshot["members"]), ["Dee", "Ann", "Bob", "Cy"]);
    assert_eq!(
        (snapshot["driver"].as_str(), snapshot["navigator"].as_str()),
        (Some("Dee"), Some("Ann"))
    );
    // And the operators' listing names the first two.
    let (status, entry) = app.admin_json(&format!("/rooms/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(
        (entry["driver"].as_str(), entry["navigator"].as_str()),
        (Some("Dee"), Some("Ann"))
    );

    // The v1 form makes a room of two: the driver first.
    let pair = app.room(60_000).await;
    assert_eq!(members(&app, &pair).await, ["Bob", "Ann"]);

    // The bounds themselves are allowed: 12 members, 20 characters (counted as characters).
    let twelve = numbered(12);
    let twelve: Vec<&str> = twelve.iter().map(String::as_str).collect();
    let code = team_room(&app, &twelve, 60_000).await;
    assert_eq!(members(&app, &code).await, twelve);
    let long = "é".repeat(20);
    let code = team_room(&app, &[&long, "x".repeat(20).as_str()], 60_000).await;
    assert_eq!(members(&app, &code).await, [long, "x".repeat(20)]);
}

/// The snapshot a fresh stream of the room is greeted with.
async fn opened_state(app: &TestServer, code: &str) -> Value {
    app.connect(code).await.skip_greeting().await.json()
}

#[tokio::test]
async fn a_bad_member_list_at_creation_is_refused_naming_the_field_and_makes_no_room() {
    let app = TestServer::spawn().await;
    let before = live_rooms(&app).await;
    let duration = json!(60_000);
    let thirteen = numbered(13);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("one member", json!({"members": ["Ann"]}), "members"),
        ("no member", json!({"members": []}), "members"),
        (
            "thirteen members",
            json!({ "members": thirteen }),
            "members",
        ),
        (
            "a duplicate",
            json!({"members": ["Ann", "Bob", "Ann"]}),
            "members",
        ),
        (
            "a duplicate once trimmed",
            json!({"members": ["Ann", "Bob", " Ann "]}),
            "members",
        ),
        ("an empty name", json!({"members": ["Ann", ""]}), "members"),
        (
            "a blank name",
            json!({"members": ["Ann", "   "]}),
            "members",
        ),
        (
            "21 characters",
            json!({"members": ["Ann", "x".repeat(21)]}),
            "members",
        ),
        (
            "a control character",
            json!({"members": ["Ann", "B\u{7}b"]}),
            "members",
        ),
        (
            "a line break",
            json!({"members": ["Ann", "B\nb"]}),
            "members",
        ),
        (
            "a name that is no string",
            json!({"members": ["Ann", 5]}),
            "members",
        ),
        (
            "members that are no list",
            json!({"members": "Ann, Bob"}),
            "members",
        ),
        (
            "both forms",
            json!({"members": ["Ann", "Bob"], "driver": "Ann", "navigator": "Bob"}),
            "members",
        ),
        (
            "members and a driver",
            json!({"members": ["Ann", "Bob"], "driver": "Ann"}),
            "members",
        ),
        ("neither form", json!({}), "navigator"),
        ("a driver alone", json!({"driver": "Ann"}), "navigator"),
    ];
    for (what, mut body, field) in cases {
        body["timerDuration"] = duration.clone();
        let res = app
            .client
            .post(app.url("/api/pair-room"))
            .json(&body)
            .send()
            .await
            .expect("create request");
        assert!(
            res.headers().get("location").is_none(),
            "{what}: a Location"
        );
        let err = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "{what}: {message:?} names no {field}"
        );
    }
    assert_eq!(
        live_rooms(&app).await,
        before,
        "a refused request made a room"
    );
    // (The count would have seen one: a good request right after adds one.)
    team_room(&app, &["Ann", "Bob"], 60_000).await;
    assert_eq!(live_rooms(&app).await, before + 1);
}

#[tokio::test]
async fn members_join_at_the_end_leave_by_name_and_are_replaced_whole_each_told_as_state() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    let mut stream = opened(&app, &code).await;

    let steps: Vec<(&str, reqwest::Response, Vec<&str>)> = vec![
        (
            "join",
            join(&app, &code, " Cy ").await,
            vec!["Ann", "Bob", "Cy"],
        ),
        (
            "join",
            join(&app, &code, "Dee").await,
            vec!["Ann", "Bob", "Cy", "Dee"],
        ),
        (
            "leave",
            leave(&app, &code, "Cy").await,
            vec!["Ann", "Bob", "Dee"],
        ),
        // The driver leaves: the navigator drives, the next one navigates.
        ("leave", leave(&app, &code, "Ann").await, vec!["Bob", "Dee"]),
        // Renames, reorders and joins at once.
        (
            "replace",
            put_members(&app, &code, json!({"members": ["Dee", "Bobby", " Eve "]})).await,
            vec!["Dee", "Bobby", "Eve"],
        ),
        // The same order again is still a change told.
        (
            "replace",
            put_members(&app, &code, json!({"members": ["Dee", "Bobby", "Eve"]})).await,
            vec!["Dee", "Bobby", "Eve"],
        ),
    ];
    // The requests above ran one after the other; now each told its `state`, in order.
    for (what, res, order) in steps {
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{what} {order:?}");
        let snapshot = next_state(&mut stream).await;
        assert_eq!(strings(&snapshot["members"]), order, "{what}");
        assert_eq!(snapshot["driver"], order[0]);
        assert_eq!(snapshot["navigator"], order[1]);
    }
    assert!(
        stream.quiet_for(Duration::from_millis(300)).await,
        "one state each"
    );
    let r = room(&app, &code).await;
    assert_eq!(strings(&r["members"]), ["Dee", "Bobby", "Eve"]);
    assert_eq!(
        (r["driver"].as_str(), r["navigator"].as_str()),
        (Some("Dee"), Some("Bobby"))
    );
}

#[tokio::test]
async fn a_member_leaves_by_the_percent_encoded_name_whatever_characters_it_has() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    for name in ["Ann B/ö", "50% + C", "Zoë?#&=", "a.b"] {
        assert_eq!(
            join(&app, &code, name).await.status(),
            StatusCode::NO_CONTENT,
            "{name}"
        );
        assert_eq!(members(&app, &code).await, ["Ann", "Bob", name]);
        let res = leave(&app, &code, &encode(name)).await;
        assert_eq!(
            res.status(),
            StatusCode::NO_CONTENT,
            "{name} as {}",
            encode(name)
        );
        assert_eq!(members(&app, &code).await, ["Ann", "Bob"], "{name} left");
    }
    // Spaces may come as `%20`; a name is compared after trimming.
    assert_eq!(
        join(&app, &code, "Cy Dee").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        leave(&app, &code, "%20Cy%20Dee%20").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(members(&app, &code).await, ["Ann", "Bob"]);
}

#[tokio::test]
async fn a_member_change_that_breaks_the_rules_is_refused_and_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob"], 60_000).await;
    let mut stream = opened(&app, &code).await;

    // Leaving: no such member (names are exact, case included), or too few would remain.
    for unknown in ["Zed", "ann", "An"] {
        expect_error(
            leave(&app, &code, unknown).await,
            StatusCode::NOT_FOUND,
            "member_not_found",
        )
        .await;
    }
    let err = expect_error(
        leave(&app, &code, "Bob").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("members"),
        "{err}"
    );

    // Joining: a name already there (also once trimmed), a bad name, no name.
    for (dup, name) in [("exact", "Ann"), ("trimmed", " Bob ")] {
        let err = expect_error(
            join(&app, &code, name).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("members") && message.contains(name.trim()),
            "{dup} duplicate: {message:?}"
        );
    }
    let long = "x".repeat(21);
    for (what, body) in [
        ("empty", json!({"name": ""})),
        ("blank", json!({"name": "  "})),
        ("21 characters", json!({ "name": long })),
        ("a control character", json!({"name": "C\u{1b}y"})),
        ("not a string", json!({"name": 5})),
        ("missing", json!({})),
    ] {
        let res = app
            .client
            .post(app.url(&format!("/api/pair-room/{code}/members")))
            .json(&body)
            .send()
            .await
            .expect("join request");
        let err = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains("name"), "{what}: {message:?}");
    }

    // Replacing: too few, too many, a duplicate, a bad name, not a list.
    let thirteen = numbered(13);
    for (what, body) in [
        ("one", json!({"members": ["Ann"]})),
        ("none", json!({"members": []})),
        ("thirteen", json!({ "members": thirteen })),
        ("a duplicate", json!({"members": ["Ann", "Bob", "Ann"]})),
        (
            "a duplicate once trimmed",
            json!({"members": ["Ann", " Ann"]}),
        ),
        ("an empty name", json!({"members": ["Ann", ""]})),
        ("21 characters", json!({"members": ["Ann", "y".repeat(21)]})),
        ("a control character", json!({"members": ["Ann", "B\tb"]})),
        ("not a list", json!({"members": "Ann"})),
        ("missing", json!({})),
    ] {
        let res = put_members(&app, &code, body).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains("members"), "{what}: {message:?}");
    }
    assert!(
        stream.quiet_for(Duration::from_millis(300)).await,
        "a refusal told something"
    );
    assert_eq!(members(&app, &code).await, ["Ann", "Bob"]);

    // Full: ten join, the thirteenth is refused.
    for name in numbered(10) {
        assert_eq!(
            join(&app, &code, &name).await.status(),
            StatusCode::NO_CONTENT
        );
        next_state(&mut stream).await;
    }
    let err = expect_error(
        join(&app, &code, "m10").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("members"),
        "{err}"
    );
    assert!(
        stream.quiet_for(Duration::from_millis(300)).await,
        "a refusal told something"
    );
    let mut twelve = names(&["Ann", "Bob"]);
    twelve.extend(numbered(10));
    assert_eq!(members(&app, &code).await, twelve);

    // No such room.
    let nowhere = "abcdefghijklmnop";
    expect_error(
        join(&app, nowhere, "Cy").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    expect_error(
        leave(&app, nowhere, "Ann").await,
        StatusCode::NOT_FOUND,
        "room_not_found",
    )
    .await;
    let res = put_members(&app, nowhere, json!({"members": ["Ann", "Bob"]})).await;
    expect_error(res, StatusCode::NOT_FOUND, "room_not_found").await;
}

#[tokio::test]
async fn a_member_change_keeps_the_round_and_the_timer_a_running_deadline_included() {
    let app = TestServer::spawn().await;
    let code = team_room(&app, &["Ann", "Bob", "Cy"], 60_000).await;
    let mut stream = opened(&app, &code).await;
    // Round 1 first, so that a change that reset the round would show.
    assert_eq!(next(&app, &code, "").await, StatusCode::NO_CONTENT);
    read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/start")).await,
        StatusCode::NO_CONTENT
    );
    let (started, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    let deadline = started.json()["deadlineAt"].as_i64().expect("running");

    let changes = [
        ("join", join(&app, &code, "Dee").await.status()),
        ("leave", leave(&app, &code, "Bob").await.status()),
        (
            "replace",
            put_members(&app, &code, json!({"members": ["Ann", "Cy", "Dee"]}))
                .await
                .status(),
        ),
    ];
    for (what, status) in changes {
        assert_eq!(status, StatusCode::NO_CONTENT, "{what}");
        // Ticks may come meanwhile; no timer event does.
        let (state, before) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
        assert!(
            before.iter().all(|f| is(f, "remaining-time") && f.ms() > 0),
            "{what}: {:?}",
            names_of(&before)
        );
        let s = state.json();
        assert_eq!(
            (s["state"].as_str(), s["round"].as_i64()),
            (Some("running"), Some(1)),
            "{what}"
        );
        assert_eq!(
            s["deadlineAt"].as_i64(),
            Some(deadline),
            "{what}: the deadline moved"
        );
    }
    let timer = app.timer(&code).await;
    assert_eq!(timer["deadlineAt"].as_i64(), Some(deadline));
    assert_eq!(timer["round"], 1);

    // Paused: the remaining time stays to the millisecond.
    assert_eq!(
        app.patch(&format!("/api/{code}/timer/stop")).await,
        StatusCode::NO_CONTENT
    );
    let (paused, _) = read_until(&mut stream, PROMPT, |f| is(f, "state")).await;
    let remaining = paused.json()["remainingTime"].as_i64().expect("remaining");
    assert_eq!(
        join(&app, &code, "Eve").await.status(),
        StatusCode::NO_CONTENT
    );
    let s = next_state(&mut stream).await;
    assert_eq!(
        (
            s["state"].as_str(),
            s["remainingTime"].as_i64(),
            s["round"].as_i64()
        ),
        (Some("paused"), Some(remaining), Some(1))
    );
    assert_eq!(
        app.timer(&code).await["remainingTime"].as_i64(),
        Some(remaining)
    );
}

#[tokio::test]
async fn a_member_change_after_a_time_up_ends_the_window_of_the_legacy_swap() {
    let app = TestServer::spawn().await;
    // Two rooms run out together; in one a member joins before the page's own swap comes.
    let plain = team_room(&app, &["Ann", "Bob", "Cy"], 1000).await;
    let changed = team_room(&app, &["Ann", "Bob", "Cy"], 1000).await;
    let mut on_plain = opened(&app, &plain).await;
    let mut on_changed = opened(&app, &changed).await;
    for code in [&plain, &changed] {
        assert_eq!(
            app.patch(&format!("/api/{code}/timer/start")).await,
            StatusCode::NO_CONTENT
        );
    }
    for stream in [&mut on_plain, &mut on_changed] {
        let (state, _) =
            read_until(stream, PROMPT, |f| is(f, "state") && f.json()["round"] == 1).await;
        assert_eq!(strings(&state.json()["members"]), ["Bob", "Cy", "Ann"]);
    }
    assert_eq!(
        join(&app, &changed, "Dee").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        strings(&next_state(&mut on_changed).await["members"]),
        ["Bob", "Cy", "Ann", "Dee"]
    );

    // Without a change, the round-less swap is the time-up's own: nothing happens.
    let swap = |code: &str| format!("/api/pair-room/{code}/pair-swap");
    assert_eq!(app.patch(&swap(&plain)).await, StatusCode::NO_CONTENT);
    assert!(on_plain.quiet_for(Duration::from_millis(500)).await);
    assert_eq!(members(&app, &plain).await, ["Bob", "Cy", "Ann"]);
    // After the member change, it is a swap of its own.
    assert_eq!(app.patch(&swap(&changed)).await, StatusCode::NO_CONTENT);
    assert_eq!(
        strings(&next_state(&mut on_changed).await["members"]),
        ["Cy", "Ann", "Dee", "Bob"]
    );
    assert_eq!(members(&app, &changed).await, ["Cy", "Ann", "Dee", "Bob"]);
    assert_eq!(app.timer(&changed).await["round"], 1);
}
