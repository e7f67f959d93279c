//! One stream of the reconnect storm, a client written as the contract asks of one that is
//! not a browser: on any end of its stream it waits the latest `retry:` delay (the server
//! sends `retry: 250` as it stops) and reconnects; a refused connection is tried again
//! after the same delay, and an answer other than `200` after its `Retry-After`. It
//! records every answer, every greeting (`state`), every end and every tick.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{watch, Semaphore, SemaphorePermit};

use crate::common::clock::epoch_us;
use crate::common::net::{self, Answer, Server};
use crate::common::sse::{Event, Reader};

/// The reconnection delay before the server has sent any `retry:`.
const DEFAULT_RETRY_MS: u64 = 1000;

/// What the stream tasks share; the counters drive the progress and the end of the run.
pub struct Shared {
    pub server: Server,
    pub open_slots: Semaphore,
    pub stop: watch::Receiver<bool>,
    /// Streams greeted once, and streams that gave up before that.
    pub greeted: AtomicUsize,
    pub failed: AtomicUsize,
    /// The instant (epoch µs) the restart was asked for; 0 before.
    pub restart_us: AtomicI64,
    /// Since the restart: streams that ended, that were greeted again, and that then
    /// had a tick.
    pub ended: AtomicUsize,
    pub back: AtomicUsize,
    pub ticked: AtomicUsize,
}

/// One tick as read.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    pub value: i64,
    pub arrival_us: i64,
    pub lateness_us: i64,
}

/// What one stream saw over the run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every answer and connection failure, by kind (`200`, `503 too_many_streams`,
    /// `connect: connection refused`, …).
    pub answers: BTreeMap<String, usize>,
    /// The instant of every connection attempt, and of every `200` head.
    pub attempts_us: Vec<i64>,
    pub accepted_us: Vec<i64>,
    /// The instant of every greeting (the `state` of each connection's connect sequence).
    pub greetings_us: Vec<i64>,
    /// The instant of every end of a stream that had been answered `200`.
    pub ends_us: Vec<i64>,
    pub ticks: Vec<Tick>,
    /// Ticks that were not below the previous one (repeated or rising).
    pub out_of_order: u32,
    /// Connect sequences whose running timer had another deadline than the one known.
    pub deadline_changes: u32,
    /// Events out of place (a tick before any deadline was known, a timer stopped).
    pub surprises: u32,
    /// Events whose id was not above the previous one on the same connection.
    pub id_regressions: u32,
    /// Connection attempts after the restart was asked for.
    pub attempts_after_restart: u32,
    pub deadline_ms: Option<i64>,
    /// Why the stream gave up before its first greeting.
    pub error: Option<String>,
}

/// Per-stream flags for the shared counters.
#[derive(Default)]
struct Counted {
    ended: bool,
    back: bool,
    ticked: bool,
}

/// Runs one stream of `path` until the run stops. Its first connection holds one of the
/// open slots until its greeting; its reconnections do not wait for any (that is the storm).
pub async fn run(shared: Arc<Shared>, source: IpAddr, path: String) -> Outcome {
    let mut outcome = Outcome::default();
    let mut counted = Counted::default();
    let mut retry_ms = DEFAULT_RETRY_MS;
    let mut stop = shared.stop.clone();
    let mut permit = Some(
        shared
            .open_slots
            .acquire()
            .await
            .expect("the semaphore is never closed"),
    );
    loop {
        if *stop.borrow() {
            return outcome;
        }
        if shared.restart_us.load(Ordering::Relaxed) > 0 {
            outcome.attempts_after_restart += 1;
        }
        let mut conn = Connection {
            shared: &shared,
            outcome: &mut outcome,
            counted: &mut counted,
            retry_ms: &mut retry_ms,
            permit: &mut permit,
        };
        let next = conn.run(source, &path, &mut stop).await;
        if outcome.greetings_us.is_empty() {
            // The first open failed: no storm yet, this stream is lost to the run.
            outcome.error = Some(match next {
                Err(e) => e,
                Ok(_) => "the stream ended before its greeting".into(),
            });
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return outcome;
        }
        let wait_ms = match next {
            Ok(Some(ms)) => ms,
            Ok(None) => return outcome,
            Err(_) => retry_ms,
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return outcome,
            _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
        }
    }
}

/// One connection of a stream, and the stream's state it updates.
struct Connection<'a, 'p> {
    shared: &'a Shared,
    outcome: &'a mut Outcome,
    counted: &'a mut Counted,
    retry_ms: &'a mut u64,
    permit: &'a mut Option<SemaphorePermit<'p>>,
}

impl Connection<'_, '_> {
    /// From the connect to the end of the stream. `Ok(Some(ms))` to try again after
    /// `ms`, `Ok(None)` when the run stopped, `Err` for a connection that could not be
    /// made (the caller waits the `retry:` delay).
    async fn run(
        &mut self,
        source: IpAddr,
        path: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<u64>, String> {
        let shared = self.shared;
        let server = &shared.server;
        self.outcome.attempts_us.push(epoch_us());
        let mut tcp = match net::connect(source, server, None).await {
            Ok(tcp) => tcp,
            Err(e) => return Err(self.answer(e)),
        };
        net::request_stream(&mut tcp, server, path)
            .await
            .map_err(|e| self.answer(e))?;
        let mut reader = Reader::new();
        let answer = tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(None),
            answer = net::read_answer(&mut tcp, &mut reader) => answer,
        };
        match answer {
            Err(e) => return Err(self.answer(e)),
            Ok(Answer::Refused(r)) => {
                self.answer(r.to_string());
                return Ok(Some(r.retry_after_s.map_or(*self.retry_ms, |s| s * 1000)));
            }
            Ok(Answer::Stream(_)) => {
                self.outcome.accepted_us.push(epoch_us());
                self.answer("200".into())
            }
        };
        let mut greeted = false;
        let mut last_id = 0u64;
        // Bytes that came with the head are decoded before the first read.
        let mut first = true;
        loop {
            if !first {
                reader.raw.reserve(1024);
                let read = tokio::select! {
                    _ = stop.wait_for(|s| *s) => return Ok(None),
                    read = tcp.read_buf(&mut reader.raw) => read,
                };
                if !matches!(read, Ok(n) if n > 0) {
                    break;
                }
            }
            first = false;
            let received_us = epoch_us();
            let mut on_event = |event: Event| {
                if let Ok(id) = event.id.parse::<u64>() {
                    if id <= last_id {
                        self.outcome.id_regressions += 1;
                    }
                    last_id = id;
                }
                self.follow(&event, received_us, &mut greeted);
            };
            let open = reader.events(&mut on_event);
            if let Some(ms) = reader.retry_ms {
                *self.retry_ms = ms;
            }
            if !matches!(open, Ok(true)) {
                break;
            }
        }
        let ended_us = epoch_us();
        self.outcome.ends_us.push(ended_us);
        let restart_us = self.shared.restart_us.load(Ordering::Relaxed);
        if restart_us > 0 && ended_us >= restart_us && !self.counted.ended {
            self.counted.ended = true;
            self.shared.ended.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Some(*self.retry_ms))
    }

    /// Counts one answer or failure; returns it.
    fn answer(&mut self, kind: String) -> String {
        *self.outcome.answers.entry(kind.clone()).or_default() += 1;
        kind
    }

    /// Follows one event of a connection: its greeting, the start, the ticks.
    fn follow(&mut self, event: &Event, received_us: i64, greeted: &mut bool) {
        let (shared, outcome, counted) = (self.shared, &mut *self.outcome, &mut *self.counted);
        match event.name.as_str() {
            "state" => {
                let deadline = serde_json::from_str::<serde_json::Value>(&event.data)
                    .ok()
                    .and_then(|v| v["deadlineAt"].as_i64());
                if !*greeted {
                    *greeted = true;
                    if outcome.greetings_us.is_empty() {
                        shared.greeted.fetch_add(1, Ordering::Relaxed);
                        // Let another stream open.
                        self.permit.take();
                    }
                    outcome.greetings_us.push(received_us);
                    if counted.ended && !counted.back {
                        counted.back = true;
                        shared.back.fetch_add(1, Ordering::Relaxed);
                    }
                    if let (Some(known), Some(now)) = (outcome.deadline_ms, deadline) {
                        if known != now {
                            outcome.deadline_changes += 1;
                        }
                    }
                }
                if let Some(d) = deadline {
                    outcome.deadline_ms = Some(d);
                }
            }
            // The connect sequence's live remaining time comes before its `state`: not a
            // tick.
            "remaining-time" if *greeted => {
                let (Ok(value), Some(deadline_ms)) =
                    (event.data.parse::<i64>(), outcome.deadline_ms)
                else {
                    outcome.surprises += 1;
                    return;
                };
                if outcome.ticks.last().is_some_and(|t| value >= t.value) {
                    outcome.out_of_order += 1;
                }
                outcome.ticks.push(Tick {
                    value,
                    arrival_us: received_us,
                    lateness_us: received_us - (deadline_ms - value) * 1000,
                });
                if counted.back && !counted.ticked {
                    counted.ticked = true;
                    shared.ticked.fetch_add(1, Ordering::Relaxed);
                }
            }
            "timer" if *greeted && event.data != "start" => outcome.surprises += 1,
            _ => {}
        }
    }
}
