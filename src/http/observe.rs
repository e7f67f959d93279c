//! One access-log line and one set of HTTP metrics per request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::AppState;
use crate::access_code::short;

/// The path with its access code shortened, so that logs do not hand out rooms.
fn loggable_path(path: &str, code: Option<&str>) -> String {
    match code {
        Some(code) if !code.is_empty() => path.replacen(code, &format!("{}…", short(code)), 1),
        _ => path.to_string(),
    }
}

/// Logs `METHOD path status duration` and counts the request by route pattern and status.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    let elapsed = started.elapsed();
    let request = res.request();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    if let Some(state) = state {
        state
            .metrics
            .http_request(&route, status, elapsed.as_secs_f64());
    }
    let path = loggable_path(request.path(), request.match_info().get("code"));
    log::info!(
        target: "pairsync::access",
        "{method} {path} {status} {:.1}ms",
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_codes_are_shortened_in_logged_paths() {
        assert_eq!(
            loggable_path("/api/AbCdEfGhIjKlMnOp/timer", Some("AbCdEfGhIjKlMnOp")),
            "/api/AbCdEf…/timer"
        );
        assert_eq!(loggable_path("/healthz", None), "/healthz");
    }
}
