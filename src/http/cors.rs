//! Cross-origin calls to the API from the configured origins (`PAIRSYNC_ALLOWED_ORIGINS`):
//! which requests get CORS answers, with credentials and preflights, made by `actix-cors`.
//!
//! A request gets them only when its path is under `/api/`, its `Origin` is one of the
//! configured origins and, for a preflight, the method it asks for is one the API serves.
//! Every other request goes straight to the routes, untouched: no `Access-Control-*`
//! header, and a preflight from anywhere else meets the route table's `405` like any
//! other `OPTIONS` request.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_cors::{Cors, CorsMiddleware};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::Error;

/// How long a browser may keep a preflight's answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// The methods a cross-origin page may use: every method the API routes.
const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The answer headers a cross-origin page may read besides the simple ones.
const EXPOSED: [header::HeaderName; 2] = [header::LOCATION, header::RETRY_AFTER];

/// The middleware factory: wrap the app with it. With no origins it lets everything through.
pub struct CrossOrigin {
    origins: Rc<HashSet<HeaderValue>>,
    cors: Cors,
}

impl CrossOrigin {
    /// CORS for these origins (each already checked by the settings: `scheme://host[:port]`).
    pub fn new(origins: &[String]) -> CrossOrigin {
        let cors = origins
            .iter()
            .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
            .allowed_methods(METHODS)
            .allow_any_header()
            .expose_headers(EXPOSED)
            .supports_credentials()
            .max_age(PREFLIGHT_MAX_AGE_SECS);
        let origins = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CrossOrigin {
            origins: Rc::new(origins),
            cors,
        }
    }
}

/// The inner service, shared between the CORS path and the direct one.
pub struct Shared<S>(Rc<S>);

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.0.call(req)
    }
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, Error>;

impl<S, B> Transform<S, ServiceRequest> for CrossOrigin
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CrossOriginMiddleware<S>;
    type InitError = ();
    type Future = Pin<Box<dyn Future<Output = Result<Self::Transform, ()>>>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let direct = Rc::new(service);
        let cors = self.cors.new_transform(Shared(direct.clone()));
        let origins = self.origins.clone();
        Box::pin(async move {
            Ok(CrossOriginMiddleware {
                cors: cors.await?,
                direct,
                origins,
            })
        })
    }
}

/// The middleware: sends each request through `actix-cors` or straight to the routes.
pub struct CrossOriginMiddleware<S> {
    cors: CorsMiddleware<Shared<S>>,
    direct: Rc<S>,
    origins: Rc<HashSet<HeaderValue>>,
}

impl<S> CrossOriginMiddleware<S> {
    /// Whether `req` is a cross-origin API call that CORS answers.
    fn is_allowed(&self, req: &ServiceRequest) -> bool {
        if !req.path().starts_with("/api/") {
            return false;
        }
        let headers = req.headers();
        let Some(origin) = headers.get(header::ORIGIN) else {
            return false;
        };
        if !self.origins.contains(origin) {
            return false;
        }
        if req.method() != Method::OPTIONS {
            return true;
        }
        // A preflight for a method the API never serves meets the routes' 405.
        match headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
            None => true,
            Some(asked) => METHODS
                .iter()
                .any(|m| m.as_str().as_bytes() == asked.as_bytes()),
        }
    }
}

impl<S, B> Service<ServiceRequest> for CrossOriginMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Answer<B>>>>;

    forward_ready!(direct);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.is_allowed(&req) {
            return self.cors.call(req);
        }
        let vary = !self.origins.is_empty() && req.path().starts_with("/api/");
        let answer = self.direct.call(req);
        Box::pin(async move {
            let mut res = answer.await?;
            if vary {
                // The answer depends on the Origin: caches must not hand it to another one.
                res.headers_mut()
                    .append(header::VARY, HeaderValue::from_static("Origin"));
            }
            Ok(res.map_into_left_body())
        })
    }
}
