//! One stream of the fan-out benchmark: it opens, waits for its greeting, follows the
//! room's story (start, ticks, time-up, the command after it) and records each tick's
//! lateness, its order and its ids. Also the streams that stop reading after their
//! greeting (`--stalled-streams`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{watch, Semaphore, SemaphorePermit};

use crate::args::Mode;
use crate::common::clock::epoch_us;
use crate::common::net::{self, Server};
use crate::common::sse::{Event, Reader};

/// A stalled stream's receive buffer: small, so that its backlog builds up in the server.
const STALLED_RECEIVE_BUFFER: u32 = 4096;
/// At the end, a stalled stream that gives nothing for this long is still open.
const STALLED_DRAIN_QUIET: Duration = Duration::from_millis(300);

/// What the benchmark's stream tasks share.
pub struct Shared {
    pub mode: Mode,
    pub servers: Vec<Server>,
    pub greeted: AtomicUsize,
    pub failed: AtomicUsize,
    pub open_slots: Semaphore,
    pub stop: watch::Receiver<bool>,
}

/// What one stream saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Lateness of each tick, in microseconds.
    pub lateness_us: Vec<i64>,
    /// The value of each tick, in the order received.
    pub tick_values: Vec<i64>,
    /// The instant each tick was read (epoch µs), in the order received.
    pub arrivals_us: Vec<i64>,
    /// The instant the first `timer: start` after the time-up was read (epoch µs): the
    /// command sent after the ticks.
    pub command_us: Option<i64>,
    /// `remaining-time` events out of place (before the deadline was known, after the
    /// last tick, or unparsable).
    pub surprises: u32,
    /// Events whose id was not above the previous one.
    pub id_regressions: u32,
    /// The timer's deadline in epoch µs (pairsync: from the `state` after `timer: start`;
    /// nchan: from the messages).
    pub deadline_us: Option<i64>,
    /// Why the stream failed or ended before the run did.
    pub error: Option<String>,
    pub greeted: bool,
}

/// Where a pairsync stream is in the room's story.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Greeting,
    Idle,
    Starting,
    Running { deadline_ms: i64 },
    Done,
}

/// Runs one stream of room path `path` on server `server`, from `source`, until the run
/// stops or the stream fails.
pub async fn run_stream(
    shared: Arc<Shared>,
    source: IpAddr,
    server: usize,
    path: String,
) -> Outcome {
    let mut outcome = Outcome::default();
    let result = stream_inner(&shared, source, server, &path, &mut outcome).await;
    if let Err(e) = result {
        outcome.error = Some(e);
    }
    if !outcome.greeted {
        shared.failed.fetch_add(1, Ordering::Relaxed);
    }
    outcome
}

async fn stream_inner(
    shared: &Shared,
    source: IpAddr,
    server: usize,
    path: &str,
    outcome: &mut Outcome,
) -> Result<(), String> {
    let server = &shared.servers[server];
    let permit = shared
        .open_slots
        .acquire()
        .await
        .map_err(|e| e.to_string())?;
    let mut tcp = net::connect(source, server, None).await?;
    net::request_stream(&mut tcp, server, path).await?;

    let mut reader = Reader::new();
    let mut phase = Phase::Greeting;
    let mut last_id = 0u64;
    let mut permit = Some(permit);
    let mut stop = shared.stop.clone();
    let mut have_head = false;
    loop {
        reader.raw.reserve(1024);
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
            read = tcp.read_buf(&mut reader.raw) => read,
        };
        let received_us = epoch_us();
        let n = read.map_err(|e| format!("read: {}", net::io_kind(&e)))?;
        if n == 0 {
            return Err("the server closed the stream".into());
        }
        if !have_head {
            let Some(head) = reader.head()? else {
                continue;
            };
            if head.status != 200 {
                return Err(format!("status {}", head.status));
            }
            have_head = true;
            if shared.mode == Mode::Nchan {
                // An nchan subscriber has no greeting: the head means it is subscribed.
                greet(shared, outcome, &mut permit);
            }
        }
        let mut on_event = |event: Event| match shared.mode {
            Mode::Pairsync => {
                if let Ok(id) = event.id.parse::<u64>() {
                    if id <= last_id {
                        outcome.id_regressions += 1;
                    }
                    last_id = id;
                }
                phase = pairsync_event(phase, &event, received_us, outcome);
                if matches!(phase, Phase::Idle) && !outcome.greeted {
                    greet(shared, outcome, &mut permit);
                }
            }
            Mode::Nchan => nchan_event(&event, received_us, outcome),
        };
        if !reader.events(&mut on_event)? {
            return Err("the server ended the stream".into());
        }
    }
}

fn greet(shared: &Shared, outcome: &mut Outcome, permit: &mut Option<SemaphorePermit<'_>>) {
    outcome.greeted = true;
    shared.greeted.fetch_add(1, Ordering::Relaxed);
    // Let another stream connect.
    permit.take();
}

/// Follows one pairsync event: greeting, start, ticks, time-up.
fn pairsync_event(phase: Phase, event: &Event, received_us: i64, outcome: &mut Outcome) -> Phase {
    match (phase, event.name.as_str()) {
        (Phase::Greeting, "state") => Phase::Idle,
        (Phase::Idle, "timer") if event.data == "start" => Phase::Starting,
        (Phase::Starting, "state") => {
            let deadline = serde_json::from_str::<serde_json::Value>(&event.data)
                .ok()
                .and_then(|v| v["deadlineAt"].as_i64());
            match deadline {
                Some(deadline_ms) => {
                    outcome.deadline_us = Some(deadline_ms * 1000);
                    Phase::Running { deadline_ms }
                }
                None => {
                    outcome.surprises += 1;
                    Phase::Done
                }
            }
        }
        (Phase::Running { deadline_ms }, "remaining-time") => {
            let Ok(value) = event.data.parse::<i64>() else {
                outcome.surprises += 1;
                return phase;
            };
            let due_us = (deadline_ms - value) * 1000;
            outcome.lateness_us.push(received_us - due_us);
            outcome.tick_values.push(value);
            outcome.arrivals_us.push(received_us);
            if value == 0 {
                Phase::Done
            } else {
                phase
            }
        }
        // Any other stop of a running timer is not part of this benchmark.
        (Phase::Running { .. }, "timer") => {
            outcome.surprises += 1;
            Phase::Done
        }
        (Phase::Idle | Phase::Starting, "remaining-time") => {
            outcome.surprises += 1;
            phase
        }
        (Phase::Done, "timer") if event.data == "start" && outcome.command_us.is_none() => {
            outcome.command_us = Some(received_us);
            phase
        }
        _ => phase,
    }
}

/// One nchan message: `"<value> <due epoch µs>"`.
fn nchan_event(event: &Event, received_us: i64, outcome: &mut Outcome) {
    let mut fields = event.data.split_whitespace().map(|f| f.parse::<i64>().ok());
    match (fields.next().flatten(), fields.next().flatten()) {
        (Some(value), Some(due_us)) if event.name == "remaining-time" => {
            outcome.lateness_us.push(received_us - due_us);
            outcome.tick_values.push(value);
            outcome.arrivals_us.push(received_us);
            outcome.deadline_us.get_or_insert(due_us + value * 1000);
        }
        _ => outcome.surprises += 1,
    }
}

/// How one stream's ticks compare with the countdown's values (`expected`, decreasing).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickOrder {
    /// Values of the countdown the stream never got.
    pub missed: usize,
    /// Ticks that were not the next value down: repeated, rising, or not a value of the
    /// countdown.
    pub out_of_order: usize,
}

/// Compares one stream's ticks with the countdown's values.
pub fn tick_order(received: &[i64], expected: &[i64]) -> TickOrder {
    let mut order = TickOrder::default();
    let mut got = BTreeSet::new();
    let mut previous = None;
    for &value in received {
        let in_countdown = expected.contains(&value);
        let falling = previous.is_none_or(|p| value < p);
        let first_time = got.insert(value);
        if !in_countdown || !falling || !first_time {
            order.out_of_order += 1;
        }
        previous = Some(value);
    }
    order.missed = expected.iter().filter(|v| !got.contains(v)).count();
    order
}

/// What a stream that stopped reading saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stalled {
    /// It was answered `200` (and, on pairsync, read its greeting).
    pub opened: bool,
    /// By the end, the server had ended it (it is dropped once its backlog passes a bound).
    pub ended_by_server: bool,
}

/// A stream that reads its answer (and its greeting on pairsync), then reads nothing more
/// until the run stops; it then finds out whether the server ended it meanwhile.
pub async fn run_stalled(
    shared: Arc<Shared>,
    source: IpAddr,
    server: usize,
    path: String,
) -> Stalled {
    let mut seen = Stalled::default();
    let server = &shared.servers[server];
    let Ok(mut tcp) = net::connect(source, server, Some(STALLED_RECEIVE_BUFFER)).await else {
        return seen;
    };
    if net::request_stream(&mut tcp, server, &path).await.is_err() {
        return seen;
    }
    let mut reader = Reader::new();
    let mut have_head = false;
    loop {
        reader.raw.reserve(1024);
        match tcp.read_buf(&mut reader.raw).await {
            Ok(0) | Err(_) => return seen,
            Ok(_) => {}
        }
        if !have_head {
            match reader.head() {
                Ok(Some(head)) if head.status == 200 => have_head = true,
                Ok(None) => continue,
                Ok(Some(_)) | Err(_) => return seen,
            }
            if shared.mode == Mode::Nchan {
                break;
            }
        }
        let mut greeted = false;
        match reader.events(&mut |e: Event| greeted |= e.name == "state") {
            Ok(true) if greeted => break,
            Ok(true) => {}
            Ok(false) | Err(_) => return seen,
        }
    }
    seen.opened = true;
    let mut stop = shared.stop.clone();
    let _ = stop.wait_for(|stopping| *stopping).await;
    // Drain what the kernel holds: the end of the stream, or silence while it is open.
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(STALLED_DRAIN_QUIET, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                seen.ended_by_server = true;
                return seen;
            }
            Ok(Ok(_)) => {}
            Err(_) => return seen,
        }
    }
}
