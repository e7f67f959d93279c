//! The chaos test's streams: each room watched through nginx, reconnecting as a browser's
//! `EventSource` does, every event marked with when it came.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::*;

/// What happened on one stream, in order (instants in epoch µs).
#[derive(Debug, Clone)]
pub(super) enum Mark {
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
pub(super) struct StreamLog {
    pub(super) marks: Vec<Mark>,
    /// Ids that did not increase within one connection.
    pub(super) ids_out_of_order: usize,
}

/// Reads the room's events through nginx for as long as `stop` says nothing, reconnecting
/// after every end or failure as an `EventSource` does: after the stream's `retry:`, with
/// `Last-Event-ID` once it has seen an id.
pub(super) async fn watch_room(
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
