//! The reconnect-storm benchmark's arguments (listed in `main.rs`'s header).

use std::net::IpAddr;

use crate::common::cli;
use crate::common::schedule::StartPlan;

/// The parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    pub url: String,
    pub rooms: usize,
    pub streams_per_room: usize,
    pub duration_ms: i64,
    pub source_ips: Vec<IpAddr>,
    pub connect_concurrency: usize,
    pub plan: StartPlan,
    pub http_connections: usize,
    /// The process that restarts the server when sent `SIGUSR1`.
    pub restart_signal: u32,
    /// Where that process writes the instants of the restart.
    pub restart_log: Option<String>,
    /// Ticks watched before the restart, after the last start.
    pub ticking_before_ms: u64,
    /// A tick later than this is not on time.
    pub on_time_ms: i64,
    /// From the `SIGTERM` to every stream ticking on time again: the goal.
    pub goal_ms: i64,
    /// How long the streams may take to come back before the run gives up.
    pub recover_timeout_ms: u64,
    /// Ticks watched once every stream is back.
    pub observe_ms: u64,
}

/// Prints the problem and the usage, and exits with status 2.
pub fn usage(problem: &str) -> ! {
    eprintln!(
        "storm: {problem}\nusage: cargo bench --bench storm -- --url http://HOST:PORT \
         --restart-signal PID [--restart-log FILE] [--rooms R] [--streams-per-room S] \
         [--duration-ms D] [--source-ips IP,IP] [--connect-concurrency N] [--phase-spread] \
         [--start-over-ms MS] [--http-connections N] [--ticking-before-ms MS] \
         [--on-time-ms MS] [--goal-ms MS] [--recover-timeout-ms MS] [--observe-ms MS]\n\
         (tests/bench/storm.sh owns the server and runs this)"
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
            rooms: 200,
            streams_per_room: 10,
            duration_ms: 120_000,
            source_ips: vec![IpAddr::from([127, 0, 0, 1])],
            connect_concurrency: 256,
            plan: StartPlan::default(),
            http_connections: 64,
            restart_signal: 0,
            restart_log: None,
            ticking_before_ms: 5000,
            on_time_ms: 100,
            goal_ms: 5000,
            recover_timeout_ms: 60_000,
            observe_ms: 3000,
        };
        let mut it = cli::arguments();
        while let Some(flag) = it.next() {
            if flag == "--phase-spread" {
                args.plan.phase_spread = true;
                continue;
            }
            let value = cli::value(usage, &flag, &mut it);
            match flag.as_str() {
                "--url" => args.url = value.trim_end_matches('/').to_string(),
                "--rooms" => args.rooms = number(&flag, &value),
                "--streams-per-room" => args.streams_per_room = number(&flag, &value),
                "--duration-ms" => args.duration_ms = number(&flag, &value),
                "--connect-concurrency" => args.connect_concurrency = number(&flag, &value),
                "--start-over-ms" => args.plan.over_ms = number(&flag, &value),
                "--http-connections" => args.http_connections = number(&flag, &value),
                "--restart-signal" => args.restart_signal = number(&flag, &value),
                "--restart-log" => args.restart_log = Some(value),
                "--ticking-before-ms" => args.ticking_before_ms = number(&flag, &value),
                "--on-time-ms" => args.on_time_ms = number(&flag, &value),
                "--goal-ms" => args.goal_ms = number(&flag, &value),
                "--recover-timeout-ms" => args.recover_timeout_ms = number(&flag, &value),
                "--observe-ms" => args.observe_ms = number(&flag, &value),
                "--source-ips" => args.source_ips = cli::ips(usage, &flag, &value),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if args.url.is_empty() {
            usage("--url is required");
        }
        if args.restart_signal == 0 {
            usage("--restart-signal is required");
        }
        if args.rooms == 0 || args.streams_per_room == 0 || args.source_ips.is_empty() {
            usage("rooms, streams per room and source addresses must not be empty");
        }
        if args.http_connections == 0 {
            usage("--http-connections must be at least 1");
        }
        let needed = args.plan.span_us(args.rooms) / 1000
            + i64::try_from(args.ticking_before_ms + args.recover_timeout_ms + args.observe_ms)
                .unwrap_or(i64::MAX);
        if args.duration_ms < needed + 5000 {
            usage(&format!(
                "--duration-ms must outlast the starts, the ticks before the restart, the \
                 recovery timeout and the observation, plus 5 s: at least {}",
                needed + 5000
            ));
        }
        args
    }
}
