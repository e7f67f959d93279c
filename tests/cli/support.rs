//! What every test of the suite shares: how its servers are started.

use crate::helpers::TestServer;

/// A server with the suite's settings.
pub async fn spawn() -> TestServer {
    TestServer::spawn().await
}

/// A server with the suite's settings and extra environment settings.
pub async fn spawn_with(env: &[(&str, &str)]) -> TestServer {
    TestServer::spawn_with(env).await
}
