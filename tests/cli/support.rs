//! What every test of the suite shares: servers started after the process's TLS
//! provider is chosen (the client's HTTP library speaks HTTPS with rustls, which needs
//! one before any client is built), and clients of an HTTPS test server.

use reqwest::Certificate;

use crate::helpers::TestServer;

/// Makes `ring` the process's rustls provider (once; later calls change nothing).
pub fn tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A server with the suite's settings.
pub async fn spawn() -> TestServer {
    tls_provider();
    TestServer::spawn().await
}

/// A server with the suite's settings and extra environment settings.
pub async fn spawn_with(env: &[(&str, &str)]) -> TestServer {
    tls_provider();
    TestServer::spawn_with(env).await
}

/// A server speaking HTTPS with a certificate made for the test (for `localhost` and
/// `127.0.0.1`), that certificate (PEM) written to a file, and a client that trusts it.
pub struct HttpsServer {
    /// The server; its own `client` speaks plain HTTP only.
    pub server: TestServer,
    /// The PEM file of the server's certificate.
    pub cert_file: String,
    /// A client that trusts the server's certificate alone.
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl HttpsServer {
    /// Starts one.
    pub async fn spawn() -> HttpsServer {
        tls_provider();
        let (server, pem) = TestServer::spawn_https(&[]).await;
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("server-cert.pem");
        std::fs::write(&file, &pem).expect("write the certificate");
        let client = reqwest::Client::builder()
            .tls_certs_only([Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate")])
            .build()
            .expect("an HTTPS client");
        HttpsServer {
            server,
            cert_file: file.to_str().expect("a UTF-8 path").to_string(),
            client,
            _dir: dir,
        }
    }

    /// `GET path` over HTTPS: the JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let res = self
            .client
            .get(self.server.url(path))
            .send()
            .await
            .expect("an HTTPS answer");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.expect("a JSON body")
    }

    /// Creates a room from `body` over HTTPS: its access code.
    pub async fn create_room(&self, body: serde_json::Value) -> String {
        let res = self
            .client
            .post(self.server.url("/api/pair-room"))
            .json(&body)
            .send()
            .await
            .expect("an HTTPS answer");
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let created: serde_json::Value = res.json().await.expect("a JSON body");
        created["accessCode"]
            .as_str()
            .expect("an access code")
            .to_string()
    }
}

/// A PEM file of a certificate that signed nothing the server shows.
pub fn stranger_cert(dir: &std::path::Path) -> String {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let file = dir.join("stranger.pem");
    std::fs::write(&file, made.cert.pem()).expect("write the certificate");
    file.to_str().expect("a UTF-8 path").to_string()
}
