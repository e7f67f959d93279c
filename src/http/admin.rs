//! The operators' endpoints: `GET /rooms` and `GET /rooms/{code}`, behind the admin
//! bearer token, answered from the rooms live in this process.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::join_all;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::http::api_types::RoomCode;
use crate::rooms::messages::{Describe, RoomView};
use crate::rooms::registry::{LiveRoom, LiveRooms};
use crate::rules::{PresenceView, TimerView};
use crate::store::{presence, rooms};

/// The page size when none is asked for.
const DEFAULT_LIMIT: usize = 100;
/// The largest page.
const MAX_LIMIT: usize = 1000;

/// The admin bearer token, compared in constant time.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps the configured (or generated) token.
    pub fn new(token: String) -> AdminToken {
        AdminToken(token)
    }

    /// `Ok` when the request carries `Authorization: Bearer <token>` (the scheme in any case).
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            })
            .map(|(_, token)| token)
            .unwrap_or("");
        if same_token(presented.as_bytes(), self.0.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Whether `presented` is the token, in a time that does not depend on where (or whether)
/// the two differ: a caller cannot find the token byte by byte from how long a refusal
/// takes. (Tokens of another length are refused at once; the length is no secret worth
/// the name.)
fn same_token(presented: &[u8], token: &[u8]) -> bool {
    bool::from(presented.ct_eq(token))
}

/// One live room as operators see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    access_code: String,
    navigator: String,
    driver: String,
    subscribers: usize,
    timer: TimerView,
}

impl Entry {
    fn new(view: RoomView, now: i64) -> Entry {
        Entry {
            timer: view.room.timer_view(now),
            navigator: view.room.navigator().to_string(),
            driver: view.room.driver().to_string(),
            access_code: view.room.access_code,
            subscribers: view.subscribers,
        }
    }
}

/// A page of live rooms.
#[derive(Serialize, ToSchema)]
pub struct Listing {
    rooms: Vec<Entry>,
    total: usize,
}

fn number(query: &HashMap<&str, &str>, key: &str, default: usize) -> Result<usize, ApiError> {
    match query.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(format!("{key} must be a whole number"))),
    }
}

/// The `scope` of `GET /rooms`, as the document shows it (read by [`page`]).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Scope {
    /// The rooms live in this process (the default).
    Process,
    /// Every room with a stream on any live process or a running timer.
    Cluster,
}

/// A listing request, from `GET /rooms`'s query pairs: `limit` (1 to 1000, default 100),
/// `offset` (≥ 0, default 0) and `scope` (`process`, the default, or `cluster`), each at
/// most once; any other parameter is refused with a message that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingQuery {
    /// Rooms on the page.
    pub limit: usize,
    /// Rooms skipped before it.
    pub offset: usize,
    /// `scope=cluster`: rooms with a stream on any live process or a running timer.
    pub cluster: bool,
}

/// Reads a listing request; see [`ListingQuery`].
pub fn page(pairs: &[(String, String)]) -> Result<ListingQuery, ApiError> {
    let mut query = HashMap::new();
    for (key, value) in pairs {
        if !matches!(key.as_str(), "limit" | "offset" | "scope") {
            return Err(ApiError::invalid(format!(
                "unknown query parameter {key}; only limit, offset and scope are accepted"
            )));
        }
        if query.insert(key.as_str(), value.as_str()).is_some() {
            return Err(ApiError::invalid(format!("{key} is given more than once")));
        }
    }
    let query = &query;
    let limit = number(query, "limit", DEFAULT_LIMIT)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let cluster = match query.get("scope").copied() {
        None | Some("process") => false,
        Some("cluster") => true,
        Some(_) => return Err(ApiError::invalid("scope must be process or cluster")),
    };
    Ok(ListingQuery {
        limit,
        offset: number(query, "offset", 0)?,
        cluster,
    })
}

/// `GET /rooms`: the rooms live in this process, or, with `scope=cluster`, every room with a
/// stream on any live process or a running timer.
#[utoipa::path(get, path = "/rooms", tag = "operations", security(("admin_token" = [])),
    params(("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 100"),
           ("offset" = Option<usize>, Query, minimum = 0, description = "0 or more, default 0"),
           ("scope" = Option<Scope>, Query, description = "`process` (default): the rooms live in this process; \
               `cluster`: every room with a stream on any live process or a running timer, `subscribers` counting every process's streams")),
    responses((status = 200, body = Listing),
        (status = 400, description = "A bad limit or offset", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    state.admin_token.check(&req)?;
    let ListingQuery {
        limit,
        offset,
        cluster,
    } = page(&query)?;
    if cluster {
        return Ok(HttpResponse::Ok().json(cluster_listing(&state, limit, offset).await?));
    }
    let live = state.registry.send(LiveRooms).await?;
    let total = live.len();
    let asks = live
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, addr)| addr.send(Describe));
    let now = state.clock.now_ms();
    // A room that stopped between the listing and the question is left out.
    let rooms = join_all(asks)
        .await
        .into_iter()
        .filter_map(|answer| answer.ok()?.ok())
        .map(|view| Entry::new(view, now))
        .collect();
    Ok(HttpResponse::Ok().json(Listing { rooms, total }))
}

/// Every room with a stream on a live process or a running timer, sorted by access code.
/// With SQLite this process is the only one.
async fn cluster_listing(
    state: &AppState,
    limit: usize,
    offset: usize,
) -> Result<Listing, ApiError> {
    let now = state.clock.now_ms();
    let streams: HashMap<String, i64> = if state.db.shared_url().is_some() {
        state
            .db
            .run(move |conn| presence::streams_by_room(conn, now))
            .await?
            .into_iter()
            .collect()
    } else {
        let live = state.registry.send(LiveRooms).await?;
        join_all(live.into_iter().map(|(_, addr)| addr.send(Describe)))
            .await
            .into_iter()
            .filter_map(|answer| answer.ok()?.ok())
            .filter(|view| view.subscribers > 0)
            .map(|view| {
                let n = i64::try_from(view.subscribers).unwrap_or(i64::MAX);
                (view.room.access_code, n)
            })
            .collect()
    };
    let codes: Vec<String> = streams.keys().cloned().collect();
    let mut found = state
        .db
        .run(move |conn| rooms::running_or_among(conn, &codes, now))
        .await?;
    found.sort_by(|a, b| a.access_code.cmp(&b.access_code));
    let total = found.len();
    let rooms = found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|room| {
            let subscribers = streams.get(&room.access_code).copied().unwrap_or(0);
            Entry::new(
                RoomView {
                    room,
                    subscribers: usize::try_from(subscribers).unwrap_or(0),
                    presence: PresenceView::default(),
                },
                now,
            )
        })
        .collect();
    Ok(Listing { rooms, total })
}

/// `GET /rooms/{code}`
#[utoipa::path(get, path = "/rooms/{code}", operation_id = "read_live_room", tag = "operations", security(("admin_token" = [])), params(RoomCode),
    responses((status = 200, body = Entry),
        (status = 404, description = "No such room live in this process", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody)))]
pub async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.admin_token.check(&req)?;
    let addr = state
        .registry
        .send(LiveRoom(code.into_inner()))
        .await?
        .ok_or(ApiError::RoomNotFound)?;
    let view = addr
        .send(Describe)
        .await
        .map_err(|_| ApiError::RoomNotFound)?
        .map_err(|_| ApiError::RoomNotFound)?;
    Ok(HttpResponse::Ok().json(Entry::new(view, state.clock.now_ms())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_the_exact_token_passes_under_the_bearer_scheme_in_any_case() {
        let token = AdminToken::new("s3cret".into());
        let with = |v: &str| {
            TestRequest::default()
                .insert_header((header::AUTHORIZATION, v))
                .to_http_request()
        };
        for good in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret"] {
            assert!(token.check(&with(good)).is_ok(), "{good}");
        }
        for bad in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert_eq!(
                token.check(&with(bad)),
                Err(ApiError::Unauthorized),
                "{bad}"
            );
        }
        assert!(token
            .check(&TestRequest::default().to_http_request())
            .is_err());
    }

    #[test]
    fn paging_takes_whole_numbers_in_range() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let listing = |limit, offset, cluster| {
            Ok(ListingQuery {
                limit,
                offset,
                cluster,
            })
        };
        assert_eq!(page(&q(&[])), listing(100, 0, false));
        assert_eq!(
            page(&q(&[("limit", "1000"), ("offset", "5")])),
            listing(1000, 5, false)
        );
        assert_eq!(page(&q(&[("scope", "cluster")])), listing(100, 0, true));
        assert_eq!(page(&q(&[("scope", "process")])), listing(100, 0, false));
        assert!(page(&q(&[("scope", "everywhere")])).is_err());
        for bad in [
            ("limit", "0"),
            ("limit", "1001"),
            ("limit", "x"),
            ("offset", "-1"),
            ("offset", "1.5"),
        ] {
            assert!(page(&q(&[bad])).is_err(), "{bad:?}");
        }
        assert!(page(&q(&[("limit", "5"), ("limit", "6")])).is_err());
        assert!(page(&q(&[("sort", "desc")])).is_err());
    }
}

#[cfg(test)]
mod token {
    use std::time::{Duration, Instant};

    use super::same_token;

    #[test]
    fn only_the_token_itself_is_the_same_token() {
        assert!(same_token(b"s3cret-token", b"s3cret-token"));
        for other in [
            &b""[..],
            b"s3cret-tokeN",
            b"S3cret-token",
            b"s3cret-toke",
            b"s3cret-token!",
        ] {
            assert!(!same_token(other, b"s3cret-token"), "{other:?}");
        }
    }

    /// The contract: token comparison is constant-time. A comparison that stops at the first
    /// differing byte refuses a guess wrong at its first byte in a few ns and one wrong at its
    /// last byte of 256 KiB in some µs: a thousand times longer. Compared in constant time,
    /// both take the same. The medians of interleaved runs are compared, with a factor of 2
    /// for a machine busy with other work (a leak is a factor of hundreds).
    #[test]
    fn a_guess_wrong_at_its_first_byte_takes_as_long_to_refuse_as_one_wrong_at_its_last() {
        const LEN: usize = 256 * 1024;
        let token = vec![b'a'; LEN];
        let mut first = token.clone();
        first[0] = b'b';
        let mut last = token.clone();
        last[LEN - 1] = b'b';
        let time = |guess: &[u8]| {
            let began = Instant::now();
            assert!(!same_token(std::hint::black_box(guess), &token));
            began.elapsed()
        };
        let (mut at_first, mut at_last): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
        for _ in 0..21 {
            at_first.push(time(&first));
            at_last.push(time(&last));
        }
        at_first.sort();
        at_last.sort();
        let (at_first, at_last) = (at_first[10], at_last[10]);
        assert!(
            at_last < at_first * 2 && at_first < at_last * 2,
            "median refusal: wrong at the first byte {at_first:?}, at the last {at_last:?}"
        );
    }
}
