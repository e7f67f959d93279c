//! Who holds streams where, when several processes share one PostgreSQL database: each
//! process's heartbeat (`processes`) and its streams per room (`presence`: their count and
//! the distinct names of the named ones). Every report is also announced on the change
//! feed (see [`super::feed`]), so the other processes learn it without reading. A process
//! counts while its heartbeat is younger than [`PROCESS_TTL_MS`] and its change-feed
//! connection, named `pairsync-<process id>` (see [`tagged_url`]), is open: a process killed
//! outright loses that connection at once, so it stops counting at once. A process that no
//! longer counts has its streams counted as closed at its last heartbeat. With SQLite (one
//! process) nothing here is written or read.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::{feed, Conn, StoreError};
use crate::rules::PresenceView;

/// How long a process counts after its last heartbeat.
pub const PROCESS_TTL_MS: i64 = 10_000;

/// The database URL with the connection named after `process`
/// (`application_name=pairsync-<process>`), so that the other processes can tell, from
/// `pg_stat_activity`, whether this one still holds its change-feed connection.
pub fn tagged_url(url: &str, process: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}application_name=pairsync-{process}")
}

/// The SQL that says whether the process of `presence` row `p` / `processes` row `pr`
/// still counts at `$now` (bound as parameter `now_param`).
fn alive(now_param: u8) -> String {
    format!(
        "(pr.heartbeat_at > ${now_param} - {PROCESS_TTL_MS} AND EXISTS (SELECT 1 FROM \
         pg_stat_activity a WHERE a.application_name = 'pairsync-' || p.process_id))"
    )
}

/// One room's count in this process, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The room.
    pub code: String,
    /// Streams this process holds on it.
    pub streams: i64,
    /// When the count last fell to 0 (epoch ms); `None` while it holds some.
    pub empty_since: Option<i64>,
    /// The distinct names of its named streams, sorted.
    pub names: Vec<String>,
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
            "INSERT INTO presence (process_id, access_code, streams, empty_since, names) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (process_id, access_code) DO UPDATE \
             SET streams = EXCLUDED.streams, empty_since = EXCLUDED.empty_since, \
             names = EXCLUDED.names",
        )
        .bind::<Text, _>(process)
        .bind::<Text, _>(&count.code)
        .bind::<BigInt, _>(count.streams)
        .bind::<Nullable<BigInt>, _>(count.empty_since)
        .bind::<Text, _>(names_json(&count.names))
        .execute(pg)?;
    }
    if !counts.is_empty() {
        for payload in feed::presence_payloads(process, counts) {
            feed::notify_raw(conn, &payload)?;
        }
    }
    Ok(())
}

fn names_json(names: &[String]) -> String {
    serde_json::to_string(names).unwrap_or_else(|_| "[]".to_string())
}

#[derive(QueryableByName)]
struct ProcessRow {
    #[diesel(sql_type = Text)]
    process_id: String,
}

/// The processes that count at `now` (heartbeat fresh and change-feed connection open).
pub fn live_processes(conn: &mut Conn, now: i64) -> Result<Vec<String>, StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(Vec::new());
    };
    let rows: Vec<ProcessRow> = diesel::sql_query(format!(
        "SELECT p.process_id FROM processes pr JOIN processes p \
         ON p.process_id = pr.process_id WHERE {alive}",
        alive = alive(1)
    ))
    .bind::<BigInt, _>(now)
    .load(pg)?;
    Ok(rows.into_iter().map(|r| r.process_id).collect())
}

#[derive(QueryableByName)]
struct BookRow {
    #[diesel(sql_type = Text)]
    process_id: String,
    #[diesel(sql_type = Text)]
    access_code: String,
    #[diesel(sql_type = BigInt)]
    streams: i64,
    #[diesel(sql_type = Text)]
    names: String,
}

/// One process's streams on one room, as the others read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The process.
    pub process: String,
    /// The room.
    pub code: String,
    /// Its streams there.
    pub streams: i64,
    /// The distinct names of its named streams there.
    pub names: Vec<String>,
}

/// Every room's streams on every live process at `now` (rows with streams only).
pub fn book(conn: &mut Conn, now: i64) -> Result<Vec<Held>, StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(Vec::new());
    };
    let rows: Vec<BookRow> = diesel::sql_query(format!(
        "SELECT p.process_id, p.access_code, p.streams, p.names \
         FROM presence p JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.streams > 0 AND {alive}",
        alive = alive(1)
    ))
    .bind::<BigInt, _>(now)
    .load(pg)?;
    Ok(rows
        .into_iter()
        .map(|r| Held {
            process: r.process_id,
            code: r.access_code,
            streams: r.streams,
            names: serde_json::from_str(&r.names).unwrap_or_default(),
        })
        .collect())
}

/// Who is here on `code`, over every live process at `now` (nothing on SQLite, whose one
/// process answers from its live room).
pub fn of_room(conn: &mut Conn, code: &str, now: i64) -> Result<PresenceView, StoreError> {
    let Some(pg) = pg(conn) else {
        return Ok(PresenceView::default());
    };
    let rows: Vec<BookRow> = diesel::sql_query(format!(
        "SELECT p.process_id, p.access_code, p.streams, p.names \
         FROM presence p JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.access_code = $2 AND p.streams > 0 AND {alive}",
        alive = alive(1)
    ))
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(code)
    .load(pg)?;
    let mut here = std::collections::BTreeSet::new();
    let mut watching = 0;
    for row in rows {
        watching += row.streams;
        here.extend(serde_json::from_str::<Vec<String>>(&row.names).unwrap_or_default());
    }
    Ok(PresenceView {
        here: here.into_iter().collect(),
        watching,
    })
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
    let row: Seen = diesel::sql_query(format!(
        "SELECT MAX(CASE \
             WHEN p.streams > 0 AND {alive} THEN $3 \
             WHEN p.streams > 0 THEN pr.heartbeat_at \
             ELSE p.empty_since END) AS seen \
         FROM presence p LEFT JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.access_code = $1 AND p.process_id <> $2",
        alive = alive(3)
    ))
    .bind::<Text, _>(code)
    .bind::<Text, _>(process)
    .bind::<BigInt, _>(now)
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
    let rows: Vec<RoomStreams> = diesel::sql_query(format!(
        "SELECT p.access_code, SUM(p.streams)::BIGINT AS streams \
         FROM presence p JOIN processes pr ON pr.process_id = p.process_id \
         WHERE p.streams > 0 AND {alive} \
         GROUP BY p.access_code",
        alive = alive(1)
    ))
    .bind::<BigInt, _>(now)
    .load(pg)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.access_code, r.streams))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_connection_is_named_after_the_process() {
        assert_eq!(
            tagged_url("postgres://u@h/db", "abc"),
            "postgres://u@h/db?application_name=pairsync-abc"
        );
        assert_eq!(
            tagged_url("postgres://u@h/db?sslmode=disable", "abc"),
            "postgres://u@h/db?sslmode=disable&application_name=pairsync-abc"
        );
    }
}
