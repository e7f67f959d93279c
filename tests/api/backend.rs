//! Which database the suite runs on, said in the output of every run.

use std::path::Path;

use crate::helpers::{skipped, TestServer, POSTGRES_ENV};

/// The PostgreSQL pass is chosen by [`POSTGRES_ENV`]; this says in the output of every run
/// which database the suite ran on, so that a run without it cannot pass for both. The
/// line is written to the process's stderr directly, which the test runner does not
/// capture.
#[tokio::test]
async fn the_suite_says_which_database_it_runs_on_and_uses_it() {
    use std::io::Write;
    let app = TestServer::spawn().await;
    match std::env::var(POSTGRES_ENV) {
        Ok(_) => {
            assert!(app.on_postgres(), "{}", app.database_url);
            let _ = writeln!(
                std::io::stderr(),
                "\nnote: {POSTGRES_ENV} is set: this is the PostgreSQL pass\n"
            );
        }
        Err(_) => {
            assert!(!app.on_postgres(), "{}", app.database_url);
            assert!(Path::new(&app.database_url).is_file(), "a SQLite file");
            skipped(
                "backend::the_postgresql_pass",
                &format!("{POSTGRES_ENV} not set, the PostgreSQL pass did not run"),
            );
        }
    }
    app.room(60000).await;
}
