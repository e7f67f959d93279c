//! `GET /api/{code}/connect`: a room's Server-Sent Events stream.

use actix_web::{web, Responder};
use actix_web_lab::sse::Sse;

use super::AppState;
use crate::error::ApiError;
use crate::rooms::client::ask;
use crate::rooms::messages::Subscribe;

/// The reconnection delay sent to every new stream (`retry:`); short, so that pages come
/// back quickly after a restart.
pub const RETRY: std::time::Duration = std::time::Duration::from_millis(1000);

/// `GET /api/{code}/connect`
pub async fn connect(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<impl Responder, ApiError> {
    let stream = ask(&state.registry, &code, Subscribe).await??;
    Ok(Sse::from_infallible_receiver(stream)
        .with_retry_duration(RETRY)
        .customize()
        .insert_header(("X-Accel-Buffering", "no")))
}
