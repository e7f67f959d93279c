//! `GET /api/sign-in/check`: coduo's frontend asks it before it draws a room; pairsync has
//! no accounts, so nobody is ever signed in.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"signedIn": false}`
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// Always `false`: pairsync has no accounts.
    signed_in: bool,
}

/// `GET /api/sign-in/check`
#[utoipa::path(get, path = "/api/sign-in/check", operation_id = "sign_in_check", tag = "pair rooms",
    responses((status = 200, description = "pairsync has no accounts: never signed in", body = SignedIn)))]
pub async fn check() -> HttpResponse {
    HttpResponse::Ok().json(SignedIn { signed_in: false })
}
