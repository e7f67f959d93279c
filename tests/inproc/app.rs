//! A server in this process on a manual clock, and a client for it.

use std::time::Duration;

use clap::Parser;
use pairsync::clock::{Clock, ManualClock};
use pairsync::config::{Config, Grace};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sse::{EventStream, Frame};

/// Where every test's clock starts: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;
/// Longest real wait for an event the server has already decided to send.
pub const DELIVERY: Duration = Duration::from_secs(5);
/// The admin token every test server uses.
pub const ADMIN_TOKEN: &str = "in-process-admin-token";

/// A running in-process server and its clock.
pub struct App {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Moves the server's clock.
    pub clock: ManualClock,
    client: reqwest::Client,
    /// For event streams: no limit on a response's life.
    streams: reqwest::Client,
    server: actix_web::dev::ServerHandle,
    /// The SQLite file.
    database: String,
    /// Open streams end when this is dropped, as when the process stops.
    _shutdown: tokio::sync::watch::Sender<bool>,
    _scratch: tempfile::TempDir,
}

impl App {
    /// A server with the default settings.
    pub async fn start() -> App {
        App::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> App {
        let scratch = tempfile::tempdir().expect("temp dir");
        let mut settings = Config::try_parse_from(["pairsync"]).expect("default settings");
        settings.bind = "127.0.0.1:0".into();
        settings.database_url = scratch
            .path()
            .join("pairsync.db")
            .to_str()
            .expect("utf-8 path")
            .into();
        settings.admin_token = Some(ADMIN_TOKEN.into());
        settings.pause_when_empty = Grace::Never;
        // Every room on this test's own thread.
        settings.room_threads = Some(0);
        adjust(&mut settings);
        let database = settings.database_url.clone();
        let (clock, manual) = Clock::manual(T0);
        let running = pairsync::startup::start(settings, clock).expect("the server starts");
        let base = format!("http://{}", running.local_addr);
        let server = running.server.handle();
        actix_web::rt::spawn(running.server);
        App {
            base,
            clock: manual,
            client: reqwest::Client::builder()
                .timeout(DELIVERY)
                .build()
                .expect("client"),
            streams: reqwest::Client::new(),
            server,
            database,
            _shutdown: running.shutdown,
            _scratch: scratch,
        }
    }

    /// Moves the clock forward by `ms` and waits until everything due meanwhile is done.
    pub async fn advance(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms)).await;
    }

    /// Holds an exclusive lock on the SQLite file while the answer lives: every write of the
    /// server fails (after its busy timeout), as on a database that went away.
    pub fn lock_database(&self) -> diesel::SqliteConnection {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut lock =
            diesel::SqliteConnection::establish(&self.database).expect("a second connection");
        lock.batch_execute("BEGIN EXCLUSIVE")
            .expect("an exclusive lock");
        lock
    }

    /// The server's wall clock now.
    pub fn now(&self) -> i64 {
        self.clock.now().wall_ms
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let is_json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let text = res.text().await.expect("body");
        assert!(
            text.is_empty() || is_json,
            "{status} answered a body that is not JSON: {text}"
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `PATCH path`, expecting `204`.
    pub async fn patch(&self, path: &str) {
        let (status, body) = self.send("PATCH", path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "PATCH {path}: {body}");
    }

    /// Creates a room of `duration` ms (Ann navigates, Bob drives); its access code.
    pub async fn room(&self, duration: i64) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/api/pair-room",
                Some(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["accessCode"].as_str().expect("code").to_string()
    }

    /// `GET /api/{code}/timer`
    pub async fn timer(&self, code: &str) -> Value {
        let (status, body) = self.send("GET", &format!("/api/{code}/timer"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Opens the room's stream and reads its greeting; the stream and the greeting's snapshot.
    pub async fn connect(&self, code: &str) -> (EventStream, Value) {
        let res = self
            .streams
            .get(format!("{}/api/{code}/connect", self.base))
            .send()
            .await
            .expect("connect");
        assert_eq!(res.status(), StatusCode::OK);
        let mut stream = EventStream::from_response(res);
        let state = stream.skip_greeting().await;
        (stream, state.json())
    }

    /// Opens a stream and expects `status` as a JSON error with `error`.
    pub async fn connect_refused(&self, code: &str, status: StatusCode, error: &str) {
        let (got, body) = self
            .send("GET", &format!("/api/{code}/connect"), None)
            .await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{body}"
        );
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // Stops accepting and ends the workers; the test's runtime ends the rest.
        drop(self.server.stop(false));
    }
}

/// The next `n` events of `stream` as `(event, data)`.
pub async fn next(stream: &mut EventStream, n: usize) -> Vec<(String, String)> {
    stream.pairs(n, DELIVERY).await
}

/// The next event of `stream`.
pub async fn event(stream: &mut EventStream) -> Frame {
    stream.next_event(DELIVERY).await
}

/// `(event, data)` pairs from string literals.
pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(e, d)| (e.to_string(), d.to_string()))
        .collect()
}
