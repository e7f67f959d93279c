//! Putting the server together, in two steps as the binary runs them:
//!
//! - [`build`] makes the parts: it checks the TLS settings, opens and migrates the
//!   database, registers the metrics, settles the admin token, starts the room arbiters,
//!   the presence reporter (on a shared database), the registry with every running room
//!   loaded, and the change feed, and gathers what handlers reach into an [`AppState`].
//! - [`serve`] serves them: it binds the listener with a long backlog and runs the HTTP
//!   server ([`Http::server`]: actix-web's `HttpServer` over [`app`], plain HTTP/1.1 or
//!   HTTPS with HTTP/2 and HTTP/1.1).
//!
//! It says first where to open the server ([`announce`]); a start that fails says why in
//! words ([`StartError`]).
//!
//! [`start`] is both. [`app`] is the one application factory (the middleware stack and
//! every route) that the server runs and the tests run. [`Running::stop`] is the order of
//! a clean stop.

use std::any::Any;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::body::MessageBody;
use actix_web::dev::{
    Extensions, Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse,
};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::admin::AdminToken;
use crate::http::cors::CrossOrigin;
use crate::http::headers::security_headers;
use crate::http::limits::{refuse_large_bodies, CreationLimiter};
use crate::http::observe::observe;
use crate::http::stream_gate::StreamGate;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::rooms::presence::{Leave, Presence};
use crate::rooms::registry::Feed;
use crate::rooms::{Cluster, RoomContext, RoomPolicy, RoomRegistry};
use crate::store::{feed, presence, rooms, Backend, Db};
use crate::tls;

mod announce;
mod error;
mod token;

pub use error::StartError;

/// Bytes the HTTP layer buffers for one connection before it stops pulling events from
/// the stream's queue; part of the bound on a stalled stream's backlog.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// The kernel send buffer asked for each connection (Linux doubles it for bookkeeping).
pub const SOCKET_SEND_BUFFER_BYTES: usize = 32 * 1024;

/// How long start-up waits for the change feed before it serves anyway.
const FEED_START_WAIT: Duration = Duration::from_secs(5);

/// Connections the kernel may hold for the server before it accepts them. After a restart
/// every client of the old process reconnects within the same second or two: a short
/// queue would turn away thousands of them and send each into a retry. The kernel caps
/// it at `net.core.somaxconn` (see docs/OPERATIONS.md).
pub const LISTEN_BACKLOG: i32 = 65_535;

/// Everything the server is made of, built and started, not yet serving: what [`build`]
/// makes and [`serve`] serves. Tests serve [`Parts::http`] on a listener of their own.
pub struct Parts {
    /// What the HTTP server serves, and how.
    pub http: Http,
    /// The address to listen on (`PAIRSYNC_BIND`).
    pub bind: String,
    /// Set to `true` to end every open stream (with a short `retry:`); dropping it does
    /// the same.
    pub shutdown: watch::Sender<bool>,
    /// This process among the others on a shared database (its id and its presence
    /// reporter); `None` on SQLite.
    pub cluster: Option<Cluster>,
    /// The arbiters room actors run on (none: the registry's own thread).
    pub arbiters: Vec<Arbiter>,
    /// What start-up has to tell the operator, said once the server has said where to
    /// open it.
    pub notes: Vec<String>,
}

/// What the HTTP server serves and how: the handlers' state, the cross-origin settings,
/// TLS and the stop's grace. Cheap to clone, and sendable to the thread that serves it.
#[derive(Clone)]
pub struct Http {
    /// What every handler reaches: the registry, the database, the clock, the metrics,
    /// the admin token, the limits and the stop signal.
    pub state: AppState,
    /// The origins whose pages may call the API (`PAIRSYNC_ALLOWED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    /// Served over HTTPS when set.
    pub tls: Option<rustls::ServerConfig>,
    /// How long a stop lets the requests in flight finish.
    pub grace: Duration,
}

/// A serving server: what [`Running::stop`] winds down.
pub struct Running {
    /// The address the server listens on (the real port when the setting asked for 0).
    pub local_addr: std::net::SocketAddr,
    /// Stops the HTTP server.
    server: ServerHandle,
    /// The HTTP server's task; `None` once it ended.
    serving: Option<actix_web::rt::task::JoinHandle<std::io::Result<()>>>,
    /// Ends every open stream when set to `true`.
    shutdown: watch::Sender<bool>,
    /// This process's presence reporter on a shared database.
    presence: Option<Addr<Presence>>,
    /// The arbiters room actors run on.
    arbiters: Vec<Arbiter>,
}

/// Builds the parts and serves them: [`build`], then [`serve`]. Runs inside the current
/// actix system. Every timed decision reads `clock`: [`Clock::system`] in production.
pub fn start(config: Config, clock: Clock) -> Result<Running, StartError> {
    serve(build(config, clock)?)
}

/// Builds every part of the server inside the current actix system, in this order: the
/// TLS settings and the admin token are checked (before anything else, so that a
/// half-configured HTTPS or an unreadable token file opens no database), the database is
/// opened and migrated, the metrics registered, the room arbiters started, the rooms
/// with a running timer read, the presence reporter started on a shared database, the
/// registry started with those rooms, the change feed connected on a shared database,
/// and the handlers' state gathered. Nothing listens yet.
pub fn build(config: Config, clock: Clock) -> Result<Parts, StartError> {
    let tls = tls::server_config(config.tls_cert.as_deref(), config.tls_key.as_deref())?;
    let (admin_token, generated) = token::settle(&config)?;
    let backend = Backend::parse(&config.database_url)?;
    let db = Db::open(&backend)?;
    let metrics = Metrics::new()?;
    db.count_batches_in(metrics.write_batches.clone());
    // What start-up has to say waits until the server says where to open it.
    let mut notes = Vec::new();
    if generated {
        // The token ends the line: scripts read it from there.
        notes.push(format!(
            "no PAIRSYNC_ADMIN_TOKEN set (set it, or PAIRSYNC_ADMIN_TOKEN_FILE, to keep one \
             across restarts); generated admin token: {admin_token}"
        ));
    }

    let threads = config
        .room_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
    let handles = arbiters.iter().map(Arbiter::handle).collect();
    let policy = RoomPolicy {
        heartbeat: config.heartbeat_ms,
        pause_when_empty: config.pause_when_empty,
        max_subscribers: config.max_subscribers_per_room,
        idle_ttl: config.room_idle_ms,
        cluster: db.shared_url().is_some(),
    };
    // Running timers must reach their time-up (or pause-when-empty) on time after a
    // restart, whether or not anybody asks for their room: load them before serving.
    let running = db.blocking(|conn| rooms::running(conn, clock.now_ms()))?;
    notes.push(format!(
        "loading {} room(s) with a running timer",
        running.len()
    ));
    // On a shared database, this process reports its streams for the others.
    let cluster = db.shared_url().map(|_| {
        let process = uuid::Uuid::new_v4().simple().to_string();
        notes.push(format!(
            "process id {process} (several processes may share this database)"
        ));
        let presence = Presence::new(process.clone(), db.clone(), clock.clone()).start();
        Cluster { process, presence }
    });
    let env = RoomContext {
        db: db.clone(),
        clock: clock.clone(),
        policy: Arc::new(policy),
        metrics: metrics.clone(),
        cluster: cluster.clone(),
    };
    let registry = RoomRegistry::new(env, handles, running).start();
    // Several processes may share a PostgreSQL database: hear of each other's changes.
    let feed = db.shared_url().zip(cluster.as_ref()).map(|(url, cluster)| {
        let to = registry.clone();
        let url = presence::tagged_url(url, &cluster.process);
        let health = feed::listen(url, move |event| to.do_send(Feed(event)));
        // Serve once other processes' changes reach this one (readiness says so meanwhile).
        if !health.wait_up(FEED_START_WAIT) {
            log::warn!("the change feed is not connected yet; /readyz answers 503 until it is");
        }
        health
    });
    let (shutdown, stopping) = watch::channel(false);
    let stream_cap = config.stream_cap();
    let client_cap = config.max_streams_per_client;
    notes.push(if client_cap > 0 {
        format!("at most {stream_cap} streams at once, {client_cap} per client")
    } else {
        format!("at most {stream_cap} streams at once")
    });
    let state = AppState {
        registry,
        db,
        feed,
        clock,
        metrics,
        admin_token: AdminToken::new(admin_token),
        creation_limiter: Arc::new(CreationLimiter::new(config.create_per_minute)),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        streams: StreamGate::new(stream_cap, client_cap),
        shutdown: stopping,
    };

    let allowed_origins = config.allowed_origins.0.clone();
    if !allowed_origins.is_empty() {
        notes.push(format!(
            "cross-origin API calls allowed from {}",
            allowed_origins.join(", ")
        ));
    }
    Ok(Parts {
        http: Http {
            state,
            allowed_origins,
            tls,
            grace: config.shutdown_grace_ms,
        },
        bind: config.bind,
        shutdown,
        cluster,
        arbiters,
        notes,
    })
}

/// The application the server runs on `state`: every route of [`http::configure`] behind
/// the middleware stack, outermost first: the access log and HTTP metrics, the security
/// headers, cross-origin calls from `allowed_origins`, `HEAD` answered as `GET`, and the
/// body size limit. The server calls it once per worker; tests call it to run exactly
/// what the server runs.
pub fn app(
    state: AppState,
    allowed_origins: &[String],
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .wrap(from_fn(refuse_large_bodies))
        .wrap(from_fn(http::openapi::head_as_get))
        // Outside the body limit, so that its 413 reaches a cross-origin page readable.
        .wrap(CrossOrigin::new(allowed_origins))
        .wrap(from_fn(security_headers))
        .wrap(from_fn(observe))
        .configure(http::configure)
}

/// Serves `parts`: binds the listener ([`LISTEN_BACKLOG`]) and runs the HTTP server
/// ([`Http::server`]) in the current actix system. It serves from the moment this
/// returns.
pub fn serve(parts: Parts) -> Result<Running, StartError> {
    let Parts {
        http,
        bind,
        shutdown,
        cluster,
        arbiters,
        notes,
    } = parts;
    let listener = listen(&bind).map_err(|e| StartError::Bind(bind.clone(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(bind.clone(), e))?;
    let scheme = if http.tls.is_some() { "https" } else { "http" };
    // The first thing said: where to open it (connections queue from here on).
    for line in announce::where_to_open(scheme, addr) {
        log::info!("{line}");
    }
    for note in notes {
        log::info!("{note}");
    }
    let server = http
        .server(listener)
        .map_err(|e| StartError::Bind(bind.clone(), e))?;
    let handle = server.handle();
    Ok(Running {
        local_addr: addr,
        server: handle,
        serving: Some(actix_web::rt::spawn(server)),
        shutdown,
        presence: cluster.map(|c| c.presence),
        arbiters,
    })
}

/// The contract's 5 s for a request head, plus the 500 ms step of the clock the HTTP layer
/// reads when it sets the head's deadline.
pub const HEAD_TIMEOUT: Duration = Duration::from_millis(5500);

impl Http {
    /// The HTTP server the binary runs, on `listener`: [`app`] once per worker, with the
    /// binary's connection settings (a bounded write buffer per connection, no Nagle
    /// delay, a client's close ending its stream at once, a capped kernel send buffer),
    /// over HTTPS when [`Http::tls`] is set, and no signal handling of its own. It runs in
    /// the current actix system once awaited or spawned; stop it through its handle.
    pub fn server(self, listener: TcpListener) -> std::io::Result<Server> {
        let Http {
            state,
            allowed_origins,
            tls,
            grace,
        } = self;
        let server = HttpServer::new(move || app(state.clone(), &allowed_origins))
            .h1_write_buffer_size(WRITE_BUFFER_BYTES)
            // An event leaves at once: HTTP/2 writes the streams of one connection (several
            // rooms' ticks in the same millisecond) as separate small writes, which Nagle's
            // algorithm would otherwise hold back until the client acknowledges the first.
            .tcp_nodelay(true)
            // A client that closes its side is gone: end its stream now, not at the next
            // write.
            .h1_allow_half_closed(false)
            // A request head may take 5 s. The HTTP layer sets the head's deadline from a
            // clock it refreshes every 500 ms, so a deadline of 5 s could fall up to 500 ms
            // early; 5.5 s from that clock is never before 5 s from the connection.
            .client_request_timeout(HEAD_TIMEOUT)
            .on_connect(limit_send_buffer)
            .shutdown_timeout(grace.as_millis().div_ceil(1000).max(1) as u64)
            // The binary handles SIGTERM and Ctrl-C itself, to end the streams first.
            .disable_signals();
        let server = match tls {
            // actix-web offers `h2` and `http/1.1` by ALPN on a rustls listener.
            Some(config) => server.listen_rustls_0_23(listener, config),
            None => server.listen(listener),
        }?;
        Ok(server.run())
    }
}

impl Running {
    /// Ends when the HTTP server ends by itself, which it does only when it fails (a stop
    /// is [`Running::stop`]); what it ended with. Ends at once when it already ended.
    pub async fn served(&mut self) -> std::io::Result<()> {
        let Some(serving) = self.serving.as_mut() else {
            return Ok(());
        };
        let outcome = serving.await;
        self.serving = None;
        // A task that did not finish (it panicked, or the runtime is going away) leaves
        // nothing to report beyond the end itself.
        outcome.unwrap_or(Ok(()))
    }

    /// A clean stop, in this order: every open stream gets `retry: 250` and ends (its
    /// connection closes); the server stops accepting and lets the requests in flight
    /// finish within the shutdown grace; on a shared database this process's presence rows
    /// are removed, so that the other processes stop counting its streams at once; the
    /// room arbiters stop. Every acknowledged change is already committed: nothing needs
    /// saving.
    pub async fn stop(self) {
        // An error means no receiver is left, so no stream to end.
        let _ = self.shutdown.send(true);
        self.server.stop(true).await;
        if let Some(presence) = &self.presence {
            // A reporter already gone has nothing left to remove.
            let _ = presence.send(Leave).await;
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

type TcpStream = actix_web::rt::net::TcpStream;
type TlsStream = actix_tls::accept::rustls_0_23::TlsStream<TcpStream>;

/// Caps the kernel's send buffer of each connection, plain or TLS, so that a client that
/// stops reading shows up as a full stream queue after a bounded backlog instead of
/// megabytes of auto-tuned socket buffer.
pub fn limit_send_buffer(conn: &dyn Any, _: &mut Extensions) {
    let tcp = conn
        .downcast_ref::<TcpStream>()
        .or_else(|| conn.downcast_ref::<TlsStream>().map(|tls| tls.get_ref().0));
    let Some(tcp) = tcp else {
        log::debug!("unknown connection type: the send buffer keeps its size");
        return;
    };
    if let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(SOCKET_SEND_BUFFER_BYTES) {
        log::debug!("cannot set the send buffer size: {e}");
    }
}

/// Binds `bind` (`host:port`, the first address it resolves to that binds) with a long
/// listen queue ([`LISTEN_BACKLOG`]).
fn listen(bind: &str) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    use std::net::ToSocketAddrs;
    let mut last = None;
    for addr in bind.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        // As the standard library's listeners do: a restart may bind while the old
        // process's connections linger in TIME_WAIT.
        socket.set_reuse_address(true)?;
        match socket
            .bind(&addr.into())
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}
