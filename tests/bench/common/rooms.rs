//! pairsync rooms for a benchmark: created through the API, many at once, and their
//! timers started at planned instants.

use futures_util::stream::{self, StreamExt};

use super::dispatch::{self, Done, Job, WarmUp};
use super::net::Server;
use super::schedule::StartPlan;

/// Creates `count` rooms with a timer of `duration_ms` through `url`, `concurrency` at
/// once; returns their access codes and the errors of the creations that failed.
pub async fn create(
    http: &reqwest::Client,
    url: &str,
    count: usize,
    duration_ms: i64,
    concurrency: usize,
) -> (Vec<String>, Vec<String>) {
    let results: Vec<Result<String, String>> = stream::iter(0..count)
        .map(|_| create_one(http, url, duration_ms))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut codes = Vec::with_capacity(count);
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(code) => codes.push(code),
            Err(e) => errors.push(e),
        }
    }
    (codes, errors)
}

/// Creates one room (`POST /api/pair-room`); its access code.
pub async fn create_one(
    http: &reqwest::Client,
    url: &str,
    duration_ms: i64,
) -> Result<String, String> {
    let body = serde_json::json!({
        "navigator": "bench-nav",
        "driver": "bench-drv",
        "timerDuration": duration_ms,
    });
    let response = http
        .post(format!("{url}/api/pair-room"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("create: {e}"))?;
    if response.status() != reqwest::StatusCode::CREATED {
        return Err(format!("create: status {}", response.status().as_u16()));
    }
    let json: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    json["accessCode"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "create: no accessCode".to_string())
}

/// Starts the timers of rooms `codes` (room `i` is room `first + i` of `total`, counted over
/// every shard) at their instants of `plan` after `base_us`, room `g` through server
/// `g mod servers`, from the dispatch thread over `connections` keep-alive connections per
/// server. One [`Done`] per room, in the order of `codes`.
pub async fn start_timers(
    servers: &[Server],
    codes: &[String],
    (first, total): (usize, usize),
    plan: StartPlan,
    base_us: i64,
    connections: usize,
) -> Vec<Done> {
    let jobs: Vec<Job> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let g = first + i;
            Job {
                due_us: base_us + plan.offset_us(g, total),
                server: g % servers.len().max(1),
                method: "PATCH",
                path: format!("/api/{code}/timer/start"),
                body: String::new(),
            }
        })
        .collect();
    let warm_up = WarmUp {
        method: "GET",
        path: "/healthz".into(),
    };
    let handle = dispatch::run(servers, connections, Some(warm_up), jobs);
    tokio::task::spawn_blocking(move || handle.join())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}
