//! The security headers every answer carries: a `Content-Security-Policy` that the
//! pages satisfy (they load their script, style and icon from `/assets/` and nothing
//! inline), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::Error;

/// The policy of every page and answer: only this origin's scripts, styles, images and
/// connections; no inline code, no plugins, no framing, no `<base>` elsewhere, forms
/// posted only here.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Where the bundled API browser (Swagger UI) is served.
pub const DOCS_PREFIX: &str = "/api/docs";

/// The policy of the API browser: as [`PAGE_POLICY`], except that its stylesheet draws
/// its icons from `data:` images. It has no inline script or style either.
pub const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for a request path.
pub fn policy_for(path: &str) -> &'static str {
    match path.strip_prefix(DOCS_PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => DOCS_POLICY,
        _ => PAGE_POLICY,
    }
}

/// Adds the security headers to every answer that does not set them itself.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let policy = policy_for(req.path());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let set: [(HeaderName, &'static str); 3] = [
        (CONTENT_SECURITY_POLICY, policy),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(policy: &str) -> Vec<&str> {
        policy.split(';').map(str::trim).collect()
    }

    #[test]
    fn pages_allow_nothing_inline_and_no_framing() {
        let page = directives(PAGE_POLICY);
        for needed in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "script-src 'self'",
        ] {
            assert!(
                page.contains(&needed),
                "{needed} missing from {PAGE_POLICY}"
            );
        }
        for policy in [PAGE_POLICY, DOCS_POLICY] {
            assert!(!policy.contains("unsafe-"), "{policy}");
        }
    }

    #[test]
    fn only_the_api_browser_gets_data_images() {
        assert_eq!(policy_for("/"), PAGE_POLICY);
        assert_eq!(policy_for("/p/abc"), PAGE_POLICY);
        assert_eq!(policy_for("/api/docsx"), PAGE_POLICY);
        assert_eq!(policy_for("/api/docs"), DOCS_POLICY);
        assert_eq!(policy_for("/api/docs/index.css"), DOCS_POLICY);
        let relaxed: Vec<_> = directives(DOCS_POLICY)
            .into_iter()
            .filter(|d| !directives(PAGE_POLICY).contains(d))
            .collect();
        assert_eq!(relaxed, ["img-src 'self' data:"]);
    }
}
