//! The churn benchmark's arguments (listed in `main.rs`'s header).

use std::net::IpAddr;

use crate::common::cli;

/// The parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    pub url: String,
    pub server_pid: u32,
    /// Cycles to run (0: as many as `run_for_ms` allows).
    pub cycles: usize,
    /// Stop starting cycles after this long (0: no limit).
    pub run_for_ms: u64,
    /// Most cycles started per second (0: no limit).
    pub rate: f64,
    pub concurrency: usize,
    pub streams_per_room: usize,
    /// Share of the rooms left to be forgotten (not deleted), in percent.
    pub forget_percent: usize,
    pub duration_ms: i64,
    /// How long each cycle watches its running room's ticks (0: not at all).
    pub hold_ms: u64,
    /// Each cycle pauses its timer and starts it again.
    pub pause: bool,
    /// Each cycle closes one stream and opens it again.
    pub reconnect: bool,
    /// A sample every this many cycles, and every this many ms (0: never).
    pub sample_every: usize,
    pub sample_every_ms: u64,
    /// How long the end waits for the live rooms and streams to reach 0 (0: no end checks
    /// but the errors).
    pub settle_ms: u64,
    pub rss_growth_percent: f64,
    pub fd_slack: usize,
    pub source_ips: Vec<IpAddr>,
}

/// Prints the problem and the usage, and exits with status 2.
pub fn usage(problem: &str) -> ! {
    eprintln!(
        "churn: {problem}\nusage: cargo bench --bench churn -- --url http://HOST:PORT \
         --server-pid PID [--cycles K] [--run-for-ms MS] [--rate PER_S] [--concurrency C] \
         [--streams-per-room S] [--forget-percent P] [--duration-ms D] [--hold-ms MS] \
         [--pause] [--reconnect] [--sample-every N] [--sample-every-ms MS] [--settle-ms MS] \
         [--rss-growth-percent P] [--fd-slack N] [--source-ips IP,IP]"
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
            server_pid: 0,
            cycles: 100_000,
            run_for_ms: 0,
            rate: 0.0,
            concurrency: 8,
            streams_per_room: 1,
            forget_percent: 10,
            duration_ms: 60_000,
            hold_ms: 0,
            pause: false,
            reconnect: false,
            sample_every: 10_000,
            sample_every_ms: 0,
            settle_ms: 30_000,
            rss_growth_percent: 10.0,
            fd_slack: 8,
            source_ips: vec![IpAddr::from([127, 0, 0, 1])],
        };
        let mut it = cli::arguments();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--pause" => {
                    args.pause = true;
                    continue;
                }
                "--reconnect" => {
                    args.reconnect = true;
                    continue;
                }
                _ => {}
            }
            let value = cli::value(usage, &flag, &mut it);
            match flag.as_str() {
                "--url" => args.url = value.trim_end_matches('/').to_string(),
                "--server-pid" => args.server_pid = number(&flag, &value),
                "--cycles" => args.cycles = number(&flag, &value),
                "--run-for-ms" => args.run_for_ms = number(&flag, &value),
                "--rate" => args.rate = number(&flag, &value),
                "--concurrency" => args.concurrency = number(&flag, &value),
                "--streams-per-room" => args.streams_per_room = number(&flag, &value),
                "--forget-percent" => args.forget_percent = number(&flag, &value),
                "--duration-ms" => args.duration_ms = number(&flag, &value),
                "--hold-ms" => args.hold_ms = number(&flag, &value),
                "--sample-every" => args.sample_every = number(&flag, &value),
                "--sample-every-ms" => args.sample_every_ms = number(&flag, &value),
                "--settle-ms" => args.settle_ms = number(&flag, &value),
                "--rss-growth-percent" => args.rss_growth_percent = number(&flag, &value),
                "--fd-slack" => args.fd_slack = number(&flag, &value),
                "--source-ips" => args.source_ips = cli::ips(usage, &flag, &value),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if args.url.is_empty() || args.server_pid == 0 {
            usage("--url and --server-pid are required");
        }
        if args.cycles == 0 && args.run_for_ms == 0 {
            usage("give --cycles or --run-for-ms");
        }
        if args.concurrency == 0 || args.streams_per_room == 0 || args.source_ips.is_empty() {
            usage("concurrency, streams per room and source addresses must not be empty");
        }
        if args.forget_percent > 100 || args.rate.is_nan() || args.rate < 0.0 {
            usage("--forget-percent is 0 to 100, --rate 0 or more");
        }
        if args.duration_ms < 1000 {
            usage("--duration-ms must be at least 1000");
        }
        args
    }

    /// Whether cycle `i` leaves its room to be forgotten: evenly spread, `forget_percent`
    /// of every hundred cycles.
    pub fn forgets(&self, i: usize) -> bool {
        (i + 1) * self.forget_percent / 100 != i * self.forget_percent / 100
    }
}
