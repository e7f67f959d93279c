//! One blocking HTTP/1.1 keep-alive connection: writes a request, reads its answer (by
//! `Content-Length`, chunked, or none for `204`/`304`), and opens a fresh connection when
//! the server has closed the old one. The dispatcher's worker threads each hold some.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::sse::{Head, Reader};

/// How long one answer may take before the request counts as failed.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A request's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One keep-alive connection to one server (opened on first use).
pub struct Conn {
    addr: SocketAddr,
    authority: String,
    stream: Option<TcpStream>,
    /// Requests answered on the current connection.
    used: usize,
}

impl Conn {
    /// A connection to `addr` (`authority` for the `Host` header), not opened yet.
    pub fn new(addr: SocketAddr, authority: &str) -> Conn {
        Conn {
            addr,
            authority: authority.to_string(),
            stream: None,
            used: 0,
        }
    }

    /// Opens the connection now unless it is open.
    pub fn open(&mut self) -> std::io::Result<()> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
            self.stream = Some(stream);
            self.used = 0;
        }
        Ok(())
    }

    /// Sends a request and reads its answer. `on_written` is called once the request is
    /// written. A connection that the server closed while it was idle (nothing of the
    /// answer read) is replaced and the request written once more.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
        on_written: &mut dyn FnMut(),
    ) -> Result<Answer, String> {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\
             Content-Type: text/plain\r\n\r\n{body}",
            self.authority,
            body.len()
        );
        let reused = self.stream.is_some() && self.used > 0;
        match self.exchange(method, request.as_bytes(), on_written) {
            Ok(answer) => Ok(answer),
            Err((e, nothing_read)) if reused && nothing_read => {
                self.stream = None;
                self.exchange(method, request.as_bytes(), on_written)
                    .map_err(|(again, _)| format!("{e}; again on a new connection: {again}"))
            }
            Err((e, _)) => Err(e),
        }
    }

    /// One write and answer; on failure the error and whether nothing of an answer came.
    fn exchange(
        &mut self,
        method: &str,
        request: &[u8],
        on_written: &mut dyn FnMut(),
    ) -> Result<Answer, (String, bool)> {
        self.open().map_err(|e| (format!("connect: {e}"), true))?;
        let stream = self
            .stream
            .as_mut()
            .ok_or(("no connection".to_string(), true))?;
        if let Err(e) = stream.write_all(request) {
            self.stream = None;
            return Err((format!("write: {e}"), true));
        }
        on_written();
        let result = read_answer(stream, method == "HEAD");
        match result {
            Ok((answer, close)) => {
                self.used += 1;
                if close {
                    self.stream = None;
                }
                Ok(answer)
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// Reads one answer: its head, then its body as framed. Returns the answer and whether
/// the server will close the connection.
fn read_answer(stream: &mut TcpStream, head_only: bool) -> Result<(Answer, bool), (String, bool)> {
    let mut reader = Reader::new();
    let mut buf = [0u8; 4096];
    let mut got_any = false;
    let head: Head = loop {
        if let Some(head) = reader.head().map_err(|e| (e, false))? {
            break head;
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(("the server closed the connection".into(), !got_any)),
            Ok(n) => {
                got_any = true;
                reader.raw.extend_from_slice(&buf[..n]);
            }
            Err(e) => return Err((format!("read: {e}"), !got_any)),
        }
    };
    let close = head
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let bodiless = head_only || head.status == 204 || head.status == 304;
    let has_length = head.header("content-length").is_some()
        || head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut body = String::new();
    if !bodiless && has_length {
        loop {
            let open = reader.events(&mut |_| {}).map_err(|e| (e, false))?;
            if !open {
                break;
            }
            match stream.read(&mut buf) {
                Ok(0) => return Err(("the server closed the connection mid-answer".into(), false)),
                Ok(n) => reader.raw.extend_from_slice(&buf[..n]),
                Err(e) => return Err((format!("read: {e}"), false)),
            }
        }
        body = reader.body_text();
    }
    // A body with neither length nor chunks ends with the connection: not kept alive.
    let close = close || (!bodiless && !has_length);
    Ok((
        Answer {
            status: head.status,
            body,
        },
        close,
    ))
}
