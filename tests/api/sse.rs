//! The client side of an event stream: reads a response body frame by frame, as an
//! `EventSource` would, and stamps each frame with the instant it arrived.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::expect::now_us;

/// One block of an event stream.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// `id:`
    pub id: Option<String>,
    /// `event:`
    pub event: Option<String>,
    /// `data:`
    pub data: Option<String>,
    /// `retry:`
    pub retry: Option<u64>,
    /// A `:` comment line.
    pub comment: Option<String>,
    /// When the client had it (epoch µs).
    pub received_us: i64,
}

impl Frame {
    /// `event` and `data`, for comparing sequences.
    pub fn pair(&self) -> (String, String) {
        (
            self.event.clone().unwrap_or_default(),
            self.data.clone().unwrap_or_default(),
        )
    }

    /// The `id:` as a number; panics when there is none or it is not a decimal integer.
    pub fn id_number(&self) -> u64 {
        self.id
            .as_deref()
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("a decimal id on {self:?}"))
    }

    /// The data parsed as a number of milliseconds.
    pub fn ms(&self) -> i64 {
        self.data
            .as_deref()
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("a number as the data of {self:?}"))
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().unwrap_or("null")).expect("json data")
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, String>> + Send>>;

/// The events a stream sets aside unless a test asks for them: they come when their own
/// state changes (who is here, the goals), beside the timer's events, and the tests of the
/// timer read around them.
pub const SET_ASIDE_BY_DEFAULT: [&str; 3] = ["presence", "todos", "links"];

/// What the reader of a stream hands over.
enum Incoming {
    Frame(Frame),
    /// A block no `EventSource` would read as the contract's events: the test fails on it.
    Malformed(String),
}

/// A client's view of one SSE stream. The body is read by a task of its own from the moment
/// the response arrives, and each frame is stamped as it comes off the connection, so that
/// when the test reads it (it may be waiting on another stream) changes nothing of its time.
pub struct EventStream {
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    incoming: tokio::sync::mpsc::UnboundedReceiver<Incoming>,
    ended: bool,
    /// The event names left out of what the reading methods return.
    set_aside: Vec<String>,
    /// The events left out, in arrival order.
    pub aside: Vec<Frame>,
}

impl EventStream {
    /// Reads the stream of an already answered request.
    pub fn from_response(res: reqwest::Response) -> EventStream {
        let headers = res.headers().clone();
        EventStream::from_body(
            headers,
            res.bytes_stream().map(|r| r.map_err(|e| e.to_string())),
        )
    }

    /// Reads a stream from its headers and body chunks (from any HTTP client).
    pub fn from_body(
        headers: reqwest::header::HeaderMap,
        body: impl Stream<Item = Result<bytes::Bytes, String>> + Send + 'static,
    ) -> EventStream {
        let (sink, incoming) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(read_frames(Box::pin(body), sink));
        EventStream {
            headers,
            incoming,
            ended: false,
            set_aside: SET_ASIDE_BY_DEFAULT.map(String::from).to_vec(),
            aside: Vec::new(),
        }
    }

    /// This stream, returning every event, `presence`, `todos` and `links` included.
    pub fn every_event(mut self) -> EventStream {
        self.set_aside.clear();
        self
    }

    /// The next frame of any kind (comments and `retry` included), or `None` when the stream
    /// ended or nothing came within `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        while !self.ended {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return None,
                Ok(None) => self.ended = true,
                Ok(Some(Incoming::Malformed(why))) => panic!("{why}"),
                Ok(Some(Incoming::Frame(f))) => {
                    if f.event.as_ref().is_some_and(|e| self.set_aside.contains(e)) {
                        self.aside.push(f);
                        continue;
                    }
                    return Some(f);
                }
            }
        }
        None
    }

    /// The next event (comments and `retry` skipped); panics when none comes within `within`.
    pub async fn next_event(&mut self, within: Duration) -> Frame {
        loop {
            let frame = self
                .next_frame(within)
                .await
                .unwrap_or_else(|| panic!("no event within {within:?}"));
            if frame.event.is_some() {
                return frame;
            }
        }
    }

    /// The next `n` events as `(event, data)` pairs.
    pub async fn pairs(&mut self, n: usize, within: Duration) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next_event(within).await.pair());
        }
        out
    }

    /// Skips the connect sequence of a fresh stream (through its `state` event).
    pub async fn skip_greeting(&mut self) -> Frame {
        loop {
            let f = self.next_event(Duration::from_secs(5)).await;
            if f.event.as_deref() == Some("state") {
                return f;
            }
        }
    }

    /// Whether the stream ends (the server closed it) within `within`.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            let left = deadline - tokio::time::Instant::now();
            if self.next_frame(left).await.is_none() {
                return self.ended;
            }
        }
        false
    }

    /// Whether the stream stays open and no event arrives on it within `within` (comments
    /// are allowed). A stream the server ended is not quiet: it is gone.
    pub async fn quiet_for(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            match self.next_frame(left).await {
                None => return !self.ended,
                Some(f) if f.event.is_some() => return false,
                Some(_) => {}
            }
        }
    }
}

/// Reads `body` until it ends or the stream is dropped, handing over each frame stamped
/// with the instant its last byte came off the connection.
async fn read_frames(mut body: ByteStream, sink: tokio::sync::mpsc::UnboundedSender<Incoming>) {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = sink.closed() => return,
            chunk = body.next() => chunk,
        };
        let Some(Ok(bytes)) = chunk else {
            return;
        };
        let received_us = now_us();
        buffer.extend_from_slice(&bytes);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buffer.drain(..end + 2).collect();
            let incoming = match parse_block(&String::from_utf8_lossy(&block), received_us) {
                Ok(frame) => Incoming::Frame(frame),
                Err(why) => Incoming::Malformed(why),
            };
            if sink.send(incoming).is_err() {
                return;
            }
        }
    }
}

/// One block of the stream as a frame.
fn parse_block(block: &str, received_us: i64) -> Result<Frame, String> {
    let mut frame = Frame {
        received_us,
        ..Frame::default()
    };
    for line in block.lines() {
        if let Some(c) = line.strip_prefix(':') {
            frame.comment = Some(c.trim().to_string());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "id" => frame.id = Some(value),
                "event" => frame.event = Some(value),
                "data" if frame.data.is_some() => {
                    return Err(format!("event data is one line: {block:?}"))
                }
                "data" => frame.data = Some(value),
                "retry" => frame.retry = value.parse().ok(),
                other => return Err(format!("unknown field {other} in {block:?}")),
            }
        }
    }
    Ok(frame)
}

/// A stream read in the background: every frame it brings is kept, stamped, for the test
/// to look at while it does other things.
pub struct Recording {
    frames: std::sync::Arc<std::sync::Mutex<Vec<Frame>>>,
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reader: tokio::task::JoinHandle<()>,
}

impl Recording {
    /// Starts reading `stream` until it ends (or the recording is dropped).
    pub fn start(mut stream: EventStream) -> Recording {
        let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, done) = (frames.clone(), ended.clone());
        let reader = tokio::spawn(async move {
            while let Some(frame) = stream.next_frame(Duration::from_secs(3600)).await {
                sink.lock().expect("frames lock").push(frame);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Recording {
            frames,
            ended,
            reader,
        }
    }

    /// The events received so far (comments and `retry` left out), in order.
    pub fn events(&self) -> Vec<Frame> {
        self.frames
            .lock()
            .expect("frames lock")
            .iter()
            .filter(|f| f.event.is_some())
            .cloned()
            .collect()
    }

    /// Whether the server ended the stream.
    pub fn ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits (at most `within`) for the first event that `wanted` accepts; that event.
    pub async fn until(&self, within: Duration, wanted: impl Fn(&Frame) -> bool) -> Frame {
        self.until_from(0, within, wanted).await
    }

    /// Waits (at most `within`) for the first event from the `from`-th on that `wanted`
    /// accepts; that event.
    pub async fn until_from(
        &self,
        from: usize,
        within: Duration,
        wanted: impl Fn(&Frame) -> bool,
    ) -> Frame {
        crate::expect::eventually(within, || async {
            self.events().into_iter().skip(from).find(|f| wanted(f))
        })
        .await
    }

    /// Waits (at most `within`) for the first event with this name and data; that event.
    pub async fn until_event(&self, event: &str, data: &str, within: Duration) -> Frame {
        let wanted = (event.to_string(), data.to_string());
        self.until(within, |f| f.pair() == wanted).await
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
