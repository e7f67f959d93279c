//! One access-log line and one set of HTTP metrics per request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::AppState;
use crate::access_code::short;

/// How the routes that name a room write its access code.
const CODE_SEGMENT: &str = "{code}";

/// The request path as the access log shows it. A path that names a room is shown as its
/// `route` with the access `code` shortened (`/api/AbCdEf…/timer`), however the request
/// spelled the code (percent-encoded, say), so that logs do not hand out rooms; any other
/// path as it came.
pub fn loggable_path(path: &str, route: Option<&str>, code: Option<&str>) -> String {
    match (route, code) {
        (Some(route), Some(code)) if route.contains(CODE_SEGMENT) => {
            route.replace(CODE_SEGMENT, &format!("{}…", short(code)))
        }
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
    let pattern = request.match_pattern();
    let route = pattern.as_deref().unwrap_or("unmatched");
    let status = res.status().as_u16();
    if let Some(state) = state {
        state
            .metrics
            .http_request(route, status, elapsed.as_secs_f64());
    }
    let path = loggable_path(
        request.path(),
        pattern.as_deref(),
        request.match_info().get("code"),
    );
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
            loggable_path(
                "/api/AbCdEfGhIjKlMnOp/timer",
                Some("/api/{code}/timer"),
                Some("AbCdEfGhIjKlMnOp")
            ),
            "/api/AbCdEf…/timer"
        );
        assert_eq!(
            loggable_path("/healthz", Some("/healthz"), None),
            "/healthz"
        );
        assert_eq!(loggable_path("/nowhere", None, None), "/nowhere");
    }

    #[test]
    fn a_percent_encoded_access_code_is_shortened_in_logged_paths_too() {
        // Found by fuzzing: the router decodes `%4E` to `N`, so the code it matched was not
        // found in the path as sent, and the path was logged with the whole code.
        let path = "/api/Aws%4EsbJlMpQrSrStUv/timer/start";
        assert_eq!(
            loggable_path(
                path,
                Some("/api/{code}/timer/start"),
                Some("AwsNsbJlMpQrSrStUv")
            ),
            "/api/AwsNsb…/timer/start"
        );
    }
}
