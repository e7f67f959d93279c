//! `GET /api/{code}/connect`: a room's Server-Sent Events stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{CacheControl, CacheDirective, ContentEncoding};
use actix_web::{web, HttpResponse};
use actix_web_lab::sse::Sse;
use bytes::Bytes;
use tokio::sync::watch;

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::http::openapi::RoomCode;
use crate::metrics::StreamEnd;
use crate::rooms::client::ask;
use crate::rooms::messages::Subscribe;

/// The reconnection delay sent to every new stream (`retry:`); short, so that pages come
/// back quickly after a restart.
pub const RETRY: Duration = Duration::from_millis(1000);
/// The reconnection delay sent to every stream when the server stops, just before the
/// stream ends: browsers move to a healthy instance (or this one, restarted) at once.
pub const SHUTDOWN_RETRY_FRAME: &[u8] = b"retry: 250\n\n";

type Stopping = Pin<Box<dyn Future<Output = ()>>>;

/// A stream body that, when the server begins to stop, sends a short `retry:` and ends.
struct UntilShutdown<B> {
    body: B,
    stopping: Option<Stopping>,
    done: bool,
}

impl<B> UntilShutdown<B> {
    fn new(body: B, mut shutdown: watch::Receiver<bool>) -> UntilShutdown<B> {
        let stopping: Stopping = Box::pin(async move {
            // An error means the sender is gone: the process is ending anyway.
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        });
        UntilShutdown {
            body,
            stopping: Some(stopping),
            done: false,
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
            return Poll::Ready(None);
        }
        if let Some(stopping) = this.stopping.as_mut() {
            if stopping.as_mut().poll(cx).is_ready() {
                this.stopping = None;
                this.done = true;
                return Poll::Ready(Some(Ok(Bytes::from_static(SHUTDOWN_RETRY_FRAME))));
            }
        }
        Pin::new(&mut this.body).poll_next(cx)
    }
}

/// `GET /api/{code}/connect`
#[utoipa::path(get, path = "/api/{code}/connect", tag = "events", params(RoomCode),
    responses(
        (status = 200, description = "A Server-Sent Events stream: `connect`, `remaining-time`, \
            `timer` (`start`, `pause`, `stop`, `update`, `reset`, `running`, `complete`, `break`), \
            `state` and `close` events, each with an increasing `id`", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such room", body = ErrorBody),
        (status = 429, description = "The room holds as many streams as it may", body = ErrorBody),
        (status = 503, description = "The process holds as many streams as it may, or the database is unavailable", body = ErrorBody)))]
pub async fn connect(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if *state.shutdown.borrow() {
        return Err(ApiError::TooManyStreams);
    }
    let open = usize::try_from(state.metrics.sse_streams.get()).unwrap_or(0);
    if open >= state.stream_cap {
        state.metrics.stream_ended(StreamEnd::ProcessCap);
        log::warn!(
            "stream refused: {open} streams open, the cap is {}",
            state.stream_cap
        );
        return Err(ApiError::TooManyStreams);
    }
    let mut frames = ask(&state.registry, &code, Subscribe).await?;
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
        // A stream's connection is not reused: when the stream ends, so does the connection,
        // and a stopping server has no idle keep-alive connection to wait for.
        .force_close()
        .body(UntilShutdown::new(body, state.shutdown.clone())))
}
