//! The change feed on PostgreSQL: every committed change to a room is announced with
//! `NOTIFY` in the same transaction, and each process keeps one dedicated `LISTEN`
//! connection on a thread of its own. With SQLite there is one process per database and
//! no feed.
//!
//! A change names its room, its version (`0` for a delete) and what it told its streams
//! (in [`wire::told_to_wire`]'s form); a room write also carries the row it wrote
//! ([`wire::Carried`]), so that the processes that have the room live apply it without
//! reading it. The writes committed together go in as few payloads as fit
//! ([`wire::batch_payloads`]), in one statement; a change too large for one payload (a long
//! goals or links list) goes as a set of chunk payloads in that same statement, which the
//! listener puts back together ([`wire::Reassembly`], one per connection) before reading
//! it, so that it too is applied from its row, as its own change. The old form of one
//! change per payload, `code:version:told`, carries no row and is still read.
//!
//! PostgreSQL delivers a notification only when its transaction commits, in commit order
//! (one transaction's notifications together and in the order sent), and never to a
//! listener that was disconnected at the time: after every (re)connect the listener
//! reports [`FeedEvent::Resync`], so that every live room is read again, and a chunk set
//! the lost connection cut short is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::{Conn, StoreError};

pub mod wire;

/// The channel every process listens on.
pub const CHANNEL: &str = "pairsync_rooms";
/// The wait between two polls of the listener connection that found nothing.
const POLL: Duration = Duration::from_millis(2);
/// The first wait before connecting again after the listener connection was lost.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// One committed change to a room, as another process announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The room's access code.
    pub code: String,
    /// The row's version after the change; `0` when the room was deleted.
    pub version: i64,
    /// What the change told its streams (see [`wire::told_to_wire`]).
    pub told: String,
    /// The row the change wrote, when the announcement carried it.
    pub carried: Option<Box<wire::Carried>>,
}

impl Change {
    /// The old form of a payload, which carries no row: `code:version:told`.
    pub fn payload(&self) -> String {
        format!("{}:{}:{}", self.code, self.version, self.told)
    }

    /// Reads a payload; `None` for one this version of the server does not understand.
    pub fn parse(payload: &str) -> Option<Change> {
        let mut parts = payload.splitn(3, ':');
        let code = parts.next()?;
        let version = parts.next()?.parse().ok()?;
        Some(Change {
            code: code.to_string(),
            version,
            told: parts.next().unwrap_or_default().to_string(),
            carried: None,
        })
    }
}

/// One process's streams on some rooms, as it reported them (`p:` and a JSON object on the
/// feed): for each room, its stream count and the distinct names of its named streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceReport {
    /// The process that holds the streams.
    #[serde(rename = "p")]
    pub process: String,
    /// `(access code, streams, names)` per room.
    #[serde(rename = "r")]
    pub rooms: Vec<(String, i64, Vec<String>)>,
}

/// The prefix of a presence payload.
const PRESENCE_PREFIX: &str = "p:";
use wire::MAX_PAYLOAD;

/// The payloads that announce `counts` of `process`: as many as keep each under
/// PostgreSQL's limit.
pub fn presence_payloads(process: &str, counts: &[super::presence::Count]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut report = PresenceReport {
        process: process.to_string(),
        rooms: Vec::new(),
    };
    let encode = |report: &PresenceReport| {
        format!(
            "{PRESENCE_PREFIX}{}",
            serde_json::to_string(report).unwrap_or_default()
        )
    };
    for count in counts {
        report
            .rooms
            .push((count.code.clone(), count.streams, count.names.clone()));
        if report.rooms.len() > 1 && encode(&report).len() > MAX_PAYLOAD {
            let last = report.rooms.pop();
            payloads.push(encode(&report));
            report.rooms = last.into_iter().collect();
        }
    }
    if !report.rooms.is_empty() {
        payloads.push(encode(&report));
    }
    payloads
}

/// What the listener reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// Another (or this) process committed a change.
    Changed(Change),
    /// A process reported its streams.
    Presence(PresenceReport),
    /// The listener (re)connected: changes may have been missed; read every live room again.
    Resync,
}

/// Announces `changes` in the current transaction, in as few payloads as fit, a change too
/// large for one in chunks (nothing on SQLite): one statement, however many payloads.
pub fn notify(conn: &mut Conn, changes: &[Change]) -> Result<(), StoreError> {
    if let Conn::Pg(pg) = conn {
        let payloads = wire::batch_payloads(changes);
        if payloads.is_empty() {
            return Ok(());
        }
        diesel::sql_query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind::<Text, _>(CHANNEL)
            .bind::<diesel::sql_types::Array<Text>, _>(&payloads)
            .execute(pg)?;
    }
    Ok(())
}

/// Sends `payload` on the feed in the current transaction (nothing on SQLite).
pub fn notify_raw(conn: &mut Conn, payload: &str) -> Result<(), StoreError> {
    if let Conn::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(pg)?;
    }
    Ok(())
}

/// Reads one payload of the feed into its events, in order; `None` for one this version
/// does not understand, and for a chunk (put its set back together first, with
/// [`wire::Reassembly`]).
pub fn parse(payload: &str) -> Option<Vec<FeedEvent>> {
    if payload.starts_with(wire::CHUNK_PREFIX) {
        return None;
    }
    if let Some(json) = payload.strip_prefix(PRESENCE_PREFIX) {
        if json.starts_with('{') {
            return serde_json::from_str(json)
                .ok()
                .map(|report| vec![FeedEvent::Presence(report)]);
        }
    }
    if let Some(json) = payload.strip_prefix(wire::BATCH_PREFIX) {
        if json.starts_with('[') {
            return wire::batch_from_wire(json)
                .map(|changes| changes.into_iter().map(FeedEvent::Changed).collect());
        }
    }
    Change::parse(payload).map(|change| vec![FeedEvent::Changed(change)])
}

/// Whether the listener holds a live `LISTEN` connection; readiness depends on it.
#[derive(Debug, Clone, Default)]
pub struct FeedHealth(Arc<AtomicBool>);

impl FeedHealth {
    /// Whether changes from other processes are reaching this one.
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Waits up to `within` for the feed to connect; whether it did.
    pub fn wait_up(&self, within: Duration) -> bool {
        let until = std::time::Instant::now() + within;
        while !self.is_up() && std::time::Instant::now() < until {
            std::thread::sleep(POLL);
        }
        self.is_up()
    }

    fn set(&self, up: bool) {
        if self.0.swap(up, Ordering::AcqRel) != up {
            if up {
                log::info!("change feed connected");
            } else {
                log::warn!("change feed lost; reconnecting");
            }
        }
    }
}

/// Starts the listener thread for the PostgreSQL database at `url`; `deliver` gets every
/// event, in order, on that thread. The thread runs until the process ends.
pub fn listen(url: String, deliver: impl Fn(FeedEvent) + Send + 'static) -> FeedHealth {
    let health = FeedHealth::default();
    let reported = health.clone();
    let spawned = std::thread::Builder::new()
        .name("pairsync-feed".into())
        .spawn(move || {
            let mut backoff = FIRST_BACKOFF;
            loop {
                match PgConnection::establish(&url) {
                    Ok(mut conn) => match conn.batch_execute(&format!("LISTEN {CHANNEL}")) {
                        Ok(()) => {
                            reported.set(true);
                            backoff = FIRST_BACKOFF;
                            deliver(FeedEvent::Resync);
                            if let Err(e) = pump(&mut conn, &deliver) {
                                log::warn!("change feed: {e}");
                            }
                        }
                        Err(e) => log::warn!("change feed: cannot LISTEN: {e}"),
                    },
                    Err(e) => log::debug!("change feed: cannot connect: {e}"),
                }
                reported.set(false);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start the change feed thread: {e}");
    }
    health
}

/// Hands every notification that arrives on `conn` to `deliver`, chunk sets put back
/// together, until the connection fails (and drops the sets it left incomplete).
fn pump(
    conn: &mut PgConnection,
    deliver: &impl Fn(FeedEvent),
) -> Result<(), diesel::result::Error> {
    let mut chunks = wire::Reassembly::default();
    loop {
        let mut any = false;
        for note in conn.notifications_iter() {
            let note = note?;
            any = true;
            let Some(payload) = chunks.accept(note.payload) else {
                continue;
            };
            match parse(&payload) {
                Some(events) => events.into_iter().for_each(deliver),
                None => {
                    let start: String = payload.chars().take(200).collect();
                    log::warn!("change feed: unreadable payload {start:?}…");
                }
            }
        }
        if !any {
            // `notifications_iter` only reads what has arrived; a dead connection shows up
            // as an error here or at the next poll.
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_the_room_and_its_version() {
        let change = Change {
            code: "ab-cd_EF12".into(),
            version: 42,
            told: "t=pause,r=3766,s".into(),
            carried: None,
        };
        assert_eq!(change.payload(), "ab-cd_EF12:42:t=pause,r=3766,s");
        assert_eq!(Change::parse(&change.payload()), Some(change.clone()));
        assert_eq!(Change::parse("nocolon"), None);
        assert_eq!(Change::parse("code:notanumber:s"), None);
        assert_eq!(
            parse(&change.payload()),
            Some(vec![FeedEvent::Changed(change.clone())])
        );
    }

    #[test]
    fn a_presence_report_survives_the_feed_in_payloads_under_the_limit() {
        let counts: Vec<super::super::presence::Count> = (0..200)
            .map(|i| super::super::presence::Count {
                code: format!("room-code-{i:04}-abcdefghij"),
                streams: i,
                empty_since: None,
                names: vec!["Ann: \"the\" p:".into(), "Bob".into(), "x".repeat(20)],
            })
            .collect();
        let payloads = presence_payloads("proc1", &counts);
        assert!(payloads.len() > 1, "{} payloads", payloads.len());
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            match parse(payload).as_deref() {
                Some([FeedEvent::Presence(report)]) => {
                    assert_eq!(report.process, "proc1");
                    back.extend(report.rooms.clone());
                }
                other => panic!("{other:?}"),
            }
        }
        let sent: Vec<(String, i64, Vec<String>)> = counts
            .into_iter()
            .map(|c| (c.code, c.streams, c.names))
            .collect();
        assert_eq!(back, sent);
    }
}
