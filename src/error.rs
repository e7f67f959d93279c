//! The one error type every endpoint answers with, and its JSON shape:
//! `{"error": "<snake_case_code>", "message": "<one sentence for a person>"}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::rooms::RoomError;
use crate::rules::{CommandError, GoalError, LinkError};
use crate::store::StoreError;

/// Seconds a client over its stream cap is told to wait (`Retry-After`): a place frees
/// only when one of its own streams ends.
pub const CLIENT_STREAMS_RETRY_AFTER_SECS: u64 = 10;

/// Every way a request can fail, each with its status and `error` code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON, a wrong type or a failed validation; the message names the field.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401: an admin endpoint without the right bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// 404: no room has that access code.
    #[error("no pair room has this access code")]
    RoomNotFound,
    /// 404: no such route.
    #[error("no such route")]
    NotFound,
    /// 405: known path, wrong method.
    #[error("this path does not answer that method")]
    MethodNotAllowed,
    /// 409: the duration cannot change while the timer runs.
    #[error("the timer is running; stop it before changing its duration")]
    TimerRunning,
    /// 404: no member of the room has that name.
    #[error("{0}")]
    MemberNotFound(String),
    /// 404: no goal has that id.
    #[error("{0}")]
    TodoNotFound(String),
    /// 404: no category of the room has that id.
    #[error("{0}")]
    CategoryNotFound(String),
    /// 404: no link of the room has that id.
    #[error("{0}")]
    LinkNotFound(String),
    /// 409: a swap or a `next` named another round than the room's (which this holds);
    /// nothing changed.
    #[error("the room is in round {0}, not in the round this request names; nothing changed")]
    RoundChanged(i64),
    /// 413: a request body over the limit.
    #[error("the request body is larger than 16 KiB")]
    PayloadTooLarge,
    /// 429: the room holds as many streams as it may.
    #[error("this room already has as many open streams as it may hold")]
    TooManySubscribers,
    /// 429: this client created too many rooms lately; retry after this many seconds.
    #[error("too many rooms created from this address; retry later")]
    RateLimited(u64),
    /// 429: this client holds as many streams as it may.
    #[error(
        "this client address already holds as many open streams as it may; close one and retry"
    )]
    TooManyClientStreams,
    /// 503: this process holds as many streams as it may; retry after a moment.
    #[error("this server holds as many streams as it may; retry later")]
    TooManyStreams,
    /// 503: the database cannot be reached.
    #[error("the database is unavailable; retry later")]
    Unavailable,
}

/// The body of every 4xx and 5xx answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A snake_case code: `invalid_request`, `unauthorized`, `room_not_found`,
    /// `member_not_found`, `todo_not_found`, `category_not_found`, `link_not_found`, `not_found`,
    /// `method_not_allowed`, `timer_running`, `round_changed`, `payload_too_large`,
    /// `too_many_subscribers`, `rate_limited`, `too_many_streams` or `unavailable`.
    #[schema(example = "room_not_found")]
    pub error: &'static str,
    /// One sentence for a person.
    pub message: String,
}

impl ApiError {
    /// The contract's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::RoomNotFound => "room_not_found",
            ApiError::MemberNotFound(_) => "member_not_found",
            ApiError::TodoNotFound(_) => "todo_not_found",
            ApiError::CategoryNotFound(_) => "category_not_found",
            ApiError::LinkNotFound(_) => "link_not_found",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TimerRunning => "timer_running",
            ApiError::RoundChanged(_) => "round_changed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::TooManySubscribers => "too_many_subscribers",
            ApiError::RateLimited(_) | ApiError::TooManyClientStreams => "rate_limited",
            ApiError::TooManyStreams => "too_many_streams",
            ApiError::Unavailable => "unavailable",
        }
    }

    /// A 400 that names the field.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::InvalidRequest(message.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::RoomNotFound
            | ApiError::MemberNotFound(_)
            | ApiError::TodoNotFound(_)
            | ApiError::CategoryNotFound(_)
            | ApiError::LinkNotFound(_)
            | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TimerRunning | ApiError::RoundChanged(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManySubscribers
            | ApiError::RateLimited(_)
            | ApiError::TooManyClientStreams => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooManyStreams | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable | ApiError::TooManyStreams => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::RateLimited(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            ApiError::TooManyClientStreams => {
                response.insert_header((
                    header::RETRY_AFTER,
                    CLIENT_STREAMS_RETRY_AFTER_SECS.to_string(),
                ));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        log::warn!("{e}");
        ApiError::Unavailable
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::TimerRunning(_) => ApiError::TimerRunning,
            CommandError::RoundChanged(e) => ApiError::RoundChanged(e.current),
            CommandError::Members(e) => ApiError::invalid(format!("members {e}")),
            CommandError::NotAMember(e) => ApiError::MemberNotFound(e.to_string()),
            CommandError::Goal(e) => match e {
                GoalError::NotFound(_) => ApiError::TodoNotFound(e.to_string()),
                GoalError::TooMany => ApiError::invalid(e.to_string()),
                GoalError::IdTaken(_) => {
                    log::warn!("{e}");
                    ApiError::Unavailable
                }
            },
            CommandError::Link(e) => match e {
                LinkError::NoCategory(_) => ApiError::CategoryNotFound(e.to_string()),
                LinkError::NoLink(_) => ApiError::LinkNotFound(e.to_string()),
                LinkError::NameTaken(_) | LinkError::BadName => {
                    ApiError::invalid(format!("value {e}"))
                }
                LinkError::BadUrl | LinkError::TooManyLinks | LinkError::TooManyCategories => {
                    ApiError::invalid(e.to_string())
                }
                LinkError::IdTaken => {
                    log::warn!("{e}");
                    ApiError::Unavailable
                }
            },
        }
    }
}

impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        match e {
            RoomError::NotFound => ApiError::RoomNotFound,
            RoomError::Rejected(e) => e.into(),
            RoomError::Full => ApiError::TooManySubscribers,
            RoomError::Unavailable | RoomError::Stopped => ApiError::Unavailable,
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        log::warn!("room actor unreachable: {e}");
        ApiError::Unavailable
    }
}
