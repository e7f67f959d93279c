//! The write benchmark's arguments (listed in `main.rs`'s header).

use crate::common::cli;

/// The parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    /// The processes' base URLs, in the order of `server_pids`.
    pub urls: Vec<String>,
    /// The processes' PIDs, for their CPU time.
    pub server_pids: Vec<u32>,
    /// The database the processes share, read with `psql` at the end.
    pub database_url: String,
    pub rooms: usize,
    pub connections: usize,
    pub duration_ms: i64,
    /// Warm-up requests per connection before the first storm.
    pub warm_up: usize,
    /// Room creations in flight at once, per process.
    pub create_concurrency: usize,
    /// Run the stop storm after the start storm.
    pub stop_storm: bool,
}

/// Prints the problem and the usage, and exits with status 2.
pub fn usage(problem: &str) -> ! {
    eprintln!(
        "writes: {problem}\nusage: cargo bench --bench writes -- --url URL[,URL…] \
         --server-pid PID[,PID…] --database-url postgres://…|FILE [--rooms N] [--connections N] \
         [--duration-ms D] [--warm-up N] [--create-concurrency N] [--no-stop]\n\
         (tests/bench/writes.sh owns the servers and the database and runs this)"
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
            urls: Vec::new(),
            server_pids: Vec::new(),
            database_url: String::new(),
            rooms: 5400,
            connections: 96,
            duration_ms: 3_600_000,
            warm_up: 4,
            create_concurrency: 8,
            stop_storm: true,
        };
        let mut it = cli::arguments();
        while let Some(flag) = it.next() {
            if flag == "--no-stop" {
                args.stop_storm = false;
                continue;
            }
            let value = cli::value(usage, &flag, &mut it);
            match flag.as_str() {
                "--url" => {
                    args.urls = value
                        .split(',')
                        .map(|u| u.trim_end_matches('/').to_string())
                        .collect()
                }
                "--server-pid" => {
                    args.server_pids = value.split(',').map(|p| number(&flag, p)).collect()
                }
                "--database-url" => args.database_url = value,
                "--rooms" => args.rooms = number(&flag, &value),
                "--connections" => args.connections = number(&flag, &value),
                "--duration-ms" => args.duration_ms = number(&flag, &value),
                "--warm-up" => args.warm_up = number(&flag, &value),
                "--create-concurrency" => args.create_concurrency = number(&flag, &value),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if args.urls.is_empty() || args.urls.iter().any(String::is_empty) {
            usage("--url is required");
        }
        if args.server_pids.len() != args.urls.len() {
            usage("--server-pid needs one PID per URL, in the same order");
        }
        if args.database_url.is_empty() {
            usage("--database-url must be the postgres:// URL the servers share, or the SQLite file of one server");
        }
        if args.rooms == 0 || args.connections == 0 || args.create_concurrency == 0 {
            usage("--rooms, --connections and --create-concurrency must be at least 1");
        }
        if !args.connections.is_multiple_of(args.urls.len()) {
            usage("--connections must be a multiple of the number of URLs (spread evenly)");
        }
        if !(1000..=86_400_000).contains(&args.duration_ms) {
            usage("--duration-ms must be 1000 to 86400000");
        }
        args
    }
}
