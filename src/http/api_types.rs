//! The types the handlers and the API description share, and nothing else: the `{code}`
//! path parameter, the errors every room endpoint may answer, `{"status": "ok"}`, and the
//! schema of one event of a room's stream. A leaf: it imports no handler and not the
//! document, so both can import it.

mod stream_event;

use serde::Serialize;
use utoipa::{IntoParams, IntoResponses, ToSchema};

pub use self::stream_event::StreamEvent;
use crate::error::ErrorBody;

/// The `code` path parameter shared by every room endpoint.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct RoomCode {
    /// The room's access code. A code of another shape names no room (`404`).
    #[param(pattern = "^[A-Za-z0-9_-]{8,32}$")]
    code: String,
}

/// The errors every room endpoint may answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum RoomErrors {
    /// No such room.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The database is unavailable; retry later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// `{"status": "ok"}`
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}
