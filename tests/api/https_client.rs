//! An HTTPS client for the tests: one TLS connection that trusts one certificate, speaks
//! the protocol the server chose by ALPN (HTTP/2 or HTTP/1.1), and reads event streams
//! with the harness's `EventStream`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::sse::EventStream;

/// ALPN names.
pub const H2: &[u8] = b"h2";
/// ALPN names.
pub const HTTP_1_1: &[u8] = b"http/1.1";

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    H1(http1::SendRequest<Full<Bytes>>),
}

/// One TLS connection to a server started with `TestServer::spawn_https`.
pub struct HttpsClient {
    /// `https://127.0.0.1:PORT`
    base: String,
    authority: String,
    sender: Sender,
    /// The protocol the server chose by ALPN.
    pub alpn: Option<Vec<u8>>,
    /// The TLS version of the connection.
    pub tls_version: Option<rustls::ProtocolVersion>,
}

impl HttpsClient {
    /// Opens a TLS connection to `base` trusting only `cert_pem`, offering `protocols` by
    /// ALPN (in order of preference), and starts HTTP/2 or HTTP/1.1 as the server chose.
    pub async fn connect(base: &str, cert_pem: &str, protocols: &[&[u8]]) -> HttpsClient {
        HttpsClient::connect_with_versions(base, cert_pem, protocols, rustls::DEFAULT_VERSIONS)
            .await
    }

    /// As [`HttpsClient::connect`], offering only the TLS `versions`.
    pub async fn connect_with_versions(
        base: &str,
        cert_pem: &str,
        protocols: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> HttpsClient {
        let authority = base
            .strip_prefix("https://")
            .expect("an https:// base")
            .to_string();
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("a PEM certificate"))
            .expect("a trusted root");
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("TCP connect");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(h, _)| h);
        let name = ServerName::try_from(host.to_string()).expect("a server name");
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("TLS handshake with the test certificate");
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let tls_version = tls.get_ref().1.protocol_version();
        let io = TokioIo::new(tls);
        let sender = if alpn.as_deref() == Some(H2) {
            let (send, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .expect("HTTP/2 handshake");
            tokio::spawn(conn);
            Sender::H2(send)
        } else {
            let (send, conn) = http1::handshake(io).await.expect("HTTP/1.1 handshake");
            tokio::spawn(conn);
            Sender::H1(send)
        };
        HttpsClient {
            base: base.to_string(),
            authority,
            sender,
            alpn,
            tls_version,
        }
    }

    /// Sends `METHOD path` (with a JSON body when given) on this connection.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&Value>,
    ) -> Response<Incoming> {
        let builder = Request::builder()
            .method(method)
            .header("host", &self.authority);
        let (builder, body) = match json {
            Some(v) => (
                builder.header("content-type", "application/json"),
                Full::new(Bytes::from(v.to_string())),
            ),
            None => (builder, Full::new(Bytes::new())),
        };
        match &mut self.sender {
            Sender::H2(send) => {
                let req = builder
                    .uri(format!("{}{path}", self.base))
                    .body(body)
                    .expect("a request");
                send.ready().await.expect("HTTP/2 connection ready");
                send.send_request(req).await.expect("HTTP/2 response")
            }
            Sender::H1(send) => {
                let req = builder.uri(path).body(body).expect("a request");
                send.ready().await.expect("HTTP/1.1 connection ready");
                send.send_request(req).await.expect("HTTP/1.1 response")
            }
        }
    }

    /// `METHOD path`: the status, the HTTP version and the body parsed as JSON (`Null`
    /// when empty or not JSON).
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&Value>,
    ) -> (StatusCode, Version, Value) {
        let res = self.request(method, path, json).await;
        let (status, version) = (res.status(), res.version());
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("a whole body")
            .to_bytes();
        (
            status,
            version,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The value of the unlabelled series `name`, read from `/metrics` on this connection.
    pub async fn metric(&mut self, name: &str) -> f64 {
        let res = self.request("GET", "/metrics", None).await;
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("a whole body")
            .to_bytes();
        crate::helpers::exposition::parse(&String::from_utf8_lossy(&bytes)).value(name)
    }

    /// Opens the room's event stream on this connection; panics unless it is `200`.
    pub async fn connect_stream(&mut self, code: &str) -> (Version, EventStream) {
        let res = self
            .request("GET", &format!("/api/{code}/connect"), None)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let version = res.version();
        let (parts, body) = res.into_parts();
        let chunks = futures_util::stream::unfold(body, |mut body| async move {
            loop {
                match body.frame().await? {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), body));
                        }
                    }
                    Err(e) => return Some((Err(e.to_string()), body)),
                }
            }
        });
        (version, EventStream::from_body(parts.headers, chunks))
    }
}
