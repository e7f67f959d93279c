//! The connection type over both backends. `diesel::MultiConnection` generates a backend
//! type and its plumbing here, undocumented; hence the one `allow` of the crate.
#![allow(missing_docs)]

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// The connection every query runs on: one of the two backends.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    /// PostgreSQL, for `postgres://` URLs.
    Pg(PgConnection),
    /// Embedded SQLite, the default.
    Sqlite(SqliteConnection),
}
