//! Reads and writes of the `rooms` table: plain synchronous functions over one
//! connection, run off the actor threads by [`super::Db::run`].

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::feed::{self, Change};
use super::models::RoomRow;
use super::schema::rooms::dsl;
use super::{board, history};
use super::{Conn, StoreError};
use crate::rules::{PairRoom, StateName, Write};

/// What became of a versioned write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// The row had the expected version and now holds the new value.
    Committed,
    /// Another writer got there first; this is the row as it now stands.
    Stale(Box<PairRoom>),
    /// The row is gone (the room was deleted).
    Gone,
}

/// Announces the change of `room` to `version`, which told its streams `told`, in the
/// current transaction.
fn announce(conn: &mut Conn, code: &str, version: i64, told: &str) -> Result<(), StoreError> {
    feed::notify(
        conn,
        &Change {
            code: code.to_string(),
            version,
            told: told.to_string(),
        },
    )
}

/// Inserts a new room. A taken access code is [`StoreError::Duplicate`].
pub fn insert(conn: &mut Conn, room: &PairRoom, now: i64) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(dsl::rooms)
            .values(RoomRow::from_room(room, now))
            .execute(conn)
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    StoreError::Duplicate
                }
                other => other.into(),
            })?;
        announce(conn, &room.access_code, room.version, "")
    })
}

/// The rooms these rows store, with their boards; running timers' ticks placed at `now`.
fn rooms_of(conn: &mut Conn, rows: Vec<RoomRow>, now: i64) -> Result<Vec<PairRoom>, StoreError> {
    let codes: Vec<String> = rows.iter().map(|r| r.access_code.clone()).collect();
    let mut boards = board::load_many(conn, &codes)?;
    rows.into_iter()
        .map(|r| {
            let mut room = r.into_room(now)?;
            let board = boards.remove(&room.access_code).unwrap_or_default();
            room.goals = board.goals;
            room.links = board.links;
            Ok(room)
        })
        .collect()
}

/// The room with this access code, if any; a running timer's ticks placed at `now`.
pub fn find(conn: &mut Conn, code: &str, now: i64) -> Result<Option<PairRoom>, StoreError> {
    let row = dsl::rooms
        .find(code)
        .select(RoomRow::as_select())
        .first(conn)
        .optional()?;
    Ok(rooms_of(conn, row.into_iter().collect(), now)?.pop())
}

/// Whether a room has this access code.
pub fn exists(conn: &mut Conn, code: &str) -> Result<bool, StoreError> {
    let found = dsl::rooms
        .find(code)
        .select(dsl::access_code)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Every room whose timer runs.
pub fn running(conn: &mut Conn, now: i64) -> Result<Vec<PairRoom>, StoreError> {
    let rows = dsl::rooms
        .filter(dsl::state.eq(StateName::Running.as_str()))
        .select(RoomRow::as_select())
        .load(conn)?;
    rooms_of(conn, rows, now)
}

/// Every room whose timer runs or whose code is among `codes`.
pub fn running_or_among(
    conn: &mut Conn,
    codes: &[String],
    now: i64,
) -> Result<Vec<PairRoom>, StoreError> {
    let rows = dsl::rooms
        .filter(
            dsl::state
                .eq(StateName::Running.as_str())
                .or(dsl::access_code.eq_any(codes)),
        )
        .select(RoomRow::as_select())
        .load(conn)?;
    rooms_of(conn, rows, now)
}

/// Writes the change's room (whose `version` is the new one) over the row holding
/// `version − 1`, with what changed beside it (the turns it ended, the board), in one
/// transaction; `told` is what the change tells the streams, for the other processes.
pub fn save(conn: &mut Conn, change: &Write, now: i64, told: &str) -> Result<Saved, StoreError> {
    let room = &change.room;
    let expected = room.version - 1;
    let changed = conn.transaction(|conn| {
        let changed = diesel::update(
            dsl::rooms
                .filter(dsl::access_code.eq(&room.access_code))
                .filter(dsl::version.eq(expected)),
        )
        .set(RoomRow::from_room(room, now))
        .execute(conn)?;
        if changed == 1 {
            history::record(conn, &room.access_code, &change.turns)?;
            if change.goals {
                board::write_goals(conn, &room.access_code, &room.goals)?;
            }
            if change.links {
                board::write_links(conn, &room.access_code, &room.links)?;
            }
            announce(conn, &room.access_code, room.version, told)?;
        }
        Ok::<_, StoreError>(changed)
    })?;
    if changed == 1 {
        return Ok(Saved::Committed);
    }
    Ok(match find(conn, &room.access_code, now)? {
        Some(current) => Saved::Stale(Box::new(current)),
        None => Saved::Gone,
    })
}

/// Deletes the room; whether it existed.
pub fn delete(conn: &mut Conn, code: &str) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let existed = diesel::delete(dsl::rooms.find(code)).execute(conn)? == 1;
        if existed {
            announce(conn, code, 0, "")?;
        }
        Ok(existed)
    })
}

/// A cheap query that succeeds when the database answers and holds the `rooms` table.
pub fn ping(conn: &mut Conn) -> Result<(), StoreError> {
    dsl::rooms
        .select(dsl::access_code)
        .limit(1)
        .load::<String>(conn)?;
    Ok(())
}
