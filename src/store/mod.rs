//! The committed truth: a pool of database connections (embedded SQLite by default,
//! PostgreSQL for a `postgres://` URL), the embedded migrations of each, and [`Db::run`],
//! which runs synchronous diesel work on the blocking thread pool so that no actor thread
//! ever waits on the database.
//!
//! # Layout
//! - `conn`: the connection type over both backends.
//! - `schema`: the diesel table definitions.
//! - `models`: the row type and its conversion to the domain.
//! - `rooms`: the queries of the `rooms` table.
//! - `committer`: group commit, the live rooms' writes gathered into batches.
//! - `history`: every room's completed turns.
//! - `board`: every room's goals, links and categories.
//! - `presence`: who holds streams where, across processes on PostgreSQL.
//! - `feed`: the change feed between processes on PostgreSQL (`NOTIFY` / `LISTEN`).
//! - `opening`: why a database could not be opened, in words.

pub mod board;
pub mod committer;
mod conn;
pub mod feed;
pub mod history;
pub mod models;
mod opening;
pub mod presence;
pub mod rooms;
pub mod schema;
#[cfg(test)]
pub mod scratch;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use conn::Conn;
pub use opening::{without_password, OpenError, UrlError};

/// The SQLite migrations, compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL migrations, compiled into the binary.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a request waits for a pooled connection before the database counts as unavailable.
const POOL_WAIT: Duration = Duration::from_secs(3);
/// How long a live room waits for a connection while the pool holds none at all: the
/// database is away (its connections failed or were cut) and the pool keeps connecting
/// again in the background. A room takes no other input while it waits, so this is short:
/// its commands are answered `503` at once and its ticks keep their time.
const ROOM_WAIT_WHILE_AWAY: Duration = Duration::from_millis(100);
/// How long SQLite waits on a lock held by another connection.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;
/// Connections in the pool; SQLite serializes writers anyway, readers share WAL snapshots.
const POOL_SIZE: u32 = 8;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or failed the query; the caller may retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The key is taken.
    #[error("duplicate key")]
    Duplicate,
    /// A stored row cannot be read back.
    #[error(transparent)]
    Corrupt(#[from] models::CorruptRow),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(e: diesel::ConnectionError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// Where the data lives, as parsed from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (or `:memory:`).
    Sqlite(String),
    /// A PostgreSQL server, by its `postgres://` URL.
    Postgres(String),
}

impl Backend {
    /// Reads `DATABASE_URL`: `postgres://…` (or `postgresql://…`) selects PostgreSQL; a
    /// file path or `sqlite://PATH` selects SQLite. The scheme is read here, not left to
    /// trial connections, so that a PostgreSQL URL can never become a SQLite file name.
    /// Any other `scheme://` is refused with the schemes that are supported.
    pub fn parse(url: &str) -> Result<Backend, UrlError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if let Some(scheme) = opening::scheme(path) {
            return Err(UrlError::Unsupported {
                url: opening::without_password(url),
                scheme: scheme.to_string(),
            });
        }
        if path.is_empty() {
            return Err(UrlError::Empty);
        }
        Ok(Backend::Sqlite(path.to_string()))
    }
}

/// Settings every SQLite connection needs. `synchronous = FULL` makes each commit durable
/// before the request that made it is answered.
fn connection_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;"
    )
}

/// Opens connections of the configured backend (never by trial and error).
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        use diesel::r2d2::Error;
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).map_err(Error::ConnectionError)?;
                conn.batch_execute(&connection_pragmas())
                    .map_err(Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
            Backend::Postgres(url) => Ok(Conn::Pg(
                PgConnection::establish(url).map_err(Error::ConnectionError)?,
            )),
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _: &mut Conn) -> bool {
        false
    }
}

/// Runs the pending migrations of the connection's backend.
fn migrate(conn: &mut Conn) -> Result<(), String> {
    let done = match conn {
        Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
        Conn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop),
    };
    done.map_err(|e| e.to_string())
}

/// A cheap, cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    writes: committer::Committer,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// Opens the pool and runs the pending migrations. Fails when the database cannot be
    /// opened at all; a database that goes away later makes single requests fail instead.
    /// A failure says what was tried, why it failed and what to do, in words.
    pub fn open(backend: &Backend) -> Result<Db, OpenError> {
        let manager = Manager {
            backend: backend.clone(),
        };
        let refused = |e: &dyn std::fmt::Display| OpenError::connect(backend, &e.to_string());
        // Migrate (and, for SQLite, set the file's journal mode) on one connection before
        // the pool opens several at once.
        let mut setup = manager.connect().map_err(|e| refused(&e))?;
        if let Conn::Sqlite(c) = &mut setup {
            c.batch_execute("PRAGMA journal_mode = WAL;")
                .map_err(|e| refused(&e))?;
        }
        migrate(&mut setup).map_err(|e| OpenError::migrate(backend, &e))?;
        drop(setup);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(POOL_WAIT)
            .build(manager)
            .map_err(|e| refused(&e))?;
        Ok(Db {
            pool,
            backend: backend.clone(),
            writes: committer::Committer::default(),
        })
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// A connection for a live room: as [`Db::conn`], but while the pool holds no
    /// connection at all, waited for only [`ROOM_WAIT_WHILE_AWAY`].
    fn room_conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        if self.pool.state().connections == 0 {
            return Ok(self.pool.get_timeout(ROOM_WAIT_WHILE_AWAY)?);
        }
        self.conn()
    }

    /// The PostgreSQL URL when the database may be shared by several processes.
    pub fn shared_url(&self) -> Option<&str> {
        match &self.backend {
            Backend::Postgres(url) => Some(url),
            Backend::Sqlite(_) => None,
        }
    }

    /// Runs `work` on a pooled connection on the calling thread; only for start-up, before
    /// any actor runs.
    pub fn blocking<T>(
        &self,
        work: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work(&mut *self.conn()?)
    }

    /// Whether the database answers. For SQLite, a fresh connection that may not create the
    /// file opens and reads the `rooms` table (pooled connections keep a file open even after
    /// it was removed or its disk went away, so they cannot tell); for PostgreSQL, a pooled
    /// connection, checked on checkout, reads it.
    pub async fn ready(&self) -> Result<(), StoreError> {
        let path = match &self.backend {
            Backend::Postgres(_) => return self.run(rooms::ping).await,
            Backend::Sqlite(path) => path.clone(),
        };
        actix_web::rt::task::spawn_blocking(move || {
            let url = if path == ":memory:" {
                path
            } else {
                let escaped = path
                    .replace('%', "%25")
                    .replace('?', "%3f")
                    .replace('#', "%23");
                format!("file:{escaped}?mode=rw")
            };
            let conn = SqliteConnection::establish(&url)?;
            rooms::ping(&mut Conn::Sqlite(conn))
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("readiness task failed: {e}")))?
    }

    /// Writes a live room's change through the group committer: together with the other
    /// rooms' writes that are ready at the same moment, in one transaction (see
    /// [`committer`]). Answers once that transaction committed, or failed.
    pub async fn save(&self, pending: rooms::Pending) -> Result<rooms::Saved, StoreError> {
        self.writes
            .submit(self, pending)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the write was dropped".into())))
    }

    /// Counts the group committer's batches in `counters` from now on.
    pub fn count_batches_in(&self, counters: committer::BatchCounters) {
        self.writes.count_in(counters);
    }

    /// Runs `work` on a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_on(Db::conn, work).await
    }

    /// Runs `work` for a live room, which takes no other input meanwhile: as [`Db::run`],
    /// but while the database is away (the pool holds no connection) it fails within
    /// [`ROOM_WAIT_WHILE_AWAY`] instead of waiting the full pool wait.
    pub async fn run_for_room<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_on(Db::room_conn, work).await
    }

    async fn run_on<T, F>(
        &self,
        connect: fn(&Db) -> Result<PooledConnection<Manager>, StoreError>,
        work: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.clone();
        actix_web::rt::task::spawn_blocking(move || work(&mut *connect(&db)?))
            .await
            .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_meets_a_pool_without_any_connection_without_the_full_wait() {
        // Nothing listens on port 1: every connection attempt is refused.
        let backend = Backend::Postgres("postgres://pairsync@127.0.0.1:1/pairsync".into());
        let pool = Pool::builder()
            .max_size(2)
            .connection_timeout(POOL_WAIT)
            .build_unchecked(Manager {
                backend: backend.clone(),
            });
        let db = Db {
            pool,
            backend,
            writes: committer::Committer::default(),
        };
        for _ in 0..3 {
            let asked = std::time::Instant::now();
            assert!(matches!(db.room_conn(), Err(StoreError::Unavailable(_))));
            assert!(asked.elapsed() < POOL_WAIT, "waited {:?}", asked.elapsed());
        }
    }

    /// Runs `source`'s migrations on `conn` up to (not including) the one whose name holds
    /// `stop_at`, fills one room the way the schema then held it, then runs the rest.
    fn migrate_a_room_across<C>(conn: &mut C, source: EmbeddedMigrations, stop_at: &str, fill: &str)
    where
        C: MigrationHarness<C::Backend>
            + diesel::connection::SimpleConnection
            + diesel::migration::MigrationConnection,
    {
        use diesel::migration::MigrationSource;
        conn.setup().expect("the migrations table");
        let all = MigrationSource::<C::Backend>::migrations(&source).expect("the migrations");
        let mut stopped = false;
        for migration in all {
            if !stopped && migration.name().to_string().contains(stop_at) {
                conn.batch_execute(fill).expect("an old room");
                stopped = true;
            }
            conn.run_migration(&*migration).expect("a migration runs");
        }
        assert!(stopped, "no migration named {stop_at}");
    }

    /// A room as the schema held it before members and before its timer's state and phase
    /// took the API's names: its driver and navigator in their columns.
    const OLD_ROOM: &str = "INSERT INTO rooms (access_code, navigator, driver, mission_url, \
        created_at, duration_ms, phase, remaining_ms, deadline_at, round, version, updated_at, \
        status, time_up_at, period, auto_start, break_every, break_duration_ms) VALUES \
        ('oldroom1', 'Nat', 'Dee', '', 1, 60000, 'running', 60000, 1700000060000, 3, 9, 1, \
        'IN_PROGRESS', NULL, 'turn', FALSE, 0, 300000)";

    fn the_old_room_is_a_pair_of_members(conn: &mut Conn) {
        let room = rooms::find(conn, "oldroom1", 1_700_000_030_000)
            .expect("readable")
            .expect("kept");
        assert_eq!(room.members.names(), ["Dee", "Nat"]);
        assert_eq!((room.driver(), room.navigator()), ("Dee", "Nat"));
        assert_eq!((room.timer.round, room.version), (3, 9));
        assert_eq!(room.timer.deadline_at(), Some(1_700_000_060_000));
        // A run stored before its start was counts from full.
        assert_eq!(room.timer.ran_by(1_700_000_030_000), 30_000);
    }

    #[test]
    fn every_existing_sqlite_room_keeps_its_driver_and_navigator_as_its_first_members() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let path = dir.path().join("old.db");
        let path = path.to_str().expect("utf-8");
        let mut conn = SqliteConnection::establish(path).expect("opens");
        migrate_a_room_across(
            &mut conn,
            SQLITE_MIGRATIONS,
            "timer_state_and_phase",
            OLD_ROOM,
        );
        the_old_room_is_a_pair_of_members(&mut Conn::Sqlite(conn));
    }

    #[test]
    fn every_existing_postgres_room_keeps_its_driver_and_navigator_as_its_first_members() {
        let Ok(admin_url) = std::env::var("PAIRSYNC_TEST_POSTGRES") else {
            // Past the runner's capture, as the integration suites say it (tests/README.md).
            use std::io::Write;
            let _ = std::io::stderr().write_all(
                b"\nskipped: store::tests::every_existing_postgres_room_keeps_its_driver_and_navigator_as_its_first_members: PAIRSYNC_TEST_POSTGRES is not set; it runs on the PostgreSQL pass\n",
            );
            return;
        };
        let name = format!("pairsync_migration_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("the server answers");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a database of its own");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("a URL with a database: {admin_url}"),
        };
        let outcome = std::panic::catch_unwind(|| {
            let mut conn = PgConnection::establish(&url).expect("opens");
            migrate_a_room_across(
                &mut conn,
                POSTGRES_MIGRATIONS,
                "timer_state_and_phase",
                OLD_ROOM,
            );
            the_old_room_is_a_pair_of_members(&mut Conn::Pg(conn));
        });
        let _ = admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn database_urls_select_sqlite_by_path_or_scheme() {
        let p = |u| Backend::parse(u).expect("accepted");
        assert_eq!(p("pairsync.db"), Backend::Sqlite("pairsync.db".into()));
        assert_eq!(p("sqlite:///tmp/x.db"), Backend::Sqlite("/tmp/x.db".into()));
        assert_eq!(p("sqlite://rel.db"), Backend::Sqlite("rel.db".into()));
        assert!(Backend::parse("").is_err());
        assert_eq!(
            p("postgres://u@h/db"),
            Backend::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            p("postgresql://h/db"),
            Backend::Postgres("postgresql://h/db".into())
        );
    }
}
