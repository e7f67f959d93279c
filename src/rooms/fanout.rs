//! One room's open streams and the SSE frames they are sent.
//!
//! Each frame is built once and handed to every stream behind an `Arc` (one reference
//! count per stream, and an 8-byte slot in each stream's queue). Each stream has a small bounded queue; a stream
//! whose queue is full belongs to a client that stopped reading, and is dropped at
//! once so that it never delays the others.

use std::sync::Arc;

use actix_web_lab::sse;
use tokio::sync::mpsc;

use crate::metrics::{Metrics, StreamEnd};
use crate::rules::Notice;

/// Events a stream may have queued in the server before it counts as stalled. With the
/// HTTP layer's write buffer ([`crate::startup::WRITE_BUFFER_BYTES`]) this keeps a stalled
/// stream's backlog well under the contract's bound of 256 events or 64 KiB.
pub const STREAM_QUEUE: usize = 32;

/// One SSE frame, shared by every stream it is sent to.
pub type Frame = Arc<sse::Event>;

/// A stream's receiving end, handed to the HTTP layer.
pub type StreamReceiver = mpsc::Receiver<Frame>;

struct Subscriber {
    id: u64,
    /// The person the stream was opened for, if it named one.
    name: Option<String>,
    tx: mpsc::Sender<Frame>,
}

/// A stream the fan-out let go: its id, and the name it was opened with.
pub type Gone = (u64, Option<String>);

/// The streams of one room.
pub struct Fanout {
    /// The open streams, each with its bounded queue.
    subscribers: Vec<Subscriber>,
    /// The id the next stream gets, which matches a client's hang-up to its stream.
    next_subscriber: u64,
    /// The `id:` of the last event built; ids strictly increase on every stream of the room.
    next_event_id: u64,
    metrics: Metrics,
    /// The shortened access code, for log lines.
    room: String,
}

/// The SSE event name of a notice.
fn event_name(notice: &Notice) -> &'static str {
    match notice {
        Notice::Remaining(_) => "remaining-time",
        Notice::Timer(_) => "timer",
        Notice::State(_) => "state",
        Notice::Presence(_) => "presence",
        Notice::Todos(_) => "todos",
        Notice::Links(_) => "links",
    }
}

fn notice_data(notice: &Notice) -> String {
    match notice {
        Notice::Remaining(ms) => ms.to_string(),
        Notice::Timer(event) => event.as_str().to_string(),
        Notice::State(snapshot) => serde_json::to_string(snapshot).unwrap_or_default(),
        Notice::Presence(view) => serde_json::to_string(view).unwrap_or_default(),
        Notice::Todos(goals) => serde_json::to_string(goals).unwrap_or_default(),
        Notice::Links(links) => serde_json::to_string(links).unwrap_or_default(),
    }
}

/// An SSE event named `name` with `data` and the `id:` `id`.
fn event(name: &'static str, data: String, id: u64) -> sse::Event {
    sse::Data::new(data).event(name).id(id.to_string()).into()
}

/// The SSE event of `notice` with the `id:` `id`, exactly as every stream of a room is sent
/// it: the event name, and the data on one line (a number, a word, or a `state` snapshot
/// as compact JSON, whose strings escape every line break).
pub fn notice_frame(notice: &Notice, id: u64) -> sse::Event {
    event(event_name(notice), notice_data(notice), id)
}

impl Fanout {
    /// No streams yet; `room` names the room in log lines (a shortened access code).
    pub fn new(metrics: Metrics, room: &str) -> Fanout {
        Fanout {
            subscribers: Vec::new(),
            next_subscriber: 0,
            next_event_id: 0,
            metrics,
            room: room.to_string(),
        }
    }

    /// Open streams.
    pub fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// Whether no stream is open.
    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    fn frame(&mut self, name: &'static str, data: String) -> Frame {
        self.next_event_id += 1;
        Arc::new(event(name, data, self.next_event_id))
    }

    /// The frame of `notice`, with the room's next event id.
    fn notice(&mut self, notice: &Notice) -> Frame {
        self.next_event_id += 1;
        Arc::new(notice_frame(notice, self.next_event_id))
    }

    /// Lets go of the stream at `index` and records why; answers its id and name.
    fn end(&mut self, index: usize, reason: StreamEnd) -> Gone {
        let Subscriber { id, name, .. } = self.subscribers.swap_remove(index);
        self.metrics.sse_streams.dec();
        self.metrics.stream_ended(reason);
        log::info!("room {}…: stream {id} ended: {}", self.room, reason.label());
        (id, name)
    }

    /// Opens a stream for `name` (or anonymous) that first gets `event: connect` /
    /// `data: OK` and then `greeting`. Returns its id (to [`Fanout::remove`] it later), a
    /// sender clone that tells when the client has gone (`closed()`), and the receiving end.
    pub fn subscribe(
        &mut self,
        name: Option<String>,
        greeting: &[Notice],
    ) -> (u64, mpsc::Sender<Frame>, StreamReceiver) {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        let connect = self.frame("connect", "OK".to_string());
        // A fresh queue holds the whole greeting.
        let _ = tx.try_send(connect);
        self.metrics.sent("connect", 1);
        for notice in greeting {
            let name = event_name(notice);
            let frame = self.notice(notice);
            let _ = tx.try_send(frame);
            self.metrics.sent(name, 1);
        }
        self.metrics.sse_streams.inc();
        let id = self.next_subscriber;
        self.next_subscriber += 1;
        self.subscribers.push(Subscriber {
            id,
            name,
            tx: tx.clone(),
        });
        log::info!(
            "room {}…: stream {id} opened ({} open)",
            self.room,
            self.subscribers.len()
        );
        (id, tx, rx)
    }

    /// Forgets the stream `id`, whose client closed it. When it was open, the name it was
    /// opened with.
    pub fn remove(&mut self, id: u64) -> Option<Option<String>> {
        let index = self.subscribers.iter().position(|s| s.id == id)?;
        Some(self.end(index, StreamEnd::ClientClosed).1)
    }

    /// Lets go of every stream without a word (they end; their clients reconnect).
    pub fn detach_all(&mut self) {
        let open = self.subscribers.len();
        self.subscribers.clear();
        self.metrics
            .sse_streams
            .sub(i64::try_from(open).unwrap_or(0));
    }

    /// Queues `frame` on every stream; a stream whose queue is full (a client that stopped
    /// reading) or closed is let go. Answers how many got it, and the ids let go.
    fn send_all(&mut self, frame: &Frame, gone: &mut Vec<Gone>) -> usize {
        let mut sent = 0;
        let mut i = 0;
        while i < self.subscribers.len() {
            match self.subscribers[i].tx.try_send(frame.clone()) {
                Ok(()) => {
                    sent += 1;
                    i += 1;
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    gone.push(self.end(i, StreamEnd::Stalled))
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    gone.push(self.end(i, StreamEnd::ClientClosed))
                }
            }
        }
        sent
    }

    /// Sends `notices` to every stream, in order. Returns the streams that were dropped or
    /// found closed.
    pub fn broadcast(&mut self, notices: &[Notice]) -> Vec<Gone> {
        let mut gone = Vec::new();
        for notice in notices {
            let name = event_name(notice);
            let frame = self.notice(notice);
            let sent = self.send_all(&frame, &mut gone);
            self.metrics.sent(name, sent);
        }
        gone
    }

    /// Sends an SSE comment to every stream. Returns the streams let go.
    pub fn heartbeat(&mut self) -> Vec<Gone> {
        let comment = Arc::new(sse::Event::Comment("heartbeat".into()));
        let mut gone = Vec::new();
        self.send_all(&comment, &mut gone);
        gone
    }

    /// Sends `event: close` / `data: OK` to every stream and lets go of them all, which
    /// ends each stream once its queue is written. Each stream is counted once: as
    /// stalled or closed when it could not take the frame, else as ended by the delete.
    pub fn close_all(&mut self) {
        let frame = self.frame("close", "OK".to_string());
        let mut gone = Vec::new();
        let sent = self.send_all(&frame, &mut gone);
        self.metrics.sent("close", sent);
        while !self.subscribers.is_empty() {
            self.end(self.subscribers.len() - 1, StreamEnd::RoomDeleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::TimerEvent;

    fn metrics() -> Metrics {
        Metrics::new().expect("metrics")
    }

    /// `(event, id)` of every frame queued on `rx`; comments as `(":", "")`.
    fn drain(rx: &mut StreamReceiver) -> Vec<(String, String)> {
        let mut out = Vec::new();
        while let Ok(frame) = rx.try_recv() {
            let text = format!("{:?}", frame.as_ref());
            let field = |name: &str| {
                let start = text.find(&format!("{name}: Some(\""))? + name.len() + 8;
                let len = text[start..].find('"')?;
                Some(text[start..start + len].to_string())
            };
            match frame.as_ref() {
                sse::Event::Comment(_) => out.push((":".into(), String::new())),
                sse::Event::Data(_) => out.push((
                    field("event").unwrap_or_default(),
                    field("id").unwrap_or_default(),
                )),
            }
        }
        out
    }

    fn series(m: &Metrics, line_start: &str) -> String {
        m.render()
            .lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn event_ids_strictly_increase_on_every_stream_across_greetings_and_broadcasts() {
        let mut f = Fanout::new(metrics(), "room");
        let (_, _tx1, mut early) = f.subscribe(None, &[Notice::Remaining(5000)]);
        f.broadcast(&[Notice::Timer(TimerEvent::Start)]);
        let (_, _tx2, mut late) = f.subscribe(None, &[Notice::Remaining(4000)]);
        f.broadcast(&[Notice::Remaining(3000), Notice::Timer(TimerEvent::Pause)]);
        for rx in [&mut early, &mut late] {
            let ids: Vec<u64> = drain(rx)
                .iter()
                .map(|(_, id)| id.parse().expect("numeric id"))
                .collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        }
    }

    #[test]
    fn a_stream_that_stops_reading_is_dropped_and_the_others_still_get_everything() {
        let m = metrics();
        let mut f = Fanout::new(m.clone(), "room");
        let (stalled, _tx1, _rx_kept_unread) = f.subscribe(None, &[]);
        let (_, _tx2, mut reader) = f.subscribe(None, &[]);
        let mut dropped = Vec::new();
        let mut read = 0;
        for i in 0..(STREAM_QUEUE as i64 + 5) {
            dropped.extend(f.broadcast(&[Notice::Remaining(i)]));
            read += drain(&mut reader).len();
        }
        assert_eq!(dropped, vec![(stalled, None)]);
        assert_eq!(read, 1 + STREAM_QUEUE + 5);
        assert_eq!(f.len(), 1);
        assert_eq!(
            series(&m, "pairsync_streams_dropped_total "),
            "pairsync_streams_dropped_total 1"
        );
    }

    #[test]
    fn close_all_sends_close_and_counts_each_stream_once() {
        let m = metrics();
        let mut f = Fanout::new(m.clone(), "room");
        let (_, tx, mut open) = f.subscribe(None, &[]);
        drop(tx);
        let (_, gone_tx, gone_rx) = f.subscribe(None, &[]);
        drop(gone_rx);
        drop(gone_tx);
        f.close_all();
        assert_eq!(
            drain(&mut open).last().map(|(e, _)| e.as_str()),
            Some("close")
        );
        assert!(open.is_closed());
        assert!(f.is_empty());
        let ended = |reason: &str| {
            series(
                &m,
                &format!("pairsync_streams_ended_total{{reason=\"{reason}\"}}"),
            )
        };
        assert!(ended("room_deleted").ends_with(" 1"), "{}", m.render());
        assert!(ended("client_closed").ends_with(" 1"), "{}", m.render());
        assert_eq!(
            series(&m, "pairsync_sse_streams "),
            "pairsync_sse_streams 0"
        );
    }

    /// The bytes a stream's body writes for `frame`.
    fn wire(frame: sse::Event) -> String {
        use actix_web::body::MessageBody;
        use std::task::{Context, Poll, Waker};
        let body = std::pin::pin!(sse::Sse::from_infallible_stream(
            futures_util::stream::iter([frame])
        ));
        match body.poll_next(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Some(Ok(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => panic!("a frame is written at once"),
        }
    }

    #[test]
    fn a_state_frame_is_one_data_line_whatever_the_names_hold() {
        let room = crate::rules::NewRoom {
            members: crate::rules::Members::pair("Bob", "Ann").expect("two names"),
            mission_url: String::new(),
            duration: 60_000,
            remaining: 60_000,
            settings: crate::rules::RoomSettings::default(),
        }
        .into_room("AbCdEfGhIjKl".into(), 0);
        // Whatever a name could hold, even what no member's name may.
        let mut snapshot = room.snapshot(0);
        snapshot.navigator = "a\nevent: close\r\ndata: OK\r\r".into();
        snapshot.driver = "\"}\u{2028}\u{0}\\".into();
        snapshot.members = vec![snapshot.driver.clone(), snapshot.navigator.clone()];
        snapshot.presence.here = snapshot.members.clone();
        let text = wire(notice_frame(&Notice::State(snapshot.clone()), 7));
        assert!(!text.contains('\r'), "{text:?}");
        let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert_eq!(lines[..2], ["id: 7", "event: state"]);
        let data = lines[2].strip_prefix("data: ").expect("a data line");
        let json: serde_json::Value = serde_json::from_str(data).expect("JSON");
        assert_eq!(
            json["navigator"].as_str(),
            Some(snapshot.navigator.as_str())
        );
        assert_eq!(json["driver"].as_str(), Some(snapshot.driver.as_str()));
        assert_eq!(json["here"][1].as_str(), Some(snapshot.navigator.as_str()));
    }

    #[test]
    fn a_heartbeat_is_a_comment_to_every_stream() {
        let mut f = Fanout::new(metrics(), "room");
        let (_, _tx, mut rx) = f.subscribe(None, &[]);
        drain(&mut rx);
        assert!(f.heartbeat().is_empty());
        assert_eq!(drain(&mut rx), [(":".to_string(), String::new())]);
    }
}
