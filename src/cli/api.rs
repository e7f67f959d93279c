//! The server's HTTP API as the terminal client uses it, over HTTP or HTTPS: create a
//! room, send a timer, swap or next command, open a room's event stream.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::{header, Response, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;
use sse_stream::SseByteStream;

use super::error::{root_cause, ClientError};
use super::events::{decode, ServerEvent};
use super::keys::RoomCommand;
use super::tls::{self, Trust};

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
    trust: Trust,
    /// Whether the system's certificate authorities were loaded.
    system_roots: bool,
}

impl Api {
    /// A client of the server at `server` (a base URL without a trailing `/`) that
    /// trusts the system's certificate authorities and `trust`.
    pub fn new(server: &str, trust: Trust) -> Result<Api, ClientError> {
        let (requests, system_roots) = trust.client(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
        })?;
        let (streams, _) = trust.client(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(STREAM_IDLE_TIMEOUT)
        })?;
        Ok(Api {
            server: server.to_string(),
            requests,
            streams,
            trust,
            system_roots,
        })
    }

    /// The error for a request that got no answer: a refused certificate, or an
    /// unreachable server.
    fn failed(&self, error: &reqwest::Error) -> ClientError {
        if let Some(refusal) = tls::refused_certificate(error) {
            return ClientError::Untrusted(tls::untrusted(
                &self.server,
                &refusal,
                &self.trust,
                self.system_roots,
            ));
        }
        if tls::not_tls(error) {
            return ClientError::Unreachable {
                server: self.server.clone(),
                reason: "it does not answer in HTTPS there (is its address http://…?)".into(),
            };
        }
        ClientError::transport(&self.server, error)
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Creates the room `body` describes (`POST /api/pair-room`); its access code.
    pub async fn create_room(&self, body: &Value) -> Result<String, ClientError> {
        let res = self
            .requests
            .post(format!("{}/api/pair-room", self.server))
            .json(body)
            .send()
            .await
            .map_err(|e| self.failed(&e))?;
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
            .map_err(|e| self.failed(&e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(refusal(res, Some(code)).await)
        }
    }

    /// Opens room `code`'s event stream, as `name`'s (anonymous for `None`).
    pub async fn open_stream(
        &self,
        code: &str,
        name: Option<&str>,
    ) -> Result<EventFeed, ClientError> {
        let url = stream_url(&self.server, code, name)?;
        let res = self
            .streams
            .get(url)
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| self.failed(&e))?;
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

/// The URL of room `code`'s event stream on `server`, with `?name=` when named.
fn stream_url(server: &str, code: &str, name: Option<&str>) -> Result<Url, ClientError> {
    let mut url = Url::parse(&format!("{server}/api/{code}/connect"))
        .map_err(|e| ClientError::Usage(format!("`{server}` is not a URL: {e}")))?;
    if let Some(name) = name {
        url.query_pairs_mut().append_pair("name", name);
    }
    Ok(url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_stream_carries_the_name_percent_encoded() {
        let url = stream_url("https://h:1/under", "abcdefgh", Some("Zoë & Al")).expect("a URL");
        assert_eq!(
            url.as_str(),
            "https://h:1/under/api/abcdefgh/connect?name=Zo%C3%AB+%26+Al"
        );
        let url = stream_url("http://h:1", "abcdefgh", None).expect("a URL");
        assert_eq!(url.as_str(), "http://h:1/api/abcdefgh/connect");
    }
}
