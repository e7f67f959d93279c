//! The server's HTTP API as the terminal client uses it: create a room, send a timer or
//! swap command, open a room's event stream.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::{header, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sse_stream::SseByteStream;

use super::error::{root_cause, ClientError};
use super::events::{decode, ServerEvent};
use super::keys::RoomCommand;

/// Longest wait for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the answer to a command.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// An open stream that has said nothing for this long is taken as dead. The server
/// writes at least every `PAIRSYNC_HEARTBEAT_MS` (15 s by default).
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// A room's events as they arrive; an error ends it.
pub type EventFeed = Pin<Box<dyn Stream<Item = Result<ServerEvent, ClientError>> + Send>>;

/// The JSON error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

/// The answer to a room creation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    access_code: String,
}

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Api {
    server: String,
    requests: reqwest::Client,
    streams: reqwest::Client,
}

impl Api {
    /// A client of the server at `server` (a base URL without a trailing `/`).
    pub fn new(server: &str) -> Result<Api, ClientError> {
        let build = |b: reqwest::ClientBuilder| {
            b.connect_timeout(CONNECT_TIMEOUT)
                .build()
                .map_err(|e| ClientError::Usage(format!("cannot set up HTTP: {}", root_cause(&e))))
        };
        Ok(Api {
            server: server.to_string(),
            requests: build(reqwest::Client::builder().timeout(REQUEST_TIMEOUT))?,
            streams: build(reqwest::Client::builder().read_timeout(STREAM_IDLE_TIMEOUT))?,
        })
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Creates a room; its access code.
    pub async fn create_room(
        &self,
        driver: &str,
        navigator: &str,
        duration_ms: i64,
    ) -> Result<String, ClientError> {
        let res = self
            .requests
            .post(format!("{}/api/pair-room", self.server))
            .json(&json!({"driver": driver, "navigator": navigator, "timerDuration": duration_ms}))
            .send()
            .await
            .map_err(|e| ClientError::transport(&self.server, &e))?;
        if res.status() != StatusCode::CREATED {
            return Err(refusal(res, None).await);
        }
        let created: Created = res.json().await.map_err(|e| ClientError::Refused {
            status: 201,
            code: "unreadable_answer".into(),
            message: format!("the server's answer cannot be read: {}", root_cause(&e)),
        })?;
        Ok(created.access_code)
    }

    /// Sends `command` to room `code`.
    pub async fn send(&self, code: &str, command: RoomCommand) -> Result<(), ClientError> {
        let res = self
            .requests
            .patch(format!("{}{}", self.server, command.path(code)))
            .send()
            .await
            .map_err(|e| ClientError::transport(&self.server, &e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(refusal(res, Some(code)).await)
        }
    }

    /// Opens room `code`'s event stream.
    pub async fn open_stream(&self, code: &str) -> Result<EventFeed, ClientError> {
        let res = self
            .streams
            .get(format!("{}/api/{code}/connect", self.server))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| ClientError::transport(&self.server, &e))?;
        if res.status() != StatusCode::OK {
            return Err(refusal(res, Some(code)).await);
        }
        let server = self.server.clone();
        let events = SseByteStream::new(res.bytes_stream())
            .map(move |block| match block {
                Ok(sse) => decode(sse.event.as_deref(), sse.data.as_deref(), sse.retry)
                    .into_iter()
                    .map(Ok)
                    .collect(),
                Err(e) => vec![Err(ClientError::Unreachable {
                    server: server.clone(),
                    reason: root_cause(&e),
                })],
            })
            .flat_map(futures_util::stream::iter);
        Ok(Box::pin(events))
    }
}

/// The error for a non-success answer: the JSON body's message, or the status.
async fn refusal(res: Response, code: Option<&str>) -> ClientError {
    let status = res.status();
    let body = res.json::<ErrorBody>().await.ok();
    match (body, code) {
        (Some(body), Some(code)) if body.error == "room_not_found" => {
            ClientError::RoomNotFound(code.to_string())
        }
        (Some(body), _) => ClientError::Refused {
            status: status.as_u16(),
            code: body.error,
            message: body.message,
        },
        (None, Some(code)) if status == StatusCode::NOT_FOUND => {
            ClientError::RoomNotFound(code.to_string())
        }
        (None, _) => ClientError::Refused {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: format!("the server answered {status}"),
        },
    }
}
