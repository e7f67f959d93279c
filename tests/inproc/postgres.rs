//! A PostgreSQL database of its own for one test, made on the server that
//! `PAIRSYNC_TEST_POSTGRES` names as the black-box suite makes its own
//! (`pairsync_test_<uuid>`, dropped at the end), and the rows a test reads there.

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::POSTGRES_ENV;

/// A fresh database, dropped (with every connection to it) when this is dropped.
pub struct TestDatabase {
    /// Its URL, for the processes under test.
    pub url: String,
    admin: String,
    name: String,
}

impl TestDatabase {
    /// A fresh database on the server of [`POSTGRES_ENV`]; without it, `None`, after one
    /// line on stderr (which the test runner does not capture) saying that `test` did not
    /// run.
    pub fn create(test: &str) -> Option<TestDatabase> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {POSTGRES_ENV} not set, {test} did not run"
            );
            return None;
        };
        let name = format!("pairsync_test_{}", uuid::Uuid::new_v4().simple());
        run(&admin, &format!("CREATE DATABASE {name}"));
        let (server, _) = admin
            .rsplit_once('/')
            .expect("a postgres:// URL with a database");
        Some(TestDatabase {
            url: format!("{server}/{name}"),
            admin,
            name,
        })
    }

    /// A connection of the test's own.
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("the test database answers")
    }

    /// The heartbeat of `process` in the `processes` table (epoch ms), if it has a row.
    pub fn heartbeat(&self, process: &str) -> Option<i64> {
        use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
        use pairsync::store::schema::processes::dsl::*;
        processes
            .filter(process_id.eq(process))
            .select(heartbeat_at)
            .first(&mut self.connect())
            .optional()
            .expect("the processes table answers")
    }

    /// The ids in the `processes` table.
    pub fn processes(&self) -> Vec<String> {
        use diesel::QueryDsl;
        use pairsync::store::schema::processes::dsl::*;
        processes
            .select(process_id)
            .load(&mut self.connect())
            .expect("the processes table answers")
    }

    /// The stream counts of `process`'s rows in the `presence` table, one per room.
    pub fn presence_streams(&self, process: &str) -> Vec<i64> {
        use diesel::{ExpressionMethods, QueryDsl};
        use pairsync::store::schema::presence::dsl::*;
        presence
            .filter(process_id.eq(process))
            .select(streams)
            .load(&mut self.connect())
            .expect("the presence table answers")
    }

    /// The room's `(round, time_up_at)` as stored.
    pub fn round_and_time_up(&self, code: &str) -> (i64, Option<i64>) {
        use diesel::{ExpressionMethods, QueryDsl};
        use pairsync::store::schema::rooms::dsl::*;
        rooms
            .filter(access_code.eq(code))
            .select((round, time_up_at))
            .first(&mut self.connect())
            .expect("the room's row")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        run(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement on the admin URL.
fn run(admin: &str, sql: &str) {
    let mut conn = PgConnection::establish(admin).expect("the test PostgreSQL answers");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}
