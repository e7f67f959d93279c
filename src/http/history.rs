//! `GET /api/pair-room/{code}/history`: the room's completed turns, newest first, and each
//! driver's totals, read from the database (where each turn was committed with the time-up
//! or `next` that ended it).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::access_code;
use crate::error::ApiError;
use crate::http::api_types::{RoomCode, RoomErrors};
use crate::store::{history, rooms};

/// One completed turn.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnBody {
    /// The round this turn completed.
    round: i64,
    /// Who drove.
    driver: String,
    /// Who navigated.
    navigator: String,
    /// When it ended (epoch ms): its deadline at a time-up, the request's instant on `next`.
    ended_at: i64,
    /// How long its countdown ran, ms, pauses excluded.
    ran_ms: i64,
    /// `time-up` or `next`.
    #[schema(pattern = "^(time-up|next)$")]
    end: &'static str,
}

/// One name's share of the room's completed turns.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotalBody {
    /// Who drove.
    name: String,
    /// How many turns they drove.
    turns: i64,
    /// How long their turns' countdowns ran, ms.
    driven_ms: i64,
}

/// A room's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryBody {
    /// The last 100 completed turns, newest first. Breaks are not turns.
    turns: Vec<TurnBody>,
    /// Every completed turn's driver, most time driven first.
    totals: Vec<TotalBody>,
}

/// `GET /api/pair-room/{code}/history`
#[utoipa::path(get, path = "/api/pair-room/{code}/history", operation_id = "read_history", tag = "pair rooms", params(RoomCode),
    responses((status = 200, body = HistoryBody), RoomErrors))]
pub async fn read(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    if !access_code::is_well_formed(&code) {
        return Err(ApiError::RoomNotFound);
    }
    let found = state
        .db
        .run(move |conn| {
            if !rooms::exists(conn, &code)? {
                return Ok(None);
            }
            history::of_room(conn, &code).map(Some)
        })
        .await?;
    let history = found.ok_or(ApiError::RoomNotFound)?;
    Ok(HttpResponse::Ok().json(HistoryBody {
        turns: history
            .turns
            .into_iter()
            .map(|t| TurnBody {
                round: t.round,
                driver: t.driver,
                navigator: t.navigator,
                ended_at: t.ended_at,
                ran_ms: t.ran_ms,
                end: t.end.as_str(),
            })
            .collect(),
        totals: history
            .totals
            .into_iter()
            .map(|t| TotalBody {
                name: t.name,
                turns: t.turns,
                driven_ms: t.driven_ms,
            })
            .collect(),
    }))
}
