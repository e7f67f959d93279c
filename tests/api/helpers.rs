//! Test harness: runs the real `pairsync` binary on port 0 with its own SQLite file
//! (over plain HTTP, or HTTPS with a certificate made for the test), talks HTTP to it,
//! and reads its event streams frame by frame.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Set to an admin URL of a PostgreSQL server (its `postgres` database) to run the suite
/// on PostgreSQL: every test then gets a database of its own there.
const POSTGRES_ENV: &str = "PAIRSYNC_TEST_POSTGRES";

/// Longest wait for the server to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What the server logs, before its base URL, once it listens.
const LISTENING: &str = "listening on ";

/// Milliseconds since the Unix epoch, as the server counts them.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A running server process on a temporary database.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, or `https://…` for a server started with
    /// [`TestServer::spawn_https`]
    pub base: String,
    /// A client without connection pooling surprises.
    pub client: reqwest::Client,
    /// The scratch folder the SQLite file lives in, removed with the server.
    _scratch: tempfile::TempDir,
    /// The server's `DATABASE_URL` (kept for restarts and siblings).
    pub database_url: String,
    /// The PostgreSQL database this server created and drops at the end, if any.
    owned_postgres: Option<String>,
    env: Vec<(String, String)>,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

fn launch(db: &str, env: &[(String, String)]) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pairsync"));
    cmd.env_clear()
        .env("PAIRSYNC_BIND", "127.0.0.1:0")
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "info")
        .env("PAIRSYNC_ADMIN_TOKEN", "test-admin-token")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the server binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let address = line
                .find(LISTENING)
                .map(|i| line[i + LISTENING.len()..].trim().to_string())
                .filter(|a| a.starts_with("http://") || a.starts_with("https://"));
            sink.lock().expect("log lock").push(line);
            if let Some(address) = address {
                let _ = tx.send(address);
            }
        }
    });
    let base = rx
        .recv_timeout(START_TIMEOUT)
        .unwrap_or_else(|_| panic!("server did not start: {:?}", logs.lock()));
    (child, base, logs)
}

impl TestServer {
    /// A server with the default settings.
    pub async fn spawn() -> TestServer {
        TestServer::spawn_with(&[]).await
    }

    /// A server with extra environment settings.
    pub async fn spawn_with(env: &[(&str, &str)]) -> TestServer {
        TestServer::spawn_in(tempfile::tempdir().expect("temp dir"), env).await
    }

    /// A server speaking HTTPS (`PAIRSYNC_TLS_CERT`, `PAIRSYNC_TLS_KEY`) with a certificate
    /// made for this test, for `localhost` and `127.0.0.1`; also answers that certificate
    /// (PEM), for clients to trust. Its [`TestServer::client`] speaks plain HTTP only: talk
    /// to it with `https_client::HttpsClient`.
    pub async fn spawn_https(env: &[(&str, &str)]) -> (TestServer, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("a test certificate");
        let cert_pem = made.cert.pem();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &cert_pem).expect("write the certificate");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
        let cert = cert.to_str().expect("utf-8 path").to_string();
        let key = key.to_str().expect("utf-8 path").to_string();
        let mut all = vec![
            ("PAIRSYNC_TLS_CERT", cert.as_str()),
            ("PAIRSYNC_TLS_KEY", key.as_str()),
        ];
        all.extend_from_slice(env);
        (TestServer::spawn_in(dir, &all).await, cert_pem)
    }

    async fn spawn_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> TestServer {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (database_url, owned_postgres) = match std::env::var(POSTGRES_ENV) {
            Ok(admin) => {
                let name = format!("pairsync_test_{}", uuid::Uuid::new_v4().simple());
                postgres_admin(&admin, &format!("CREATE DATABASE {name}"));
                (postgres_url(&admin, &name), Some(name))
            }
            Err(_) => {
                let db = dir.path().join("pairsync.db");
                (db.to_str().expect("utf-8 path").to_string(), None)
            }
        };
        let (child, base, logs) = launch(&database_url, &env);
        TestServer {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            _scratch: dir,
            database_url,
            owned_postgres,
            env,
            child,
            logs,
        }
    }

    /// Makes the database unreachable for the server (without stopping the server).
    pub fn cut_off_database(&self) {
        match (&self.owned_postgres, std::env::var(POSTGRES_ENV)) {
            (Some(name), Ok(admin)) => {
                postgres_admin(
                    &admin,
                    &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
                );
                postgres_admin(
                    &admin,
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    ),
                );
            }
            _ => std::fs::rename(&self.database_url, format!("{}.away", self.database_url))
                .expect("move the database file away"),
        }
    }

    /// Undoes [`TestServer::cut_off_database`].
    pub fn restore_database(&self) {
        match (&self.owned_postgres, std::env::var(POSTGRES_ENV)) {
            (Some(name), Ok(admin)) => postgres_admin(
                &admin,
                &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
            ),
            _ => std::fs::rename(format!("{}.away", self.database_url), &self.database_url)
                .expect("put the database file back"),
        }
    }

    /// `kill -9` the process, then start a new one on the same database file.
    pub fn crash_and_restart(&mut self) {
        self.crash();
        self.restart();
    }

    /// `kill -9` the process.
    pub fn crash(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    /// Starts a new process on the same database file (after [`TestServer::crash`]).
    pub fn restart(&mut self) {
        let (child, base, logs) = launch(&self.database_url, &self.env);
        self.child = child;
        self.base = base;
        self.logs = logs;
    }

    /// A second process on the same database file, as a sibling behind a load balancer.
    pub fn sibling(&self) -> TestServer {
        let (child, base, logs) = launch(&self.database_url, &self.env);
        TestServer {
            base,
            client: self.client.clone(),
            _scratch: tempfile::tempdir().expect("temp dir"),
            database_url: self.database_url.clone(),
            owned_postgres: None,
            env: self.env.clone(),
            child,
            logs,
        }
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
    }

    /// Waits (at most `within`) for the process to exit; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every line the current process logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lock").clone()
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a room from `body` and returns its access code.
    pub async fn create_room(&self, body: Value) -> String {
        let res = self
            .client
            .post(self.url("/api/pair-room"))
            .json(&body)
            .send()
            .await
            .expect("create request");
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json body");
        body["accessCode"].as_str().expect("accessCode").to_string()
    }

    /// Creates a room for Ann (navigator) and Bob (driver) with this duration.
    pub async fn room(&self, duration: i64) -> String {
        self.create_room(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration}))
            .await
    }

    /// `METHOD path` with no body.
    pub async fn send(&self, method: &str, path: &str) -> reqwest::Response {
        self.client
            .request(method.parse().expect("an HTTP method"), self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Waits until a new stream of `code` is accepted again (after a cap was reached).
    pub async fn until_connect_accepted(&self, code: &str) {
        let path = format!("/api/{code}/connect");
        eventually(Duration::from_secs(5), || async {
            (self.send("GET", &path).await.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// `PATCH path` with no body; the status.
    pub async fn patch(&self, path: &str) -> StatusCode {
        self.client
            .patch(self.url(path))
            .send()
            .await
            .expect("patch request")
            .status()
    }

    /// `PATCH path` with a JSON body; the status and body.
    pub async fn patch_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("patch request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `GET path`; the status and JSON body (`Null` when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("get request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The room's timer.
    pub async fn timer(&self, code: &str) -> Value {
        let (status, body) = self.get_json(&format!("/api/{code}/timer")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The value of a metric series (the line that starts with `series `).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        metric_value(&text, series)
    }

    /// Opens the room's event stream.
    pub async fn connect(&self, code: &str) -> EventStream {
        let res = self
            .client
            .get(self.url(&format!("/api/{code}/connect")))
            .send()
            .await
            .expect("connect request");
        assert_eq!(res.status(), StatusCode::OK);
        EventStream::from_response(res)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let (Some(name), Ok(admin)) = (&self.owned_postgres, std::env::var(POSTGRES_ENV)) {
            postgres_admin(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Longest wait for a binary that must refuse to start to exit.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the server binary with `env` on a scratch SQLite file, expecting it to refuse to
/// start: its exit status and everything it logged. Panics if it is still running after
/// [`REFUSAL_TIMEOUT`].
pub fn failed_start(env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pairsync"))
        .env_clear()
        .env("PAIRSYNC_BIND", "127.0.0.1:0")
        .env("DATABASE_URL", dir.path().join("pairsync.db"))
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > REFUSAL_TIMEOUT {
            let _ = child.kill();
            panic!("the server kept running with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut logs = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut logs).expect("read the log");
    }
    (status, logs)
}

/// Runs one statement on the PostgreSQL admin URL.
fn postgres_admin(admin: &str, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(admin).expect("the test PostgreSQL answers");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

/// The admin URL with its database name replaced by `name`.
fn postgres_url(admin: &str, name: &str) -> String {
    let (server, _) = admin
        .rsplit_once('/')
        .expect("a postgres:// URL with a database");
    format!("{server}/{name}")
}

/// The value of a metric series (the line that starts with `series `) in a `/metrics` text.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in {text}"))
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < within,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One block of an event stream.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// `id:`
    pub id: Option<String>,
    /// `event:`
    pub event: Option<String>,
    /// `data:`
    pub data: Option<String>,
    /// `retry:`
    pub retry: Option<u64>,
    /// A `:` comment line.
    pub comment: Option<String>,
    /// When the client had it (epoch ms).
    pub received_ms: i64,
}

impl Frame {
    /// `event` and `data`, for comparing sequences.
    pub fn pair(&self) -> (String, String) {
        (
            self.event.clone().unwrap_or_default(),
            self.data.clone().unwrap_or_default(),
        )
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().unwrap_or("null")).expect("json data")
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, String>> + Send>>;

/// A client's view of one SSE stream.
pub struct EventStream {
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    body: ByteStream,
    buffer: String,
    frames: VecDeque<Frame>,
    ended: bool,
}

impl EventStream {
    /// Reads the stream of an already answered request.
    pub fn from_response(res: reqwest::Response) -> EventStream {
        let headers = res.headers().clone();
        EventStream::from_body(
            headers,
            res.bytes_stream().map(|r| r.map_err(|e| e.to_string())),
        )
    }

    /// Reads a stream from its headers and body chunks (from any HTTP client).
    pub fn from_body(
        headers: reqwest::header::HeaderMap,
        body: impl Stream<Item = Result<bytes::Bytes, String>> + Send + 'static,
    ) -> EventStream {
        EventStream {
            headers,
            body: Box::pin(body),
            buffer: String::new(),
            frames: VecDeque::new(),
            ended: false,
        }
    }

    fn parse_buffer(&mut self) {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut frame = Frame {
                received_ms: now_ms(),
                ..Frame::default()
            };
            for line in block.lines() {
                if let Some(c) = line.strip_prefix(':') {
                    frame.comment = Some(c.trim().to_string());
                } else if let Some((field, value)) = line.split_once(':') {
                    let value = value.strip_prefix(' ').unwrap_or(value).to_string();
                    match field {
                        "id" => frame.id = Some(value),
                        "event" => frame.event = Some(value),
                        "data" => {
                            assert!(frame.data.is_none(), "event data is one line: {block:?}");
                            frame.data = Some(value)
                        }
                        "retry" => frame.retry = value.parse().ok(),
                        other => panic!("unknown field {other} in {block:?}"),
                    }
                }
            }
            self.frames.push_back(frame);
        }
    }

    /// The next frame of any kind (comments and `retry` included), or `None` when the stream
    /// ended or nothing came within `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(f) = self.frames.pop_front() {
                return Some(f);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => self.ended = true,
                Ok(Some(Ok(bytes))) => {
                    self.buffer.push_str(&String::from_utf8_lossy(&bytes));
                    self.parse_buffer();
                }
            }
        }
    }

    /// The next event (comments and `retry` skipped); panics when none comes within `within`.
    pub async fn next_event(&mut self, within: Duration) -> Frame {
        loop {
            let frame = self
                .next_frame(within)
                .await
                .unwrap_or_else(|| panic!("no event within {within:?}"));
            if frame.event.is_some() {
                return frame;
            }
        }
    }

    /// The next `n` events as `(event, data)` pairs.
    pub async fn pairs(&mut self, n: usize, within: Duration) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next_event(within).await.pair());
        }
        out
    }

    /// Skips the connect sequence of a fresh stream (through its `state` event).
    pub async fn skip_greeting(&mut self) -> Frame {
        loop {
            let f = self.next_event(Duration::from_secs(5)).await;
            if f.event.as_deref() == Some("state") {
                return f;
            }
        }
    }

    /// Whether the stream ends (the server closed it) within `within`.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            let left = deadline - tokio::time::Instant::now();
            if self.next_frame(left).await.is_none() {
                return self.ended;
            }
        }
        false
    }

    /// Whether no event arrives within `within` (comments are allowed).
    pub async fn quiet_for(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            match self.next_frame(left).await {
                None => return true,
                Some(f) if f.event.is_some() => return false,
                Some(_) => {}
            }
        }
    }
}
