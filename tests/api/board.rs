//! A room's board: its goals (coduo's todo list), its reference links and their
//! categories, as the pages and coduo's frontend use them. Every change is committed before
//! the answer, told to every stream as `todos` or `links` (the whole list), kept across a
//! restart, and gone with the room; every bad input is a 4xx that names what is wrong and
//! changes nothing.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestServer;
use crate::sse::EventStream;

const WAIT: Duration = Duration::from_secs(5);

/// `METHOD path` with a JSON body (or none); the status and the JSON answer.
async fn call(
    app: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method.parse().expect("a method"), app.url(path));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("a request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn todos(app: &TestServer, code: &str) -> Value {
    let (status, list) = call(app, "GET", &format!("/api/{code}/todos"), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

/// Adds a goal; its id.
async fn add_todo(app: &TestServer, code: &str, content: &str) -> i64 {
    let (status, goal) = call(
        app,
        "POST",
        &format!("/api/{code}/todos"),
        Some(json!({"content": content})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{goal}");
    goal["id"].as_i64().expect("an id")
}

fn contents(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|g| g["content"].as_str().unwrap_or(""))
        .collect()
}

/// The next event named `name` on `stream` (every event read, none set aside).
async fn next_named(stream: &mut EventStream, name: &str) -> Value {
    loop {
        let frame = stream.next_event(WAIT).await;
        if frame.event.as_deref() == Some(name) {
            return frame.json();
        }
    }
}

/// A 4xx with this status and `error`, whose message names `field` when one is given.
fn refused(answer: &(StatusCode, Value), status: StatusCode, error: &str, field: Option<&str>) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    if let Some(field) = field {
        let message = answer.1["message"].as_str().unwrap_or("");
        assert!(message.contains(field), "{field}: {message}");
    }
}

#[tokio::test]
async fn goals_are_added_last_with_random_ids_and_read_back_in_order() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    assert_eq!(todos(&app, &code).await, json!([]));
    let (status, first) = call(
        &app,
        "POST",
        &format!("/api/{code}/todos"),
        Some(json!({"content": "  write the test  "})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["content"], "write the test");
    assert_eq!(
        (first["isChecked"].clone(), first["order"].clone()),
        (json!(false), json!(0))
    );
    let mut ids = vec![first["id"].as_i64().expect("an id")];
    for content in ["make it pass", "clean up"] {
        ids.push(add_todo(&app, &code, content).await);
    }
    let list = todos(&app, &code).await;
    assert_eq!(
        contents(&list),
        ["write the test", "make it pass", "clean up"]
    );
    let orders: Vec<i64> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|g| g["order"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(orders, [0, 1, 2]);
    // Ids: positive, below 2^53, distinct, and not one counted up from another.
    assert!(
        ids.iter().all(|id| (1..(1_i64 << 53)).contains(id)),
        "{ids:?}"
    );
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3);
    // A hundred ids (a room's most goals): neither a counter nor a clock, by any stride.
    let other = app.room(60_000).await;
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(add_todo(&app, &other, &format!("goal {n}")).await);
    }
    assert!(
        ids.iter().all(|id| (1..(1_i64 << 53)).contains(id)),
        "{ids:?}"
    );
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100);
    assert!(
        !ids.windows(2).all(|w| w[0] < w[1]),
        "ids counted up: {ids:?}"
    );
    assert!(
        !ids.windows(2).all(|w| w[0] > w[1]),
        "ids counted down: {ids:?}"
    );
    // The bits that differ from the first id, over all of them: random ids of 53 bits
    // differ in nearly all 53; a counter or a clock only in its low bits.
    let varying = ids.iter().fold(0_i64, |acc, id| acc | (id ^ ids[0]));
    assert!(
        varying.count_ones() >= 40,
        "ids vary in {varying:#b} only: {ids:?}"
    );
    let high = (32..53).filter(|bit| varying & (1 << bit) != 0).count();
    assert!(
        high >= 15,
        "ids vary in {high} of their bits 32 to 52: {ids:?}"
    );
}

#[tokio::test]
async fn a_goal_is_edited_checked_moved_and_deleted_by_its_id_alone() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let mut ids = Vec::new();
    for content in ["A", "B", "C", "D"] {
        ids.push(add_todo(&app, &code, content).await);
    }
    let [a, b, c, d] = ids[..] else {
        unreachable!()
    };
    let no_content = || -> Option<Value> { None };
    assert_eq!(
        call(
            &app,
            "PATCH",
            &format!("/api/todos/{b}/contents"),
            Some(json!({"contents": " Bee "}))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(
            &app,
            "PATCH",
            &format!("/api/todos/{c}/checked"),
            no_content()
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let list = todos(&app, &code).await;
    assert_eq!(contents(&list), ["A", "Bee", "C", "D"]);
    assert_eq!(list[2]["isChecked"], true);
    assert_eq!(
        call(
            &app,
            "PATCH",
            &format!("/api/todos/{c}/checked"),
            no_content()
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(todos(&app, &code).await[2]["isChecked"], false);

    // coduo's drag and drop sends the drop target's `order`: the goal lands where the
    // target was, the others shift.
    let order_of = |list: &Value, id: i64| {
        list.as_array()
            .and_then(|l| l.iter().find(|g| g["id"] == id))
            .map(|g| g["order"].clone())
            .expect("in the list")
    };
    let target = order_of(&todos(&app, &code).await, d);
    call(
        &app,
        "PATCH",
        &format!("/api/todos/{a}/order"),
        Some(json!({"order": target})),
    )
    .await;
    assert_eq!(contents(&todos(&app, &code).await), ["Bee", "C", "D", "A"]);
    let target = order_of(&todos(&app, &code).await, b);
    call(
        &app,
        "PATCH",
        &format!("/api/todos/{d}/order"),
        Some(json!({"order": target})),
    )
    .await;
    assert_eq!(contents(&todos(&app, &code).await), ["D", "Bee", "C", "A"]);
    // Past the end: last. Onto itself: nothing moves.
    call(
        &app,
        "PATCH",
        &format!("/api/todos/{d}/order"),
        Some(json!({"order": 99})),
    )
    .await;
    assert_eq!(contents(&todos(&app, &code).await), ["Bee", "C", "A", "D"]);
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/todos/{c}/order"),
        Some(json!({"order": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(contents(&todos(&app, &code).await), ["Bee", "C", "A", "D"]);

    assert_eq!(
        call(&app, "DELETE", &format!("/api/todos/{c}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let list = todos(&app, &code).await;
    assert_eq!(contents(&list), ["Bee", "A", "D"]);
    let orders: Vec<i64> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|g| g["order"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(orders, [0, 1, 2], "orders stay 0 … n−1");
}

#[tokio::test]
async fn bad_goal_input_is_refused_with_the_field_named_and_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let id = add_todo(&app, &code, "kept").await;
    let before = todos(&app, &code).await;
    let todo_path = format!("/api/{code}/todos");
    for body in [
        json!({"content": ""}),
        json!({"content": "   "}),
        json!({"content": "é".repeat(501)}),
        json!({"content": 5}),
        json!({}),
    ] {
        refused(
            &call(&app, "POST", &todo_path, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("content"),
        );
    }
    assert_eq!(
        call(
            &app,
            "POST",
            &todo_path,
            Some(json!({"content": "é".repeat(500)}))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let last = todos(&app, &code).await[1]["id"].as_i64().expect("an id");
    call(&app, "DELETE", &format!("/api/todos/{last}"), None).await;
    let edit = format!("/api/todos/{id}/contents");
    for body in [
        json!({"contents": ""}),
        json!({"contents": "x".repeat(501)}),
        json!({"content": "the key is contents"}),
    ] {
        refused(
            &call(&app, "PATCH", &edit, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("contents"),
        );
    }
    let order = format!("/api/todos/{id}/order");
    for body in [
        json!({"order": 1.5}),
        json!({"order": "1"}),
        json!({"order": -1}),
        json!({}),
    ] {
        refused(
            &call(&app, "PATCH", &order, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("order"),
        );
    }
    for unknown in ["1", "9007199254740992", "abc", "-5"] {
        for (method, path, body) in [
            (
                "PATCH",
                format!("/api/todos/{unknown}/contents"),
                Some(json!({"contents": "x"})),
            ),
            (
                "PATCH",
                format!("/api/todos/{unknown}/order"),
                Some(json!({"order": 0})),
            ),
            ("PATCH", format!("/api/todos/{unknown}/checked"), None),
            ("DELETE", format!("/api/todos/{unknown}"), None),
        ] {
            refused(
                &call(&app, method, &path, body).await,
                StatusCode::NOT_FOUND,
                "todo_not_found",
                None,
            );
        }
    }
    assert_eq!(todos(&app, &code).await, before);
}

#[tokio::test]
async fn a_room_holds_a_hundred_goals() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    for i in 0..100 {
        add_todo(&app, &code, &format!("goal {i}")).await;
    }
    let answer = call(
        &app,
        "POST",
        &format!("/api/{code}/todos"),
        Some(json!({"content": "one more"})),
    )
    .await;
    refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("100 goals"),
    );
    assert_eq!(todos(&app, &code).await.as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn every_stream_gets_the_goals_on_connect_and_the_whole_list_after_each_change() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    add_todo(&app, &code, "first").await;
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut stream = app.connect(&code).await.every_event();
        // The greeting: connect, remaining-time, state, then the goals, last.
        let mut names = Vec::new();
        let goals = loop {
            let frame = stream.next_event(WAIT).await;
            let name = frame.event.clone().unwrap_or_default();
            if name != "presence" {
                names.push(name.clone());
            }
            if name == "todos" {
                break frame.json();
            }
        };
        assert_eq!(names, ["connect", "remaining-time", "state", "todos"]);
        assert_eq!(contents(&goals), ["first"]);
        streams.push(stream);
    }
    let id = add_todo(&app, &code, "second").await;
    call(&app, "PATCH", &format!("/api/todos/{id}/checked"), None).await;
    for stream in &mut streams {
        assert_eq!(
            contents(&next_named(stream, "todos").await),
            ["first", "second"]
        );
        // In commit order: the check comes after the addition it follows.
        let checked = next_named(stream, "todos").await;
        assert_eq!(checked[1]["isChecked"], true);
    }
}

#[tokio::test]
async fn goals_survive_a_crash_and_go_with_their_room() {
    let mut app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let id = add_todo(&app, &code, "stays").await;
    call(&app, "PATCH", &format!("/api/todos/{id}/checked"), None).await;
    app.crash_and_restart();
    let list = todos(&app, &code).await;
    assert_eq!(
        (contents(&list), list[0]["isChecked"].clone()),
        (vec!["stays"], json!(true))
    );
    assert_eq!(
        app.send("DELETE", &format!("/api/pair-room/{code}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    refused(
        &call(&app, "PATCH", &format!("/api/todos/{id}/checked"), None).await,
        StatusCode::NOT_FOUND,
        "todo_not_found",
        None,
    );
    refused(
        &call(&app, "GET", &format!("/api/{code}/todos"), None).await,
        StatusCode::NOT_FOUND,
        "room_not_found",
        None,
    );
}

async fn add_category(app: &TestServer, code: &str, value: &str) -> String {
    let (status, category) = call(
        app,
        "POST",
        &format!("/api/{code}/category"),
        Some(json!({"value": value})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{category}");
    assert_eq!(category["value"], value.trim());
    category["id"].as_str().expect("a string id").to_string()
}

async fn add_link(app: &TestServer, code: &str, url: &str, category: Option<&str>) -> Value {
    let (status, link) = call(
        app,
        "POST",
        &format!("/api/{code}/reference-link"),
        Some(json!({"url": url, "categoryId": category})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    link
}

async fn links(app: &TestServer, code: &str, query: &str) -> Value {
    let (status, list) = call(
        app,
        "GET",
        &format!("/api/{code}/reference-link{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

/// How long a link's page is watched for a request from the server: far longer than a
/// request the server made while adding the link, or right after, would take to arrive
/// over loopback.
const NO_REQUEST_FOR: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_link_is_added_without_any_request_to_its_page() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    // The pages the links name: a port on this machine that only this test listens on.
    let page = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    page.set_nonblocking(true).expect("a non-blocking listener");
    let port = page.local_addr().expect("its address").port();
    let urls = [
        (format!("http://127.0.0.1:{port}/page"), "127.0.0.1"),
        (format!("https://127.0.0.1:{port}/x"), "127.0.0.1"),
        (format!("http://localhost:{port}/og"), "localhost"),
    ];
    for (url, host) in &urls {
        let link = add_link(&app, &code, url, None).await;
        assert_eq!(
            link,
            json!({"id": link["id"], "url": url, "headTitle": host, "openGraphTitle": "",
                   "description": "", "image": "", "categoryName": null})
        );
    }
    let end = std::time::Instant::now() + NO_REQUEST_FOR;
    while std::time::Instant::now() < end {
        match page.accept() {
            Ok((_, from)) => panic!("the server made a request to a link's page (from {from})"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("the listener failed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And the list still shows what was added, with nothing filled in since.
    let list = links(&app, &code, "").await;
    for (link, (url, host)) in list
        .as_array()
        .expect("a list")
        .iter()
        .zip(urls.iter().rev())
    {
        assert_eq!(
            (
                &link["url"],
                &link["headTitle"],
                &link["openGraphTitle"],
                &link["description"],
                &link["image"]
            ),
            (
                &json!(url),
                &json!(host),
                &json!(""),
                &json!(""),
                &json!("")
            )
        );
    }
}

#[tokio::test]
async fn links_come_newest_first_with_their_host_and_category_and_lose_a_deleted_category() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let docs = add_category(&app, &code, " Docs ").await;
    let specs = add_category(&app, &code, "Specs").await;
    let (status, categories) = call(&app, "GET", &format!("/api/{code}/category"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        categories,
        json!([{"id": docs, "value": "Docs"}, {"id": specs, "value": "Specs"}])
    );

    let first = add_link(&app, &code, "https://docs.rs/actix", Some(&docs)).await;
    assert_eq!(
        first,
        json!({"id": first["id"], "url": "https://docs.rs/actix", "headTitle": "docs.rs",
               "openGraphTitle": "", "description": "", "image": "", "categoryName": "Docs"})
    );
    add_link(&app, &code, "http://example.test:8080/x?y=1", None).await;
    let list = links(&app, &code, "").await;
    let urls: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["url"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        urls,
        ["http://example.test:8080/x?y=1", "https://docs.rs/actix"]
    );
    assert_eq!(list[0]["categoryName"], Value::Null);
    assert_eq!(
        links(&app, &code, &format!("?categoryId={docs}"))
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        links(&app, &code, &format!("?categoryId={specs}")).await,
        json!([])
    );

    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/{code}/category"),
        Some(json!({"categoryId": docs, "updatedCategoryName": "Manuals"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(links(&app, &code, "").await[1]["categoryName"], "Manuals");
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/{code}/category/{docs}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(links(&app, &code, "").await[1]["categoryName"], Value::Null);

    let id = first["id"].as_i64().expect("an id");
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/{code}/reference-link/{id}"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        links(&app, &code, "").await.as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn bad_link_and_category_input_is_refused_and_changes_nothing() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let docs = add_category(&app, &code, "Docs").await;
    add_link(&app, &code, "https://a.test", None).await;
    let before = (
        links(&app, &code, "").await,
        call(&app, "GET", &format!("/api/{code}/category"), None)
            .await
            .1,
    );
    let link_path = format!("/api/{code}/reference-link");
    for url in [
        json!("ftp://a.test"),
        json!("javascript:alert(1)"),
        json!("a.test"),
        json!(""),
        json!(format!("https://a.test/{}", "a".repeat(2040))),
        json!(7),
    ] {
        refused(
            &call(
                &app,
                "POST",
                &link_path,
                Some(json!({"url": url, "categoryId": null})),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("url"),
        );
    }
    refused(
        &call(
            &app,
            "POST",
            &link_path,
            Some(json!({"url": "https://b.test", "categoryId": "nope"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "category_not_found",
        None,
    );
    let category_path = format!("/api/{code}/category");
    for value in [json!(""), json!(" "), json!("x".repeat(31)), json!(3)] {
        refused(
            &call(&app, "POST", &category_path, Some(json!({"value": value}))).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("value"),
        );
    }
    refused(
        &call(&app, "POST", &category_path, Some(json!({"value": "Docs"}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("value"),
    );
    refused(
        &call(
            &app,
            "PATCH",
            &category_path,
            Some(json!({"categoryId": docs, "updatedCategoryName": ""})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("updatedCategoryName"),
    );
    refused(
        &call(
            &app,
            "PATCH",
            &category_path,
            Some(json!({"categoryId": "nope", "updatedCategoryName": "New"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "category_not_found",
        None,
    );
    refused(
        &call(&app, "DELETE", &format!("{category_path}/nope"), None).await,
        StatusCode::NOT_FOUND,
        "category_not_found",
        None,
    );
    refused(
        &call(&app, "DELETE", &format!("{link_path}/12345"), None).await,
        StatusCode::NOT_FOUND,
        "link_not_found",
        None,
    );
    refused(
        &call(&app, "DELETE", &format!("{link_path}/abc"), None).await,
        StatusCode::NOT_FOUND,
        "link_not_found",
        None,
    );
    let after = (
        links(&app, &code, "").await,
        call(&app, "GET", &format!("/api/{code}/category"), None)
            .await
            .1,
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_room_holds_thirty_categories_and_a_hundred_links() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    for i in 0..30 {
        add_category(&app, &code, &format!("c{i}")).await;
    }
    refused(
        &call(
            &app,
            "POST",
            &format!("/api/{code}/category"),
            Some(json!({"value": "c30"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("30 categories"),
    );
    for i in 0..100 {
        add_link(&app, &code, &format!("https://a.test/{i}"), None).await;
    }
    refused(
        &call(
            &app,
            "POST",
            &format!("/api/{code}/reference-link"),
            Some(json!({"url": "https://a.test/100", "categoryId": null})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("100 links"),
    );
}

#[tokio::test]
async fn every_link_or_category_change_tells_every_stream_the_whole_list() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let mut streams = [
        app.connect(&code).await.every_event(),
        app.connect(&code).await.every_event(),
    ];
    let docs = add_category(&app, &code, "Docs").await;
    for stream in &mut streams {
        assert_eq!(next_named(stream, "links").await, json!([]));
    }
    let first = add_link(&app, &code, "https://docs.rs", Some(&docs)).await;
    let second = add_link(&app, &code, "https://crates.io", Some(&docs)).await;
    for stream in &mut streams {
        let list = next_named(stream, "links").await;
        assert_eq!(
            (list[0]["url"].clone(), list[0]["categoryName"].clone()),
            (json!("https://docs.rs"), json!("Docs"))
        );
        let list = next_named(stream, "links").await;
        assert_eq!(
            urls_and_categories(&list),
            [("https://crates.io", "Docs"), ("https://docs.rs", "Docs")]
        );
    }
    call(
        &app,
        "PATCH",
        &format!("/api/{code}/category"),
        Some(json!({"categoryId": docs, "updatedCategoryName": "Rust"})),
    )
    .await;
    for stream in &mut streams {
        let list = next_named(stream, "links").await;
        assert_eq!(
            urls_and_categories(&list),
            [("https://crates.io", "Rust"), ("https://docs.rs", "Rust")]
        );
    }
    // A link deleted: the list without it.
    let (status, body) = call(
        &app,
        "DELETE",
        &format!("/api/{code}/reference-link/{}", first["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for stream in &mut streams {
        let list = next_named(stream, "links").await;
        assert_eq!(urls_and_categories(&list), [("https://crates.io", "Rust")]);
    }
    // Its category deleted: the link stays, without a category.
    let (status, body) = call(
        &app,
        "DELETE",
        &format!("/api/{code}/category/{docs}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for stream in &mut streams {
        let list = next_named(stream, "links").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(
            (&list[0]["id"], &list[0]["categoryName"]),
            (&second["id"], &Value::Null)
        );
    }
}

/// `(url, categoryName)` of each link of a `links` list (`""` for no category).
fn urls_and_categories(list: &Value) -> Vec<(&str, &str)> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|l| {
            (
                l["url"].as_str().unwrap_or(""),
                l["categoryName"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

#[tokio::test]
async fn coduo_s_sign_in_check_says_nobody_is_signed_in_and_its_account_calls_stay_unknown() {
    let app = TestServer::spawn().await;
    assert_eq!(
        call(&app, "GET", "/api/sign-in/check", None).await,
        (StatusCode::OK, json!({"signedIn": false}))
    );
    for (method, path) in [
        ("GET", "/api/sign-in/oauth/github"),
        ("GET", "/api/sign-in/callback"),
        ("POST", "/api/sign-up"),
        ("GET", "/api/sign-out"),
        ("GET", "/api/member"),
        ("GET", "/api/my-pair-rooms"),
        ("GET", "/api/retrospects"),
    ] {
        refused(
            &call(&app, method, path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }
}

#[tokio::test]
async fn a_goal_changed_through_one_process_reaches_the_streams_of_the_others() {
    if !crate::helpers::on_postgres_or_skip(
        "board::a_goal_changed_through_one_process_reaches_the_streams_of_the_others",
    ) {
        return;
    }
    let a = TestServer::spawn().await;
    let (b, c) = (a.sibling(), a.sibling());
    let code = a.room(60_000).await;
    let mut streams = Vec::new();
    for server in [&a, &b, &c] {
        let mut stream = server.connect(&code).await.every_event();
        next_named(&mut stream, "todos").await;
        streams.push(stream);
    }
    let id = add_todo(&b, &code, "shared").await;
    // Through a third process, at once: one that may not have read the addition yet.
    let asked = crate::expect::now_us();
    let (status, body) = call(&c, "PATCH", &format!("/api/todos/{id}/checked"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for stream in &mut streams {
        assert_eq!(contents(&next_named(stream, "todos").await), ["shared"]);
        let frame = loop {
            let frame = stream.next_event(WAIT).await;
            if frame.event.as_deref() == Some("todos") {
                break frame;
            }
        };
        assert_eq!(frame.json()[0]["isChecked"], true);
        // Within the contract's 100 ms of the command, plus the suite's allowance.
        crate::expect::assert_within(
            "across",
            "a goal checked through another process",
            frame.received_us,
            asked / 1000,
            crate::expect::ACROSS_MS,
        );
    }
    for server in [&a, &b, &c] {
        assert_eq!(todos(server, &code).await[0]["isChecked"], true);
    }
    // A link added through B reaches every process's streams as `links` in time too.
    let added = crate::expect::now_us();
    add_link(&b, &code, "https://docs.rs", None).await;
    for stream in &mut streams {
        let frame = loop {
            let frame = stream.next_event(WAIT).await;
            if frame.event.as_deref() == Some("links") {
                break frame;
            }
        };
        assert_eq!(frame.json()[0]["url"], "https://docs.rs");
        crate::expect::assert_within(
            "across",
            "a link added through another process",
            frame.received_us,
            added / 1000,
            crate::expect::ACROSS_MS,
        );
    }
}

/// coduo's todo card keeps the list its stream last told it and drags by the drop
/// target's `order` read from that list.
async fn drag(app: &TestServer, shown: &Value, from: &str, onto: &str) {
    let find = |content: &str| {
        shown
            .as_array()
            .and_then(|l| l.iter().find(|g| g["content"] == content))
            .cloned()
            .unwrap_or_else(|| panic!("{content} is not shown: {shown}"))
    };
    let (id, target) = (find(from)["id"].clone(), find(onto)["order"].clone());
    let (status, body) = call(
        app,
        "PATCH",
        &format!("/api/todos/{id}/order"),
        Some(json!({ "order": target })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn coduo_s_todo_card_played_from_its_stream_moves_each_dragged_goal_onto_its_target() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let mut stream = app.connect(&code).await.every_event();
    assert_eq!(next_named(&mut stream, "todos").await, json!([]));
    for content in ["A", "B", "C", "D", "E"] {
        add_todo(&app, &code, content).await;
    }
    let mut shown = Value::Null;
    for _ in 0..5 {
        shown = next_named(&mut stream, "todos").await;
    }
    assert_eq!(contents(&shown), ["A", "B", "C", "D", "E"]);
    // Each drag is told once, as the whole list in its new order, as a read says.
    for (from, onto, after) in [
        ("B", "D", ["A", "C", "D", "B", "E"]),
        ("E", "A", ["E", "A", "C", "D", "B"]),
        ("C", "E", ["C", "E", "A", "D", "B"]),
        ("A", "B", ["C", "E", "D", "B", "A"]),
        ("D", "E", ["C", "D", "E", "B", "A"]),
    ] {
        drag(&app, &shown, from, onto).await;
        shown = next_named(&mut stream, "todos").await;
        assert_eq!(contents(&shown), after, "{from} onto {onto}");
        let orders: Vec<i64> = shown
            .as_array()
            .expect("a list")
            .iter()
            .map(|g| g["order"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(orders, [0, 1, 2, 3, 4]);
        assert_eq!(todos(&app, &code).await, shown);
    }
    // A drop onto itself changes no order.
    drag(&app, &shown, "E", "E").await;
    assert_eq!(
        contents(&todos(&app, &code).await),
        ["C", "D", "E", "B", "A"]
    );
}

/// The room's categories as coduo's reference card reads them.
async fn categories(app: &TestServer, code: &str) -> Value {
    let (status, list) = call(app, "GET", &format!("/api/{code}/category"), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

/// The links coduo's reference card reads with its category filter: `"0"` (its "all")
/// sends no `categoryId`.
async fn filtered(app: &TestServer, code: &str, category: &str) -> Value {
    let query = if category == "0" {
        String::new()
    } else {
        format!("?categoryId={category}")
    };
    links(app, code, &query).await
}

/// The list the stream tells after one change: the next `links` event, equal to what a
/// read returns.
async fn told_links(app: &TestServer, code: &str, stream: &mut EventStream) -> Value {
    let shown = next_named(stream, "links").await;
    assert_eq!(links(app, code, "").await, shown);
    shown
}

/// Every category filter of the card (`"0"` and each category) reads the shown list's
/// links of that category, newest first.
async fn filters_agree(app: &TestServer, code: &str, shown: &Value) {
    let mut filters = vec![("0".to_string(), None)];
    for category in categories(app, code).await.as_array().expect("a list") {
        let id = category["id"].as_str().expect("a string id").to_string();
        filters.push((id, Some(category["value"].clone())));
    }
    for (id, name) in filters {
        let wanted: Vec<Value> = shown
            .as_array()
            .expect("a list")
            .iter()
            .filter(|l| name.as_ref().is_none_or(|n| &l["categoryName"] == n))
            .cloned()
            .collect();
        assert_eq!(filtered(app, code, &id).await, Value::Array(wanted), "{id}");
    }
}

fn urls(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|l| l["url"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn coduo_s_reference_card_played_from_its_stream_sees_each_change_once_as_the_whole_list() {
    let app = TestServer::spawn().await;
    let code = app.room(60_000).await;
    let mut stream = app.connect(&code).await.every_event();
    // The greeting ends with the goals; the card opens on an empty board.
    next_named(&mut stream, "todos").await;
    assert_eq!(categories(&app, &code).await, json!([]));
    assert_eq!(filtered(&app, &code, "0").await, json!([]));

    // Categories added from the card's modal: each is told as the (unchanged) link list.
    let mut added = Vec::new();
    for value in ["Docs", "Specs", "Talks"] {
        let (status, category) = call(
            &app,
            "POST",
            &format!("/api/{code}/category"),
            Some(json!({ "value": value })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{category}");
        assert_eq!(category["value"], value);
        added.push(category);
        assert_eq!(told_links(&app, &code, &mut stream).await, json!([]));
    }
    assert_eq!(categories(&app, &code).await, Value::Array(added.clone()));
    let id_of = |value: &str| {
        added
            .iter()
            .find(|c| c["value"] == value)
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{value} was added"))
    };
    let (docs, talks) = (id_of("Docs"), id_of("Talks"));

    // Links added from the card's form, each in the dropdown's category (none for "all").
    let mut shown = Value::Null;
    for (n, (url, category, name)) in [
        ("https://docs.rs/actix-web", Some(&docs), json!("Docs")),
        (
            "https://www.postgresql.org/docs/current/sql-notify.html",
            Some(&docs),
            json!("Docs"),
        ),
        (
            "https://talks.example.test/sse",
            Some(&talks),
            json!("Talks"),
        ),
        ("https://github.com/woowacourse-teams", None, Value::Null),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, link) = call(
            &app,
            "POST",
            &format!("/api/{code}/reference-link"),
            Some(json!({ "url": url, "categoryId": category })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        shown = told_links(&app, &code, &mut stream).await;
        assert_eq!(shown.as_array().map(Vec::len), Some(n + 1), "{shown}");
        assert_eq!(
            (shown[0]["url"].as_str(), &shown[0]["categoryName"]),
            (Some(url), &name)
        );
        filters_agree(&app, &code, &shown).await;
    }
    assert_eq!(
        urls(&shown),
        [
            "https://github.com/woowacourse-teams",
            "https://talks.example.test/sse",
            "https://www.postgresql.org/docs/current/sql-notify.html",
            "https://docs.rs/actix-web",
        ]
    );
    assert_eq!(urls(&filtered(&app, &code, &docs).await).len(), 2);

    // A link deleted from the list, by the id the stream told.
    let id = shown[1]["id"].clone();
    let (status, body) = call(
        &app,
        "DELETE",
        &format!("/api/{code}/reference-link/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    shown = told_links(&app, &code, &mut stream).await;
    assert!(
        !urls(&shown).contains(&"https://talks.example.test/sse"),
        "{shown}"
    );
    assert_eq!(urls(&shown).len(), 3);
    filters_agree(&app, &code, &shown).await;
    assert_eq!(filtered(&app, &code, &talks).await, json!([]));

    // A category renamed, then deleted, from the modal: its links stay, without it.
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/{code}/category"),
        Some(json!({ "categoryId": docs, "updatedCategoryName": "Manuals" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    shown = told_links(&app, &code, &mut stream).await;
    let names: Vec<&Value> = shown
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| &l["categoryName"])
        .collect();
    assert_eq!(names, [&Value::Null, &json!("Manuals"), &json!("Manuals")]);
    filters_agree(&app, &code, &shown).await;
    let (status, body) = call(
        &app,
        "DELETE",
        &format!("/api/{code}/category/{docs}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    shown = told_links(&app, &code, &mut stream).await;
    assert!(
        shown
            .as_array()
            .expect("a list")
            .iter()
            .all(|l| l["categoryName"].is_null()),
        "{shown}"
    );
    assert_eq!(urls(&shown).len(), 3);
    let left: Vec<Value> = categories(&app, &code)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["value"].clone())
        .collect();
    assert_eq!(left, [json!("Specs"), json!("Talks")]);
    filters_agree(&app, &code, &shown).await;

    // Each change was told once: no `links` event is left over.
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(500);
    loop {
        let left = quiet_until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match stream.next_frame(left).await {
            Some(frame) => assert_ne!(frame.event.as_deref(), Some("links"), "{:?}", frame.data),
            None => break,
        }
    }
}
