//! Test harness: runs the real `pairsync` binary on port 0 with a database of its own
//! (over plain HTTP, or HTTPS with a certificate made for the test), crashes and restarts
//! it, and talks HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::eventually;
use crate::sse::EventStream;

/// The reader of `/metrics` (here, so that every suite that takes in this file has it).
#[path = "exposition.rs"]
pub mod exposition;

/// Set to an admin URL of a PostgreSQL server (its `postgres` database) to run the suite
/// on PostgreSQL: every test then gets a database of its own there.
pub const POSTGRES_ENV: &str = "PAIRSYNC_TEST_POSTGRES";

/// Longest wait for the server to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What the server logs, before its base URL, once it listens.
const LISTENING: &str = "listening on ";

/// Longest life of a request the suite makes (streams opened by
/// [`TestServer::connect`] excepted).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest life of an event stream the suite opens.
const STREAM_LIFETIME: Duration = Duration::from_secs(600);

/// The admin token every server of the suite is given (unless a test says otherwise).
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Milliseconds since the Unix epoch, as the server counts them.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How one server process is started: its whole environment, its arguments and its
/// working folder.
#[derive(Clone)]
struct Launch {
    env: Vec<(String, String)>,
    args: Vec<String>,
    cwd: PathBuf,
}

impl Launch {
    /// Starts the process and waits for its `listening on` line: the child, its base URL,
    /// and the lines it logs.
    fn start(&self) -> (Child, String, Arc<Mutex<Vec<String>>>) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pairsync"));
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .current_dir(&self.cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
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
}

/// A running server process.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A client without connection pooling surprises.
    pub client: reqwest::Client,
    /// The scratch folder: the process's working folder, and where its SQLite file lives;
    /// removed with the server.
    scratch: tempfile::TempDir,
    /// The server's `DATABASE_URL` (kept for restarts and siblings).
    pub database_url: String,
    /// The PostgreSQL database this server created and drops at the end, if any.
    owned_postgres: Option<String>,
    launch: Launch,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

fn client() -> reqwest::Client {
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client")
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl TestServer {
    /// A server with the suite's settings: port 0, its own database (SQLite, or PostgreSQL
    /// when [`POSTGRES_ENV`] is set), `RUST_LOG=info` and [`ADMIN_TOKEN`].
    pub async fn spawn() -> TestServer {
        TestServer::spawn_with(&[]).await
    }

    /// A server with the suite's settings and extra environment settings.
    pub async fn spawn_with(env: &[(&str, &str)]) -> TestServer {
        TestServer::spawn_in_dir(tempfile::tempdir().expect("temp dir"), env).await
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
        (TestServer::spawn_in_dir(dir, &all).await, cert_pem)
    }

    /// A server in `scratch` on the suite's database (a fresh PostgreSQL one, or SQLite there).
    async fn spawn_in_dir(scratch: tempfile::TempDir, env: &[(&str, &str)]) -> TestServer {
        let (database_url, owned_postgres) = match std::env::var(POSTGRES_ENV) {
            Ok(admin) => {
                let name = format!("pairsync_test_{}", uuid::Uuid::new_v4().simple());
                postgres_admin(&admin, &format!("CREATE DATABASE {name}"));
                (postgres_url(&admin, &name), Some(name))
            }
            Err(_) => {
                let db = scratch.path().join("pairsync.db");
                (db.to_str().expect("utf-8 path").to_string(), None)
            }
        };
        TestServer::spawn_in(scratch, database_url, owned_postgres, env)
    }

    /// A server with the suite's settings and extra environment settings, on the SQLite
    /// file `path` whichever database the suite runs on.
    pub async fn spawn_on_sqlite_file(path: &Path, env: &[(&str, &str)]) -> TestServer {
        let scratch = tempfile::tempdir().expect("temp dir");
        let database_url = path.to_str().expect("utf-8 path").to_string();
        TestServer::spawn_in(scratch, database_url, None, env)
    }

    /// Starts a server with the suite's settings on `database_url`, in `scratch`.
    fn spawn_in(
        scratch: tempfile::TempDir,
        database_url: String,
        owned_postgres: Option<String>,
        env: &[(&str, &str)],
    ) -> TestServer {
        let mut full = owned(&[
            ("PAIRSYNC_BIND", "127.0.0.1:0"),
            ("DATABASE_URL", &database_url),
            ("RUST_LOG", "info"),
            ("PAIRSYNC_ADMIN_TOKEN", ADMIN_TOKEN),
        ]);
        full.extend(owned(env));
        let launch = Launch {
            env: full,
            args: Vec::new(),
            cwd: scratch.path().to_path_buf(),
        };
        TestServer::start(launch, scratch, database_url, owned_postgres)
    }

    /// A server started with exactly this environment and these arguments, nothing else,
    /// in a scratch folder of its own as its working folder. It must listen on a port the
    /// suite can find (`listening on http://…` in its log).
    pub async fn spawn_exactly(env: &[(&str, &str)], args: &[&str]) -> TestServer {
        let scratch = tempfile::tempdir().expect("temp dir");
        let launch = Launch {
            env: owned(env),
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: scratch.path().to_path_buf(),
        };
        let database_url = env
            .iter()
            .find(|(k, _)| *k == "DATABASE_URL")
            .map_or_else(|| "pairsync.db".to_string(), |(_, v)| v.to_string());
        TestServer::start(launch, scratch, database_url, None)
    }

    fn start(
        launch: Launch,
        scratch: tempfile::TempDir,
        database_url: String,
        owned_postgres: Option<String>,
    ) -> TestServer {
        let (child, base, logs) = launch.start();
        TestServer {
            base,
            client: client(),
            scratch,
            database_url,
            owned_postgres,
            launch,
            child,
            logs,
        }
    }

    /// The scratch folder (the process's working folder).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// Whether this server runs on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
    }

    /// Makes the database unreachable for the server (without stopping the server): the
    /// PostgreSQL database refuses connections, or the SQLite file is moved away (which a
    /// fresh connection notices; pooled ones keep the moved file open).
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

    /// Makes every write the server tries fail until the guard is dropped: PostgreSQL is
    /// cut off as by [`TestServer::cut_off_database`]; a SQLite file is held under an
    /// exclusive lock by another connection (so writes wait out the server's busy timeout
    /// and fail), since the server's open connections would not notice a moved file.
    pub fn refuse_writes(&self) -> WritesRefused<'_> {
        if self.owned_postgres.is_some() {
            self.cut_off_database();
            return WritesRefused {
                server: self,
                sqlite_lock: None,
            };
        }
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut lock = diesel::SqliteConnection::establish(&self.database_url)
            .expect("a second connection to the SQLite file");
        lock.batch_execute("PRAGMA busy_timeout = 5000; BEGIN EXCLUSIVE")
            .expect("an exclusive lock on the SQLite file");
        WritesRefused {
            server: self,
            sqlite_lock: Some(lock),
        }
    }

    /// Cuts every process's change-feed connection (a PostgreSQL connection on this
    /// server's database whose last statement was `LISTEN`), as a network fault would, and
    /// keeps the feed away until the guard is dropped: the database takes no new
    /// connection meanwhile, while the connections the processes' pools hold go on
    /// answering.
    pub fn cut_the_feed(&self) -> FeedCut<'_> {
        let (Some(name), Ok(admin)) = (&self.owned_postgres, std::env::var(POSTGRES_ENV)) else {
            panic!("only a PostgreSQL server has a change feed");
        };
        postgres_admin(
            &admin,
            &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
        );
        postgres_admin(
            &admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND query LIKE 'LISTEN%'"
            ),
        );
        FeedCut { server: self }
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

    /// Starts a new process as the last one was started (after [`TestServer::crash`]).
    pub fn restart(&mut self) {
        let (child, base, logs) = self.launch.start();
        self.child = child;
        self.base = base;
        self.logs = logs;
    }

    /// A second process on the same database, as a sibling behind a load balancer.
    pub fn sibling(&self) -> TestServer {
        let (child, base, logs) = self.launch.start();
        TestServer {
            base,
            client: self.client.clone(),
            scratch: tempfile::tempdir().expect("temp dir"),
            database_url: self.database_url.clone(),
            owned_postgres: None,
            launch: self.launch.clone(),
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

    /// `GET path` with the admin token; the status and JSON body.
    pub async fn admin_json(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The access codes `GET /rooms` lists (the rooms live in this process), in its order.
    pub async fn live_codes(&self) -> Vec<String> {
        let (status, listing) = self.admin_json("/rooms?limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{listing}");
        listing["rooms"]
            .as_array()
            .expect("rooms")
            .iter()
            .map(|r| r["accessCode"].as_str().expect("accessCode").to_string())
            .collect()
    }

    /// The room's timer.
    pub async fn timer(&self, code: &str) -> Value {
        let (status, body) = self.get_json(&format!("/api/{code}/timer")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Waits (at most `within`) until the room's timer, which ran toward `deadline` (epoch
    /// ms), is paused; the instant (epoch ms) it paused at, from the server's own numbers: a
    /// pause keeps `remainingTime = deadline − the instant of the pause`, to the millisecond.
    /// Those numbers must also be when the pause was seen: a `GET` asked more than `late_ms`
    /// after that instant that still found the timer running fails. Panics if the timer is
    /// seen in any state but running or paused.
    pub async fn paused_at(
        &self,
        code: &str,
        deadline: i64,
        within: Duration,
        late_ms: i64,
    ) -> i64 {
        let start = std::time::Instant::now();
        let mut last_running = None;
        loop {
            let asked = now_ms();
            let timer = self.timer(code).await;
            match timer["state"].as_str() {
                Some("running") => last_running = Some(asked),
                Some("paused") => {
                    let paused = deadline - timer["remainingTime"].as_i64().expect("ms");
                    if let Some(asked) = last_running {
                        assert!(
                            asked <= paused + late_ms,
                            "a GET asked {} ms after the pause's own instant still found the \
                             timer running (the bound is {late_ms} ms)",
                            asked - paused
                        );
                    }
                    return paused;
                }
                _ => panic!("the timer is neither running nor paused: {timer}"),
            }
            assert!(start.elapsed() < within, "not paused within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET /metrics`, read as a scraper reads it (see [`exposition`]).
    pub async fn metrics(&self) -> exposition::Exposition {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        exposition::parse(&text)
    }

    /// The value of the unlabelled series `name` (one of the contract's).
    pub async fn metric(&self, name: &str) -> f64 {
        self.metrics().await.value(name)
    }

    /// Waits until the unlabelled series `name` has this value.
    pub async fn until_metric(&self, name: &str, value: f64) {
        eventually(Duration::from_secs(5), || async {
            (self.metric(name).await == value).then_some(())
        })
        .await;
    }

    /// Opens the room's event stream.
    pub async fn connect(&self, code: &str) -> EventStream {
        let res = self
            .client
            .get(self.url(&format!("/api/{code}/connect")))
            .timeout(STREAM_LIFETIME)
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

/// While it lives, the server's database refuses writes (see [`TestServer::refuse_writes`]).
pub struct WritesRefused<'a> {
    server: &'a TestServer,
    sqlite_lock: Option<diesel::SqliteConnection>,
}

impl Drop for WritesRefused<'_> {
    fn drop(&mut self) {
        match self.sqlite_lock.take() {
            Some(mut lock) => {
                use diesel::connection::SimpleConnection;
                let _ = lock.batch_execute("ROLLBACK");
            }
            None => self.server.restore_database(),
        }
    }
}

/// While it lives, the change feed stays cut (see [`TestServer::cut_the_feed`]).
pub struct FeedCut<'a> {
    server: &'a TestServer,
}

impl Drop for FeedCut<'_> {
    fn drop(&mut self) {
        self.server.restore_database();
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

/// Says on the process's stderr, which the test runner does not capture, that the test
/// `name` did not run, and why: `skipped: NAME: WHY`. CI collects these lines and fails
/// unless each is allowed by name in `.ci/run`.
pub fn skipped(name: &str, why: &str) {
    use std::io::Write;
    // One write, so that the line is not split by the runner's own output.
    let line = format!("\nskipped: {name}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Whether the suite runs on PostgreSQL; when it does not, says (see [`skipped`]) that the
/// test `name`, which needs several processes on one PostgreSQL database, did not run.
pub fn on_postgres_or_skip(name: &str) -> bool {
    let on = std::env::var(POSTGRES_ENV).is_ok();
    if !on {
        skipped(
            name,
            &format!("{POSTGRES_ENV} is not set; it runs on the PostgreSQL pass"),
        );
    }
    on
}

/// Runs one statement on the PostgreSQL admin URL.
pub fn postgres_admin(admin: &str, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(admin).expect("the test PostgreSQL answers");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

/// The admin URL with its database name replaced by `name`.
pub fn postgres_url(admin: &str, name: &str) -> String {
    let (server, _) = admin
        .rsplit_once('/')
        .expect("a postgres:// URL with a database");
    format!("{server}/{name}")
}
