//! The server in this process on a manual clock, and a client for it.
//!
//! [`App`] builds the parts with `startup::build`, as the binary does, and serves the
//! binary's app factory (`startup::app`: the same middleware and routes) on actix's test
//! server (`actix_http_test::test_server_with_addr`) on a port-0 listener of its own,
//! behind an HTTP service built with the binary's connection settings: a bounded write
//! buffer, no Nagle delay, a capped kernel send buffer, the same head timeout, and
//! HTTP/1 half-close turned off, so that a client that closes its side is noticed at
//! once rather than at the next write. The test server runs on a thread of its own, in an
//! actix system of its own; the registry, the rooms and the presence reporter run in the
//! test's actix system, where the manual clock drives them ([`App::process_elsewhere`]
//! puts them in an actix system on a thread of their own instead, for a process that a
//! test kills). [`Direct`] initializes the same app factory's app with
//! `actix_web::test::init_service` and calls it without a socket, for answers that need
//! no stream.

use std::rc::Rc;
use std::time::Duration;

use actix_http::HttpService;
use actix_http_test::{test_server_with_addr, TestServer};
use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::BoxBody;
use actix_web::dev::{AppConfig, Extensions, ServiceResponse};
use actix_web::rt::net::TcpStream;
use clap::Parser;
use futures_util::future::LocalBoxFuture;
use pairsync::clock::{Clock, ManualClock};
use pairsync::config::{Config, Grace};
use pairsync::startup::{self, Http, Parts};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sse::{EventStream, Frame};

/// Where every test's clock starts: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;
/// Longest real wait for an event the server has already decided to send.
pub const DELIVERY: Duration = Duration::from_secs(5);
/// The admin token every test server uses.
pub const ADMIN_TOKEN: &str = "in-process-admin-token";
/// How long a closing connection may take to shut down: actix-web's `HttpServer` default,
/// which the binary keeps.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The client address of a request made without a socket ([`Direct`]): a client on this
/// machine, as every request over loopback is.
const DIRECT_PEER: &str = "127.0.0.1:40000";

/// The suite's settings on `database_url`: the admin token, no pause when empty, and every
/// room on the registry's own thread (the test's).
pub fn settings(database_url: &str) -> Config {
    let mut settings = Config::try_parse_from(["pairsync"]).expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.database_url = database_url.into();
    settings.admin_token = Some(ADMIN_TOKEN.into());
    settings.pause_when_empty = Grace::Never;
    settings.room_threads = Some(0);
    settings
}

/// A SQLite file in a fresh scratch folder: the folder (removed when dropped) and the path.
fn scratch_database() -> (tempfile::TempDir, String) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let path = scratch
        .path()
        .join("pairsync.db")
        .to_str()
        .expect("utf-8 path")
        .to_string();
    (scratch, path)
}

/// The app factory of `http` (the binary's middleware and routes) on actix's test server
/// (`actix_http_test`: a port-0 listener, one worker, in an actix system on a thread of
/// its own), behind an HTTP service with the binary's connection settings. A client that
/// closes its side is gone at once, as on the binary's server: the event streams of a
/// client that went away end without waiting for a write to fail, which the subscriber
/// counts and `presence` events depend on.
async fn serve_http(http: Http) -> TestServer {
    let Http {
        state,
        allowed_origins,
        ..
    } = http;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("the port");
    test_server_with_addr(listener, move || {
        let app = startup::app(state.clone(), &allowed_origins)
            .into_factory()
            .map_err(|e| e.error_response());
        HttpService::build()
            .h1_write_buffer_size(startup::WRITE_BUFFER_BYTES)
            .tcp_nodelay(true)
            .h1_allow_half_closed(false)
            .client_request_timeout(startup::HEAD_TIMEOUT)
            .client_disconnect_timeout(DISCONNECT_TIMEOUT)
            .on_connect_ext(|io: &TcpStream, ext: &mut Extensions| {
                startup::limit_send_buffer(io, ext)
            })
            .local_addr(addr)
            // The app reads no server configuration (its clients' addresses come from
            // their connections, hosts from their requests): the default one serves.
            .finish(map_config(app, |()| AppConfig::default()))
            .tcp()
    })
    .await
}

/// Where a process's actors live.
enum Home {
    /// In the test's actix system. Dropping the parts ends the open streams.
    Here {
        /// Kept alive while the process lives.
        _parts: Box<Parts>,
    },
    /// In an actix system on a thread of their own, which ends when `stop` is dropped or
    /// sent to. The stop signal of the streams is kept here, apart from them, so that the
    /// end of that system tells no stream to come back soon.
    Thread {
        /// Ends the thread's actix system.
        stop: tokio::sync::oneshot::Sender<()>,
        /// The thread.
        thread: std::thread::JoinHandle<()>,
        /// Open streams end with `retry: 250` when this is dropped.
        shutdown: tokio::sync::watch::Sender<bool>,
    },
}

/// A running in-process server and its clock.
pub struct App {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Moves the server's clock.
    pub clock: ManualClock,
    /// This process's id in the presence tables (on PostgreSQL).
    pub process: Option<String>,
    client: reqwest::Client,
    /// For event streams: no limit on a response's life.
    streams: reqwest::Client,
    /// Stops when dropped (its actix system ends, and every connection with it): before
    /// the actors, so that no request reaches a stopped one.
    server: TestServer,
    /// The registry, rooms and presence reporter, and what ends the streams.
    home: Home,
    /// The database URL.
    database: String,
    _scratch: Option<tempfile::TempDir>,
}

impl App {
    /// A server with the default settings.
    pub async fn start() -> App {
        App::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes first, on a SQLite file of its own.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> App {
        let (scratch, database) = scratch_database();
        let mut settings = settings(&database);
        adjust(&mut settings);
        let (clock, manual) = Clock::manual(T0);
        let mut app = App::serve(settings, clock, manual).await;
        app._scratch = Some(scratch);
        app
    }

    /// One of several processes on `database_url` sharing one clock (`clock`, moved by
    /// `manual`), its actors in the test's system.
    pub async fn process(database_url: &str, clock: &Clock, manual: &ManualClock) -> App {
        App::serve(settings(database_url), clock.clone(), manual.clone()).await
    }

    /// As [`App::process`], but with the registry, the rooms and the presence reporter in
    /// an actix system on a thread of their own, as in a process of its own:
    /// [`App::kill`] ends them all at once, without the clean stop's goodbye.
    pub async fn process_elsewhere(database_url: &str, clock: &Clock, manual: &ManualClock) -> App {
        let settings = settings(database_url);
        let clock = clock.clone();
        let (parts_tx, parts_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let Parts {
                    http,
                    shutdown,
                    cluster,
                    arbiters,
                    ..
                } = startup::build(settings, clock).expect("the parts are built");
                let process = cluster.as_ref().map(|c| c.process.clone());
                if parts_tx.send((http, process, shutdown)).is_err() {
                    return;
                }
                // Sent to or dropped: this "process" ends with its actors.
                let _ = stop_rx.await;
                drop((cluster, arbiters));
            });
        });
        let (http, process, shutdown) = parts_rx.await.expect("the other process started");
        App::assemble(
            serve_http(http).await,
            Home::Thread {
                stop: stop_tx,
                thread,
                shutdown,
            },
            manual.clone(),
            process,
            database_url,
        )
    }

    /// Builds the parts in the test's system and serves them.
    async fn serve(settings: Config, clock: Clock, manual: ManualClock) -> App {
        let database = settings.database_url.clone();
        let parts = startup::build(settings, clock).expect("the parts are built");
        let process = parts.cluster.as_ref().map(|c| c.process.clone());
        let server = serve_http(parts.http.clone()).await;
        App::assemble(
            server,
            Home::Here {
                _parts: Box::new(parts),
            },
            manual,
            process,
            &database,
        )
    }

    fn assemble(
        server: TestServer,
        home: Home,
        clock: ManualClock,
        process: Option<String>,
        database: &str,
    ) -> App {
        // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        App {
            base: format!("http://{}", server.addr()),
            clock,
            process,
            client: reqwest::Client::builder()
                .timeout(DELIVERY)
                .build()
                .expect("client"),
            streams: reqwest::Client::new(),
            server,
            home,
            database: database.to_string(),
            _scratch: None,
        }
    }

    /// Ends this process as `kill -9` would: its actors first, all at once (nothing is
    /// written, no presence row is removed, no stream gets a last event or a `retry:`),
    /// then its HTTP server. Only for a process started with [`App::process_elsewhere`].
    pub async fn kill(self) {
        let App {
            mut server, home, ..
        } = self;
        let Home::Thread {
            stop,
            thread,
            shutdown,
        } = home
        else {
            panic!("only a process started elsewhere can be killed");
        };
        let _ = stop.send(());
        thread.join().expect("the other process's thread ends");
        server.stop().await;
        drop(shutdown);
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
            .send("POST", "/api/pair-room", Some(new_room(duration)))
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
}

impl App {
    /// Creates a room from `body`; its access code.
    pub async fn create(&self, body: Value) -> String {
        let (status, answer) = self.send("POST", "/api/pair-room", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["accessCode"].as_str().expect("code").to_string()
    }

    /// Opens the room's stream as `name`'s (anonymous for `None`), every event returned,
    /// the greeting left to read.
    pub async fn connect_as(&self, code: &str, name: Option<&str>) -> EventStream {
        let query = name.map_or(String::new(), |n| format!("?name={n}"));
        let res = self
            .streams
            .get(format!("{}/api/{code}/connect{query}", self.base))
            .send()
            .await
            .expect("connect");
        assert_eq!(res.status(), StatusCode::OK);
        EventStream::from_response(res).every_event()
    }
}

/// The body that creates a room of `duration` ms for Ann (navigator) and Bob (driver).
fn new_room(duration: i64) -> Value {
    json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration})
}

type Call =
    Rc<dyn Fn(actix_web::test::TestRequest) -> LocalBoxFuture<'static, ServiceResponse<BoxBody>>>;

/// The app the server runs, called without a socket (`actix_web::test::init_service`), on
/// parts built as the binary builds them (SQLite in a scratch folder, the manual clock).
/// For answers that are whole when the handler returns: refusals, errors, a stream's `200`.
pub struct Direct {
    call: Call,
    _parts: Parts,
    _scratch: tempfile::TempDir,
}

impl Direct {
    /// The app with the default settings.
    pub async fn start() -> Direct {
        Direct::start_with(|_| {}).await
    }

    /// The app with settings that `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Direct {
        let (scratch, database) = scratch_database();
        let mut settings = settings(&database);
        adjust(&mut settings);
        let (clock, _) = Clock::manual(T0);
        let parts = startup::build(settings, clock).expect("the parts are built");
        let service = Rc::new(
            actix_web::test::init_service(startup::app(
                parts.http.state.clone(),
                &parts.http.allowed_origins,
            ))
            .await,
        );
        let call: Call = Rc::new(move |req| {
            let service = service.clone();
            Box::pin(async move {
                // What the HTTP layer answers for an error that reaches it.
                match actix_web::test::try_call_service(&*service, req.to_request()).await {
                    Ok(res) => res.map_into_boxed_body(),
                    Err(e) => ServiceResponse::from_err(e, test_request().to_http_request())
                        .map_into_boxed_body(),
                }
            })
        });
        Direct {
            call,
            _parts: parts,
            _scratch: scratch,
        }
    }

    /// The answer to `method path` (with the admin token; `body` as JSON when given).
    pub async fn answer(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> ServiceResponse<BoxBody> {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = test_request()
            .method(method)
            .uri(path)
            .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")));
        if let Some(body) = body {
            req = req.set_json(body);
        }
        (self.call)(req).await
    }

    /// Sends a request; `body` as JSON when given. The status and the JSON body (`Null`
    /// when empty); panics on a body that is not JSON.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let res = self.answer(method, path, body).await;
        let status = StatusCode::from_u16(res.status().as_u16()).expect("a status");
        let is_json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let bytes = actix_web::test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes);
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
            .send("POST", "/api/pair-room", Some(new_room(duration)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["accessCode"].as_str().expect("code").to_string()
    }

    /// Opens the room's stream; the answer, which holds the stream open while it lives.
    pub async fn connect(&self, code: &str) -> ServiceResponse<BoxBody> {
        let res = self
            .answer("GET", &format!("/api/{code}/connect"), None)
            .await;
        assert_eq!(res.status().as_u16(), StatusCode::OK.as_u16());
        res
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

/// A request from [`DIRECT_PEER`].
fn test_request() -> actix_web::test::TestRequest {
    let peer = DIRECT_PEER.parse().expect("a socket address");
    actix_web::test::TestRequest::default().peer_addr(peer)
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
