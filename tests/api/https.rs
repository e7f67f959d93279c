//! HTTPS: the server with `PAIRSYNC_TLS_CERT` and `PAIRSYNC_TLS_KEY` offers HTTP/2 and
//! HTTP/1.1 by ALPN, streams events over HTTP/2 (many on one connection), still drops a
//! TLS client that stops reading, and refuses to start with only one of the two settings.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::{StatusCode, Version};
use serde_json::json;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use futures_util::future::join_all;

use super::expect::assert_ticks_on_time;
use super::helpers::{failed_start, TestServer};
use super::https_client::{HttpsClient, H2, HTTP_1_1};

const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

/// More streams than a browser opens to one host over HTTP/1.1 (six).
const TABS: usize = 8;

fn pair(event: &str, data: &str) -> (String, String) {
    (event.to_string(), data.to_string())
}

/// Waits (at most [`WAIT`]) until `series` reads `want`.
async fn wait_metric(client: &mut HttpsClient, series: &str, want: f64) {
    let started = Instant::now();
    loop {
        let value = client.metric(series).await;
        if value == want {
            return;
        }
        assert!(started.elapsed() < WAIT, "{series} is {value}, not {want}");
        tokio::time::sleep(POLL).await;
    }
}

async fn create_room(client: &mut HttpsClient, duration: i64) -> String {
    let body = json!({"navigator": "Ann", "driver": "Bob", "timerDuration": duration});
    let (status, _, created) = client.call("POST", "/api/pair-room", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["accessCode"]
        .as_str()
        .expect("accessCode")
        .to_string()
}

#[tokio::test]
async fn https_offers_http2_and_http1_1_by_alpn() {
    let (app, cert) = TestServer::spawn_https(&[]).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    assert!(
        app.logs()
            .iter()
            .any(|l| l.contains(&format!("listening on {}", app.base))),
        "{:?}",
        app.logs()
    );

    let mut h2 = HttpsClient::connect(&app.base, &cert, &[H2, HTTP_1_1]).await;
    assert_eq!(h2.alpn.as_deref(), Some(H2));
    let (status, version, body) = h2.call("GET", "/healthz", None).await;
    assert_eq!((status, version), (StatusCode::OK, Version::HTTP_2));
    assert_eq!(body["status"], "ok");

    let mut h1 = HttpsClient::connect(&app.base, &cert, &[HTTP_1_1]).await;
    assert_eq!(h1.alpn.as_deref(), Some(HTTP_1_1));
    let (status, version, _) = h1.call("GET", "/healthz", None).await;
    assert_eq!((status, version), (StatusCode::OK, Version::HTTP_11));
}

#[tokio::test]
async fn https_speaks_tls_1_2_and_1_3_and_refuses_older_versions() {
    let (app, cert) = TestServer::spawn_https(&[]).await;
    for (version, name) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let mut client =
            HttpsClient::connect_with_versions(&app.base, &cert, &[H2, HTTP_1_1], &[version]).await;
        assert_eq!(client.tls_version, Some(name));
        let (status, _, body) = client.call("GET", "/healthz", None).await;
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::OK, &serde_json::json!("ok")),
            "{name:?}"
        );
    }
    // The same hand-made hello offering TLS 1.2 is answered with a ServerHello of TLS 1.2
    // (so the refusals below are of the version, not of the hello)...
    let answer = hello_answer(&app.base, [3, 3]);
    assert!(answer.len() >= 11, "{answer:02x?}");
    assert_eq!(
        (answer[0], answer[5], &answer[9..11]),
        (0x16, 2, &[3_u8, 3][..]),
        "{answer:02x?}"
    );
    // ...and one that offers TLS 1.1 at most (or 1.0) gets no ServerHello: an alert, or
    // the connection closed.
    for offered in [[3_u8, 2], [3, 1]] {
        let answer = hello_answer(&app.base, offered);
        assert!(
            answer.is_empty() || answer[0] == 0x15,
            "TLS {offered:?} was answered {answer:02x?}"
        );
    }
}

/// Sends a ClientHello that offers TLS `version` at most (`[3, 2]` is TLS 1.1), with
/// ECDHE-ECDSA suites of both kinds (CBC for TLS 1.0 and 1.1, GCM for 1.2: the test
/// certificate's key is ECDSA) and the extensions each version wants, and returns the first
/// bytes the server answers (empty if it closed the connection): `0x16` is a handshake
/// record (its ServerHello), `0x15` an alert.
fn hello_answer(base: &str, version: [u8; 2]) -> Vec<u8> {
    use std::io::Read;
    let addr = base.trim_start_matches("https://");
    let mut body = Vec::new();
    body.extend_from_slice(&version);
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // no session id
    let suites: [u8; 10] = [0xc0, 0x2b, 0xc0, 0x09, 0xc0, 0x0a, 0xc0, 0x13, 0x00, 0x2f];
    body.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[1, 0]); // compression: null
    let extensions: [u8; 27] = [
        0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, // supported groups: P-256
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // EC point formats: uncompressed
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, // signatures: ECDSA P-256 SHA-256
        0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation info: none yet
    ];
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![1, 0];
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 3, 1];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("a read timeout");
    tcp.write_all(&record).expect("send the hello");
    let mut answer = vec![0; 16];
    let n = tcp.read(&mut answer).unwrap_or(0);
    answer.truncate(n);
    answer
}

#[tokio::test]
async fn a_page_over_http2_carries_the_security_headers() {
    let (app, cert) = TestServer::spawn_https(&[]).await;
    let mut h2 = HttpsClient::connect(&app.base, &cert, &[H2]).await;
    let res = h2.request("GET", "/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn eight_event_streams_tick_on_one_http2_connection() {
    let (app, cert) = TestServer::spawn_https(&[]).await;
    let mut client = HttpsClient::connect(&app.base, &cert, &[H2, HTTP_1_1]).await;
    let mut rooms = Vec::new();
    for _ in 0..TABS {
        let code = create_room(&mut client, 60_000).await;
        let (version, mut stream) = client.connect_stream(&code).await;
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(stream.headers["content-type"], "text/event-stream");
        stream.skip_greeting().await;
        rooms.push((code, stream));
    }
    // Commands share the connection with the eight open streams.
    for (code, _) in &rooms {
        let (status, _, _) = client
            .call("PATCH", &format!("/api/{code}/timer/start"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // Every room's start, then its first two ticks, read side by side so that each is
    // stamped when it arrives: on time, on one connection.
    let seen = join_all(rooms.iter_mut().map(|(_, stream)| async move {
        let mut frames = Vec::new();
        for _ in 0..4 {
            frames.push(stream.next_event(WAIT).await);
        }
        frames
    }))
    .await;
    for ((code, _), frames) in rooms.iter().zip(&seen) {
        assert_eq!(frames[0].pair(), pair("timer", "start"), "{code}");
        assert_eq!(frames[1].event.as_deref(), Some("state"), "{code}");
        assert_eq!(frames[1].json()["state"], "running", "{code}");
        assert_eq!(
            (frames[2].pair(), frames[3].pair()),
            (
                pair("remaining-time", "59000"),
                pair("remaining-time", "58000")
            ),
            "{code}"
        );
        assert_eq!(assert_ticks_on_time(code, frames), 2);
    }
    assert_eq!(client.metric("pairsync_sse_streams").await, TABS as f64);

    // A stream the client resets ends on the server too (at its next write, a tick).
    let (_, closed) = rooms.pop().expect("a room");
    drop(closed);
    wait_metric(&mut client, "pairsync_sse_streams", (TABS - 1) as f64).await;
    for (code, stream) in &mut rooms {
        assert_eq!(
            stream.next_event(WAIT).await.event.as_deref(),
            Some("remaining-time"),
            "{code} still ticks"
        );
    }
}

/// Opens a stream over TLS (HTTP/1.1) on a raw socket with a tiny receive buffer, and
/// never reads it.
fn stalled_tls_stream(base: &str, cert_pem: &str, code: &str) -> impl Drop {
    let authority = base.trim_start_matches("https://");
    let addr: std::net::SocketAddr = authority.parse().expect("addr");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .set_recv_buffer_size(1024)
        .expect("small receive buffer");
    socket.connect(&addr.into()).expect("connect");
    let tcp: TcpStream = socket.into();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("PEM"))
        .expect("root");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET /api/{code}/connect HTTP/1.1\r\nHost: test\r\n\r\n"
    )
    .expect("request");
    tls.flush().expect("flush");
    StalledTls(tls)
}

struct StalledTls(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

impl Drop for StalledTls {
    fn drop(&mut self) {
        let _ = self.0.sock.shutdown(std::net::Shutdown::Both);
    }
}

#[tokio::test]
async fn a_tls_client_that_stops_reading_is_dropped_without_slowing_the_others() {
    let (app, cert) = TestServer::spawn_https(&[]).await;
    let mut client = HttpsClient::connect(&app.base, &cert, &[H2]).await;
    let code = create_room(&mut client, 60_000).await;
    let _stalled = stalled_tls_stream(&app.base, &cert, &code);
    let (_, mut reader) = client.connect_stream(&code).await;
    reader.skip_greeting().await;
    wait_metric(&mut client, "pairsync_sse_streams", 2.0).await;

    // Every swap sends a state event of ~200 bytes to both streams.
    let mut swaps = 0;
    let started = Instant::now();
    let swap = format!("/api/pair-room/{code}/pair-swap");
    while client.metric("pairsync_streams_dropped_total").await < 1.0 {
        for _ in 0..20 {
            let (status, _, _) = client.call("PATCH", &swap, None).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            swaps += 1;
            assert_eq!(
                reader.next_event(WAIT).await.event.as_deref(),
                Some("state")
            );
        }
        assert!(swaps < 4000, "the stalled TLS stream was never dropped");
    }
    println!(
        "stalled TLS stream dropped after {swaps} events in {:?}",
        started.elapsed()
    );
    assert_eq!(client.metric("pairsync_sse_streams").await, 1.0);
}

#[tokio::test]
async fn one_tls_setting_without_the_other_is_a_clear_start_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = dir.path().join("any.pem");
    std::fs::write(&pem, "unused").expect("write");
    let pem = pem.to_str().expect("utf-8");
    for (set, missing) in [
        ("PAIRSYNC_TLS_CERT", "PAIRSYNC_TLS_KEY"),
        ("PAIRSYNC_TLS_KEY", "PAIRSYNC_TLS_CERT"),
    ] {
        let (status, logs) = failed_start(&[(set, pem)]);
        assert!(!status.success(), "{set} alone: {status:?}");
        let refusal = logs
            .lines()
            .find(|l| l.contains("cannot start"))
            .unwrap_or_else(|| panic!("no start error with {set} alone: {logs}"));
        assert!(refusal.contains(missing), "{refusal}");
        assert!(!logs.contains("listening on"), "{logs}");
    }
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_a_start_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let other = rcgen::KeyPair::generate().expect("key");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write");
    std::fs::write(&key, other.serialize_pem()).expect("write");
    let (status, logs) = failed_start(&[
        ("PAIRSYNC_TLS_CERT", cert.to_str().expect("utf-8")),
        ("PAIRSYNC_TLS_KEY", key.to_str().expect("utf-8")),
    ]);
    assert!(!status.success(), "{status:?}");
    assert!(logs.contains("cannot start"), "{logs}");
    assert!(logs.contains("TLS"), "{logs}");
}

#[tokio::test]
async fn a_stream_asked_for_while_stopping_gets_503_too_many_streams() {
    // Over HTTP/2 a page's stream and its reconnection share one connection, which stays
    // open while the process stops: the reconnection is refused in the contract's words.
    let (mut app, cert) = TestServer::spawn_https(&[]).await;
    let mut client = HttpsClient::connect(&app.base, &cert, &[H2]).await;
    let code = create_room(&mut client, 60_000).await;
    let (version, mut stream) = client.connect_stream(&code).await;
    assert_eq!(version, Version::HTTP_2);
    stream.skip_greeting().await;

    app.sigterm();
    // The process is stopping once it ends its streams.
    assert!(stream.ends_within(WAIT).await, "the stream ends");
    let res = client
        .request("GET", &format!("/api/{code}/connect"), None)
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        res.headers().contains_key("retry-after"),
        "{:?}",
        res.headers()
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json"),
        "{:?}",
        res.headers()
    );
    let bytes = res
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_eq!(body["error"], "too_many_streams", "{body}");
    drop(client);
    let status = app
        .wait_exit(Duration::from_secs(10))
        .expect("the process exits");
    assert!(status.success(), "{status:?}");
}
