//! Fan-out benchmark: how late do `remaining-time` ticks reach many open event streams?
//!
//! It targets a server that is already running (it never starts one), opens
//! `rooms × streams-per-room` streams with a small hand-written HTTP/1.1 + SSE reader on
//! raw TCP sockets (one task and one read buffer per stream, nothing more), starts the
//! timers, and for every tick records its lateness: the instant it was read, less the
//! instant it was due. It prints the streams opened, the ticks expected and received, the
//! lateness percentiles, the tick events delivered per second, and (with `--server-pid`)
//! the server's memory per stream and its CPU time.
//!
//! It exits with status 1 when the run was not clean: a room not created or not started, a
//! stream not opened or ended early, a tick missed, early or out of order (every stream
//! must get each value of the countdown once, in decreasing order), an event out of place,
//! or an id that did not increase. A clean run exits 0; bad arguments exit 2.
//!
//! # Modes
//!
//! - `pairsync` (default): creates `--rooms` rooms (`POST /api/pair-room`), opens
//!   `--streams-per-room` streams on each (`GET /api/{code}/connect`), waits until every
//!   stream has had its `state` greeting, then starts every room's timer
//!   (`PATCH /api/{code}/timer/start`). A tick `remaining-time: v` is due at
//!   `deadlineAt − v`, with `deadlineAt` taken from the `state` event after `timer: start`.
//!   The server computes its own ticks.
//! - `nchan`: the same fan-out on an nginx + nchan server. Streams subscribe to
//!   `GET /sub/{channel}` (one channel per "room"); the benchmark itself is the timer: at
//!   each whole second before a shared deadline it publishes one message per channel
//!   (`POST /pub/{channel}`, body `"<v> <due epoch ms>"`), and a tick is due at the instant
//!   the message carries. See `docs/PERFORMANCE.md` for the nginx configuration.
//!
//! # Running
//!
//! ```text
//! cargo build --release
//! ulimit -n 20000
//! PAIRSYNC_BIND=127.0.0.1:8080 DATABASE_URL=/tmp/bench/pairsync.db RUST_LOG=warn \
//!     PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000 target/release/pairsync &
//! cargo bench --bench fanout -- --url http://127.0.0.1:8080 --rooms 100 \
//!     --streams-per-room 10 --duration-ms 10000 --server-pid $!
//! ```
//!
//! Arguments: `--url` (required), `--rooms` (100), `--streams-per-room` (10),
//! `--duration-ms` (10000), `--source-ips 127.0.0.2,127.0.0.3` (client sockets are bound
//! to these local addresses in turn, each with ~28k ephemeral ports; 127.0.0.1 alone by
//! default), `--mode
//! pairsync|nchan`, `--server-pid PID[,PID…]` (memory and CPU are summed over the list:
//! nginx's master and workers), `--connect-concurrency` (256 connection attempts at once),
//! `--spread-ms` (nchan mode: spread the channels' deadlines evenly over this many ms, as
//! pairsync's rooms are spread by the instants their starts commit; 0, one shared deadline,
//! by default).
//! One process may hold at most ~19,900 sockets here: past that, run several benchmark
//! processes with different `--source-ips` (each then starts and reports on its own rooms
//! only, and its memory per stream counts the other processes' streams too).
//!
//! # Several server processes on one database
//!
//! - `--url A,B,C`: rooms are created through `A` and started through each server in turn; stream `j` of room `r`
//!   (counted over all rooms) goes to server `(r · streams-per-room + j) mod 3`, so each
//!   server gets the same share and every room has streams on every server. Give
//!   `--server-pid P1,P2,P3` in the same order for each process's memory and CPU. Besides
//!   the usual figures it prints each process's tick lateness; the spread of one tick
//!   across processes (per room and tick value, the latest less the earliest of each
//!   process's first arrival, and the same over every stream of the room); and how long a
//!   command takes to reach the other processes' streams: after the ticks, a sample of
//!   rooms (`--command-rooms`, 100 by default with several URLs, else 0) get
//!   `PATCH /api/{code}/timer/start` again, one at a time 20 ms apart, room `r` through
//!   server `r mod 3`; each stream on another server must then get `timer: start`, timed
//!   from the command's `204` and from the moment its request was sent.
//! - `--shard I/N`: this process takes the `I`-th of `N` equal slices of `--rooms`
//!   (creates, streams, starts and commands only those), so `N` processes with different
//!   `--source-ips` share a load too large for one. `--start-at EPOCH_MS` makes them start
//!   their timers at one instant. `--samples-out FILE` writes this shard's raw samples
//!   (format in `cluster.rs`); `--merge FILE,FILE…` (and nothing else) reads them all and
//!   prints the combined figures, exiting 1 if any shard's run was not clean.
//!   `tests/bench/cluster.sh` does all of this on three fresh processes.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};

mod cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::{watch, Semaphore};

/// How long the streams may take to open before the run goes on without the rest.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);
/// How long after the last deadline the streams keep listening for late ticks.
const LATE_GRACE: Duration = Duration::from_secs(3);
/// HTTP requests (create, start, publish) in flight at once.
const HTTP_CONCURRENCY: usize = 64;
/// Room and stream errors printed in full; the rest are only counted.
const ERRORS_SHOWN: usize = 5;
/// Several servers: rooms commanded after the ticks, unless `--command-rooms` says.
const DEFAULT_COMMAND_ROOMS: usize = 100;
/// Several servers: the pause between two commands, so that each is measured alone.
const COMMAND_GAP: Duration = Duration::from_millis(20);
/// Several servers: how long the streams wait for the last command's event.
const COMMAND_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pairsync,
    Nchan,
}

#[derive(Debug, Clone)]
struct Args {
    /// The first server: rooms are created, started and counted through it.
    url: String,
    /// Every server; a room's streams are spread over them in turn.
    urls: Vec<String>,
    /// This process's slice of the rooms: `(index, count)`.
    shard: (usize, usize),
    /// Start the timers at this instant (epoch ms), so that shards tick together.
    start_at_ms: Option<i64>,
    /// Where this shard writes its raw samples (see `cluster.rs`).
    samples_out: Option<String>,
    /// Samples files to merge instead of running.
    merge: Vec<String>,
    command_rooms: Option<usize>,
    rooms: usize,
    streams_per_room: usize,
    duration_ms: i64,
    source_ips: Vec<IpAddr>,
    mode: Mode,
    server_pids: Vec<u32>,
    connect_concurrency: usize,
    spread_ms: i64,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "fanout: {problem}\nusage: cargo bench --bench fanout -- --url http://HOST:PORT \
         [--rooms R] [--streams-per-room S] [--duration-ms D] [--source-ips IP,IP] \
         [--mode pairsync|nchan] [--server-pid PID,PID] [--connect-concurrency N] \
         [--spread-ms MS] [--shard I/N] [--start-at EPOCH_MS] [--samples-out FILE] \
         [--command-rooms N]\n       cargo bench --bench fanout -- --merge FILE,FILE"
    );
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {value}")))
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            url: String::new(),
            urls: Vec::new(),
            shard: (0, 1),
            start_at_ms: None,
            samples_out: None,
            merge: Vec::new(),
            command_rooms: None,
            rooms: 100,
            streams_per_room: 10,
            duration_ms: 10_000,
            source_ips: vec![IpAddr::from([127, 0, 0, 1])],
            mode: Mode::Pairsync,
            server_pids: Vec::new(),
            connect_concurrency: 256,
            spread_ms: 0,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            // `cargo bench` appends `--bench` to every bench binary's arguments.
            if flag == "--bench" {
                continue;
            }
            let value = it
                .next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            match flag.as_str() {
                "--url" => {
                    args.urls = value
                        .split(',')
                        .map(|u| u.trim_end_matches('/').to_string())
                        .collect();
                    args.url = args.urls[0].clone();
                }
                "--shard" => {
                    let (i, n) = value
                        .split_once('/')
                        .unwrap_or_else(|| usage("--shard takes I/N"));
                    args.shard = (number(&flag, i), number(&flag, n));
                }
                "--start-at" => args.start_at_ms = Some(number(&flag, &value)),
                "--samples-out" => args.samples_out = Some(value),
                "--command-rooms" => args.command_rooms = Some(number(&flag, &value)),
                "--merge" => args.merge = value.split(',').map(str::to_string).collect(),
                "--rooms" => args.rooms = number(&flag, &value),
                "--streams-per-room" => args.streams_per_room = number(&flag, &value),
                "--duration-ms" => args.duration_ms = number(&flag, &value),
                "--connect-concurrency" => args.connect_concurrency = number(&flag, &value),
                "--spread-ms" => args.spread_ms = number(&flag, &value),
                "--source-ips" => {
                    args.source_ips = value.split(',').map(|ip| number(&flag, ip)).collect()
                }
                "--server-pid" => {
                    args.server_pids = value.split(',').map(|p| number(&flag, p)).collect()
                }
                "--mode" => {
                    args.mode = match value.as_str() {
                        "pairsync" => Mode::Pairsync,
                        "nchan" => Mode::Nchan,
                        other => usage(&format!("unknown mode {other}")),
                    }
                }
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if !args.merge.is_empty() {
            return args;
        }
        if args.url.is_empty() || args.urls.iter().any(String::is_empty) {
            usage("--url is required");
        }
        if args.shard.1 == 0 || args.shard.0 >= args.shard.1 {
            usage("--shard I/N needs 0 <= I < N");
        }
        if args.mode == Mode::Nchan && (args.urls.len() > 1 || args.shard.1 > 1) {
            usage("several URLs and shards are for pairsync mode");
        }
        if args.rooms == 0 || args.streams_per_room == 0 || args.source_ips.is_empty() {
            usage("rooms, streams per room and source addresses must not be empty");
        }
        if args.duration_ms < 1000 {
            usage("--duration-ms must be at least 1000");
        }
        args
    }

    /// The rooms of this shard: the index of its first room among all, and how many.
    fn shard_rooms(&self) -> (usize, usize) {
        let (i, n) = self.shard;
        let first = self.rooms * i / n;
        (first, self.rooms * (i + 1) / n - first)
    }

    /// Rooms commanded after the ticks: only with several servers unless asked for.
    fn command_rooms(&self) -> usize {
        let default = if self.urls.len() > 1 {
            DEFAULT_COMMAND_ROOMS
        } else {
            0
        };
        self.command_rooms.unwrap_or(default)
    }

    /// The server of stream `j` of room `room` (counted over every shard's rooms): the
    /// streams of all rooms go to the servers in turn, so each server gets an equal share.
    fn server_of(&self, room: usize, j: usize) -> usize {
        (room * self.streams_per_room + j) % self.urls.len()
    }

    /// The tick values of one countdown, as the contract lists them: every multiple of
    /// 1000 strictly below the duration, down to and including 0.
    fn tick_values(&self) -> Vec<i64> {
        let top = (self.duration_ms - 1) / 1000 * 1000;
        (0..=top / 1000).rev().map(|k| k * 1000).collect()
    }
}

/// `host:port` of a URL, for the `Host` header and the socket address.
fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or_else(|| {
        usage("--url must start with http:// (the stream reader speaks plain HTTP/1.1)")
    });
    rest.split('/').next().unwrap_or(rest)
}

fn epoch_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_micros()).expect("microseconds fit in i64")
}

fn epoch_ms() -> i64 {
    epoch_us() / 1000
}

// ---------------------------------------------------------------------------------------
// Server process figures from /proc

/// Resident memory of the server processes, in KiB (`VmRSS`, summed).
fn rss_kb(pids: &[u32]) -> Option<u64> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// CPU time (user + system) of the processes, in seconds.
fn cpu_seconds(pids: &[String]) -> Option<f64> {
    let tick = clock_ticks_per_second();
    let mut total = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces) start at `state`, field 3;
        // utime and stime are fields 14 and 15.
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        total += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(total as f64 / tick)
}

/// The servers' own record of how late their tick timers fired (pairsync's `/metrics`):
/// the sum in seconds and the count of `pairsync_tick_lateness_seconds`, over every server.
async fn server_tick_lateness(http: &reqwest::Client, args: &Args) -> Option<(f64, f64)> {
    if args.mode != Mode::Pairsync {
        return None;
    }
    let (mut sum, mut count) = (0.0, 0.0);
    for url in &args.urls {
        let (s, c) = one_server_tick_lateness(http, url).await?;
        sum += s;
        count += c;
    }
    Some((sum, count))
}

async fn one_server_tick_lateness(http: &reqwest::Client, url: &str) -> Option<(f64, f64)> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
    };
    Some((
        value("pairsync_tick_lateness_seconds_sum ")?,
        value("pairsync_tick_lateness_seconds_count ")?,
    ))
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 response + SSE reader

/// One server-sent event.
#[derive(Debug, Default)]
struct Event {
    name: String,
    data: String,
    id: String,
}

/// How the response body is framed.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// Until the connection closes.
    Plain,
    /// `Transfer-Encoding: chunked`: waiting for a size line, inside a chunk with this
    /// many bytes left, or waiting for the CRLF after a chunk.
    ChunkSize,
    ChunkData(usize),
    ChunkEnd,
}

/// Turns the bytes of one connection into events.
struct Reader {
    /// Received bytes not yet decoded.
    raw: Vec<u8>,
    /// Decoded body bytes of a line not yet complete.
    line: Vec<u8>,
    body: Option<Body>,
    event: Event,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            raw: Vec::with_capacity(1024),
            line: Vec::new(),
            body: None,
            event: Event::default(),
        }
    }

    /// Parses the response head once it is complete: `Ok(true)` when it has been read,
    /// `Ok(false)` when more bytes are needed.
    fn head(&mut self) -> Result<bool, String> {
        let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(false);
        };
        let head = String::from_utf8_lossy(&self.raw[..end]).to_ascii_lowercase();
        let status = head.split_whitespace().nth(1).unwrap_or("?");
        if status != "200" {
            return Err(format!("status {status}"));
        }
        let chunked = head
            .lines()
            .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
        self.body = Some(if chunked {
            Body::ChunkSize
        } else {
            Body::Plain
        });
        self.raw.drain(..end + 4);
        Ok(true)
    }

    /// Decodes what `raw` holds and passes each complete event to `on_event`. `Ok(false)`
    /// when the body has ended.
    fn events(&mut self, on_event: &mut impl FnMut(Event)) -> Result<bool, String> {
        let mut pos = 0;
        let mut open = true;
        while pos < self.raw.len() {
            match self.body {
                None => return Err("body before head".into()),
                Some(Body::Plain) => {
                    let end = self.raw.len();
                    self.feed(pos, end, on_event);
                    pos = end;
                }
                Some(Body::ChunkData(left)) => {
                    let end = self.raw.len().min(pos + left);
                    self.feed(pos, end, on_event);
                    let left = left - (end - pos);
                    pos = end;
                    self.body = Some(if left == 0 {
                        Body::ChunkEnd
                    } else {
                        Body::ChunkData(left)
                    });
                }
                Some(Body::ChunkEnd) => {
                    if self.raw.len() - pos < 2 {
                        break;
                    }
                    pos += 2;
                    self.body = Some(Body::ChunkSize);
                }
                Some(Body::ChunkSize) => {
                    let Some(eol) = self.raw[pos..].windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&self.raw[pos..pos + eol]).into_owned();
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("bad chunk size {hex:?}"))?;
                    pos += eol + 2;
                    if size == 0 {
                        open = false;
                        pos = self.raw.len();
                    } else {
                        self.body = Some(Body::ChunkData(size));
                    }
                }
            }
        }
        self.raw.drain(..pos);
        Ok(open)
    }

    /// Feeds body bytes `raw[from..to]` to the line parser.
    fn feed(&mut self, from: usize, to: usize, on_event: &mut impl FnMut(Event)) {
        for i in from..to {
            let byte = self.raw[i];
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = std::mem::take(&mut self.line);
            self.field(&line, on_event);
            self.line = line;
            self.line.clear();
        }
    }

    /// One SSE line: a field, a comment, or the blank line that ends an event.
    fn field(&mut self, line: &[u8], on_event: &mut impl FnMut(Event)) {
        if line.is_empty() {
            if !self.event.name.is_empty() || !self.event.data.is_empty() {
                on_event(std::mem::take(&mut self.event));
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (name, value) = text.split_once(':').unwrap_or((&text, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "event" => self.event.name = value.to_string(),
            "id" => self.event.id = value.to_string(),
            "data" => {
                if !self.event.data.is_empty() {
                    self.event.data.push('\n');
                }
                self.event.data.push_str(value);
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// One stream

/// What the benchmark's tasks share.
struct Shared {
    mode: Mode,
    /// Each server's socket address and `host:port`.
    servers: Vec<(SocketAddr, String)>,
    greeted: AtomicUsize,
    failed: AtomicUsize,
    open_slots: Semaphore,
    stop: watch::Receiver<bool>,
}

/// What one stream saw.
#[derive(Debug, Default)]
struct Outcome {
    /// Lateness of each tick, in microseconds.
    lateness_us: Vec<i64>,
    /// The value of each tick, in the order received.
    tick_values: Vec<i64>,
    /// The instant each tick was read (epoch µs), in the order received.
    arrivals_us: Vec<i64>,
    /// The instant the first `timer: start` after the time-up was read (epoch µs): the
    /// command sent after the ticks.
    command_us: Option<i64>,
    /// `remaining-time` events out of place (before the deadline was known, after the
    /// last tick, or unparsable).
    surprises: u32,
    /// Events whose id was not above the previous one.
    id_regressions: u32,
    /// The timer's deadline (pairsync), from the `state` after `timer: start`.
    deadline_ms: Option<i64>,
    /// Why the stream failed or ended before the run did.
    error: Option<String>,
    greeted: bool,
}

/// Where a pairsync stream is in the room's story.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Greeting,
    Idle,
    Starting,
    Running { deadline_ms: i64 },
    Done,
}

async fn run_stream(shared: Arc<Shared>, source: IpAddr, server: usize, path: String) -> Outcome {
    let mut outcome = Outcome::default();
    let result = stream_inner(&shared, source, server, &path, &mut outcome).await;
    if let Err(e) = result {
        outcome.error = Some(e);
    }
    if !outcome.greeted {
        shared.failed.fetch_add(1, Ordering::Relaxed);
    }
    outcome
}

async fn stream_inner(
    shared: &Shared,
    source: IpAddr,
    server: usize,
    path: &str,
    outcome: &mut Outcome,
) -> Result<(), String> {
    let (addr, authority) = &shared.servers[server];
    let permit = shared
        .open_slots
        .acquire()
        .await
        .map_err(|e| e.to_string())?;
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let mut tcp = socket
        .connect(*addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // Close with a reset at the end, so that no port stays in TIME_WAIT between runs.
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| format!("linger: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;

    let mut reader = Reader::new();
    let mut phase = Phase::Greeting;
    let mut last_id = 0u64;
    let mut permit = Some(permit);
    let mut stop = shared.stop.clone();
    let mut have_head = false;
    loop {
        reader.raw.reserve(1024);
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
            read = tcp.read_buf(&mut reader.raw) => read,
        };
        let received_us = epoch_us();
        let n = read.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed the stream".into());
        }
        if !have_head {
            have_head = reader.head()?;
            if !have_head {
                continue;
            }
            if shared.mode == Mode::Nchan {
                // An nchan subscriber has no greeting: the head means it is subscribed.
                greet(shared, outcome, &mut permit);
            }
        }
        let mut on_event = |event: Event| match shared.mode {
            Mode::Pairsync => {
                if let Ok(id) = event.id.parse::<u64>() {
                    if id <= last_id {
                        outcome.id_regressions += 1;
                    }
                    last_id = id;
                }
                phase = pairsync_event(phase, &event, received_us, outcome);
                if matches!(phase, Phase::Idle) && !outcome.greeted {
                    greet(shared, outcome, &mut permit);
                }
            }
            Mode::Nchan => nchan_event(&event, received_us, outcome),
        };
        if !reader.events(&mut on_event)? {
            return Err("the server ended the stream".into());
        }
    }
}

fn greet(
    shared: &Shared,
    outcome: &mut Outcome,
    permit: &mut Option<tokio::sync::SemaphorePermit<'_>>,
) {
    outcome.greeted = true;
    shared.greeted.fetch_add(1, Ordering::Relaxed);
    // Let another stream connect.
    permit.take();
}

/// Follows one pairsync event: greeting, start, ticks, time-up.
fn pairsync_event(phase: Phase, event: &Event, received_us: i64, outcome: &mut Outcome) -> Phase {
    match (phase, event.name.as_str()) {
        (Phase::Greeting, "state") => Phase::Idle,
        (Phase::Idle, "timer") if event.data == "start" => Phase::Starting,
        (Phase::Starting, "state") => {
            let deadline = serde_json::from_str::<serde_json::Value>(&event.data)
                .ok()
                .and_then(|v| v["deadlineAt"].as_i64());
            match deadline {
                Some(deadline_ms) => {
                    outcome.deadline_ms = Some(deadline_ms);
                    Phase::Running { deadline_ms }
                }
                None => {
                    outcome.surprises += 1;
                    Phase::Done
                }
            }
        }
        (Phase::Running { deadline_ms }, "remaining-time") => {
            let Ok(value) = event.data.parse::<i64>() else {
                outcome.surprises += 1;
                return phase;
            };
            let due_ms = deadline_ms - value;
            outcome.lateness_us.push(received_us - due_ms * 1000);
            outcome.tick_values.push(value);
            outcome.arrivals_us.push(received_us);
            if value == 0 {
                Phase::Done
            } else {
                phase
            }
        }
        // Any other stop of a running timer is not part of this benchmark.
        (Phase::Running { .. }, "timer") => {
            outcome.surprises += 1;
            Phase::Done
        }
        (Phase::Idle | Phase::Starting, "remaining-time") => {
            outcome.surprises += 1;
            phase
        }
        (Phase::Done, "timer") if event.data == "start" && outcome.command_us.is_none() => {
            outcome.command_us = Some(received_us);
            phase
        }
        _ => phase,
    }
}

/// One nchan message: `"<value> <due epoch ms>"`.
fn nchan_event(event: &Event, received_us: i64, outcome: &mut Outcome) {
    let mut fields = event.data.split_whitespace().map(|f| f.parse::<i64>().ok());
    match (fields.next().flatten(), fields.next().flatten()) {
        (Some(value), Some(due_ms)) if event.name == "remaining-time" => {
            outcome.lateness_us.push(received_us - due_ms * 1000);
            outcome.tick_values.push(value);
        }
        _ => outcome.surprises += 1,
    }
}

/// How one stream's ticks compare with the countdown's values (`expected`, decreasing).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TickOrder {
    /// Values of the countdown the stream never got.
    missed: usize,
    /// Ticks that were not the next value down: repeated, rising, or not a value of the
    /// countdown.
    out_of_order: usize,
}

fn tick_order(received: &[i64], expected: &[i64]) -> TickOrder {
    let mut order = TickOrder::default();
    let mut got = std::collections::BTreeSet::new();
    let mut previous = None;
    for &value in received {
        let in_countdown = expected.contains(&value);
        let falling = previous.is_none_or(|p| value < p);
        let first_time = got.insert(value);
        if !in_countdown || !falling || !first_time {
            order.out_of_order += 1;
        }
        previous = Some(value);
    }
    order.missed = expected.iter().filter(|v| !got.contains(v)).count();
    order
}

// ---------------------------------------------------------------------------------------
// The control side: rooms, timers, publishing

/// Creates this shard's rooms through the first server.
async fn create_rooms(http: &reqwest::Client, args: &Args) -> Vec<String> {
    let url = format!("{}/api/pair-room", args.url);
    let body = serde_json::json!({
        "navigator": "bench-nav",
        "driver": "bench-drv",
        "timerDuration": args.duration_ms,
    });
    let codes: Vec<Result<String, String>> = stream::iter(0..args.shard_rooms().1)
        .map(|_| async {
            let response = http
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != reqwest::StatusCode::CREATED {
                return Err(format!("create: status {}", response.status()));
            }
            let json: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            json["accessCode"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| "create: no accessCode".to_string())
        })
        .buffer_unordered(HTTP_CONCURRENCY)
        .collect()
        .await;
    let (ok, failed): (Vec<_>, Vec<_>) = codes.into_iter().partition(Result::is_ok);
    for e in failed.iter().take(ERRORS_SHOWN) {
        eprintln!("room creation failed: {e:?}");
    }
    ok.into_iter().flatten().collect()
}

/// Starts every room's timer, room `r` (counted over all shards) through server
/// `r mod servers`; returns how many started and the spread of their answers.
async fn start_timers(
    http: &reqwest::Client,
    args: &Args,
    codes: &[String],
    first_room: usize,
) -> (usize, Duration) {
    let begin = Instant::now();
    let answers: Vec<Option<Duration>> = stream::iter(codes.iter().enumerate())
        .map(|(i, code)| async move {
            let server = &args.urls[(first_room + i) % args.urls.len()];
            let url = format!("{server}/api/{code}/timer/start");
            match http.patch(&url).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => Some(begin.elapsed()),
                Ok(r) => {
                    eprintln!("start: status {}", r.status());
                    None
                }
                Err(e) => {
                    eprintln!("start: {e}");
                    None
                }
            }
        })
        .buffer_unordered(HTTP_CONCURRENCY)
        .collect()
        .await;
    let started: Vec<Duration> = answers.into_iter().flatten().collect();
    let spread = started.iter().max().copied().unwrap_or_default();
    (started.len(), spread)
}

/// The nchan timer: one task per channel publishes each tick when it falls due. Channel
/// `i` of `n` has its deadline `i·spread_ms/n` after the first one's. Returns how many
/// publishes failed and how long after its due instant each one was answered (µs).
async fn publish_ticks(
    http: &reqwest::Client,
    args: &Args,
    channels: &[String],
    first_deadline_ms: i64,
    values: &[i64],
) -> (usize, Vec<i64>) {
    let n = i64::try_from(channels.len()).expect("few channels");
    let tasks: Vec<_> = channels
        .iter()
        .zip(0..)
        .map(|(channel, i)| {
            let deadline_ms = first_deadline_ms + i * args.spread_ms / n;
            let url = format!("{}/pub/{channel}", args.url);
            let (http, values) = (http.clone(), values.to_vec());
            tokio::spawn(async move {
                let mut failures = 0;
                let mut answered_us = Vec::with_capacity(values.len());
                for value in values {
                    let due_ms = deadline_ms - value;
                    let wait = u64::try_from(due_ms * 1000 - epoch_us()).unwrap_or(0);
                    tokio::time::sleep(Duration::from_micros(wait)).await;
                    let response = http.post(&url).body(format!("{value} {due_ms}")).send();
                    let answered = match response.await {
                        // Read the answer so that the connection goes back to the pool.
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if answered {
                        answered_us.push(epoch_us() - due_ms * 1000);
                    } else {
                        failures += 1;
                    }
                }
                (failures, answered_us)
            })
        })
        .collect();
    let mut failures = 0;
    let mut answered_us = Vec::new();
    for task in tasks {
        let (f, a) = task.await.expect("a publisher task does not panic");
        failures += f;
        answered_us.extend(a);
    }
    answered_us.sort_unstable();
    (failures, answered_us)
}

/// One message to each channel; returns how many publishes failed.
async fn publish_all(http: &reqwest::Client, url: &str, channels: &[String], body: &str) -> usize {
    let results: Vec<bool> = stream::iter(channels)
        .map(|channel| async move {
            let response = http
                .post(format!("{url}/pub/{channel}"))
                .body(body.to_string())
                .send()
                .await;
            match response {
                // Read the answer so that the connection goes back to the pool.
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        })
        .buffer_unordered(channels.len().max(1))
        .collect()
        .await;
    results.iter().filter(|ok| !**ok).count()
}

// ---------------------------------------------------------------------------------------
// The run

use cluster::percentile;

/// One command sent after the ticks.
struct Command {
    /// The room's index among this shard's rooms.
    room: usize,
    /// The server it was sent to.
    server: usize,
    /// When its request was sent and when its `204` was read (epoch µs).
    sent_us: i64,
    ack_us: Option<i64>,
}

/// Several servers: once the time-ups are over, starts the timer of a sample of rooms again
/// (`PATCH /api/{code}/timer/start`, every stream then gets `timer: start`), one room at a
/// time, each through one server in turn.
async fn send_commands(
    http: &reqwest::Client,
    args: &Args,
    codes: &[String],
    first_room: usize,
) -> Vec<Command> {
    let n = args.command_rooms().min(codes.len());
    let mut commands = Vec::with_capacity(n);
    for k in 0..n {
        let room = k * codes.len() / n;
        let server = (first_room + room) % args.urls.len();
        let url = format!("{}/api/{}/timer/start", args.urls[server], codes[room]);
        let sent_us = epoch_us();
        let ack_us = match http.patch(&url).send().await {
            Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => Some(epoch_us()),
            Ok(r) => {
                eprintln!("command: status {}", r.status());
                None
            }
            Err(e) => {
                eprintln!("command: {e}");
                None
            }
        };
        commands.push(Command {
            room,
            server,
            sent_us,
            ack_us,
        });
        tokio::time::sleep(COMMAND_GAP).await;
    }
    commands
}

/// Memory (KiB) and CPU time (s) of each server process on its own.
fn sample_each(pids: &[u32]) -> Vec<(Option<u64>, Option<f64>)> {
    pids.iter()
        .map(|p| (rss_kb(&[*p]), cpu_seconds(&[p.to_string()])))
        .collect()
}

/// One room-tick's arrivals: the first per server, the earliest and the latest (epoch µs).
type TickArrivals = (BTreeMap<usize, i64>, i64, i64);

/// Per room-tick spreads over the streams of this shard: for each room and tick value,
/// the latest less the earliest of each server's first arrival (only where two servers or
/// more got it), and the latest less the earliest arrival over every stream.
fn tick_spreads(streams: &[(usize, usize, &Outcome)]) -> (Vec<i64>, Vec<i64>) {
    let mut ticks: std::collections::HashMap<(usize, i64), TickArrivals> =
        std::collections::HashMap::new();
    for (room, server, outcome) in streams {
        for (value, at) in outcome.tick_values.iter().zip(&outcome.arrivals_us) {
            let entry = ticks
                .entry((*room, *value))
                .or_insert_with(|| (BTreeMap::new(), *at, *at));
            let first = entry.0.entry(*server).or_insert(*at);
            *first = (*first).min(*at);
            entry.1 = entry.1.min(*at);
            entry.2 = entry.2.max(*at);
        }
    }
    let mut first = Vec::new();
    let mut all = Vec::with_capacity(ticks.len());
    for (per_server, earliest, latest) in ticks.values() {
        all.push(latest - earliest);
        if per_server.len() > 1 {
            let min = per_server.values().min().copied().unwrap_or(0);
            let max = per_server.values().max().copied().unwrap_or(0);
            first.push(max - min);
        }
    }
    (first, all)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if !args.merge.is_empty() {
        std::process::exit(cluster::merge(&args.merge));
    }
    let servers: Vec<(SocketAddr, String)> = args
        .urls
        .iter()
        .map(|url| {
            let authority = authority(url).to_string();
            let addr = authority
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .unwrap_or_else(|| usage(&format!("cannot resolve {authority}")));
            (addr, authority)
        })
        .collect();
    let (first_room, shard_rooms) = args.shard_rooms();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let pids: Vec<String> = args.server_pids.iter().map(u32::to_string).collect();
    let tick_values = args.tick_values();
    let run_tag = epoch_ms();

    // Rooms (or channels) first, so that the memory sampled next holds no stream yet.
    let (codes, paths): (Vec<String>, Vec<String>) = match args.mode {
        Mode::Pairsync => {
            let codes = create_rooms(&http, &args).await;
            let paths = codes.iter().map(|c| format!("/api/{c}/connect")).collect();
            (codes, paths)
        }
        Mode::Nchan => {
            let channels: Vec<String> = (0..args.rooms)
                .map(|i| format!("bench-{run_tag}-{i}"))
                .collect();
            // Open the publisher's connections now, not at the first tick (on other
            // channels: nchan hands a new subscriber the messages its channel holds).
            let warm: Vec<String> = channels.iter().map(|c| format!("{c}-warm-up")).collect();
            publish_all(&http, &args.url, &warm, "warm-up").await;
            let paths = channels.iter().map(|c| format!("/sub/{c}")).collect();
            (channels, paths)
        }
    };
    if codes.is_empty() {
        eprintln!("fanout: no room could be created");
        std::process::exit(1);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kb(&args.server_pids);
    let cpu_before_open = cpu_seconds(&pids);
    let each_before_open = sample_each(&args.server_pids);

    // Open the streams, spread over the rooms and the source addresses.
    let total = codes.len() * args.streams_per_room;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        mode: args.mode,
        servers,
        greeted: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        open_slots: Semaphore::new(args.connect_concurrency.max(1)),
        stop: stop_rx,
    });
    let open_begin = Instant::now();
    // Stream `i` is stream `i / rooms` of room `i % rooms`.
    let placement: Vec<(usize, usize)> = (0..total)
        .map(|i| {
            let room = i % paths.len();
            (room, args.server_of(first_room + room, i / paths.len()))
        })
        .collect();
    let tasks: Vec<_> = placement
        .iter()
        .enumerate()
        .map(|(i, (room, server))| {
            let source = args.source_ips[i % args.source_ips.len()];
            let path = paths[*room].clone();
            tokio::spawn(run_stream(shared.clone(), source, *server, path))
        })
        .collect();
    let mut last_report = Instant::now();
    loop {
        let greeted = shared.greeted.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        if greeted + failed >= total || open_begin.elapsed() > OPEN_TIMEOUT {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("… {greeted} streams open, {failed} failed");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open_time = open_begin.elapsed();
    let open = shared.greeted.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    if let Some(start_at_ms) = args.start_at_ms {
        let wait_ms = start_at_ms - epoch_ms();
        if wait_ms < 0 {
            eprintln!(
                "fanout: the streams opened {} ms after --start-at",
                -wait_ms
            );
        }
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))).await;
    }
    let rss_after = rss_kb(&args.server_pids);
    let cpu_before_ticks = cpu_seconds(&pids);
    let each_before_ticks = sample_each(&args.server_pids);
    let self_before = cpu_seconds(&["self".to_string()]);

    // Run the timers.
    let server_ticks_before = server_tick_lateness(&http, &args).await;
    let ticks_begin = Instant::now();
    let (started, spread, published) = match args.mode {
        Mode::Pairsync => {
            let (started, spread) = start_timers(&http, &args, &codes, first_room).await;
            tokio::time::sleep(Duration::from_millis(
                u64::try_from(args.duration_ms).unwrap_or(0),
            ))
            .await;
            (started, spread, None)
        }
        Mode::Nchan => {
            let deadline_ms = epoch_ms() + args.duration_ms;
            let published = publish_ticks(&http, &args, &codes, deadline_ms, &tick_values).await;
            (codes.len(), Duration::ZERO, Some(published))
        }
    };
    tokio::time::sleep(LATE_GRACE).await;
    let tick_wall = ticks_begin.elapsed();
    let rss_end = rss_kb(&args.server_pids);
    let cpu_after_ticks = cpu_seconds(&pids);
    let self_after = cpu_seconds(&["self".to_string()]);
    let each_after_ticks = sample_each(&args.server_pids);
    let commands = if args.command_rooms() > 0 && args.mode == Mode::Pairsync {
        let commands = send_commands(&http, &args, &codes, first_room).await;
        tokio::time::sleep(COMMAND_GRACE).await;
        commands
    } else {
        Vec::new()
    };
    stop_tx.send_replace(true);
    let server_ticks_after = server_tick_lateness(&http, &args).await;

    let mut lateness = Vec::with_capacity(total * tick_values.len());
    let mut order = TickOrder::default();
    let mut surprises = 0;
    let mut id_regressions = 0;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut ended_early = 0;
    let (mut first_deadline, mut last_deadline) = (i64::MAX, i64::MIN);
    let mut samples = cluster::Samples::default();
    let mut outcomes = Vec::with_capacity(total);
    for task in tasks {
        outcomes.push(task.await.expect("a stream task does not panic"));
    }
    let streams: Vec<(usize, usize, &Outcome)> = placement
        .iter()
        .zip(&outcomes)
        .map(|((room, server), outcome)| (*room, *server, outcome))
        .collect();
    let (spread_first, spread_all) = tick_spreads(&streams);
    samples.spread_first_us = spread_first;
    samples.spread_all_us = spread_all;
    let mut by_room: BTreeMap<usize, Vec<(usize, &Outcome)>> = BTreeMap::new();
    for (room, server, outcome) in &streams {
        by_room.entry(*room).or_default().push((*server, outcome));
    }
    for command in &commands {
        samples.count("commands", 1);
        let Some(ack_us) = command.ack_us else {
            continue;
        };
        samples.count("commands_answered", 1);
        for (server, outcome) in by_room.get(&command.room).into_iter().flatten() {
            let other = *server != command.server;
            if other && outcome.greeted {
                samples.count("command_events_expected", 1);
            }
            match (outcome.command_us, other) {
                (Some(at), true) => {
                    samples.count("command_events_received", 1);
                    samples.after_ack_us.push(at - ack_us);
                    samples.after_sent_us.push(at - command.sent_us);
                }
                (Some(at), false) => samples.same_after_ack_us.push(at - ack_us),
                (None, _) => {}
            }
        }
    }
    for (outcome, (_, server)) in outcomes.iter().zip(&placement) {
        samples
            .late_us
            .entry(*server)
            .or_default()
            .extend(&outcome.lateness_us);
        if let Some(d) = outcome.deadline_ms {
            first_deadline = first_deadline.min(d);
            last_deadline = last_deadline.max(d);
        }
        if outcome.greeted {
            let stream = tick_order(&outcome.tick_values, &tick_values);
            order.missed += stream.missed;
            order.out_of_order += stream.out_of_order;
        }
        lateness.extend(&outcome.lateness_us);
        surprises += outcome.surprises;
        id_regressions += outcome.id_regressions;
        if let Some(e) = &outcome.error {
            if outcome.greeted {
                ended_early += 1;
            }
            *errors.entry(e.clone()).or_default() += 1;
        }
    }
    lateness.sort_unstable();
    let expected = open * tick_values.len();
    let early = lateness.iter().filter(|l| **l < 0).count();

    // The report.
    let mode = match args.mode {
        Mode::Pairsync => "pairsync",
        Mode::Nchan => "nchan",
    };
    println!(
        "mode {mode}: {} rooms × {} streams, timer {} ms, server {}, sources {:?}",
        codes.len(),
        args.streams_per_room,
        args.duration_ms,
        args.urls.join(","),
        args.source_ips
    );
    println!(
        "streams open: {open} of {total} in {:.1} s",
        open_time.as_secs_f64()
    );
    for (error, count) in errors.iter().take(ERRORS_SHOWN) {
        println!("  stream error ×{count}: {error}");
    }
    match args.mode {
        Mode::Pairsync => println!(
            "timers started: {started} of {}, answered within {} ms; deadlines spread over {} ms",
            codes.len(),
            spread.as_millis(),
            last_deadline.saturating_sub(first_deadline).max(0)
        ),
        Mode::Nchan => {
            let (failures, answered) = published.unwrap_or_default();
            println!(
                "channels: {started}, deadlines spread over {} ms, publishes failed: {failures}, \
                 answered after due ms: p50 {:.1}  p99 {:.1}  max {:.1}",
                args.spread_ms,
                percentile(&answered, 0.5),
                percentile(&answered, 0.99),
                percentile(&answered, 1.0),
            );
        }
    }
    println!(
        "ticks received: {} of {expected} expected (missing {}, early {early}, out of order {}, \
         out of place {surprises}, id regressions {id_regressions}, streams ended early \
         {ended_early})",
        lateness.len(),
        order.missed,
        order.out_of_order,
    );
    println!(
        "tick lateness ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (min {:.1})",
        percentile(&lateness, 0.50),
        percentile(&lateness, 0.90),
        percentile(&lateness, 0.99),
        percentile(&lateness, 1.0),
        percentile(&lateness, 0.0),
    );
    println!(
        "tick events delivered: {:.0} per second of timer",
        lateness.len() as f64 * 1000.0 / args.duration_ms as f64
    );
    if let (Some((sum0, n0)), Some((sum1, n1))) = (server_ticks_before, server_ticks_after) {
        if n1 > n0 {
            println!(
                "server's own tick timers (/metrics): {:.0} ticks fired, mean {:.2} ms after due",
                n1 - n0,
                (sum1 - sum0) * 1000.0 / (n1 - n0)
            );
        }
    }
    if let (Some(before), Some(after), Some(end)) = (rss_before, rss_after, rss_end) {
        let per_stream = |kb: u64| (kb as f64 - before as f64) / open.max(1) as f64;
        println!(
            "server RSS: {before} KiB before the streams, {after} KiB with them: {:.1} KiB \
             per stream; {end} KiB after the ticks: {:.1} KiB per stream",
            per_stream(after),
            per_stream(end)
        );
    }
    if let (Some(a), Some(b), Some(c)) = (cpu_before_open, cpu_before_ticks, cpu_after_ticks) {
        println!(
            "server CPU: {:.2} s opening the streams; {:.2} s over the {:.1} s tick phase \
             ({:.1} % of one core)",
            b - a,
            c - b,
            tick_wall.as_secs_f64(),
            (c - b) * 100.0 / tick_wall.as_secs_f64()
        );
    }
    if let (Some(a), Some(b)) = (self_before, self_after) {
        println!(
            "benchmark CPU over the tick phase: {:.2} s ({:.1} % of one core)",
            b - a,
            (b - a) * 100.0 / tick_wall.as_secs_f64()
        );
    }
    let counters = [
        ("rooms_wanted", shard_rooms),
        ("rooms", codes.len()),
        ("started", started),
        ("streams_wanted", total),
        ("streams_open", open),
        ("ended_early", ended_early),
        ("ticks_expected", expected),
        ("missed", order.missed),
        ("early", early),
        ("out_of_order", order.out_of_order),
        ("surprises", surprises as usize),
        ("id_regressions", id_regressions as usize),
        ("max_streams_per_room", args.streams_per_room),
        ("max_open_ms", open_time.as_millis() as usize),
    ];
    for (name, value) in counters {
        samples.count(name, i64::try_from(value).unwrap_or(i64::MAX));
    }
    if first_deadline <= last_deadline {
        samples.count("min_deadline", first_deadline);
        samples.count("max_deadline", last_deadline);
    }
    let paired = args.server_pids.len() == args.urls.len();
    for (i, pid) in args.server_pids.iter().enumerate() {
        let at = |each: &[(Option<u64>, Option<f64>)]| each.get(i).copied().unwrap_or_default();
        let (before, cpu_open_from) = at(&each_before_open);
        let (with, cpu_open_to) = at(&each_before_ticks);
        let (end, cpu_ticks_to) = at(&each_after_ticks);
        let streams = placement
            .iter()
            .zip(&streams)
            .filter(|((_, server), (_, _, outcome))| paired && *server == i && outcome.greeted)
            .count();
        samples.processes.push(cluster::Process {
            shard: format!("{}/{}", args.shard.0, args.shard.1),
            pid: pid.to_string(),
            rss_before_kb: before,
            rss_with_kb: with,
            rss_end_kb: end,
            cpu_open_s: cpu_open_to.zip(cpu_open_from).map(|(b, a)| b - a),
            cpu_ticks_s: cpu_ticks_to.zip(cpu_open_to).map(|(b, a)| b - a),
            tick_wall_s: tick_wall.as_secs_f64(),
            streams,
            url: if paired {
                args.urls[i].clone()
            } else {
                "-".to_string()
            },
        });
    }
    if args.urls.len() > 1 {
        samples.sort();
        cluster::print_processes(&samples);
    }
    if let Some(file) = &args.samples_out {
        if let Err(e) = std::fs::write(file, samples.to_text()) {
            eprintln!("fanout: cannot write {file}: {e}");
        }
    }
    let problems = cluster::problems(&samples);
    let status = if problems.is_empty() {
        println!("result: clean run");
        0
    } else {
        println!("result: FAILED: {}", problems.join(", "));
        1
    };
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // Dropping the runtime with 18k sockets is slow to no purpose.
    std::process::exit(status);
}
