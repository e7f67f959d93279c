//! Putting the server together: database, metrics, room arbiters, the registry, the
//! listener and the HTTP server (plain HTTP/1.1, or HTTPS with HTTP/2 and HTTP/1.1).

use std::any::Any;
use std::net::TcpListener;

use actix::prelude::*;
use actix_web::dev::{Extensions, Server};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::sync::Arc;
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
use crate::rooms::presence::Presence;
use crate::rooms::registry::Feed;
use crate::rooms::{Cluster, RoomContext, RoomPolicy, RoomRegistry};
use crate::store::{feed, presence, rooms, Backend, Db};
use crate::tls::{self, TlsError};

/// Bytes the HTTP layer buffers for one connection before it stops pulling events from
/// the stream's queue; part of the bound on a stalled stream's backlog.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// The kernel send buffer asked for each connection (Linux doubles it for bookkeeping).
pub const SOCKET_SEND_BUFFER_BYTES: usize = 32 * 1024;

/// How long start-up waits for the change feed before it serves anyway.
const FEED_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `DATABASE_URL` was refused.
    #[error(transparent)]
    Url(#[from] crate::store::UrlError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    /// The metrics registry refused a series.
    #[error(transparent)]
    Metrics(#[from] prometheus::Error),
    /// The TLS settings are incomplete, or their files are refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

type TcpStream = actix_web::rt::net::TcpStream;
type TlsStream = actix_tls::accept::rustls_0_23::TlsStream<TcpStream>;

/// Caps the kernel's send buffer of each connection, plain or TLS, so that a client that
/// stops reading shows up as a full stream queue after a bounded backlog instead of
/// megabytes of auto-tuned socket buffer.
fn limit_send_buffer(conn: &dyn Any, _: &mut Extensions) {
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

/// A started server.
pub struct Running {
    /// The address the server listens on (the real port when the setting asked for 0).
    pub local_addr: std::net::SocketAddr,
    /// This process's presence reporter on a shared database: tell it `Leave` at a clean stop.
    pub presence: Option<Addr<Presence>>,
    /// The server; await it to serve until stopped.
    pub server: Server,
    /// The arbiters room actors run on.
    pub arbiters: Vec<Arbiter>,
    /// Set to `true` to end every open stream (with a short `retry:`) before stopping.
    pub shutdown: watch::Sender<bool>,
}

/// Connections the kernel may hold for the server before it accepts them. After a restart
/// every client of the old process reconnects within the same second or two: a short
/// queue would turn away thousands of them and send each into a retry. The kernel caps
/// it at `net.core.somaxconn` (see docs/OPERATIONS.md).
pub const LISTEN_BACKLOG: i32 = 65_535;

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

/// Starts everything inside the current actix system and binds the listener. The server
/// serves once `Running::server` is awaited (or spawned). Every timed decision reads
/// `clock`: [`Clock::system`] in production.
pub fn start(config: Config, clock: Clock) -> Result<Running, StartError> {
    // Checked first: a half-configured HTTPS must not open (or migrate) the database.
    let tls = tls::server_config(config.tls_cert.as_deref(), config.tls_key.as_deref())?;
    let backend = Backend::parse(&config.database_url)?;
    let db = Db::open(&backend)?;
    let metrics = Metrics::new()?;
    let admin_token = match config.admin_token.clone().filter(|t| !t.is_empty()) {
        Some(token) => token,
        None => {
            let token = crate::access_code::generate();
            log::info!("no PAIRSYNC_ADMIN_TOKEN set; generated admin token: {token}");
            token
        }
    };

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
    log::info!("loading {} room(s) with a running timer", running.len());
    // On a shared database, this process reports its streams for the others.
    let cluster = db.shared_url().map(|_| {
        let process = uuid::Uuid::new_v4().simple().to_string();
        log::info!("process id {process} (several processes may share this database)");
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
    if client_cap > 0 {
        log::info!("at most {stream_cap} streams at once, {client_cap} per client");
    } else {
        log::info!("at most {stream_cap} streams at once");
    }
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
        log::info!(
            "cross-origin API calls allowed from {}",
            allowed_origins.join(", ")
        );
    }

    let listener = listen(&config.bind).map_err(|e| StartError::Bind(config.bind.clone(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(config.bind.clone(), e))?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(from_fn(refuse_large_bodies))
            .wrap(from_fn(http::openapi::head_as_get))
            // Outside the body limit, so that its 413 reaches a cross-origin page readable.
            .wrap(CrossOrigin::new(&allowed_origins))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(observe))
            .configure(http::configure)
    })
    .h1_write_buffer_size(WRITE_BUFFER_BYTES)
    // An event leaves at once: HTTP/2 writes the streams of one connection (several
    // rooms' ticks in the same millisecond) as separate small writes, which Nagle's
    // algorithm would otherwise hold back until the client acknowledges the first.
    .tcp_nodelay(true)
    // A client that closes its side is gone: end its stream now, not at the next write.
    .h1_allow_half_closed(false)
    .on_connect(limit_send_buffer)
    .shutdown_timeout(config.shutdown_grace_ms.as_millis().div_ceil(1000).max(1) as u64)
    // The binary handles SIGTERM and Ctrl-C itself, to end the streams first.
    .disable_signals();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        // actix-web offers `h2` and `http/1.1` by ALPN on a rustls listener.
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(|e| StartError::Bind(config.bind.clone(), e))?
    .run();
    log::info!("listening on {scheme}://{addr}");
    Ok(Running {
        local_addr: addr,
        presence: cluster.map(|c| c.presence),
        server,
        arbiters,
        shutdown,
    })
}
