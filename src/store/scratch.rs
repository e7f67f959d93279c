//! Scratch databases for the store's tests: a fresh, migrated SQLite file, and a
//! PostgreSQL database of its own when `PAIRSYNC_TEST_POSTGRES` names a server.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

use super::{rooms, Backend, Conn, Db};
use crate::rules::{Members, NewRoom, PairRoom, RoomSettings};

/// A fresh, migrated database, removed when dropped: a SQLite file in a scratch
/// folder, or a PostgreSQL database of its own on the server of `PAIRSYNC_TEST_POSTGRES`.
pub struct Scratch {
    /// The pool the store's code runs on.
    pub db: Db,
    /// Its `DATABASE_URL`.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A SQLite file in a scratch folder.
    pub fn sqlite() -> Scratch {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let path = dir.path().join("rooms.db");
        let url = path.to_str().expect("utf-8").to_string();
        let db = Db::open(&Backend::Sqlite(url.clone())).expect("opens");
        Scratch {
            db,
            url,
            postgres: None,
            _dir: Some(dir),
        }
    }

    /// `None` (and a line saying that `test` did not run on PostgreSQL) without one.
    pub fn postgres(test: &str) -> Option<Scratch> {
        let Ok(admin) = std::env::var("PAIRSYNC_TEST_POSTGRES") else {
            // Past the runner's capture, as the integration suites say it.
            use std::io::Write as _;
            let line = format!(
                "\nskipped: store::{test}: PAIRSYNC_TEST_POSTGRES is not set; it runs on the PostgreSQL pass\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            return None;
        };
        let name = format!("pairsync_commit_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(&admin).expect("the server answers");
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a database of its own");
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("a URL with a database: {admin}"),
        };
        let db = Db::open(&Backend::Postgres(url.clone())).expect("opens");
        Some(Scratch {
            db,
            url,
            postgres: Some((admin, name)),
            _dir: None,
        })
    }

    /// A connection of its own to it.
    pub fn conn(&self) -> Conn {
        match &self.postgres {
            Some(_) => Conn::Pg(PgConnection::establish(&self.url).expect("connects")),
            None => {
                Conn::Sqlite(diesel::sqlite::SqliteConnection::establish(&self.url).expect("opens"))
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
            }
        }
    }
}

/// Every backend this run has: SQLite, and PostgreSQL when it is set.
pub fn backends(test: &str) -> Vec<Scratch> {
    let mut all = vec![Scratch::sqlite()];
    all.extend(Scratch::postgres(test));
    all
}

/// A new idle pair room (Dri drives, Nav navigates, a minute's turn) with the access code
/// `code`, inserted at `at`.
pub fn created(conn: &mut Conn, code: &str, at: i64) -> PairRoom {
    let room = NewRoom {
        members: Members::pair("Dri", "Nav").expect("two names"),
        mission_url: String::new(),
        duration: 60_000,
        remaining: 60_000,
        settings: RoomSettings::default(),
    }
    .into_room(code.to_string(), at);
    rooms::insert(conn, &room, at).expect("inserted");
    room
}
