//! The pairsync side of the fan-out benchmark: starting the timers at their planned
//! instants, the command sent after the time-ups (several servers), and the servers' own
//! record of their tick timers.

use std::time::Duration;

use crate::args::Args;
use crate::common::clock::epoch_us;
use crate::common::dispatch::Done;
use crate::common::net::Server;
use crate::common::{metrics, rooms};

/// Several servers: the pause between two commands, so that each is measured alone.
const COMMAND_GAP: Duration = Duration::from_millis(20);
/// Start errors printed in full; the rest are only counted.
const ERRORS_SHOWN: usize = 5;

/// The timers' starts: one [`Done`] per room, in the order of the codes.
pub struct Starts {
    pub done: Vec<Done>,
}

impl Starts {
    /// Rooms whose start was answered `204`.
    pub fn started(&self) -> usize {
        self.done.iter().filter(|d| d.status == Some(204)).count()
    }

    /// The last `204`'s instant (epoch µs).
    pub fn last_answer_us(&self) -> Option<i64> {
        self.done
            .iter()
            .filter(|d| d.status == Some(204))
            .filter_map(|d| d.answered_us)
            .max()
    }
}

/// Starts every room's timer (`PATCH /api/{code}/timer/start`) at its planned instant
/// after `base_us`, room `r` (counted over all shards) through server `r mod servers`, from
/// the dispatch thread.
pub async fn start_timers(
    args: &Args,
    servers: &[Server],
    codes: &[String],
    first_room: usize,
    base_us: i64,
) -> Starts {
    let done = rooms::start_timers(
        servers,
        codes,
        (first_room, args.rooms),
        args.plan,
        base_us,
        args.http_connections,
    )
    .await;
    for d in done.iter().filter(|d| d.error.is_some()).take(ERRORS_SHOWN) {
        eprintln!("start: {}", d.error.as_deref().unwrap_or_default());
    }
    Starts { done }
}

/// One command sent after the ticks.
pub struct Command {
    /// The room's index among this shard's rooms.
    pub room: usize,
    /// The server it was sent to.
    pub server: usize,
    /// When its request was sent and when its `204` was read (epoch µs).
    pub sent_us: i64,
    pub ack_us: Option<i64>,
}

/// Several servers: once the time-ups are over, starts the timer of a sample of rooms again
/// (`PATCH /api/{code}/timer/start`, every stream then gets `timer: start`), one room at a
/// time, each through one server in turn.
pub async fn send_commands(
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

/// The servers' own record of how late their tick timers fired (pairsync's `/metrics`):
/// the sum in seconds and the count of `pairsync_tick_lateness_seconds`, over every server.
pub async fn server_tick_lateness(http: &reqwest::Client, urls: &[String]) -> Option<(f64, f64)> {
    let (mut sum, mut count) = (0.0, 0.0);
    for url in urls {
        let m = metrics::scrape(http, url).await?;
        sum += m.get("pairsync_tick_lateness_seconds_sum")?;
        count += m.get("pairsync_tick_lateness_seconds_count")?;
    }
    Some((sum, count))
}
