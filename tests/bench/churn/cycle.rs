//! One churn cycle, a room's whole life: create it, open its streams, start its timer
//! (optionally pause and start it again, watch its ticks, reconnect a stream), close the
//! streams, and delete it, or leave it to be forgotten. Each step checks what the
//! contract says the client sees; a failed step is counted by kind and the cycle moves on
//! to its end.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::common::clock::epoch_us;
use crate::common::net::Server;
use crate::conn::{Conn, Watched};

/// How long one step (an answer, an event on every stream) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// A tick due this close to the end of a watch may still be on its way: not expected.
const WATCH_MARGIN_US: i64 = 300_000;

/// What the cycles share.
pub struct Context {
    pub args: Args,
    pub server: Server,
    pub http: reqwest::Client,
}

/// What one cycle saw.
#[derive(Debug, Default)]
pub struct CycleResult {
    /// Failed steps, by kind.
    pub errors: Vec<String>,
    pub watched: Watched,
}

/// Runs cycle `i` from `source`.
pub async fn run(ctx: &Context, i: usize, source: IpAddr) -> CycleResult {
    let mut result = CycleResult::default();
    let code = match crate::common::rooms::create_one(
        &ctx.http,
        &ctx.args.url,
        ctx.args.duration_ms,
    )
    .await
    {
        Ok(code) => code,
        Err(e) => {
            result.errors.push(e);
            return result;
        }
    };
    if let Err(e) = live(ctx, &code, source, &mut result).await {
        result.errors.push(e);
    }
    if !ctx.args.forgets(i) {
        if let Err(e) = command(ctx, "DELETE", &format!("/api/pair-room/{code}")).await {
            result.errors.push(format!("delete: {e}"));
        }
    }
    result
}

/// The room's life with its streams open; the streams close when it returns.
async fn live(
    ctx: &Context,
    code: &str,
    source: IpAddr,
    result: &mut CycleResult,
) -> Result<(), String> {
    let path = format!("/api/{code}/connect");
    let step = || Instant::now() + STEP_TIMEOUT;
    let mut conns = Vec::with_capacity(ctx.args.streams_per_room);
    for _ in 0..ctx.args.streams_per_room {
        let mut conn = Conn::open(source, &ctx.server, &path)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        conn.until("state", None, step())
            .await
            .map_err(|e| format!("greeting: {e}"))?;
        conns.push(conn);
    }
    let mut deadline_ms = start(ctx, code, &mut conns).await?;
    let mut from_us = epoch_us();
    if ctx.args.pause {
        command(ctx, "PATCH", &format!("/api/{code}/timer/stop"))
            .await
            .map_err(|e| format!("stop: {e}"))?;
        for conn in &mut conns {
            conn.until("timer", Some("pause"), step())
                .await
                .map_err(|e| format!("pause event: {e}"))?;
            conn.until("state", None, step())
                .await
                .map_err(|e| format!("pause state: {e}"))?;
        }
        deadline_ms = start(ctx, code, &mut conns).await?;
        from_us = epoch_us();
    }
    if ctx.args.hold_ms > 0 {
        let until_us = from_us + i64::try_from(ctx.args.hold_ms).unwrap_or(0) * 1000;
        let watches = conns
            .iter_mut()
            .map(|c| c.watch_ticks(deadline_ms, from_us, until_us, WATCH_MARGIN_US));
        for w in futures_util::future::join_all(watches).await {
            result.watched.lateness_us.extend(w.lateness_us);
            result.watched.missed += w.missed;
            result.watched.out_of_order += w.out_of_order;
        }
    }
    if ctx.args.reconnect {
        conns.pop();
        let mut conn = Conn::open(source, &ctx.server, &path)
            .await
            .map_err(|e| format!("reconnect: {e}"))?;
        let (state, _) = conn
            .until("state", None, step())
            .await
            .map_err(|e| format!("reconnect greeting: {e}"))?;
        if deadline_of(&state.data) != Some(deadline_ms) {
            return Err("reconnect: the snapshot's deadline is not the running timer's".into());
        }
    }
    Ok(())
}

/// Starts the timer and waits for `timer: start` and its `state` on every stream; the
/// deadline they carry (the same on all).
async fn start(ctx: &Context, code: &str, conns: &mut [Conn]) -> Result<i64, String> {
    command(ctx, "PATCH", &format!("/api/{code}/timer/start"))
        .await
        .map_err(|e| format!("start: {e}"))?;
    let mut deadline = None;
    for conn in conns {
        let end = Instant::now() + STEP_TIMEOUT;
        conn.until("timer", Some("start"), end)
            .await
            .map_err(|e| format!("start event: {e}"))?;
        let (state, _) = conn
            .until("state", None, end)
            .await
            .map_err(|e| format!("start state: {e}"))?;
        let d = deadline_of(&state.data).ok_or("start state: no deadline")?;
        if deadline.is_some_and(|known| known != d) {
            return Err("start state: streams disagree on the deadline".into());
        }
        deadline = Some(d);
    }
    deadline.ok_or_else(|| "start: no stream".to_string())
}

fn deadline_of(state: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(state)
        .ok()?
        .get("deadlineAt")?
        .as_i64()
}

/// A command that must be answered `204`.
async fn command(ctx: &Context, method: &str, path: &str) -> Result<(), String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let response = ctx
        .http
        .request(method, format!("{}{path}", ctx.args.url))
        .send()
        .await
        .map_err(|e| format!("request: {e}"))?;
    if response.status() == reqwest::StatusCode::NO_CONTENT {
        Ok(())
    } else {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Err(format!(
            "status {status} {}",
            crate::common::sse::error_code(&body)
        ))
    }
}
