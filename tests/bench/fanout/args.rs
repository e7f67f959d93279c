//! The fan-out benchmark's arguments (listed in `main.rs`'s header) and what follows from
//! them: this shard's rooms, the server of each stream, the countdown's tick values.

use std::net::IpAddr;

use crate::common::cli;
use crate::common::schedule::StartPlan;

/// Several servers: rooms commanded after the ticks, unless `--command-rooms` says.
const DEFAULT_COMMAND_ROOMS: usize = 100;
/// Requests (room creations) in flight at once.
pub const HTTP_CONCURRENCY: usize = 64;

/// The server measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pairsync,
    Nchan,
}

impl Mode {
    /// The mode's name, as `--mode` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Pairsync => "pairsync",
            Mode::Nchan => "nchan",
        }
    }
}

/// The parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    /// The first server: rooms are created, started and counted through it.
    pub url: String,
    /// Every server; a room's streams are spread over them in turn.
    pub urls: Vec<String>,
    /// This process's slice of the rooms: `(index, count)`.
    pub shard: (usize, usize),
    /// The base instant of the starts (epoch ms), so that shards tick together.
    pub start_at_ms: Option<i64>,
    /// Where this shard writes its raw samples (see `cluster.rs`).
    pub samples_out: Option<String>,
    /// Samples files to merge instead of running.
    pub merge: Vec<String>,
    pub command_rooms: Option<usize>,
    pub rooms: usize,
    pub streams_per_room: usize,
    pub duration_ms: i64,
    pub source_ips: Vec<IpAddr>,
    pub mode: Mode,
    pub server_pids: Vec<u32>,
    pub connect_concurrency: usize,
    /// When the timers start (pairsync) or the channels' deadlines fall (nchan).
    pub plan: StartPlan,
    /// Keep-alive connections (per server) of the thread that sends the starts or publishes.
    pub http_connections: usize,
    /// Extra streams that read their greeting, then stop reading.
    pub stalled_streams: usize,
    /// The largest 99th percentile of the ticks' lateness (ms) a clean run may have.
    pub max_p99_ms: Option<f64>,
    /// With several servers: the largest 99th percentile (ms) of one tick's spread across
    /// the processes (latest less earliest of each one's first arrival) a clean run may
    /// have.
    pub max_spread_p99_ms: Option<f64>,
    /// With several servers: the largest 99th percentile (ms) of a command's way from its
    /// request to the other processes' streams a clean run may have.
    pub max_change_p99_ms: Option<f64>,
}

/// Prints the problem and the usage, and exits with status 2.
pub fn usage(problem: &str) -> ! {
    eprintln!(
        "fanout: {problem}\nusage: cargo bench --bench fanout -- --url http://HOST:PORT \
         [--rooms R] [--streams-per-room S] [--duration-ms D] [--source-ips IP,IP] \
         [--mode pairsync|nchan] [--server-pid PID,PID] [--connect-concurrency N] \
         [--phase-spread] [--start-over-ms MS] [--spread-ms MS] [--http-connections N] \
         [--stalled-streams N] [--max-p99-ms MS] [--max-spread-p99-ms MS] \
         [--max-change-p99-ms MS] [--shard I/N] [--start-at EPOCH_MS] [--samples-out FILE] \
         [--command-rooms N]\n       cargo bench --bench fanout -- --merge FILE,FILE \
         [--max-p99-ms MS] [--max-spread-p99-ms MS] [--max-change-p99-ms MS]"
    );
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    cli::number(usage, flag, value)
}

impl Args {
    /// Parses the command line; bad arguments exit through [`usage`].
    pub fn parse() -> Args {
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
            plan: StartPlan::default(),
            http_connections: HTTP_CONCURRENCY,
            stalled_streams: 0,
            max_p99_ms: None,
            max_spread_p99_ms: None,
            max_change_p99_ms: None,
        };
        let mut it = cli::arguments();
        while let Some(flag) = it.next() {
            if flag == "--phase-spread" {
                args.plan.phase_spread = true;
                continue;
            }
            let value = cli::value(usage, &flag, &mut it);
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
                // `--spread-ms` is the older name, from when only nchan mode had it.
                "--start-over-ms" | "--spread-ms" => args.plan.over_ms = number(&flag, &value),
                "--http-connections" => args.http_connections = number(&flag, &value),
                "--stalled-streams" => args.stalled_streams = number(&flag, &value),
                "--max-p99-ms" => args.max_p99_ms = Some(number(&flag, &value)),
                "--max-spread-p99-ms" => args.max_spread_p99_ms = Some(number(&flag, &value)),
                "--max-change-p99-ms" => args.max_change_p99_ms = Some(number(&flag, &value)),
                "--source-ips" => args.source_ips = cli::ips(usage, &flag, &value),
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
        if args.http_connections == 0 {
            usage("--http-connections must be at least 1");
        }
        args
    }

    /// The rooms of this shard: the index of its first room among all, and how many.
    pub fn shard_rooms(&self) -> (usize, usize) {
        let (i, n) = self.shard;
        let first = self.rooms * i / n;
        (first, self.rooms * (i + 1) / n - first)
    }

    /// Rooms commanded after the ticks: only with several servers unless asked for.
    pub fn command_rooms(&self) -> usize {
        let default = if self.urls.len() > 1 {
            DEFAULT_COMMAND_ROOMS
        } else {
            0
        };
        self.command_rooms.unwrap_or(default)
    }

    /// The server of stream `j` of room `room` (counted over every shard's rooms): the
    /// streams of all rooms go to the servers in turn, so each server gets an equal share.
    pub fn server_of(&self, room: usize, j: usize) -> usize {
        (room * self.streams_per_room + j) % self.urls.len()
    }

    /// The tick values of one countdown, as the contract lists them: every multiple of
    /// 1000 strictly below the duration, down to and including 0.
    pub fn tick_values(&self) -> Vec<i64> {
        let top = (self.duration_ms - 1) / 1000 * 1000;
        (0..=top / 1000).rev().map(|k| k * 1000).collect()
    }
}
