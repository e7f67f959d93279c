//! Reads and writes of the `rooms` table: plain synchronous functions over one
//! connection, run off the actor threads by [`super::Db::run`] (and, for the writes of
//! live rooms, gathered into batches by [`super::committer`]).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::feed::wire::Carried;
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
/// current transaction (without the row: for creations and deletes, which no other
/// process applies from the feed).
fn announce(conn: &mut Conn, code: &str, version: i64, told: &str) -> Result<(), StoreError> {
    feed::notify(
        conn,
        &[Change {
            code: code.to_string(),
            version,
            told: told.to_string(),
            carried: None,
        }],
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

/// Runs the reads of `read` on one snapshot of the database: a room row and its board
/// then belong to the same committed version, even while other processes write (on
/// PostgreSQL each statement would otherwise see the commits made since the last one).
fn one_snapshot<T>(
    conn: &mut Conn,
    read: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(|conn| {
        if matches!(conn, Conn::Pg(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        read(conn)
    })
}

/// A `rooms` row with its board, as one PostgreSQL statement reads them.
#[derive(QueryableByName)]
struct RowWithBoard {
    #[diesel(embed)]
    room_row: RoomRow,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    board_goals: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    board_categories: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    board_links: Option<String>,
}

/// The room with this access code, if any; a running timer's ticks placed at `now`. On
/// PostgreSQL one statement reads the row and its board (one statement sees one
/// snapshot: no transaction, one round trip); on SQLite, a read transaction of four.
pub fn find(conn: &mut Conn, code: &str, now: i64) -> Result<Option<PairRoom>, StoreError> {
    if let Conn::Pg(pg) = conn {
        let found = diesel::sql_query(format!(
            "SELECT r.*, {} FROM rooms r WHERE r.access_code = $1",
            board::BOARD_AS_JSON
        ))
        .bind::<diesel::sql_types::Text, _>(code)
        .get_result::<RowWithBoard>(pg)
        .optional()?;
        let Some(found) = found else {
            return Ok(None);
        };
        let board = board::BoardJson {
            goals: found.board_goals,
            categories: found.board_categories,
            links: found.board_links,
        }
        .board(code)?;
        let mut room = found.room_row.into_room(now)?;
        room.goals = board.goals;
        room.links = board.links;
        return Ok(Some(room));
    }
    one_snapshot(conn, |conn| {
        let row = dsl::rooms
            .find(code)
            .select(RoomRow::as_select())
            .first(conn)
            .optional()?;
        Ok(rooms_of(conn, row.into_iter().collect(), now)?.pop())
    })
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
    one_snapshot(conn, |conn| {
        let rows = dsl::rooms
            .filter(dsl::state.eq(StateName::Running.as_str()))
            .select(RoomRow::as_select())
            .load(conn)?;
        rooms_of(conn, rows, now)
    })
}

/// The access codes of every room whose timer runs: one small statement, however many
/// rooms, for a sweep that loads only the ones it does not hold yet ([`find_many`]).
pub fn running_codes(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    Ok(dsl::rooms
        .filter(dsl::state.eq(StateName::Running.as_str()))
        .select(dsl::access_code)
        .load(conn)?)
}

/// The rooms among `codes` that exist, in no particular order; running timers' ticks
/// placed at `now`.
pub fn find_many(conn: &mut Conn, codes: &[String], now: i64) -> Result<Vec<PairRoom>, StoreError> {
    one_snapshot(conn, |conn| {
        let mut rows = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(500) {
            rows.extend(
                dsl::rooms
                    .filter(dsl::access_code.eq_any(chunk))
                    .select(RoomRow::as_select())
                    .load(conn)?,
            );
        }
        rooms_of(conn, rows, now)
    })
}

/// Every room whose timer runs or whose code is among `codes`.
pub fn running_or_among(
    conn: &mut Conn,
    codes: &[String],
    now: i64,
) -> Result<Vec<PairRoom>, StoreError> {
    one_snapshot(conn, |conn| {
        let rows = dsl::rooms
            .filter(
                dsl::state
                    .eq(StateName::Running.as_str())
                    .or(dsl::access_code.eq_any(codes)),
            )
            .select(RoomRow::as_select())
            .load(conn)?;
        rooms_of(conn, rows, now)
    })
}

/// One write of a live room: the change (its room's `version` the new one, one above the
/// row it replaces), the instant it is written at, and what it tells the streams.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The change to write.
    pub change: Write,
    /// The instant of the write, epoch ms.
    pub now: i64,
    /// What the change tells its streams, in the change feed's form.
    pub told: String,
}

/// Writes the change's room (whose `version` is the new one) over the row holding
/// `version − 1`, with what changed beside it (the turns it ended, the board), in one
/// transaction; `told` is what the change tells the streams, for the other processes.
pub fn save(conn: &mut Conn, change: &Write, now: i64, told: &str) -> Result<Saved, StoreError> {
    let pending = Pending {
        change: change.clone(),
        now,
        told: told.to_string(),
    };
    save_many(conn, std::slice::from_ref(&pending))
        .pop()
        .unwrap_or_else(|| Err(StoreError::Unavailable("no outcome".into())))
}

/// Writes every change of `batch` in ONE transaction with one announcement (as few
/// notifications as fit) and answers each one's outcome, in order. Each row keeps its own
/// version check: a stale one is left as it stands and answered with its current row,
/// and the others commit. When the transaction fails as a whole, each change is written
/// again in a transaction of its own, so that one bad write fails only itself; nothing is
/// answered [`Saved::Committed`] that is not committed.
pub fn save_many(conn: &mut Conn, batch: &[Pending]) -> Vec<Result<Saved, StoreError>> {
    let together = conn.transaction(|conn| write_batch(conn, batch));
    let committed = match together {
        Ok(committed) => committed,
        Err(e) if batch.len() > 1 => {
            log::debug!("a batch of {} writes failed ({e}); each alone", batch.len());
            return batch
                .iter()
                .flat_map(|one| save_many(conn, std::slice::from_ref(one)))
                .collect();
        }
        Err(e) => return vec![Err(e)],
    };
    batch
        .iter()
        .zip(committed)
        .map(|(pending, committed)| {
            if committed {
                return Ok(Saved::Committed);
            }
            let room = &pending.change.room;
            Ok(match find(conn, &room.access_code, pending.now)? {
                Some(current) => Saved::Stale(Box::new(current)),
                None => Saved::Gone,
            })
        })
        .collect()
}

/// The statement that writes many rows at once on PostgreSQL, each over its expected
/// version, and names the rows it wrote.
const UPDATE_MANY: &str = "UPDATE rooms AS r SET navigator = n.navigator, driver = n.driver, \
    mission_url = n.mission_url, created_at = n.created_at, duration_ms = n.duration_ms, \
    state = n.state, remaining_ms = n.remaining_ms, deadline_at = n.deadline_at, \
    round = n.round, version = n.version, updated_at = n.updated_at, status = n.status, \
    time_up_at = n.time_up_at, phase = n.phase, auto_start = n.auto_start, \
    break_every = n.break_every, break_duration_ms = n.break_duration_ms, \
    members = n.members, ran_ms = n.ran_ms, resumed_at = n.resumed_at \
    FROM jsonb_to_recordset($1::jsonb) AS n(access_code text, navigator text, driver text, \
    mission_url text, created_at bigint, duration_ms bigint, state text, \
    remaining_ms bigint, deadline_at bigint, round bigint, version bigint, \
    updated_at bigint, status text, time_up_at bigint, phase text, auto_start boolean, \
    break_every bigint, break_duration_ms bigint, members text, ran_ms bigint, \
    resumed_at bigint) \
    WHERE r.access_code = n.access_code AND r.version = n.version - 1 \
    RETURNING r.access_code";

/// A row [`UPDATE_MANY`] wrote.
#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::Text)]
    access_code: String,
}

/// The writes of [`save_many`] in the caller's transaction: every row over its expected
/// version, then, for the rows written, their turns and boards, and the announcement.
/// Answers which were written.
fn write_batch(conn: &mut Conn, batch: &[Pending]) -> Result<Vec<bool>, StoreError> {
    let rows: Vec<RoomRow> = batch
        .iter()
        .map(|p| RoomRow::from_room(&p.change.room, p.now))
        .collect();
    let committed: Vec<bool> = match conn {
        Conn::Pg(pg) => {
            // In the order of their codes, so that batches of several processes that
            // share rooms lock those rows in the same order and never deadlock.
            let mut sorted: Vec<&RoomRow> = rows.iter().collect();
            sorted.sort_by(|a, b| a.access_code.cmp(&b.access_code));
            let json = serde_json::to_string(&sorted)
                .map_err(|e| StoreError::Unavailable(format!("cannot encode rows: {e}")))?;
            let written: Vec<Written> = diesel::sql_query(UPDATE_MANY)
                .bind::<diesel::sql_types::Text, _>(json)
                .load(pg)?;
            let written: std::collections::HashSet<String> =
                written.into_iter().map(|w| w.access_code).collect();
            rows.iter()
                .map(|r| written.contains(&r.access_code))
                .collect()
        }
        Conn::Sqlite(_) => {
            let mut committed = Vec::with_capacity(rows.len());
            for row in &rows {
                let changed = diesel::update(
                    dsl::rooms
                        .filter(dsl::access_code.eq(&row.access_code))
                        .filter(dsl::version.eq(row.version - 1)),
                )
                .set(row)
                .execute(conn)?;
                committed.push(changed == 1);
            }
            committed
        }
    };
    let mut changes = Vec::new();
    for ((pending, row), written) in batch.iter().zip(rows).zip(&committed) {
        if !written {
            continue;
        }
        let change = &pending.change;
        let room = &change.room;
        history::record(conn, &room.access_code, &change.turns)?;
        if change.goals {
            board::write_goals(conn, &room.access_code, &room.goals)?;
        }
        if change.links {
            board::write_links(conn, &room.access_code, &room.links)?;
        }
        changes.push(Change {
            code: room.access_code.clone(),
            version: room.version,
            told: pending.told.clone(),
            carried: Some(Box::new(Carried {
                row,
                goals: change.goals.then(|| room.goals.clone()),
                links: change.links.then(|| room.links.clone()),
            })),
        });
    }
    feed::notify(conn, &changes)?;
    Ok(committed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Category, Goal, Goals, Link, Links};
    use crate::store::scratch::{backends, created};

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn a_room_is_read_back_with_its_whole_board_as_written() {
        for scratch in backends("rooms::tests::a_room_is_read_back_with_its_whole_board_as_written")
        {
            let mut conn = scratch.conn();
            let bare = created(&mut conn, "BARE01", T0);
            let room = created(&mut conn, "FULL01", T0);
            let goals = Goals::from_stored(vec![
                Goal {
                    id: 9_007_199_254_740_991,
                    content: "ship \"it\" — über ✓ \\ {[ ]}".into(),
                    is_checked: true,
                    order: 1,
                },
                Goal {
                    id: 7,
                    content: "first".into(),
                    is_checked: false,
                    order: 0,
                },
            ]);
            let links = Links::from_stored(
                vec![
                    Category {
                        id: "c-2".into(),
                        value: "Docs".into(),
                    },
                    Category {
                        id: "c-1".into(),
                        value: "Tickets".into(),
                    },
                ],
                vec![
                    Link {
                        id: 11,
                        url: "https://example.com/a?b=c&d=é".into(),
                        host: "example.com".into(),
                        category: Some("c-2".into()),
                        added_at: T0 + 5,
                    },
                    Link {
                        id: 3,
                        url: "http://example.org/".into(),
                        host: "example.org".into(),
                        category: None,
                        added_at: T0 + 1,
                    },
                ],
            );
            board::write_goals(&mut conn, "FULL01", &goals).expect("goals written");
            board::write_links(&mut conn, "FULL01", &links).expect("links written");

            let read = find(&mut conn, "FULL01", T0)
                .expect("readable")
                .expect("there");
            assert_eq!(read.goals, goals);
            assert_eq!(read.links, links);
            assert_eq!(read.members, room.members);
            assert_eq!(read.version, room.version);
            let read_bare = find(&mut conn, "BARE01", T0)
                .expect("readable")
                .expect("there");
            assert_eq!(read_bare, bare);
            assert_eq!(read_bare.goals, Goals::default());
            // However a room is read, it is the same room.
            let mut many =
                find_many(&mut conn, &["FULL01".into(), "BARE01".into()], T0).expect("readable");
            many.sort_by(|a, b| a.access_code.cmp(&b.access_code));
            assert_eq!(many, vec![read_bare, read]);
            assert_eq!(find(&mut conn, "NONE01", T0).expect("readable"), None);
        }
    }
}
