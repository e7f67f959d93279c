//! `GET /api/{code}/connect`: a room's Server-Sent Events stream, under the process and
//! per-client stream caps.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{CacheControl, CacheDirective, ContentEncoding};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_lab::sse::Sse;
use bytes::Bytes;
use tokio::sync::watch;

use super::client_address::ClientKey;
use super::stream_gate::{Refusal, StreamPermit};
use super::{input, AppState};
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::{RoomCode, StreamEvent};
use crate::metrics::StreamEnd;
use crate::rooms::ask::ask;
use crate::rooms::messages::Subscribe;
use serde::Deserialize;
use utoipa::IntoParams;

/// The reconnection delay sent to every new stream (`retry:`); short, so that pages come
/// back quickly after a restart.
pub const RETRY: Duration = Duration::from_millis(1000);
/// The reconnection delay sent to every stream when the server stops, just before the
/// stream ends: browsers move to a healthy instance (or this one, restarted) at once.
pub const SHUTDOWN_RETRY_FRAME: &[u8] = b"retry: 250\n\n";

type Stopping = Pin<Box<dyn Future<Output = ()>>>;

/// A stream body that holds its stream's place under the caps until it ends, and that,
/// when the server begins to stop, sends a short `retry:` and ends.
struct UntilShutdown<B> {
    body: B,
    stopping: Option<Stopping>,
    done: bool,
    /// Given back when the body ends, or at the latest when it is dropped.
    permit: Option<StreamPermit>,
}

impl<B> UntilShutdown<B> {
    fn new(body: B, mut shutdown: watch::Receiver<bool>, permit: StreamPermit) -> UntilShutdown<B> {
        let stopping: Stopping = Box::pin(async move {
            // An error means the sender is gone: the process is ending anyway.
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        });
        UntilShutdown {
            body,
            stopping: Some(stopping),
            done: false,
            permit: Some(permit),
        }
    }
}

impl<B: MessageBody + Unpin> MessageBody for UntilShutdown<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            this.permit = None;
            return Poll::Ready(None);
        }
        if let Some(stopping) = this.stopping.as_mut() {
            if stopping.as_mut().poll(cx).is_ready() {
                this.stopping = None;
                this.done = true;
                return Poll::Ready(Some(Ok(Bytes::from_static(SHUTDOWN_RETRY_FRAME))));
            }
        }
        let next = Pin::new(&mut this.body).poll_next(cx);
        if let Poll::Ready(None) = next {
            this.done = true;
            this.permit = None;
        }
        next
    }
}

/// The query of `GET /api/{code}/connect`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectQuery {
    /// The person this stream is for: a member name's rules (1 to 20 characters once
    /// trimmed, no control character). Named streams make the room's `here`; without it
    /// the stream counts only in `watching`.
    #[param(value_type = Option<String>)]
    name: Option<String>,
}

/// `GET /api/{code}/connect[?name=NAME]`
#[utoipa::path(get, path = "/api/{code}/connect", tag = "events", params(RoomCode, ConnectQuery),
    responses(
        (status = 200, description = "A Server-Sent Events stream that lasts until the room is deleted \
            (`close`) or the server stops; each event is a `StreamEvent`",
            headers(("Cache-Control" = String, description = "`no-cache`"),
                ("X-Accel-Buffering" = String, description = "`no`: a proxy passes each event on at once")),
            content_type = "text/event-stream", item_schema = StreamEvent),
        (status = 400, description = "A `name` that is not a name (`invalid_request`): empty, over 20 characters, or holding control characters", body = ErrorBody),
        (status = 404, description = "No such room", body = ErrorBody),
        (status = 429, description = "The room holds as many streams as it may (`too_many_subscribers`), \
            or this client address does (`rate_limited`, with `Retry-After`)", body = ErrorBody),
        (status = 503, description = "The process holds as many streams as it may, or the database is unavailable", body = ErrorBody)))]
pub async fn connect(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<ConnectQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = input::stream_name(query.into_inner().name.as_deref())?;
    if *state.shutdown.borrow() {
        return Err(ApiError::TooManyStreams);
    }
    let client = ClientKey::of_request(&req, &state.trusted_proxies);
    // Taken before the room is asked, and dropped with this function if the room refuses.
    let permit = state
        .streams
        .acquire(client)
        .map_err(|refusal| refused(&state, refusal))?;
    let mut frames = ask(&state.registry, &code, Subscribe { name }).await?;
    let events = futures_util::stream::poll_fn(move |cx| {
        frames
            .poll_recv(cx)
            .map(|frame| frame.map(Arc::unwrap_or_clone))
    });
    let body = Sse::from_infallible_stream(events).with_retry_duration(RETRY);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(ContentEncoding::Identity)
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header(("X-Accel-Buffering", "no"))
        // A stream's HTTP/1.1 connection is not reused: when the stream ends, so does the
        // connection, and a stopping server has no idle keep-alive connection to wait for.
        // (HTTP/2 ignores it: the stream ends alone, the connection carries on.)
        .force_close()
        .body(UntilShutdown::new(body, state.shutdown.clone(), permit)))
}

/// Counts and logs a refused stream; the answer the client gets.
fn refused(state: &AppState, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Process { open } => {
            state.metrics.stream_ended(StreamEnd::ProcessCap);
            log::warn!(
                "stream refused: {open} streams open, the cap is {}",
                state.streams.process_cap()
            );
            ApiError::TooManyStreams
        }
        Refusal::Client { key, open } => {
            state.metrics.stream_ended(StreamEnd::ClientCap);
            log::warn!(
                "stream refused: client {key} holds {open} streams, the cap per client is {}",
                state.streams.client_cap()
            );
            ApiError::TooManyClientStreams
        }
    }
}
