//! Abuse limits: who the client is (behind trusted proxies only), how many rooms one
//! client address may create per minute, and how large a declared request body may be.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError};

use super::MAX_BODY_BYTES;
use crate::error::ApiError;

/// Refuses, on every route, a request whose declared `Content-Length` is over
/// [`MAX_BODY_BYTES`], before anything reads it. (Bodies without a length are bounded
/// where they are read.)
pub async fn refuse_large_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        let response = ApiError::PayloadTooLarge.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Buckets kept before full (idle) ones are swept out.
const SWEEP_AT: usize = 10_000;

/// The client's address: the peer, or — when the peer is a trusted proxy — the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_addr(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per client address: `per_minute` creations a minute, with a burst of
/// as many. Loopback clients (the operator's own tools, or a proxy that is not declared
/// trusted, which would make every user one address) are not limited.
pub struct CreationLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl CreationLimiter {
    /// A limiter allowing `per_minute` creations per address per minute; 0 turns it off.
    pub fn new(per_minute: u32) -> CreationLimiter {
        CreationLimiter {
            per_minute: f64::from(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one creation for `client` at `now`, or says how many seconds to wait.
    pub fn take(&self, client: Option<IpAddr>, now: Instant) -> Result<(), ApiError> {
        let Some(client) = client.filter(|c| !c.is_loopback()) else {
            return Ok(());
        };
        if self.per_minute <= 0.0 {
            return Ok(());
        }
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT {
            let full = self.per_minute;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < full
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.per_minute,
            updated: now,
        });
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
            Err(ApiError::RateLimited(wait as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate_applies() {
        let limiter = CreationLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(ip("203.0.113.7"), t0).is_ok());
        }
        assert_eq!(
            limiter.take(ip("203.0.113.7"), t0),
            Err(ApiError::RateLimited(20))
        );
        assert!(
            limiter.take(ip("203.0.113.8"), t0).is_ok(),
            "addresses are separate"
        );
        assert!(limiter
            .take(ip("203.0.113.7"), t0 + Duration::from_secs(20))
            .is_ok());
    }

    #[test]
    fn loopback_clients_and_a_zero_rate_are_not_limited() {
        let limiter = CreationLimiter::new(1);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.take(ip("127.0.0.1"), t0).is_ok());
            assert!(limiter.take(ip("::1"), t0).is_ok());
        }
        let off = CreationLimiter::new(0);
        for _ in 0..10 {
            assert!(off.take(ip("203.0.113.7"), t0).is_ok());
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        use actix_web::test::TestRequest;
        let req = |peer: &str, xff: &str| {
            TestRequest::default()
                .peer_addr(format!("{peer}:5000").parse().expect("addr"))
                .insert_header(("x-forwarded-for", xff))
                .to_http_request()
        };
        let trusted = [ip("10.0.0.1").expect("ip")];
        assert_eq!(
            client_addr(&req("10.0.0.1", "198.51.100.1, 203.0.113.9"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_addr(&req("10.0.0.1", "203.0.113.9, 10.0.0.1"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_addr(&req("192.0.2.5", "203.0.113.9"), &trusted),
            ip("192.0.2.5")
        );
        assert_eq!(
            client_addr(&req("10.0.0.1", "junk"), &trusted),
            ip("10.0.0.1")
        );
    }
}
