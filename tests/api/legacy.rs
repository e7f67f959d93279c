//! A client that behaves as the coduo project's SSE-era browser frontend does, run
//! against the real server from another origin: it asks whether a room exists before it
//! enters, creates rooms with its own extra fields, and every one of its open pages sends
//! its own pair-swap (without a round) when it sees `remaining-time: 0`. The server's
//! time-up already swapped, so after every turn the roles must have traded places exactly
//! once and the round counted one up, with one page open or with two.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::expect::{assert_ticks_on_time, expect_error};
use crate::helpers::TestServer;
use crate::sse::{EventStream, Frame};

/// Where the frontend is served from.
const FRONTEND: &str = "http://frontend.test:5173";
/// An origin the server was not told about.
const ELSEWHERE: &str = "http://elsewhere.test";
/// The countdown of a turn: short, so that several turns run in seconds.
const TURN_MS: i64 = 1200;
/// Turns each scenario runs.
const TURNS: i64 = 3;
const WAIT: Duration = Duration::from_secs(5);

/// A server that answers CORS for the frontend's origin.
async fn server() -> TestServer {
    TestServer::spawn_with(&[("PAIRSYNC_ALLOWED_ORIGINS", FRONTEND)]).await
}

/// The `Access-Control-*` headers of an answer.
fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

/// What a browser checks before it lets a credentialed cross-origin page read an answer.
fn assert_readable_from(headers: &HeaderMap, origin: &str, what: &str) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        header("access-control-allow-origin"),
        Some(origin),
        "{what}: {headers:?}"
    );
    assert_eq!(
        header("access-control-allow-credentials"),
        Some("true"),
        "{what}: {headers:?}"
    );
}

/// The frontend's calls, as its pages make them from [`FRONTEND`] with credentials.
struct Frontend<'a> {
    app: &'a TestServer,
}

impl Frontend<'_> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .header("origin", FRONTEND)
    }

    /// Sends the request and checks that a browser would let the page read the answer.
    async fn call(&self, request: RequestBuilder, what: &str) -> (StatusCode, Value) {
        let res = request.send().await.expect(what);
        assert_readable_from(res.headers(), FRONTEND, what);
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/pair-room/exists?access_code=…`, the question asked before entering.
    async fn exists(&self, code: &str) -> bool {
        let path = format!("/api/pair-room/exists?access_code={code}");
        let (status, body) = self.call(self.request(Method::GET, &path), "exists").await;
        assert_eq!(status, StatusCode::OK, "{code}: {body}");
        body["exists"]
            .as_bool()
            .unwrap_or_else(|| panic!("exists is a bool: {body}"))
    }

    /// Creates a room the way the frontend does, with its own extra fields.
    async fn create(&self) -> String {
        let body = json!({
            "navigator": "Ann", "driver": "Bob", "timerDuration": TURN_MS,
            "timerRemainingTime": TURN_MS, "missionUrl": "", "pairId": null,
        });
        let (status, created) = self
            .call(
                self.request(Method::POST, "/api/pair-room").json(&body),
                "create",
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["accessCode"]
            .as_str()
            .expect("accessCode")
            .to_string()
    }

    /// The room as the frontend reads it.
    async fn room(&self, code: &str) -> Value {
        let path = format!("/api/pair-room/{code}");
        let (status, room) = self.call(self.request(Method::GET, &path), "read").await;
        assert_eq!(status, StatusCode::OK, "{room}");
        room
    }

    async fn patch(&self, path: &str, body: Value) -> StatusCode {
        let request = self.request(Method::PATCH, path).json(&body);
        self.call(request, path).await.0
    }

    async fn start(&self, code: &str) {
        let path = format!("/api/{code}/timer/start");
        assert_eq!(self.patch(&path, json!({})).await, StatusCode::NO_CONTENT);
    }

    /// The swap every page sends when it sees `remaining-time: 0`: no round.
    async fn swap(&self, code: &str) -> StatusCode {
        let path = format!("/api/pair-room/{code}/pair-swap");
        self.patch(&path, json!({})).await
    }

    /// Opens a page: its event stream, read until the connect sequence is through.
    async fn open_page(&self, code: &str) -> Page {
        let res = self
            .request(Method::GET, &format!("/api/{code}/connect"))
            .send()
            .await
            .expect("connect");
        assert_eq!(res.status(), StatusCode::OK);
        assert_readable_from(res.headers(), FRONTEND, "event stream");
        let mut stream = EventStream::from_response(res);
        stream.skip_greeting().await;
        Page {
            stream,
            seen: Vec::new(),
        }
    }
}

/// One open page of the frontend.
struct Page {
    stream: EventStream,
    /// Every event the page has read since it opened, as it arrived.
    seen: Vec<Frame>,
}

impl Page {
    async fn next(&mut self) -> (String, String) {
        let frame = self.stream.next_event(WAIT).await;
        let pair = frame.pair();
        self.seen.push(frame);
        pair
    }

    /// Asserts that the ticks since the last `timer: start` the page read were on time.
    fn assert_countdown_on_time(&self) {
        let start = self
            .seen
            .iter()
            .rposition(|f| f.pair() == pair("timer", "start"))
            .expect("a start");
        let checked = assert_ticks_on_time("a page", &self.seen[start..]);
        assert!(checked >= 1, "{:?}", &self.seen[start..]);
    }

    /// A turn as the page lives it: `timer: start` comes first (nothing else since the last
    /// turn), the countdown runs, on time, and at `remaining-time: 0` the page sends its own
    /// swap.
    async fn swap_at_time_up(&mut self, frontend: &Frontend<'_>, code: &str) -> StatusCode {
        assert_eq!(self.next().await, pair("timer", "start"));
        loop {
            if self.next().await == pair("remaining-time", "0") {
                self.assert_countdown_on_time();
                return frontend.swap(code).await;
            }
        }
    }

    /// Reads through the countdown to the final tick without swapping (the ticks on time),
    /// then the time-up.
    async fn sit_through_time_up(&mut self) -> Value {
        while self.next().await != pair("remaining-time", "0") {}
        self.assert_countdown_on_time();
        self.time_up().await
    }

    /// The rest of the time-up after the final tick; the room's snapshot after it.
    async fn time_up(&mut self) -> Value {
        assert_eq!(self.next().await, pair("timer", "stop"));
        assert_eq!(
            self.next().await,
            pair("remaining-time", &TURN_MS.to_string())
        );
        let state = self.stream.next_event(WAIT).await;
        assert_eq!(state.event.as_deref(), Some("state"));
        state.json()
    }
}

fn pair(event: &str, data: &str) -> (String, String) {
    (event.to_string(), data.to_string())
}

/// Who navigates and who drives after `turns` time-ups, starting with Ann and Bob.
fn roles_after(turns: i64) -> (&'static str, &'static str) {
    if turns % 2 == 0 {
        ("Ann", "Bob")
    } else {
        ("Bob", "Ann")
    }
}

/// Enters a new room as the frontend does and runs [`TURNS`] turns with `pages` pages open,
/// checking the roles and the round after each.
async fn run_turns(app: &TestServer, pages: usize) -> (String, Vec<Page>) {
    let frontend = Frontend { app };
    let code = frontend.create().await;
    assert!(frontend.exists(&code).await);
    let mut open = Vec::new();
    for _ in 0..pages {
        open.push(frontend.open_page(&code).await);
    }
    for turn in 1..=TURNS {
        frontend.start(&code).await;
        let swaps = join_all(
            open.iter_mut()
                .map(|page| page.swap_at_time_up(&frontend, &code)),
        )
        .await;
        assert!(
            swaps.iter().all(|s| *s == StatusCode::NO_CONTENT),
            "turn {turn}: {swaps:?}"
        );
        let expected = roles_after(turn);
        for page in &mut open {
            let state = page.time_up().await;
            assert_eq!(state["round"], turn, "turn {turn}: {state}");
        }
        // Every page's swap has been answered: none of them changed the roles.
        let room = frontend.room(&code).await;
        assert_eq!(room["timer"]["round"], turn, "turn {turn}: {room}");
        assert_eq!(
            (room["navigator"].as_str(), room["driver"].as_str()),
            (Some(expected.0), Some(expected.1)),
            "turn {turn}: {room}"
        );
        assert_eq!(room["timer"]["state"], "idle");
    }
    (code, open)
}

#[tokio::test]
async fn with_one_page_open_the_roles_trade_places_once_per_turn() {
    let app = server().await;
    let (code, mut pages) = run_turns(&app, 1).await;
    // The absorbed swaps sent nothing: the next event is the next start's.
    Frontend { app: &app }.start(&code).await;
    assert_eq!(pages[0].next().await, pair("timer", "start"));
}

#[tokio::test]
async fn with_two_pages_open_the_roles_trade_places_once_per_turn() {
    let app = server().await;
    let (code, mut pages) = run_turns(&app, 2).await;
    let frontend = Frontend { app: &app };
    frontend.start(&code).await;
    for page in &mut pages {
        assert_eq!(page.next().await, pair("timer", "start"));
    }
}

#[tokio::test]
async fn completing_a_room_stops_its_timer_and_tells_every_page() {
    let app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    let mut pages = vec![
        frontend.open_page(&code).await,
        frontend.open_page(&code).await,
    ];
    frontend.start(&code).await;
    for page in &mut pages {
        assert_eq!(page.next().await, pair("timer", "start"));
        assert_eq!(page.next().await.0, "state");
    }
    let path = format!("/api/pair-room/{code}/status");
    assert_eq!(
        frontend.patch(&path, json!({"status": "COMPLETED"})).await,
        StatusCode::NO_CONTENT
    );
    for page in &mut pages {
        assert_eq!(page.next().await, pair("timer", "complete"));
        let state = page.stream.next_event(WAIT).await;
        assert_eq!(state.event.as_deref(), Some("state"));
        assert_eq!(state.json()["state"], "paused");
    }
    let room = frontend.room(&code).await;
    assert_eq!(room["status"], "COMPLETED");
    assert_eq!(room["timer"]["state"], "paused");

    for body in [
        json!({"status": "IN_PROGRESS"}),
        json!({"status": "DONE"}),
        json!({"status": ""}),
        json!({"status": "completed"}),
        json!({"status": 1}),
        json!({"status": null}),
        json!({}),
    ] {
        let res = frontend
            .request(Method::PATCH, &path)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        expect_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    assert_eq!(frontend.room(&code).await["status"], "COMPLETED");
    // Nothing was told of the refused ones.
    for page in &mut pages {
        assert!(page.stream.quiet_for(Duration::from_millis(300)).await);
    }
}

#[tokio::test]
async fn exists_answers_false_for_unknown_malformed_and_missing_codes() {
    let app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    assert!(frontend.exists(&code).await);
    for other in ["doesNotExist123", "x", "", "a%20b", "%2e%2e%2fetc", "%ZZ"] {
        assert!(!frontend.exists(other).await, "{other}");
    }
    // No code at all, or a query that names none: `false` too, never an error.
    for query in ["", "?", "?other=1", "?access_code"] {
        let path = format!("/api/pair-room/exists{query}");
        let (status, body) = frontend
            .call(
                frontend.request(Method::GET, &path),
                "exists without a code",
            )
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({"exists": false})),
            "{path}"
        );
    }

    let deleted = frontend.request(Method::DELETE, &format!("/api/pair-room/{code}"));
    assert_eq!(
        frontend.call(deleted, "delete").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(!frontend.exists(&code).await);
}

#[tokio::test]
async fn its_calls_for_accounts_and_retrospectives_are_404_not_found() {
    // The frontend's calls that are not pairsync's (and stay so in the contract's next
    // version: sign-in and sign-out, members' accounts, "my pair rooms", retrospectives),
    // on the paths it calls them by (`API_URL` being the server's `/api`).
    let app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    for (method, path) in [
        (Method::GET, "/api/sign-in/oauth/github".to_string()),
        (Method::GET, "/api/sign-in/callback".to_string()),
        (Method::POST, "/api/sign-up".to_string()),
        (Method::GET, "/api/sign-out".to_string()),
        (Method::GET, "/api/member".to_string()),
        (Method::DELETE, "/api/member".to_string()),
        (Method::GET, "/api/my-pair-rooms".to_string()),
        (Method::POST, "/api/retrospects".to_string()),
        (Method::GET, "/api/retrospects/1".to_string()),
        (Method::GET, format!("/api/retrospects/{code}")),
    ] {
        let res = frontend
            .request(method.clone(), &path)
            .json(&json!({"accessCode": code, "answers": ["a"], "username": "ann"}))
            .send()
            .await
            .expect("a request");
        let what = format!("{method} {path}");
        assert_readable_from(res.headers(), FRONTEND, &what);
        expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn a_swap_that_names_its_round_swaps_right_after_a_time_up() {
    let app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    let mut page = frontend.open_page(&code).await;
    frontend.start(&code).await;
    assert_eq!(
        page.swap_at_time_up(&frontend, &code).await,
        StatusCode::NO_CONTENT
    );
    page.time_up().await;

    let stale = format!("/api/pair-room/{code}/pair-swap?round=0");
    let (status, body) = frontend
        .call(frontend.request(Method::PATCH, &stale), "stale swap")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "round_changed");

    let current = format!("/api/pair-room/{code}/pair-swap?round=1");
    assert_eq!(
        frontend.patch(&current, json!({})).await,
        StatusCode::NO_CONTENT
    );
    let state = page.stream.next_event(WAIT).await;
    assert_eq!(state.event.as_deref(), Some("state"));
    assert_eq!(
        (
            state.json()["navigator"].as_str(),
            state.json()["round"].as_i64()
        ),
        (Some("Ann"), Some(1))
    );
}

#[tokio::test]
async fn the_time_up_swap_is_recognised_by_another_process_and_after_a_restart() {
    let mut app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    let mut page = frontend.open_page(&code).await;
    frontend.start(&code).await;
    assert_eq!(page.next().await, pair("timer", "start"));
    page.sit_through_time_up().await;

    // A page behind a round-robin proxy reaches another process with its swap.
    let sibling = app.sibling();
    let other = Frontend { app: &sibling };
    assert_eq!(other.swap(&code).await, StatusCode::NO_CONTENT);
    let room = other.room(&code).await;
    assert_eq!(
        (room["navigator"].as_str(), room["timer"]["round"].as_i64()),
        (Some("Bob"), Some(1)),
        "{room}"
    );
    drop(sibling);

    // Or the server restarted in between.
    drop(page);
    app.crash_and_restart();
    let frontend = Frontend { app: &app };
    assert_eq!(frontend.swap(&code).await, StatusCode::NO_CONTENT);
    let room = frontend.room(&code).await;
    assert_eq!(room["navigator"], "Bob", "{room}");
}

#[tokio::test]
async fn preflights_from_the_frontend_allow_its_json_calls_with_credentials() {
    let app = server().await;
    let frontend = Frontend { app: &app };
    let code = frontend.create().await;
    for (method, path) in [
        ("POST", "/api/pair-room".to_string()),
        ("PATCH", format!("/api/pair-room/{code}/pair-swap")),
        ("PATCH", format!("/api/pair-room/{code}/status")),
        ("PATCH", format!("/api/{code}/timer/start")),
        ("PATCH", format!("/api/{code}/timer")),
        ("DELETE", format!("/api/pair-room/{code}")),
        // The team room's calls, for a page of another origin that runs one.
        ("PUT", format!("/api/pair-room/{code}/members")),
        ("PATCH", format!("/api/{code}/timer/next")),
    ] {
        let res = frontend
            .request(Method::OPTIONS, &path)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .expect("preflight");
        let what = format!("preflight of {method} {path}");
        assert!(res.status().is_success(), "{what}: {}", res.status());
        assert_readable_from(res.headers(), FRONTEND, &what);
        let allowed = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        assert!(
            allowed("access-control-allow-methods").contains(&method.to_ascii_lowercase()),
            "{what}: {:?}",
            res.headers()
        );
        assert!(
            allowed("access-control-allow-headers").contains("content-type"),
            "{what}: {:?}",
            res.headers()
        );
    }
    // Errors are readable too, so the page can show them.
    let missing = frontend.request(Method::GET, "/api/pair-room/doesNotExist123");
    let (status, body) = frontend.call(missing, "unknown room").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("room_not_found"))
    );
}

#[tokio::test]
async fn other_origins_get_no_cors_headers_at_all() {
    let app = server().await;
    let code = app.room(60000).await;
    let preflight = app
        .client
        .request(
            Method::OPTIONS,
            app.url(&format!("/api/pair-room/{code}/pair-swap")),
        )
        .header("origin", ELSEWHERE)
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert!(!preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(cors_headers(preflight.headers()), Vec::<String>::new());

    for (origin, method, path) in [
        (
            Some(ELSEWHERE),
            Method::GET,
            format!("/api/pair-room/{code}"),
        ),
        (
            Some(ELSEWHERE),
            Method::PATCH,
            format!("/api/{code}/timer/start"),
        ),
        (Some(ELSEWHERE), Method::GET, format!("/api/{code}/timer")),
        (None, Method::GET, format!("/api/{code}/timer")),
        // The pages are not part of the API.
        (Some(FRONTEND), Method::GET, format!("/p/{code}")),
    ] {
        let mut request = app.client.request(method.clone(), app.url(&path));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let res = request.send().await.expect("request");
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.status()
        );
        assert_eq!(
            cors_headers(res.headers()),
            Vec::<String>::new(),
            "{origin:?} {method} {path}"
        );
    }
}

#[tokio::test]
async fn without_allowed_origins_no_origin_gets_cors_headers() {
    let app = TestServer::spawn().await;
    let code = app.room(60000).await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url(&format!("/api/pair-room/{code}")))
        .header("origin", FRONTEND)
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(cors_headers(preflight.headers()), Vec::<String>::new());
    let res = app
        .client
        .get(app.url(&format!("/api/pair-room/exists?access_code={code}")))
        .header("origin", FRONTEND)
        .send()
        .await
        .expect("exists");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(cors_headers(res.headers()), Vec::<String>::new());
}
