//! Write-throughput benchmark: how many timer commands per second do several pairsync
//! processes sharing one PostgreSQL database commit, when thousands arrive at once?
//!
//! It creates `--rooms` rooms (plus one per connection for the warm-up), spread evenly
//! over the processes of `--url` and paced (`--create-concurrency` in flight per process;
//! not measured), with a timer of `--duration-ms` (an hour: none ends during the run).
//! It opens `--connections` keep-alive HTTP/1.1 connections, spread evenly over the
//! processes, one OS thread each, and warms up: each connection sends `--warm-up`
//! commands (start, stop, start, …) on a room of its own.
//!
//! Then the start storm: one `PATCH /api/{code}/timer/start` per room, all ready at one
//! instant; each connection sends its next request as soon as the previous is answered,
//! so that `--connections` requests are in flight until the last. Each room is started
//! through a process other than the one that created it (and stopped through the third),
//! as a round-robin proxy would send most commands. Unless `--no-stop`, the stop storm
//! follows the same way (`PATCH /api/{code}/timer/stop`).
//!
//! For each storm it prints: the count of each answer (`204`, `503 unavailable`, …, and
//! transport failures); commits per second (answers `2xx` over the time from the first
//! request to the last answer); the time from the first request to the last `2xx`; the
//! answer time (request written to answer read) p50 / p99 / max; and the CPU time
//! (`utime + stime`) over the storm of the pairsync processes (`--server-pid`), of every
//! process whose name starts with `postgres`, and of this benchmark, in total and in ms
//! per committed command. Then it reads the rooms' states with `psql` (`--database-url`;
//! a SQLite file's path is read with `python3`'s `sqlite3` module instead):
//! every acknowledged start must be `running`, every acknowledged stop not.
//!
//! It exits 1 when a room could not be created, the database could not be read, or an
//! acknowledged command is not in the database; 503s and other refusals are reported,
//! not failures. Bad arguments exit 2.
//!
//! Arguments: `--url URL,URL,…`, `--server-pid PID,PID,…` (same order) and
//! `--database-url postgres://…` or a SQLite file's path (required), `--rooms` (5400), `--connections` (96, a
//! multiple of the processes), `--duration-ms` (3600000), `--warm-up` (4 per connection),
//! `--create-concurrency` (8 per process), `--no-stop`.

#[path = "../common/mod.rs"]
#[allow(dead_code)] // Each benchmark uses its own part of the shared code.
mod common;

mod args;
mod storm;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use args::{usage, Args};
use common::clock::epoch_us;
use common::net::Server;
use common::{procfs, stats};
use storm::{Link, Outcome, Request};

/// From the moment the connections' threads are started to the instant they all send.
const START_LEAD: Duration = Duration::from_millis(300);
/// A pause after the warm-up and between the storms, for the processes to settle (the
/// other processes' re-reads of the changes they were told of).
const SETTLE: Duration = Duration::from_secs(2);
/// An HTTP request of the room creations.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One room: its code and the process that created it.
struct Room {
    code: String,
    created_on: usize,
}

/// A CPU sample: the servers', PostgreSQL's (per PID) and this process's seconds.
struct Cpu {
    servers: Vec<Option<f64>>,
    postgres: HashMap<u32, f64>,
    this: Option<f64>,
}

impl Cpu {
    fn sample(server_pids: &[u32]) -> Cpu {
        Cpu {
            servers: server_pids
                .iter()
                .map(|p| procfs::cpu_seconds_of(&p.to_string()))
                .collect(),
            postgres: postgres_cpu(),
            this: procfs::cpu_seconds_of("self"),
        }
    }
}

/// CPU seconds of every process whose `comm` starts with `postgres`, by PID.
fn postgres_cpu() -> HashMap<u32, f64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.starts_with("postgres"))
        })
        .filter_map(|pid| Some((pid, procfs::cpu_seconds_of(&pid.to_string())?)))
        .collect()
}

fn main() {
    let args = Args::parse();
    let servers: Vec<Server> = args
        .urls
        .iter()
        .map(|u| Server::from_url(u).unwrap_or_else(|e| usage(&e)))
        .collect();
    let n = servers.len();
    let per_server = args.connections / n;
    println!(
        "machine: {} cores, {:.1} GiB; on them: {n} pairsync processes, PostgreSQL and this \
         benchmark ({} client threads); load average {}",
        cores(),
        memory_gib(),
        args.connections,
        load_average()
    );

    let rooms = create_rooms(&args);
    let wanted = args.rooms + args.connections;
    if rooms.len() < wanted {
        println!("result: FAILED: {} of {wanted} rooms created", rooms.len());
        std::process::exit(1);
    }
    let (warm_rooms, rooms) = rooms.split_at(args.connections);

    // Warm-up: opens every connection, and each sends start, stop, … on its own room.
    let mut links = storm::links(&servers, args.connections);
    let warm_work: Vec<Vec<Request>> = (0..args.connections)
        .map(|k| {
            let code = &warm_rooms[k].code;
            (0..args.warm_up)
                .map(|i| command(code, if i % 2 == 0 { "start" } else { "stop" }))
                .collect()
        })
        .collect();
    let (back, warm) = storm::round(links, warm_work, start_instant());
    links = back;
    println!(
        "warm-up: {} commands over {} connections ({per_server} per process): {}",
        warm.len(),
        args.connections,
        describe_kinds(&storm::kinds(&warm))
    );
    std::thread::sleep(SETTLE);

    let mut failed = Vec::new();
    let (back, starts) = run_storm(&args, links, rooms, "start", 1);
    links = back;
    let states = read_states(&args.database_url);
    failed.extend(verify(&starts, states.as_ref(), "start", |s| {
        s == "running"
    }));

    if args.stop_storm {
        std::thread::sleep(SETTLE);
        let (_, stops) = run_storm(&args, links, rooms, "stop", 2);
        let states = read_states(&args.database_url);
        failed.extend(verify(&stops, states.as_ref(), "stop", |s| s != "running"));
    }
    println!("load average after: {}", load_average());
    if failed.is_empty() {
        println!("result: every acknowledged command is in the database");
    } else {
        println!("result: FAILED: {}", failed.join("; "));
        std::process::exit(1);
    }
}

/// The command `action` (`start`, `stop`) on room `code`.
fn command(code: &str, action: &str) -> Request {
    Request {
        method: "PATCH",
        path: format!("/api/{code}/timer/{action}"),
        code: code.to_string(),
    }
}

/// When the threads of a round begin: shortly after now.
fn start_instant() -> i64 {
    epoch_us() + i64::try_from(START_LEAD.as_micros()).unwrap_or(300_000)
}

/// Creates the storm's rooms and the warm-up's, the same count through every process;
/// interleaved so that any run of them is spread over the processes.
fn create_rooms(args: &Args) -> Vec<Room> {
    let wanted = args.rooms + args.connections;
    let n = args.urls.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("an async runtime for the room creations");
    // reqwest speaks TLS with rustls, which needs its provider chosen before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let begin = std::time::Instant::now();
    let per_url: Vec<(Vec<String>, Vec<String>)> = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("an HTTP client");
        let tasks = args.urls.iter().enumerate().map(|(s, url)| {
            let count = wanted / n + usize::from(s < wanted % n);
            common::rooms::create(&http, url, count, args.duration_ms, args.create_concurrency)
        });
        futures_util::future::join_all(tasks).await
    });
    let mut lists: Vec<std::vec::IntoIter<String>> = Vec::new();
    for (s, (codes, errors)) in per_url.into_iter().enumerate() {
        for e in errors.iter().take(3) {
            eprintln!("room creation through process {s} failed: {e}");
        }
        lists.push(codes.into_iter());
    }
    let mut rooms = Vec::with_capacity(wanted);
    loop {
        let before = rooms.len();
        for (s, list) in lists.iter_mut().enumerate() {
            if let Some(code) = list.next() {
                rooms.push(Room {
                    code,
                    created_on: s,
                });
            }
        }
        if rooms.len() == before {
            break;
        }
    }
    println!(
        "rooms: {} created in {:.1} s ({} in flight per process; not measured), a timer of {} ms",
        rooms.len(),
        begin.elapsed().as_secs_f64(),
        args.create_concurrency,
        args.duration_ms
    );
    rooms
}

/// One storm of `action` on every room, each through the process `shift` after the one
/// that created it, spread evenly over that process's connections. Prints its figures.
fn run_storm(
    args: &Args,
    links: Vec<Link>,
    rooms: &[Room],
    action: &str,
    shift: usize,
) -> (Vec<Link>, Vec<Outcome>) {
    let n = args.urls.len();
    let mut work: Vec<Vec<Request>> = vec![Vec::new(); links.len()];
    let mut next_of_server = vec![0usize; n];
    for room in rooms {
        let server = (room.created_on + shift) % n;
        let conns: Vec<usize> = (0..links.len())
            .filter(|k| links[*k].server == server)
            .collect();
        let k = conns[next_of_server[server] % conns.len()];
        next_of_server[server] += 1;
        work[k].push(command(&room.code, action));
    }
    let load = load_average();
    let before = Cpu::sample(&args.server_pids);
    let (links, outcomes) = storm::round(links, work, start_instant());
    let after = Cpu::sample(&args.server_pids);
    report(args, action, &outcomes, &before, &after, &load);
    (links, outcomes)
}

/// Prints one storm's figures.
fn report(args: &Args, action: &str, outcomes: &[Outcome], before: &Cpu, after: &Cpu, load: &str) {
    let n = args.urls.len();
    let acked: Vec<&Outcome> = outcomes.iter().filter(|o| o.acknowledged()).collect();
    let first_us = outcomes.iter().map(|o| o.sent_us).min().unwrap_or(0);
    let last_answer_us = outcomes.iter().filter_map(|o| o.answered_us).max();
    let last_ack_us = acked.iter().filter_map(|o| o.answered_us).max();
    let span_s = last_answer_us.map_or(f64::NAN, |l| (l - first_us) as f64 / 1e6);
    let mut answer_us: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| Some(o.answered_us? - o.sent_us))
        .collect();
    answer_us.sort_unstable();
    let mut acked_us: Vec<i64> = acked
        .iter()
        .filter_map(|o| Some(o.answered_us? - o.sent_us))
        .collect();
    acked_us.sort_unstable();

    println!(
        "--- {action} storm: {} × PATCH /api/{{code}}/timer/{action}, all at once over {} \
         connections ({} per process, {n} processes); load average at its start {load}",
        outcomes.len(),
        args.connections,
        args.connections / n
    );
    println!("answers: {}", describe_kinds(&storm::kinds(outcomes)));
    println!(
        "commits/s: {:.0} ({} acknowledged over {:.3} s, first request to last answer)",
        acked.len() as f64 / span_s,
        acked.len(),
        span_s
    );
    println!(
        "first request to last 2xx: {}",
        last_ack_us.map_or("no 2xx".to_string(), |l| format!(
            "{:.3} s",
            (l - first_us) as f64 / 1e6
        ))
    );
    println!(
        "answer time, every answer, ms: {}",
        stats::p50_p99_max(&answer_us)
    );
    println!(
        "answer time, 2xx only, ms:     {}",
        stats::p50_p99_max(&acked_us)
    );

    let per_command = |seconds: f64| seconds * 1000.0 / acked.len().max(1) as f64;
    let servers: Vec<Option<f64>> = before
        .servers
        .iter()
        .zip(&after.servers)
        .map(|(b, a)| Some(a.as_ref()? - b.as_ref()?))
        .collect();
    let server_total: f64 = servers.iter().flatten().sum();
    let postgres_total: f64 = after
        .postgres
        .iter()
        .map(|(pid, a)| a - before.postgres.get(pid).copied().unwrap_or(0.0))
        .sum();
    let gone = before
        .postgres
        .keys()
        .filter(|pid| !after.postgres.contains_key(pid))
        .count();
    let this = after.this.zip(before.this).map_or(f64::NAN, |(a, b)| a - b);
    println!(
        "CPU, pairsync: {server_total:.2} s, {:.3} ms per command (per process: {})",
        per_command(server_total),
        servers
            .iter()
            .map(|s| s.map_or("gone".to_string(), |s| format!("{s:.2} s")))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    println!(
        "CPU, PostgreSQL: {postgres_total:.2} s, {:.3} ms per command ({} processes{})",
        per_command(postgres_total),
        after.postgres.len(),
        if gone > 0 {
            format!("; {gone} exited during the storm, not counted")
        } else {
            String::new()
        }
    );
    println!(
        "CPU, this benchmark: {this:.2} s; all three: {:.2} cores over the storm",
        (server_total + postgres_total + this) / span_s
    );
}

/// `204 × 5400, 503 unavailable × 12`.
fn describe_kinds(kinds: &BTreeMap<String, usize>) -> String {
    kinds
        .iter()
        .map(|(k, c)| format!("{k} × {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every room's `state` column, by access code; `None` when the database could not be
/// read. PostgreSQL is read with `psql`; a SQLite file (any other `--database-url`) with
/// `python3`'s `sqlite3` module.
fn read_states(database_url: &str) -> Option<HashMap<String, String>> {
    const QUERY: &str = "SELECT access_code, state FROM rooms";
    let output = if database_url.starts_with("postgres") {
        std::process::Command::new("psql")
            .args([database_url, "-At", "-F", " ", "-c", QUERY])
            .output()
    } else {
        std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3, sys\n\
                 for code, state in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):\n    \
                 print(code, state)",
                database_url,
                QUERY,
            ])
            .output()
    };
    match output {
        Ok(o) if o.status.success() => Some(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(c, s)| (c.to_string(), s.to_string()))
                .collect(),
        ),
        Ok(o) => {
            eprintln!(
                "reading the database: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("reading the database: {e}");
            None
        }
    }
}

/// Checks every acknowledged command's room against the database; prints the check and
/// returns the failure, if any.
fn verify(
    outcomes: &[Outcome],
    states: Option<&HashMap<String, String>>,
    action: &str,
    holds: impl Fn(&str) -> bool,
) -> Option<String> {
    let Some(states) = states else {
        println!("database: could not be read");
        return Some(format!(
            "the database could not be read after the {action} storm"
        ));
    };
    let acked: Vec<&Outcome> = outcomes.iter().filter(|o| o.acknowledged()).collect();
    let missing: Vec<&str> = acked
        .iter()
        .filter(|o| !states.get(&o.code).is_some_and(|s| holds(s)))
        .map(|o| o.code.as_str())
        .collect();
    let unacked_applied = outcomes
        .iter()
        .filter(|o| !o.acknowledged())
        .filter(|o| states.get(&o.code).is_some_and(|s| holds(s)))
        .count();
    println!(
        "database: {} of {} acknowledged {action}s reflected; {} of {} unacknowledged ones \
         applied anyway",
        acked.len() - missing.len(),
        acked.len(),
        unacked_applied,
        outcomes.len() - acked.len()
    );
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "{} acknowledged {action}s not in the database (e.g. {})",
        missing.len(),
        missing
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn memory_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0 / 1024.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}
