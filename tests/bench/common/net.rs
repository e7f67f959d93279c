//! Event streams on raw TCP sockets: a server's address from its URL, a socket bound to a
//! chosen source address (each loopback address has its own ~28k ephemeral ports), the
//! `GET` of a stream, and its answer: the stream itself, or a refusal with its status,
//! error code and `Retry-After`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::sse::{error_code, Head, Reader};

/// How long a refusal's body may take to arrive once its head has.
const REFUSAL_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// A server: its socket address and its `host:port` for the `Host` header.
#[derive(Debug, Clone)]
pub struct Server {
    pub addr: SocketAddr,
    pub authority: String,
}

impl Server {
    /// The server of an `http://host:port` URL.
    pub fn from_url(url: &str) -> Result<Server, String> {
        let url = url.trim_end_matches('/');
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "{url}: the URL must start with http:// (the stream reader speaks plain HTTP/1.1)"
            )
        })?;
        let authority = rest.split('/').next().unwrap_or(rest).to_string();
        let addr = authority
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| format!("cannot resolve {authority}"))?;
        Ok(Server { addr, authority })
    }
}

/// Connects to the server from `source` (port chosen by the kernel). The socket closes
/// with a reset, so that no port stays in `TIME_WAIT` between runs. `receive_buffer` sets
/// `SO_RCVBUF` before connecting (a small one makes a client that stops reading fill up
/// soon).
pub async fn connect(
    source: IpAddr,
    server: &Server,
    receive_buffer: Option<u32>,
) -> Result<TcpStream, String> {
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    if let Some(size) = receive_buffer {
        socket
            .set_recv_buffer_size(size)
            .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let tcp = socket
        .connect(server.addr)
        .await
        .map_err(|e| format!("connect: {}", io_kind(&e)))?;
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| format!("linger: {e}"))?;
    Ok(tcp)
}

/// A short name for an I/O error (`connection refused`, `connection reset`, …).
pub fn io_kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        std::io::ErrorKind::BrokenPipe => "broken pipe".into(),
        std::io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

/// Sends the `GET` of an event stream.
pub async fn request_stream(
    tcp: &mut TcpStream,
    server: &Server,
    path: &str,
) -> Result<(), String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n\r\n",
        server.authority
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {}", io_kind(&e)))
}

/// A stream's answer other than `200`.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    /// The JSON body's `error` code (`-` when none).
    pub error: String,
    pub retry_after_s: Option<u64>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {} {}", self.status, self.error)
    }
}

/// What came back for a stream's `GET`.
pub enum Answer {
    /// `200`: the reader holds what followed the head.
    Stream(Head),
    /// Another status, its body read.
    Refused(Refusal),
}

/// Reads the answer's head into `reader` (and, for a refusal, its body). The instant the
/// head was read is when the caller's next read returns; it needs no more.
pub async fn read_answer(tcp: &mut TcpStream, reader: &mut Reader) -> Result<Answer, String> {
    let head = loop {
        if let Some(head) = reader.head()? {
            break head;
        }
        reader.raw.reserve(1024);
        let n = tcp
            .read_buf(&mut reader.raw)
            .await
            .map_err(|e| format!("read: {}", io_kind(&e)))?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
    };
    if head.status == 200 {
        return Ok(Answer::Stream(head));
    }
    let body = tokio::time::timeout(REFUSAL_BODY_TIMEOUT, async {
        loop {
            if !reader.events(&mut |_| {})? {
                return Ok::<(), String>(());
            }
            reader.raw.reserve(1024);
            match tcp.read_buf(&mut reader.raw).await {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            }
        }
    })
    .await;
    if let Ok(Err(e)) = body {
        return Err(e);
    }
    Ok(Answer::Refused(Refusal {
        status: head.status,
        error: error_code(&reader.body_text()),
        retry_after_s: head.retry_after_s(),
    }))
}
