//! The `turns` table: every completed turn of every room, written in the transaction of the
//! time-up or `next` that ended it (so each is recorded once, whichever process commits
//! it), read back newest first with each driver's totals, and deleted with its room.

use diesel::prelude::*;

use super::schema::turns::dsl;
use super::{Conn, StoreError};
use crate::rules::{CompletedTurn, TurnEnd};

/// The most turns a history answer lists.
pub const HISTORY_TURNS: i64 = 100;

/// A `turns` row as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::turns)]
pub struct TurnRow {
    /// See the schema.
    pub access_code: String,
    /// See the schema.
    pub round: i64,
    /// See the schema.
    pub driver: String,
    /// See the schema.
    pub navigator: String,
    /// See the schema.
    pub ended_at: i64,
    /// See the schema.
    pub ran_ms: i64,
    /// See the schema.
    pub ended_by: String,
}

/// One driver's share of a room's completed turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    /// Who drove.
    pub name: String,
    /// How many turns.
    pub turns: i64,
    /// How long their turns' countdowns ran, ms.
    pub driven_ms: i64,
}

/// A room's history: its latest turns, newest first, and every driver's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// At most [`HISTORY_TURNS`] turns, newest first.
    pub turns: Vec<CompletedTurn>,
    /// One entry per name that ever drove, most time driven first.
    pub totals: Vec<Total>,
}

/// Records `turns` of the room `code`, in the caller's transaction.
pub fn record(conn: &mut Conn, code: &str, turns: &[CompletedTurn]) -> Result<(), StoreError> {
    if turns.is_empty() {
        return Ok(());
    }
    let rows: Vec<TurnRow> = turns
        .iter()
        .map(|t| TurnRow {
            access_code: code.to_string(),
            round: t.round,
            driver: t.driver.clone(),
            navigator: t.navigator.clone(),
            ended_at: t.ended_at,
            ran_ms: t.ran_ms,
            ended_by: t.end.as_str().to_string(),
        })
        .collect();
    for row in rows {
        diesel::insert_into(dsl::turns).values(row).execute(conn)?;
    }
    Ok(())
}

/// The history of the room `code` (empty for a room without completed turns).
pub fn of_room(conn: &mut Conn, code: &str) -> Result<History, StoreError> {
    let rows: Vec<TurnRow> = dsl::turns
        .filter(dsl::access_code.eq(code))
        .order(dsl::round.desc())
        .limit(HISTORY_TURNS)
        .select(TurnRow::as_select())
        .load(conn)?;
    let turns = rows
        .into_iter()
        .map(|r| CompletedTurn {
            round: r.round,
            driver: r.driver,
            navigator: r.navigator,
            ended_at: r.ended_at,
            ran_ms: r.ran_ms,
            end: TurnEnd::parse(&r.ended_by).unwrap_or(TurnEnd::TimeUp),
        })
        .collect();
    let driven: Vec<(String, i64)> = dsl::turns
        .filter(dsl::access_code.eq(code))
        .select((dsl::driver, dsl::ran_ms))
        .load(conn)?;
    let mut by_name: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (name, ran) in driven {
        let entry = by_name.entry(name).or_default();
        entry.0 += 1;
        entry.1 += ran;
    }
    let mut totals: Vec<Total> = by_name
        .into_iter()
        .map(|(name, (turns, driven_ms))| Total {
            name,
            turns,
            driven_ms,
        })
        .collect();
    totals.sort_by(|a, b| b.driven_ms.cmp(&a.driven_ms).then(a.name.cmp(&b.name)));
    Ok(History { turns, totals })
}
