//! Requests sent at exact instants, away from the async runtime: one dedicated OS thread
//! walks the schedule, sleeps until each request's instant (to the microsecond: see
//! [`clock::block_until_us`]) and hands it to a pool of worker threads, each holding one
//! keep-alive HTTP/1.1 connection per server, so that a slow answer does not hold up the
//! next request. Every request's lag is recorded: the instant it was written, and the
//! instant its answer was read, less the instant it was due.
//!
//! The pairsync benchmarks start their timers through it (`PATCH …/timer/start` at each
//! room's start instant); the nchan mode is its timer (`POST /pub/{channel}` at each
//! tick's due instant), so neither server is charged for the benchmark's own delays.

use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};

use super::clock::{self, epoch_us};
use super::http1::Conn;
use super::net::Server;

/// One request and the instant it is due (epoch µs).
#[derive(Debug, Clone)]
pub struct Job {
    pub due_us: i64,
    /// Index of the server (in the list given to [`run`]).
    pub server: usize,
    pub method: &'static str,
    pub path: String,
    pub body: String,
}

/// What became of one job.
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub due_us: i64,
    /// When the request was written and when its answer was read (epoch µs).
    pub written_us: Option<i64>,
    pub answered_us: Option<i64>,
    pub status: Option<u16>,
    /// The failure, or the error code of a non-2xx answer.
    pub error: Option<String>,
}

impl Done {
    /// Written, less due (µs).
    pub fn write_lag_us(&self) -> Option<i64> {
        Some(self.written_us? - self.due_us)
    }

    /// Answered, less due (µs).
    pub fn answer_lag_us(&self) -> Option<i64> {
        Some(self.answered_us? - self.due_us)
    }
}

/// A request each connection makes once before the schedule begins, so that no job pays
/// for opening a connection (or a server's first accept).
#[derive(Debug, Clone)]
pub struct WarmUp {
    pub method: &'static str,
    /// `{k}` is replaced by the connection's number.
    pub path: String,
}

/// Runs `jobs` on a dedicated thread with `connections` worker connections per server;
/// the handle yields one [`Done`] per job, in the order of `jobs`.
pub fn run(
    servers: &[Server],
    connections: usize,
    warm_up: Option<WarmUp>,
    jobs: Vec<Job>,
) -> std::thread::JoinHandle<Vec<Done>> {
    let servers = servers.to_vec();
    std::thread::Builder::new()
        .name("dispatch".into())
        .spawn(move || schedule(&servers, connections.max(1), warm_up, jobs))
        .expect("a thread for the dispatcher")
}

type Queue = Arc<Mutex<mpsc::Receiver<(usize, Job)>>>;

fn schedule(
    servers: &[Server],
    connections: usize,
    warm_up: Option<WarmUp>,
    jobs: Vec<Job>,
) -> Vec<Done> {
    let (tx, rx) = mpsc::channel::<(usize, Job)>();
    let queue: Queue = Arc::new(Mutex::new(rx));
    let results = Arc::new(Mutex::new(vec![Done::default(); jobs.len()]));
    let ready = Arc::new(Barrier::new(connections + 1));
    let workers: Vec<_> = (0..connections)
        .map(|k| {
            let (queue, results, ready) = (queue.clone(), results.clone(), ready.clone());
            let mut conns: Vec<Conn> = servers
                .iter()
                .map(|s| Conn::new(s.addr, &s.authority))
                .collect();
            let warm_up = warm_up.clone();
            std::thread::Builder::new()
                .name(format!("dispatch-{k}"))
                .spawn(move || {
                    if let Some(w) = &warm_up {
                        let path = w.path.replace("{k}", &k.to_string());
                        for conn in &mut conns {
                            if let Err(e) = conn.request(w.method, &path, "warm-up", &mut || {}) {
                                eprintln!("dispatch: warm-up {path}: {e}");
                            }
                        }
                    }
                    ready.wait();
                    work(&queue, &mut conns, &results);
                })
                .expect("a thread for a dispatch connection")
        })
        .collect();
    ready.wait();
    let mut order: Vec<(usize, Job)> = jobs.into_iter().enumerate().collect();
    order.sort_by_key(|(_, job)| job.due_us);
    for (index, job) in order {
        clock::block_until_us(job.due_us);
        if tx.send((index, job)).is_err() {
            break;
        }
    }
    drop(tx);
    for worker in workers {
        let _ = worker.join();
    }
    let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *results)
}

fn work(queue: &Queue, conns: &mut [Conn], results: &Mutex<Vec<Done>>) {
    loop {
        let next = queue.lock().map(|rx| rx.recv());
        let Ok(Ok((index, job))) = next else {
            return;
        };
        let mut done = Done {
            due_us: job.due_us,
            ..Done::default()
        };
        let Some(conn) = conns.get_mut(job.server) else {
            continue;
        };
        let mut written = None;
        let answer = conn.request(job.method, &job.path, &job.body, &mut || {
            written = Some(epoch_us());
        });
        done.written_us = written;
        match answer {
            Ok(a) => {
                done.answered_us = Some(epoch_us());
                done.status = Some(a.status);
                if !(200..300).contains(&a.status) {
                    done.error = Some(format!(
                        "status {} {}",
                        a.status,
                        super::sse::error_code(&a.body)
                    ));
                }
            }
            Err(e) => done.error = Some(e),
        }
        if let Ok(mut r) = results.lock() {
            if let Some(slot) = r.get_mut(index) {
                *slot = done;
            }
        }
    }
}
