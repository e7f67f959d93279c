//! Who holds streams where, when several processes share one PostgreSQL database: each
//! process's heartbeat (`processes`) and its stream count per room (`presence`). A process
//! whose heartbeat is older than [`PROCESS_TTL_MS`] no longer counts; its streams count as
//! closed at its last heartbeat. With SQLite (one process) nothing here is written or read.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::{Conn, StoreError};

/// How long a process counts after its last heartbeat.
pub const PROCESS_TTL_MS: i64 = 10_000;

/// One room's count in this process, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The room.
    pub code: String,
    /// Streams this process holds on it.
    pub streams: i64,
    /// When the count last fell to 0 (epoch ms); `None` while it holds some.
    pub empty_since: Option<i64>,
}

fn pg(conn: &mut Conn) -> Option<&mut PgConnection> {
    match conn {
        Conn::Pg(pg) => Some(pg),
        Conn::Sqlite(_) => None,
    }
}

/// Records this process's heartbeat and the counts that changed since the last report.
pub fn report(
    conn: &mut Conn,
    process: &str,
    now: i64,
    counts: &[Count],
) -> Result<(), StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(());
    };
    diesel::sql_query(
        "INSERT INTO processes (process_id, heartbeat_at) VALUES ($1, $2) \
         ON CONFLICT (process_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at",
    )
    .bind::<Text, _>(process)
    .bind::<BigInt, _>(now)
    .execute(pg)?;
    for count in counts {
        diesel::sql_query(
            "INSERT INTO presence (process_id, access_code, streams, empty_since) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (process_id, access_code) DO UPDATE \
             SET streams = EXCLUDED.streams, empty_since = EXCLUDED.empty_since",
        )
        .bind::<Text, _>(process)
        .bind::<Text, _>(&count.code)
        .bind::<BigInt, _>(count.streams)
        .bind::<Nullable<BigInt>, _>(count.empty_since)
        .execute(pg)?;
    }
    Ok(())
}

/// Forgets this process (at a clean stop): its streams count no more at once.
pub fn leave(conn: &mut Conn, process: &str) -> Result<(), StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(());
    };
    diesel::sql_query("DELETE FROM presence WHERE process_id = $1")
        .bind::<Text, _>(process)
        .execute(pg)?;
    diesel::sql_query("DELETE FROM processes WHERE process_id = $1")
        .bind::<Text, _>(process)
        .execute(pg)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = Nullable<BigInt>)]
    seen: Option<i64>,
}

/// The latest instant at which another process had a stream on `code` (`now` while one
/// has it), or `None` when none ever reported one.
pub fn seen_elsewhere(
    conn: &mut Conn,
    process: &str,
    code: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(None);
    };
    let row: Seen = diesel::sql_query(
        "SELECT MAX(CASE \
             WHEN p.streams > 0 AND pr.heartbeat_at > $3 - $4 THEN $3 \
             WHEN p.streams > 0 THEN pr.heartbeat_at \
             ELSE p.empty_since END) AS seen \
         FROM presence p LEFT JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.access_code = $1 AND p.process_id <> $2",
    )
    .bind::<Text, _>(code)
    .bind::<Text, _>(process)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(PROCESS_TTL_MS)
    .get_result(pg)?;
    Ok(row.seen)
}

#[derive(QueryableByName)]
struct RoomStreams {
    #[diesel(sql_type = Text)]
    access_code: String,
    #[diesel(sql_type = BigInt)]
    streams: i64,
}

/// Every room with a stream on a live process, with the streams of all live processes.
pub fn streams_by_room(conn: &mut Conn, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(Vec::new());
    };
    let rows: Vec<RoomStreams> = diesel::sql_query(
        "SELECT p.access_code, SUM(p.streams)::BIGINT AS streams \
         FROM presence p JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.streams > 0 AND pr.heartbeat_at > $1 - $2 \
         GROUP BY p.access_code",
    )
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(PROCESS_TTL_MS)
    .load(pg)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.access_code, r.streams))
        .collect())
}
