//! Request limits: how many rooms one client may create per minute, and how large a
//! declared request body may be.

use std::num::NonZeroU32;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::client_address::ClientKey;
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

/// Client states kept before those that are back at a full burst are swept out.
const SWEEP_AT: usize = 10_000;

type Keyed<C> = RateLimiter<
    ClientKey,
    DefaultKeyedStateStore<ClientKey>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

/// Room creations per client (see [`ClientKey`]): `per_minute` a minute, with a burst of
/// as many. Clients without a key (loopback) are not limited.
pub struct CreationLimiter<C: Clock = DefaultClock> {
    /// `None` when the limit is off.
    limiter: Option<Keyed<C>>,
}

impl CreationLimiter {
    /// A limiter allowing `per_minute` creations per client per minute; 0 turns it off.
    pub fn new(per_minute: u32) -> CreationLimiter {
        CreationLimiter::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock> CreationLimiter<C> {
    /// A limiter on `clock` (tests use a clock they move by hand).
    pub fn with_clock(per_minute: u32, clock: C) -> CreationLimiter<C> {
        CreationLimiter {
            limiter: NonZeroU32::new(per_minute).map(|n| {
                RateLimiter::new(
                    Quota::per_minute(n),
                    DefaultKeyedStateStore::default(),
                    clock,
                )
            }),
        }
    }

    /// Takes one creation for `client`, or says (in `RateLimited`) how many whole seconds
    /// to wait.
    pub fn take(&self, client: Option<ClientKey>) -> Result<(), ApiError> {
        let (Some(limiter), Some(client)) = (&self.limiter, client) else {
            return Ok(());
        };
        if limiter.len() >= SWEEP_AT {
            limiter.retain_recent();
        }
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited(seconds.max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    fn key(s: &str) -> Option<ClientKey> {
        ClientKey::of(s.parse().expect("an IP address"))
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate_applies() {
        let clock = FakeRelativeClock::default();
        let limiter = CreationLimiter::with_clock(3, clock.clone());
        for _ in 0..3 {
            assert!(limiter.take(key("203.0.113.7")).is_ok());
        }
        assert_eq!(
            limiter.take(key("203.0.113.7")),
            Err(ApiError::RateLimited(20))
        );
        assert!(
            limiter.take(key("203.0.113.8")).is_ok(),
            "addresses are separate"
        );
        clock.advance(Duration::from_millis(19_500));
        assert_eq!(
            limiter.take(key("203.0.113.7")),
            Err(ApiError::RateLimited(1)),
            "a part second to wait is a whole second"
        );
        clock.advance(Duration::from_millis(500));
        assert!(limiter.take(key("203.0.113.7")).is_ok());
    }

    #[test]
    fn addresses_of_one_ipv6_64_share_one_allowance() {
        let limiter = CreationLimiter::with_clock(2, FakeRelativeClock::default());
        assert!(limiter.take(key("2001:db8:5:6::1")).is_ok());
        assert!(limiter.take(key("2001:db8:5:6::2")).is_ok());
        assert!(matches!(
            limiter.take(key("2001:db8:5:6:ffff::3")),
            Err(ApiError::RateLimited(_))
        ));
        assert!(limiter.take(key("2001:db8:5:7::1")).is_ok());
    }

    #[test]
    fn loopback_clients_and_a_zero_rate_are_not_limited() {
        let limiter = CreationLimiter::with_clock(1, FakeRelativeClock::default());
        for _ in 0..10 {
            assert!(limiter.take(key("127.0.0.1")).is_ok());
            assert!(limiter.take(key("::1")).is_ok());
        }
        let off = CreationLimiter::with_clock(0, FakeRelativeClock::default());
        for _ in 0..10 {
            assert!(off.take(key("203.0.113.7")).is_ok());
        }
    }

    #[test]
    fn clients_back_at_a_full_burst_are_swept_out() {
        let clock = FakeRelativeClock::default();
        let limiter = CreationLimiter::with_clock(60, clock.clone());
        for i in 0..SWEEP_AT as u32 {
            let addr = std::net::Ipv4Addr::from(0xcb00_0000 + i);
            assert!(limiter.take(ClientKey::of(addr.into())).is_ok());
        }
        clock.advance(Duration::from_secs(60));
        assert!(limiter.take(key("198.51.100.1")).is_ok());
        let kept = limiter.limiter.as_ref().map_or(0, |l| l.len());
        assert!(kept < 10, "{kept} client states kept");
    }
}
