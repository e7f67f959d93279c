//! Rounds of requests over a fixed set of keep-alive HTTP/1.1 connections, one OS thread
//! per connection: at one shared instant every thread sends its first request, then its
//! next as soon as the previous one is answered, until its list is done. The connections
//! outlive the rounds (the warm-up opens them; the storms reuse them).

use std::collections::BTreeMap;

use crate::common::clock::{self, epoch_us};
use crate::common::http1::Conn;
use crate::common::net::Server;
use crate::common::sse::error_code;

/// One request of a round.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    /// The room it commands (its access code).
    pub code: String,
}

/// What became of one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: String,
    /// Just before the request was written, and when its answer was read (epoch µs).
    pub sent_us: i64,
    pub answered_us: Option<i64>,
    /// `204`, `503 unavailable`, … or the transport failure.
    pub status: Result<u16, String>,
    /// The error code of a non-2xx answer (`-` when none).
    pub error: String,
}

impl Outcome {
    /// Answered 2xx: the command is acknowledged.
    pub fn acknowledged(&self) -> bool {
        matches!(self.status, Ok(s) if (200..300).contains(&s))
    }

    /// The key it is counted under: `204`, `503 unavailable`, `failed: …`.
    pub fn kind(&self) -> String {
        match &self.status {
            Ok(s) if (200..300).contains(s) => s.to_string(),
            Ok(s) => format!("{s} {}", self.error),
            Err(e) => format!("failed: {e}"),
        }
    }
}

/// One connection and the server it goes to.
pub struct Link {
    pub server: usize,
    pub conn: Conn,
}

/// `count` connections, spread evenly over `servers` (connection `k` to server
/// `k mod servers`), none opened yet.
pub fn links(servers: &[Server], count: usize) -> Vec<Link> {
    (0..count)
        .map(|k| {
            let server = k % servers.len();
            Link {
                server,
                conn: Conn::new(servers[server].addr, &servers[server].authority),
            }
        })
        .collect()
}

/// Runs one round: connection `k` sends `work[k]` in order, the first at `start_us`.
/// Returns the connections and every outcome (in no particular order).
pub fn round(
    links: Vec<Link>,
    work: Vec<Vec<Request>>,
    start_us: i64,
) -> (Vec<Link>, Vec<Outcome>) {
    let threads: Vec<_> = links
        .into_iter()
        .zip(work)
        .enumerate()
        .map(|(k, (mut link, requests))| {
            std::thread::Builder::new()
                .name(format!("conn-{k}"))
                .spawn(move || {
                    let mut outcomes = Vec::with_capacity(requests.len());
                    clock::block_until_us(start_us);
                    for r in requests {
                        let sent_us = epoch_us();
                        let answer = link.conn.request(r.method, &r.path, "", &mut || {});
                        let answered_us = answer.is_ok().then(epoch_us);
                        let (status, error) = match answer {
                            Ok(a) => (Ok(a.status), error_code(&a.body)),
                            Err(e) => (Err(e), "-".to_string()),
                        };
                        outcomes.push(Outcome {
                            code: r.code,
                            sent_us,
                            answered_us,
                            status,
                            error,
                        });
                    }
                    (link, outcomes)
                })
                .expect("a thread for a connection")
        })
        .collect();
    let mut links = Vec::with_capacity(threads.len());
    let mut outcomes = Vec::new();
    for t in threads {
        let (link, done) = t.join().expect("a connection's thread does not panic");
        links.push(link);
        outcomes.extend(done);
    }
    (links, outcomes)
}

/// How many outcomes of each kind (`204`, `503 unavailable`, …).
pub fn kinds(outcomes: &[Outcome]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.kind()).or_insert(0) += 1;
    }
    counts
}
