//! A minimal HTTP/1.1 response reader that turns an event stream's bytes into server-sent
//! events: the response head (status and headers), the body's framing (chunked, by
//! length, or until the connection closes), and the SSE lines (`event`, `data`, `id`,
//! `retry`, comments). It holds one read buffer and nothing else, so that thousands of
//! streams cost the benchmark little.

/// One server-sent event.
#[derive(Debug, Default, Clone)]
pub struct Event {
    pub name: String,
    pub data: String,
    pub id: String,
}

/// A response head.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    /// Header names in lower case, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in seconds, when present and a number.
    pub fn retry_after_s(&self) -> Option<u64> {
        self.header("retry-after")?.parse().ok()
    }
}

/// How the response body is framed.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// Until the connection closes.
    Plain,
    /// `Content-Length`: this many bytes left.
    Length(usize),
    /// `Transfer-Encoding: chunked`: waiting for a size line, inside a chunk with this
    /// many bytes left, or waiting for the CRLF after a chunk.
    ChunkSize,
    ChunkData(usize),
    ChunkEnd,
}

/// Turns the bytes of one connection into a head and events.
pub struct Reader {
    /// Received bytes not yet decoded: the caller reads into it.
    pub raw: Vec<u8>,
    /// Decoded body bytes of a line not yet complete.
    line: Vec<u8>,
    body: Option<Body>,
    event: Event,
    /// The latest `retry:` field, in ms.
    pub retry_ms: Option<u64>,
    /// Body bytes kept for [`Reader::body_text`] (an error answer's JSON).
    keep: Option<Vec<u8>>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    /// A reader before any byte.
    pub fn new() -> Reader {
        Reader {
            raw: Vec::with_capacity(1024),
            line: Vec::new(),
            body: None,
            event: Event::default(),
            retry_ms: None,
            keep: None,
        }
    }

    /// Parses the response head once it is complete: `Ok(None)` while more bytes are needed.
    pub fn head(&mut self) -> Result<Option<Head>, String> {
        let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&self.raw[..end]).into_owned();
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("bad status line in {text:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let head = Head { status, headers };
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = head
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        self.body = Some(match (chunked, length) {
            (true, _) => Body::ChunkSize,
            (false, Some(n)) => Body::Length(n),
            (false, None) => Body::Plain,
        });
        if status != 200 {
            self.keep = Some(Vec::new());
        }
        self.raw.drain(..end + 4);
        Ok(Some(head))
    }

    /// Decodes what `raw` holds and passes each complete event to `on_event`. `Ok(false)`
    /// when the body has ended.
    pub fn events(&mut self, on_event: &mut impl FnMut(Event)) -> Result<bool, String> {
        let mut pos = 0;
        let mut open = true;
        while pos < self.raw.len() && open {
            match self.body {
                None => return Err("body before head".into()),
                Some(Body::Plain) => {
                    let end = self.raw.len();
                    self.feed(pos, end, on_event);
                    pos = end;
                }
                Some(Body::Length(left)) => {
                    let end = self.raw.len().min(pos + left);
                    self.feed(pos, end, on_event);
                    let left = left - (end - pos);
                    pos = end;
                    self.body = Some(Body::Length(left));
                    open = left > 0;
                }
                Some(Body::ChunkData(left)) => {
                    let end = self.raw.len().min(pos + left);
                    self.feed(pos, end, on_event);
                    let left = left - (end - pos);
                    pos = end;
                    self.body = Some(if left == 0 {
                        Body::ChunkEnd
                    } else {
                        Body::ChunkData(left)
                    });
                }
                Some(Body::ChunkEnd) => {
                    if self.raw.len() - pos < 2 {
                        break;
                    }
                    pos += 2;
                    self.body = Some(Body::ChunkSize);
                }
                Some(Body::ChunkSize) => {
                    let Some(eol) = self.raw[pos..].windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&self.raw[pos..pos + eol]).into_owned();
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("bad chunk size {hex:?}"))?;
                    pos += eol + 2;
                    if size == 0 {
                        open = false;
                        pos = self.raw.len();
                    } else {
                        self.body = Some(Body::ChunkData(size));
                    }
                }
            }
        }
        if matches!(self.body, Some(Body::Length(0))) {
            open = false;
        }
        self.raw.drain(..pos);
        Ok(open)
    }

    /// The body bytes of a non-`200` answer read so far, as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.keep.as_deref().unwrap_or_default()).into_owned()
    }

    /// Feeds body bytes `raw[from..to]` to the line parser.
    fn feed(&mut self, from: usize, to: usize, on_event: &mut impl FnMut(Event)) {
        if let Some(keep) = &mut self.keep {
            keep.extend_from_slice(&self.raw[from..to]);
            return;
        }
        for i in from..to {
            let byte = self.raw[i];
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = std::mem::take(&mut self.line);
            self.field(&line, on_event);
            self.line = line;
            self.line.clear();
        }
    }

    /// One SSE line: a field, a comment, or the blank line that ends an event.
    fn field(&mut self, line: &[u8], on_event: &mut impl FnMut(Event)) {
        if line.is_empty() {
            if !self.event.name.is_empty() || !self.event.data.is_empty() {
                on_event(std::mem::take(&mut self.event));
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (name, value) = text.split_once(':').unwrap_or((&text, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "event" => self.event.name = value.to_string(),
            "id" => self.event.id = value.to_string(),
            "data" => {
                if !self.event.data.is_empty() {
                    self.event.data.push('\n');
                }
                self.event.data.push_str(value);
            }
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
    }
}

/// The `error` code of a JSON error body (`{"error": "…", …}`), or `-` when none.
pub fn error_code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| "-".to_string())
}
