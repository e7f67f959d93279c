//! Chaos on PostgreSQL: three processes on one database behind nginx (docs/nginx.conf with
//! the upstream block of docs/nginx-cluster.conf), rooms watched by streams that reconnect
//! as a browser's `EventSource` does, a writer per room sending every kind of room command
//! through nginx (back to back around each kill), and every 20 s one process after the
//! other killed with SIGKILL and started again 3 s later on the same port. It holds that:
//! - every acknowledged command is in the room read back right after it and at the end
//!   (members and their order, `round`, duration, and running, paused or idle as the
//!   acknowledged commands and the time-ups between them make it; see `chaos_model`);
//!   a refusal is the one they predict; a command answered neither way (the process died
//!   with it) either happened or not; a member's leave answered `404` during a kill may
//!   have happened (nginx sends a failed `DELETE` again to the next process);
//! - every stream that was on a killed process has, within 3 s of the kill, reconnected
//!   and ticked on the right second again (or been told its timer is not running);
//! - no tick ever arrives before the instant its room's `deadlineAt` gives it;
//! - no 5xx answer comes except within 3 s after a kill;
//! - and it prints its figures at the end.
//!
//! It runs only with `PAIRSYNC_TEST_CHAOS` and `PAIRSYNC_TEST_POSTGRES` set (its load
//! would disturb the timed checks of the tests running beside it), for
//! `PAIRSYNC_CHAOS_SECS` seconds (120 by default); otherwise it says that it did not run
//! (see `helpers::skipped`). tests/README.md says how to run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::chaos_model::{Clock, Command as RoomCommand, Dice, Room, CLOCK_TOLERANCE_MS};
use crate::expect::{now_us, TIMER_LATE_MS};
use crate::helpers::{postgres_admin, postgres_url, skipped, POSTGRES_ENV};
use crate::sse::EventStream;

const TEST_NAME: &str = "chaos::three_processes_killed_in_turn_behind_nginx_lose_nothing_acknowledged_and_every_stream_ticks_on_time_again";

/// Set (to anything) to run the chaos test.
const CHAOS_ENV: &str = "PAIRSYNC_TEST_CHAOS";

/// How long the chaos lasts, in seconds.
const SECS_ENV: &str = "PAIRSYNC_CHAOS_SECS";
const DEFAULT_SECS: u64 = 120;

/// The seed of the writer's choices (a run can be repeated with it); by default the clock.
const SEED_ENV: &str = "PAIRSYNC_CHAOS_SEED";

/// Another server binary to run (e.g. `target/release/pairsync`); by default the one cargo
/// built for the suite.
const BIN_ENV: &str = "PAIRSYNC_BIN";

const PROCESSES: usize = 3;
const ROOMS: usize = 30;
const STREAMS_PER_ROOM: usize = 8;

/// One process is killed every this often…
const KILL_EVERY: Duration = Duration::from_secs(20);
/// …and started again this long after.
const RESTART_AFTER: Duration = Duration::from_secs(3);
/// After a kill, 5xx answers are allowed for this long, and within it every stream that was
/// on the killed process ticks on the right second again.
const KILL_WINDOW_MS: i64 = 3_000;
/// A stream that ends this soon after a kill was on the killed process.
const ENDED_BY_KILL_MS: i64 = 1_500;

/// Each room has a writer of its own, which sends it a command about this often…
const COMMAND_PAUSE_MS: u64 = 3_000;
/// …except from this long before each kill…
const STORM_BEFORE: Duration = Duration::from_millis(500);
/// …to this long after it, when every writer sends its commands one right after the
/// other, so that commands are in flight on the process when it dies.
const STORM_AFTER: Duration = Duration::from_millis(100);

/// The longest a command or a read may take (a request to a killed process fails at once).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the writer keeps trying to read a room back.
const READ_BACK_FOR: Duration = Duration::from_secs(30);
/// The longest a process may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Turn lengths the rooms are made with and set to: some short enough to time up often.
const DURATIONS: [i64; 7] = [4_000, 6_000, 9_000, 15_000, 30_000, 60_000, 600_000];
/// The names members are drawn from.
const NAMES: [&str; 14] = [
    "Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Max", "Ned",
];
const ADMIN_TOKEN: &str = "chaos-token";

/// The 5xx answers seen, by anyone: when (epoch µs) and what.
type Fives = Arc<Mutex<Vec<(i64, String)>>>;

fn note_five(fives: &Fives, at: i64, what: String) {
    if let Ok(mut f) = fives.lock() {
        f.push((at, what));
    }
}

fn now_ms() -> i64 {
    now_us() / 1000
}

// ---------------------------------------------------------------------------------------
// The processes, the database and nginx

/// One pairsync process on a fixed port.
struct Process {
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

/// Three processes on one fresh PostgreSQL database behind nginx; all of it stopped and
/// the database dropped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    admin: String,
    database: String,
    url: String,
    processes: Vec<Process>,
    nginx: Option<Child>,
    /// `http://127.0.0.1:PORT` of nginx.
    base: String,
}

/// `n` ports free right now on 127.0.0.1 (held together while chosen, so distinct).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("its address").port())
        .collect()
}

/// docs/nginx.conf with its upstream block replaced by the one of docs/nginx-cluster.conf,
/// the processes' ports in place of the documented ones, listening on `port`, with its
/// files in `dir`: what tests/proxy/cluster.sh runs.
fn nginx_conf(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = std::fs::read_to_string(root.join("docs/nginx.conf")).expect("docs/nginx.conf");
    let block = std::fs::read_to_string(root.join("docs/nginx-cluster.conf"))
        .expect("docs/nginx-cluster.conf");
    let at = block
        .find("    upstream pairsync {")
        .expect("the upstream block of docs/nginx-cluster.conf");
    let mut block = block[at..].to_string();
    for (documented, port) in ["8081", "8082", "8083"].iter().zip(upstreams) {
        block = block.replace(
            &format!("127.0.0.1:{documented}"),
            &format!("127.0.0.1:{port}"),
        );
    }
    let upstream = regex::Regex::new(r"(?s)    upstream pairsync \{.*?\n    \}\n").expect("regex");
    assert_eq!(
        upstream.find_iter(&conf).count(),
        1,
        "the upstream block of docs/nginx.conf"
    );
    let conf = upstream.replace(&conf, regex::NoExpand(&block)).to_string();
    let d = dir.to_str().expect("utf-8 path");
    let conf = conf
        .replace("__LISTEN_PORT__", &port.to_string())
        .replace("/run/nginx.pid", &format!("{d}/nginx.pid"))
        .replace("/var/log/nginx/", &format!("{d}/"))
        .replace("/var/lib/nginx/", &format!("{d}/"));
    // Debian's nginx drops to `www-data`, which may not read the scratch folder.
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let user = if root_user { "user root;" } else { "" };
    regex::Regex::new(r"(?m)^user .*$")
        .expect("regex")
        .replace(&conf, user)
        .to_string()
}

fn nginx_binary() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

impl Cluster {
    async fn start(admin: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("pairsync_chaos_{}", uuid::Uuid::new_v4().simple());
        postgres_admin(admin, &format!("CREATE DATABASE {database}"));
        let url = postgres_url(admin, &database);
        let bin = std::env::var_os(BIN_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pairsync")));
        let ports = free_ports(PROCESSES + 1);
        let mut cluster = Cluster {
            processes: ports[1..]
                .iter()
                .enumerate()
                .map(|(i, port)| Process {
                    port: *port,
                    log: dir.path().join(format!("pairsync-{i}.log")),
                    child: None,
                })
                .collect(),
            base: format!("http://127.0.0.1:{}", ports[0]),
            dir,
            bin,
            admin: admin.to_string(),
            database,
            url,
            nginx: None,
        };
        for i in 0..PROCESSES {
            cluster.launch(i).await;
        }
        let conf = cluster.dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(cluster.dir.path(), ports[0], &ports[1..]))
            .expect("write nginx.conf");
        let nginx = nginx_binary();
        let prefix = cluster.dir.path().to_str().expect("utf-8 path").to_string();
        let conf = conf.to_str().expect("utf-8 path").to_string();
        let error_log = format!("{prefix}/error.log");
        let check = Command::new(&nginx)
            .args(["-t", "-q", "-p", &prefix, "-c", &conf, "-e", &error_log])
            .output()
            .unwrap_or_else(|e| panic!("nginx ({}) runs: {e}", nginx.display()));
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        cluster.nginx = Some(
            Command::new(&nginx)
                .args(["-p", &prefix, "-c", &conf, "-e", &error_log])
                .args(["-g", "daemon off;"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts"),
        );
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let answer = client.get(format!("{}/healthz", cluster.base)).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(started.elapsed() < START_TIMEOUT, "nginx did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cluster
    }

    /// Starts process `i` on its port and waits until it listens; how long that took.
    async fn launch(&mut self, i: usize) -> Duration {
        let started = Instant::now();
        let process = &mut self.processes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&process.log)
            .expect("a log file");
        let seen = log.metadata().map_or(0, |m| m.len() as usize);
        let bind = format!("127.0.0.1:{}", process.port);
        let child = Command::new(&self.bin)
            .env_clear()
            .env("PAIRSYNC_BIND", &bind)
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn,pairsync::startup=info")
            .env("PAIRSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("PAIRSYNC_TRUSTED_PROXIES", "127.0.0.1")
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the server binary starts");
        process.child = Some(child);
        let wanted = format!("listening on http://{bind}");
        loop {
            let text = std::fs::read(&process.log).unwrap_or_default();
            if String::from_utf8_lossy(text.get(seen..).unwrap_or_default()).contains(&wanted) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "process {i} did not start on {bind}: {}",
                String::from_utf8_lossy(&text)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `kill -9` process `i`; when (epoch µs).
    fn kill(&mut self, i: usize) -> i64 {
        let at = now_us();
        if let Some(mut child) = self.processes[i].child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reaped");
        }
        at
    }

    /// The base URL of process `i` itself (not through nginx).
    fn direct(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.processes[i].port)
    }

    /// The last lines each process logged (for a failure's message).
    fn log_tails(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.processes.iter().enumerate() {
            let text = std::fs::read_to_string(&p.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- process {i} ({}):\n", p.port));
            for line in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            // SIGTERM: the master takes its workers with it.
            let _ = Command::new("kill")
                .args(["-TERM", &nginx.id().to_string()])
                .status();
            let _ = nginx.wait();
        }
        for p in &mut self.processes {
            if let Some(mut child) = p.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        postgres_admin(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
    }
}

// ---------------------------------------------------------------------------------------
// The streams

/// What happened on one stream, in order (instants in epoch µs).
#[derive(Debug, Clone)]
enum Mark {
    /// A connection answered `200`.
    Open,
    /// A connection answered another status.
    Refused(u16),
    /// A connection failed before an answer.
    Failed,
    /// The connection ended.
    End(i64),
    /// A `state`: whether the timer runs.
    State { at: i64, running: bool },
    /// A tick, and how late it came (negative: early), in µs.
    Tick { at: i64, late: i64 },
    /// The `timer: stop` of a time-up at `deadline` (epoch ms), and how long after the
    /// deadline it came, in µs.
    TimeUp { deadline: i64, late: i64 },
}

#[derive(Default)]
struct StreamLog {
    marks: Vec<Mark>,
    /// Ids that did not increase within one connection.
    ids_out_of_order: usize,
}

/// Reads the room's events through nginx for as long as `stop` says nothing, reconnecting
/// after every end or failure as an `EventSource` does: after the stream's `retry:`, with
/// `Last-Event-ID` once it has seen an id.
async fn watch_room(
    client: reqwest::Client,
    url: String,
    log: Arc<Mutex<StreamLog>>,
    fives: Fives,
    mut stop: watch::Receiver<bool>,
) {
    let mark = |m: Mark| {
        if let Ok(mut l) = log.lock() {
            l.marks.push(m);
        }
    };
    let mut retry = Duration::from_millis(1000);
    let mut last_id: Option<String> = None;
    loop {
        let mut request = client
            .get(&url)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(3600));
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id.as_str());
        }
        let answer = tokio::select! {
            _ = stop.changed() => return,
            answer = request.send() => answer,
        };
        match answer {
            Err(_) => mark(Mark::Failed),
            Ok(res) if res.status() != 200 => {
                let at = now_us();
                let status = res.status().as_u16();
                if status >= 500 {
                    note_five(&fives, at, format!("{status} GET {url}"));
                }
                mark(Mark::Refused(status));
            }
            Ok(res) => {
                mark(Mark::Open);
                let mut stream = EventStream::from_response(res).every_event();
                let mut deadline: Option<i64> = None;
                // Whether the latest event was the final tick (`remaining-time: 0`): a
                // `timer: stop` then ends a time-up, not a `next`.
                let mut final_tick = false;
                let mut last: Option<u64> = None;
                loop {
                    let frame = tokio::select! {
                        _ = stop.changed() => return,
                        frame = stream.next_frame(Duration::from_secs(3600)) => frame,
                    };
                    let Some(f) = frame else { break };
                    if let Some(ms) = f.retry {
                        retry = Duration::from_millis(ms);
                    }
                    if let Some(id) = &f.id {
                        let n = id.parse::<u64>().ok();
                        if n.is_none() || (last.is_some() && n <= last) {
                            if let Ok(mut l) = log.lock() {
                                l.ids_out_of_order += 1;
                            }
                        }
                        last = n;
                        last_id = Some(id.clone());
                    }
                    let data = f.data.as_deref().unwrap_or("");
                    // Who is here, goals, links and comments come between any two.
                    let was_final_tick = if matches!(
                        f.event.as_deref(),
                        None | Some("presence" | "todos" | "links")
                    ) {
                        final_tick
                    } else {
                        std::mem::take(&mut final_tick)
                    };
                    match f.event.as_deref() {
                        Some("state") => {
                            let state: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                            deadline = (state["state"] == "running")
                                .then(|| state["deadlineAt"].as_i64())
                                .flatten();
                            mark(Mark::State {
                                at: f.received_us,
                                running: deadline.is_some(),
                            });
                        }
                        Some("remaining-time") => {
                            if let (Some(d), Ok(v)) = (deadline, data.parse::<i64>()) {
                                final_tick = v == 0;
                                mark(Mark::Tick {
                                    at: f.received_us,
                                    late: f.received_us - (d - v) * 1000,
                                });
                            }
                        }
                        Some("timer") => {
                            if let (Some(d), "stop", true) = (deadline, data, was_final_tick) {
                                mark(Mark::TimeUp {
                                    deadline: d,
                                    late: f.received_us - d * 1000,
                                });
                            }
                            deadline = None;
                        }
                        _ => {}
                    }
                }
                mark(Mark::End(now_us()));
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(retry) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// The writer

/// What one writer did.
#[derive(Default)]
struct WriterReport {
    sent: usize,
    /// Acknowledged (2xx), by command.
    acked: BTreeMap<&'static str, usize>,
    /// Refused as the model predicted (a swap for another round, a duration while running).
    refused_as_predicted: usize,
    /// Answered 5xx or not at all: then read back, found applied or not.
    unanswered_applied: usize,
    /// Leaves answered `404 member_not_found` because nginx sent them again to another
    /// process (`DELETE` is idempotent) after the first one, which had removed the member,
    /// died before answering.
    retried_by_proxy: usize,
    unanswered_not_applied: usize,
    /// Requests that failed before an answer (commands and reads).
    transport_errors: Vec<(i64, String)>,
    failures: Vec<String>,
}

struct Writer {
    /// When the kills come.
    kills: Arc<Vec<Instant>>,
    /// When they came (epoch ms), each noted just before the kill.
    killed: Arc<Mutex<Vec<i64>>>,
    client: reqwest::Client,
    base: String,
    rooms: Vec<(String, Room)>,
    dice: Dice,
    fives: Fives,
    report: WriterReport,
}

/// One request; its status (or why it got none), and when it was sent and answered
/// (epoch ms).
async fn exchange(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (Result<(u16, Value), String>, i64, i64) {
    let mut request = client
        .request(
            method.parse().expect("an HTTP method"),
            format!("{base}{path}"),
        )
        .timeout(REQUEST_TIMEOUT);
    if let Some(body) = body {
        request = request.json(body);
    }
    let sent = now_ms();
    let outcome = match request.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let body = res.json::<Value>().await.unwrap_or(Value::Null);
            Ok((status, body))
        }
        Err(e) => Err(e.to_string()),
    };
    (outcome, sent, now_ms())
}

/// Reads the room through `base` until it answers `200`; the room and when the read was
/// sent and answered (epoch ms), or why it could not be read.
async fn read_room(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    fives: &Fives,
    transport_errors: &mut Vec<(i64, String)>,
) -> Result<(Value, i64, i64), String> {
    let path = format!("/api/pair-room/{code}");
    let started = Instant::now();
    loop {
        let (outcome, sent, answered) = exchange(client, base, "GET", &path, None).await;
        match outcome {
            Ok((200, room)) => return Ok((room, sent, answered)),
            Ok((status, body)) if status < 500 => {
                return Err(format!("GET {path} answered {status} {body}"))
            }
            Ok((status, _)) => note_five(fives, answered * 1000, format!("{status} GET {path}")),
            Err(e) => transport_errors.push((answered * 1000, format!("GET {path}: {e}"))),
        }
        if started.elapsed() > READ_BACK_FOR {
            return Err(format!(
                "GET {path} did not answer 200 within {READ_BACK_FOR:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command for `room`, most of them natural for its state, a few refused by design.
fn choose(room: &Room, dice: &mut Dice) -> RoomCommand {
    let running = matches!(room.clock, Clock::Running { .. });
    // start, stop, reset, duration, swap, swap for another round, next, join, leave
    let weights: [u64; 9] = if running {
        [4, 25, 8, 4, 20, 4, 8, 8, 7]
    } else {
        [45, 3, 6, 15, 10, 3, 5, 8, 7]
    };
    let duration = DURATIONS[dice.below(DURATIONS.len() as u64) as usize];
    let join = || {
        NAMES
            .iter()
            .find(|n| !room.members.iter().any(|m| m == *n))
            .map(|n| RoomCommand::Join(n.to_string()))
    };
    match dice.weighted(&weights) {
        0 => RoomCommand::Start,
        1 => RoomCommand::Stop,
        2 => RoomCommand::Reset,
        3 => RoomCommand::Update {
            duration,
            remaining: (dice.below(4) == 0).then(|| 1 + dice.below(duration as u64) as i64),
        },
        4 => RoomCommand::Swap { round: room.round },
        5 => RoomCommand::Swap {
            round: room.round + 1,
        },
        6 => RoomCommand::Next,
        7 if room.members.len() < 12 => join().unwrap_or(RoomCommand::Next),
        _ if room.members.len() > 2 => {
            let at = dice.below(room.members.len() as u64) as usize;
            RoomCommand::Leave(room.members[at].clone())
        }
        _ => join().unwrap_or(RoomCommand::Next),
    }
}

impl Writer {
    /// Sends commands to its rooms until `end`, each checked against the model.
    async fn run(mut self, end: Instant) -> (WriterReport, Vec<(String, Room)>) {
        while Instant::now() < end {
            let i = self.dice.below(self.rooms.len() as u64) as usize;
            self.step(i).await;
            let pause = self.pause();
            tokio::time::sleep(pause).await;
        }
        (self.report, self.rooms)
    }

    /// How long to wait before the next command: a few ms around a kill, else about
    /// [`COMMAND_PAUSE_MS`] (or until the next kill's storm begins, if sooner).
    fn pause(&mut self) -> Duration {
        let now = Instant::now();
        if self
            .kills
            .iter()
            .any(|k| now + STORM_BEFORE >= *k && now <= *k + STORM_AFTER)
        {
            return Duration::from_millis(2 + self.dice.below(10));
        }
        let normal =
            Duration::from_millis(COMMAND_PAUSE_MS / 2 + self.dice.below(COMMAND_PAUSE_MS));
        let storm = self
            .kills
            .iter()
            .filter_map(|k| k.checked_sub(STORM_BEFORE))
            .filter(|s| *s > now)
            .map(|s| s - now)
            .min();
        storm.map_or(normal, |s| s.min(normal))
    }

    /// One command to room `i`, then the room read back and held to the model.
    async fn step(&mut self, i: usize) {
        let (code, model) = self.rooms[i].clone();
        let command = choose(&model, &mut self.dice);
        let (method, path, body) = command.request(&code);
        let (outcome, sent, answered) =
            exchange(&self.client, &self.base, method, &path, body.as_ref()).await;
        self.report.sent += 1;
        let before = model.at(sent, answered);
        let after = |b: &Room| b.apply(&command, sent, answered);
        let what = format!(
            "{method} {path} {}",
            body.map_or(String::new(), |b| b.to_string())
        );
        let mut unanswered = None;
        let candidates: Vec<Room> = match outcome {
            Ok((status, _)) if status >= 500 => {
                note_five(&self.fives, answered * 1000, format!("{status} {what}"));
                unanswered = Some(before.iter().map(|b| after(b).1).collect::<Vec<_>>());
                before
                    .iter()
                    .flat_map(|b| [b.clone(), after(b).1])
                    .collect()
            }
            Err(e) => {
                self.report
                    .transport_errors
                    .push((answered * 1000, format!("{what}: {e}")));
                unanswered = Some(before.iter().map(|b| after(b).1).collect::<Vec<_>>());
                before
                    .iter()
                    .flat_map(|b| [b.clone(), after(b).1])
                    .collect()
            }
            Ok((status, answer)) => {
                let fit: Vec<Room> = before
                    .iter()
                    .map(after)
                    .filter(|(s, _)| *s == status)
                    .map(|(_, r)| r)
                    .collect();
                // nginx sends an idempotent request (`DELETE`) that failed on a process
                // that died to the next process; if the first had removed the member, the
                // second finds none. Only a kill during the request explains that.
                let killed_meanwhile = self
                    .killed
                    .lock()
                    .is_ok_and(|k| k.iter().any(|at| *at >= sent - 5 && *at <= answered));
                if fit.is_empty()
                    && status == 404
                    && answer["error"] == "member_not_found"
                    && matches!(command, RoomCommand::Leave(_))
                    && killed_meanwhile
                {
                    self.report.retried_by_proxy += 1;
                    before.iter().map(|b| after(b).1).collect()
                } else if fit.is_empty() {
                    self.report.failures.push(format!(
                        "{what} answered {status} {answer}, which no state the acknowledged \
                         commands allow predicts: {before:?}"
                    ));
                    before.clone()
                } else {
                    if (200..300).contains(&status) {
                        *self.report.acked.entry(command.name()).or_default() += 1;
                    } else {
                        self.report.refused_as_predicted += 1;
                    }
                    fit
                }
            }
        };
        let read = read_room(
            &self.client,
            &self.base,
            &code,
            &self.fives,
            &mut self.report.transport_errors,
        )
        .await;
        let (room, read_sent, read_answered) = match read {
            Ok(read) => read,
            Err(why) => {
                self.report.failures.push(format!("after {what}: {why}"));
                return;
            }
        };
        let now: Vec<Room> = candidates
            .iter()
            .flat_map(|c| c.at(read_sent, read_answered))
            .collect();
        if !now.iter().any(|c| c.matches(&room)) {
            self.report.failures.push(format!(
                "after {what} (sent {sent}, answered {answered}, read {read_sent}..{read_answered}) \
                 the room is {room}, which is none of the states the acknowledged commands \
                 allow: {now:?}"
            ));
        }
        if let Some(applied) = unanswered {
            let applied: Vec<Room> = applied
                .iter()
                .flat_map(|c| c.at(read_sent, read_answered))
                .collect();
            if applied.iter().any(|c| c.matches(&room)) {
                self.report.unanswered_applied += 1;
            } else {
                self.report.unanswered_not_applied += 1;
            }
        }
        match Room::read(&room) {
            Some(read) => self.rooms[i].1 = read,
            None => self
                .report
                .failures
                .push(format!("after {what}: an unreadable room {room}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The figures

/// `pairsync_streams_dropped_total` of process `base` (streams it let go because their
/// backlog passed its bound), or 0 when it does not answer.
async fn dropped_streams(client: &reqwest::Client, base: &str) -> f64 {
    let Ok(res) = client.get(format!("{base}/metrics")).send().await else {
        return 0.0;
    };
    let text = res.text().await.unwrap_or_default();
    crate::helpers::exposition::parse(&text)
        .samples
        .iter()
        .find(|s| s.name == "pairsync_streams_dropped_total" && s.labels.is_empty())
        .map_or(0.0, |s| s.value)
}

/// A step of the wall clock bigger than this between two looks 50 ms apart (against the
/// monotonic clock) is reported: deadlines are wall-clock instants, so a stepped clock
/// moves every tick and time-up by the step, in the servers and in this test alike.
const CLOCK_STEP_MS: i64 = 20;

/// Watches the wall clock against the monotonic one until `stop`; the steps it saw: when
/// (epoch µs) and by how much (µs, positive forward).
async fn watch_clock(mut stop: watch::Receiver<bool>) -> Vec<(i64, i64)> {
    let origin = Instant::now();
    let offset = || now_us() - origin.elapsed().as_micros() as i64;
    let mut last = offset();
    let mut steps = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return steps,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let now = offset();
        if (now - last).abs() > CLOCK_STEP_MS * 1000 {
            steps.push((now_us(), now - last));
        }
        last = now;
    }
}

/// The value at `q` (0 to 1) of sorted `values`.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

/// Whether `at` (epoch µs) falls within `KILL_WINDOW_MS` after one of `kills`.
fn after_a_kill(kills: &[i64], at: i64) -> bool {
    kills
        .iter()
        .any(|k| at >= *k && at <= k + KILL_WINDOW_MS * 1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_killed_in_turn_behind_nginx_lose_nothing_acknowledged_and_every_stream_ticks_on_time_again(
) {
    if std::env::var_os(CHAOS_ENV).is_none() {
        skipped(
            TEST_NAME,
            &format!(
                "{CHAOS_ENV} is not set; it runs alone, in a CI step of its own (its load \
                 would disturb the timed checks of the tests beside it)"
            ),
        );
        return;
    }
    let Ok(admin) = std::env::var(POSTGRES_ENV) else {
        skipped(
            TEST_NAME,
            &format!("{POSTGRES_ENV} is not set; three processes need one PostgreSQL database"),
        );
        return;
    };
    let secs = std::env::var(SECS_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(DEFAULT_SECS);
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| now_us() as u64);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cluster = Cluster::start(&admin).await;
    let base = cluster.base.clone();
    let commands = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client");
    let streams_client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let fives: Fives = Arc::default();
    let mut dice = Dice::new(seed);
    let (stop, stopping) = watch::channel(false);
    let clock = tokio::spawn(watch_clock(stopping.clone()));

    // The rooms, made through nginx: two to four members, and turns of every length.
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let n = 2 + dice.below(3) as usize;
        let first = dice.below(NAMES.len() as u64) as usize;
        let members: Vec<String> = (0..n)
            .map(|k| NAMES[(first + k) % NAMES.len()].to_string())
            .collect();
        let duration = DURATIONS[i % DURATIONS.len()];
        let body = if n == 2 && i % 2 == 0 {
            json!({"driver": members[0], "navigator": members[1], "timerDuration": duration})
        } else {
            json!({"members": members, "timerDuration": duration})
        };
        let (outcome, _, _) =
            exchange(&commands, &base, "POST", "/api/pair-room", Some(&body)).await;
        let code = match outcome {
            Ok((201, answer)) => answer["accessCode"]
                .as_str()
                .expect("an access code")
                .to_string(),
            other => panic!("create a room through nginx: {other:?}"),
        };
        let model = Room {
            members,
            duration,
            round: 0,
            clock: Clock::Idle,
        };
        rooms.push((code, model));
    }

    // Eight streams per room through nginx, each reconnecting whenever it ends.
    let mut logs = Vec::new();
    let mut readers = Vec::new();
    for (code, _) in &rooms {
        for _ in 0..STREAMS_PER_ROOM {
            let log = Arc::new(Mutex::new(StreamLog::default()));
            readers.push(tokio::spawn(watch_room(
                streams_client.clone(),
                format!("{base}/api/{code}/connect"),
                log.clone(),
                fives.clone(),
                stopping.clone(),
            )));
            logs.push((code.clone(), log));
        }
    }
    let greeted = Instant::now();
    while !logs.iter().all(|(_, l)| {
        l.lock()
            .is_ok_and(|l| l.marks.iter().any(|m| matches!(m, Mark::State { .. })))
    }) {
        assert!(
            greeted.elapsed() < Duration::from_secs(30),
            "not every stream was greeted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A writer for each room, and the kills: every KILL_EVERY, as long as each kill's
    // restart and window end before the run does.
    let began = now_us();
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let kill_at: Vec<Instant> = (1..)
        .map(|k| KILL_EVERY * k)
        .take_while(|at| {
            *at + RESTART_AFTER + Duration::from_millis(KILL_WINDOW_MS as u64 + 2_000)
                <= Duration::from_secs(secs)
        })
        .map(|at| started + at)
        .collect();
    let kill_at = Arc::new(kill_at);
    let killed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let mut writers = Vec::new();
    for (w, room) in rooms.iter().enumerate() {
        let writer = Writer {
            kills: kill_at.clone(),
            killed: killed.clone(),
            client: commands.clone(),
            base: base.clone(),
            rooms: vec![room.clone()],
            dice: Dice::new(seed.wrapping_add(w as u64 + 1).wrapping_mul(0x9E37_79B9)),
            fives: fives.clone(),
            report: WriterReport::default(),
        };
        writers.push(tokio::spawn(writer.run(end)));
    }
    let mut kills: Vec<(usize, i64, Duration)> = Vec::new();
    // Each process's count of the streams it dropped, read before it dies and at the end.
    let mut dropped = 0.0;
    for (k, at) in kill_at.iter().enumerate() {
        let victim = k % PROCESSES;
        tokio::time::sleep_until((*at - Duration::from_millis(100)).into()).await;
        dropped += dropped_streams(&commands, &cluster.direct(victim)).await;
        tokio::time::sleep_until((*at).into()).await;
        if let Ok(mut k) = killed.lock() {
            k.push(now_ms());
        }
        let killed = cluster.kill(victim);
        tokio::time::sleep(RESTART_AFTER).await;
        let took = cluster.launch(victim).await;
        kills.push((victim, killed, took));
    }
    tokio::time::sleep_until(end.into()).await;
    let mut report = WriterReport::default();
    let mut models = Vec::new();
    for writer in join_all(writers).await {
        let (r, mine) = writer.expect("a writer ran to its end");
        report.sent += r.sent;
        for (k, n) in r.acked {
            *report.acked.entry(k).or_default() += n;
        }
        report.refused_as_predicted += r.refused_as_predicted;
        report.unanswered_applied += r.unanswered_applied;
        report.unanswered_not_applied += r.unanswered_not_applied;
        report.retried_by_proxy += r.retried_by_proxy;
        report.transport_errors.extend(r.transport_errors);
        report.failures.extend(r.failures);
        models.extend(mine);
    }
    let ended = now_us();
    for i in 0..PROCESSES {
        dropped += dropped_streams(&commands, &cluster.direct(i)).await;
    }

    // Every room read back, through nginx and from each process itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut bases = vec![("nginx".to_string(), base.clone())];
    bases.extend((0..PROCESSES).map(|i| (format!("process {i}"), cluster.direct(i))));
    let mut final_reads = 0;
    for (code, model) in &models {
        for (name, b) in &bases {
            match read_room(&commands, b, code, &fives, &mut report.transport_errors).await {
                Ok((room, sent, answered)) => {
                    let allowed = model.at(sent, answered);
                    if allowed.iter().any(|c| c.matches(&room)) {
                        final_reads += 1;
                    } else {
                        report.failures.push(format!(
                            "at the end, through {name}, the room {code} is {room}, not as its \
                             acknowledged commands left it: {allowed:?}"
                        ));
                    }
                }
                Err(why) => report
                    .failures
                    .push(format!("at the end, through {name}: {why}")),
            }
        }
    }
    let _ = stop.send(true);
    let steps = clock.await.unwrap_or_default();
    for reader in readers {
        if let Err(e) = reader.await {
            report
                .failures
                .push(format!("a stream's reader failed: {e}"));
        }
    }

    // The streams: ticks, reconnections, and each kill's recovery.
    let kill_instants: Vec<i64> = kills.iter().map(|(_, at, _)| *at).collect();
    let mut lates = Vec::new();
    let mut early = Vec::new();
    let mut time_up_lates = Vec::new();
    let (mut connections, mut refused, mut failed) = (0, Vec::new(), 0);
    let mut ends_by_kill = 0;
    let mut other_ends = Vec::new();
    let mut over_allowance_outside = 0;
    let mut ids_out_of_order = 0;
    let mut recoveries: Vec<i64> = Vec::new();
    let mut on_killed = 0;
    let mut time_ups = std::collections::BTreeSet::new();
    let mut unrecovered = Vec::new();
    for (code, log) in &logs {
        let log = log.lock().expect("stream log");
        ids_out_of_order += log.ids_out_of_order;
        for m in &log.marks {
            match *m {
                Mark::Open => connections += 1,
                Mark::Refused(status) => refused.push(status),
                Mark::Failed => failed += 1,
                Mark::End(at) => {
                    if kill_instants
                        .iter()
                        .any(|k| at >= *k && at <= k + ENDED_BY_KILL_MS * 1000)
                    {
                        ends_by_kill += 1;
                    } else if at < ended {
                        other_ends.push(at);
                    }
                }
                Mark::Tick { at, late } => {
                    lates.push(late);
                    if late < -CLOCK_TOLERANCE_MS * 1000 {
                        early.push(format!("{code}: a tick {:.1} ms early", -ms(late)));
                    }
                    if late > TIMER_LATE_MS * 1000 && !after_a_kill(&kill_instants, at) {
                        over_allowance_outside += 1;
                    }
                }
                Mark::TimeUp { deadline, late } => {
                    time_up_lates.push(late);
                    time_ups.insert((code.clone(), deadline));
                }
                Mark::State { .. } => {}
            }
        }
        for &kill in &kill_instants {
            let Some(from) = log.marks.iter().position(|m| {
                matches!(m, Mark::End(at) if *at >= kill && *at <= kill + ENDED_BY_KILL_MS * 1000)
            }) else {
                continue;
            };
            on_killed += 1;
            let mut open = false;
            let back = log.marks[from..].iter().find_map(|m| match *m {
                Mark::Open => {
                    open = true;
                    None
                }
                Mark::Tick { at, late }
                    if open
                        && (-CLOCK_TOLERANCE_MS * 1000..=TIMER_LATE_MS * 1000).contains(&late) =>
                {
                    Some(at)
                }
                Mark::State { at, running: false } if open => Some(at),
                _ => None,
            });
            match back {
                Some(at) if at - kill <= KILL_WINDOW_MS * 1000 => recoveries.push(at - kill),
                Some(at) => {
                    recoveries.push(at - kill);
                    unrecovered.push(format!(
                        "{code}: a stream on the process killed at +{:.1} s ticked on the \
                         right second again only {:.0} ms after the kill",
                        ms(kill - began) / 1000.0,
                        ms(at - kill)
                    ));
                }
                None => unrecovered.push(format!(
                    "{code}: a stream on the process killed at +{:.1} s never ticked on the \
                     right second again",
                    ms(kill - began) / 1000.0
                )),
            }
        }
    }
    lates.sort_unstable();
    time_up_lates.sort_unstable();
    recoveries.sort_unstable();
    let fives = fives.lock().expect("5xx list").clone();
    let stray_fives: Vec<String> = fives
        .iter()
        .filter(|(at, _)| !after_a_kill(&kill_instants, *at))
        .map(|(at, what)| format!("+{:.3} s {what}", ms(at - began) / 1000.0))
        .collect();

    // The figures.
    let rel = |at: i64| format!("+{:.1} s", ms(at - began) / 1000.0);
    println!("chaos: the figures");
    println!(
        "  run: {secs} s, {PROCESSES} processes on one PostgreSQL behind nginx, {ROOMS} rooms × \
         {STREAMS_PER_ROOM} streams, a writer per room, seed {seed}, binary {}",
        cluster.bin.display()
    );
    println!(
        "  kills (SIGKILL, restarted {} s later on the same port): {}",
        RESTART_AFTER.as_secs(),
        kills
            .iter()
            .map(|(p, at, took)| format!(
                "process {p} at {} (listening {} ms after its restart)",
                rel(*at),
                took.as_millis()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let acked: usize = report.acked.values().sum();
    println!(
        "  commands: {} sent, {acked} acknowledged ({}), {} refused as predicted (409), \
         {} unanswered (5xx or no answer: {} found applied, {} not), {} leaves answered 404 \
         after nginx sent them again to another process (the first attempt had applied them)",
        report.sent,
        report
            .acked
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.refused_as_predicted,
        report.unanswered_applied + report.unanswered_not_applied,
        report.unanswered_applied,
        report.unanswered_not_applied,
        report.retried_by_proxy,
    );
    println!(
        "  final reads matching the acknowledged commands: {final_reads} of {} ({} rooms \
         through nginx and each process)",
        models.len() * bases.len(),
        models.len()
    );
    println!(
        "  5xx: {} ({}), outside {KILL_WINDOW_MS} ms after a kill: {}",
        fives.len(),
        fives
            .iter()
            .map(|(at, what)| format!("{} {}", rel(*at), what.split(' ').next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        stray_fives.len()
    );
    println!(
        "  requests that got no answer: {} ({})",
        report.transport_errors.len(),
        report
            .transport_errors
            .iter()
            .map(|(at, _)| rel(*at))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  streams: {} connections for {} streams, so {} reconnects; {ends_by_kill} ends \
         within {ENDED_BY_KILL_MS} ms of a kill, {} others ({}); {} connections refused \
         {refused:?}, {failed} failed; ids out of order: {ids_out_of_order}; dropped by the servers as \
         stalled (pairsync_streams_dropped_total): {dropped}",
        connections,
        logs.len(),
        connections - logs.len(),
        other_ends.len(),
        other_ends
            .iter()
            .take(10)
            .map(|at| rel(*at))
            .collect::<Vec<_>>()
            .join(", "),
        refused.len()
    );
    println!(
        "  after a kill: {} streams were on the killed process; time to a tick on the right \
         second (or a stopped timer's state): p50 {:.0} ms, worst {:.0} ms (bound {KILL_WINDOW_MS} ms)",
        on_killed,
        ms(quantile(&recoveries, 0.5)),
        ms(recoveries.last().copied().unwrap_or(0)),
    );
    println!(
        "  ticks: {} checked; earliest {:+.1} ms, p50 {:+.1} ms, p99 {:+.1} ms, latest {:+.1} ms \
         against the deadline; early (over {CLOCK_TOLERANCE_MS} ms): {}; over the suite's \
         {TIMER_LATE_MS} ms allowance outside the kill windows: {over_allowance_outside}",
        lates.len(),
        ms(lates.first().copied().unwrap_or(0)),
        ms(quantile(&lates, 0.5)),
        ms(quantile(&lates, 0.99)),
        ms(lates.last().copied().unwrap_or(0)),
        early.len()
    );
    println!(
        "  time-ups: {} ({} told on streams); timer: stop after the deadline p50 {:.1} ms, \
         worst {:.1} ms",
        time_ups.len(),
        time_up_lates.len(),
        ms(quantile(&time_up_lates, 0.5)),
        ms(time_up_lates.last().copied().unwrap_or(0))
    );

    println!(
        "  wall clock steps (over {CLOCK_STEP_MS} ms against the monotonic clock): {}",
        if steps.is_empty() {
            "none".to_string()
        } else {
            steps
                .iter()
                .map(|(at, by)| format!("{:+.0} ms at {}", ms(*by), rel(*at)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    let mut failures = report.failures;
    failures.extend(early.into_iter().take(20));
    failures.extend(unrecovered);
    failures.extend(
        stray_fives
            .into_iter()
            .map(|f| format!("a 5xx outside the window after a kill: {f}")),
    );
    if ids_out_of_order > 0 {
        failures.push(format!(
            "{ids_out_of_order} event ids did not increase within their stream"
        ));
    }
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(30).collect();
        let clock_note = if steps.is_empty() {
            String::new()
        } else {
            "\nThe machine's wall clock was stepped during the run (see the figures): every \
             deadline is a wall-clock instant, so ticks and time-ups near a step move with it \
             and the timing checks there say nothing about the servers."
                .to_string()
        };
        panic!(
            "{} failures:\n{}{clock_note}\n{}",
            failures.len(),
            shown
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            cluster.log_tails()
        );
    }
}
