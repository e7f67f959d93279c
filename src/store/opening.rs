//! Why a database could not be opened, or a `DATABASE_URL` was refused, in words for the
//! person starting the server: what was tried (the file's full path, or the URL without
//! its password), the cause in plain words, and what to do about it.

use std::path::{Path, PathBuf};

use super::Backend;

/// A database that could not be opened at start.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {tried}: {cause}. {remedy}")]
pub struct OpenError {
    /// What was tried, e.g. "the SQLite database /srv/pairsync.db".
    tried: String,
    /// Why it failed, in words.
    cause: String,
    /// What to do about it.
    remedy: String,
}

/// Why a `DATABASE_URL` was refused before anything was tried.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The setting is blank.
    #[error("DATABASE_URL is empty: leave it unset for the default SQLite file pairsync.db, or set a file path or a postgres:// URL")]
    Empty,
    /// A URL of a database pairsync does not speak.
    #[error("DATABASE_URL {url} asks for {scheme}, which pairsync does not support: it keeps its rooms in SQLite (a file path, or sqlite://PATH) or PostgreSQL (postgres://USER:PASSWORD@HOST/DATABASE)")]
    Unsupported {
        /// The URL, without its password.
        url: String,
        /// Its scheme, e.g. `mysql`.
        scheme: String,
    },
}

/// The scheme of `url` when it is written as `scheme://…`.
pub(super) fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// `url` with the password of its user part replaced by `***`, for messages and logs.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

impl OpenError {
    /// The database of `backend` could not be connected to; `raw` is the driver's words.
    pub fn connect(backend: &Backend, raw: &str) -> OpenError {
        match backend {
            Backend::Sqlite(path) => sqlite(path, raw),
            Backend::Postgres(url) => postgres(url, raw),
        }
    }

    /// The database of `backend` opened, but its tables could not be brought up to date.
    pub fn migrate(backend: &Backend, raw: &str) -> OpenError {
        OpenError {
            tried: tried(backend),
            cause: format!("its tables could not be brought up to date ({raw})"),
            remedy: "If a newer pairsync made this database, run that version; otherwise check \
                     that the database's user may create and alter tables"
                .into(),
        }
    }
}

/// What was tried, as the message names it.
fn tried(backend: &Backend) -> String {
    match backend {
        Backend::Sqlite(path) => format!("the SQLite database {}", full_path(path).display()),
        Backend::Postgres(url) => format!("the PostgreSQL database {}", without_password(url)),
    }
}

/// `path` made absolute against the working folder, as it will be opened.
fn full_path(path: &str) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path))
}

fn sqlite(path: &str, raw: &str) -> OpenError {
    let full = full_path(path);
    let folder = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let (cause, remedy) = if full.is_dir() {
        (
            "that is a folder, not a file".to_string(),
            "Set DATABASE_URL to a file path, e.g. a pairsync.db inside that folder".to_string(),
        )
    } else if !folder.is_dir() {
        (
            format!("the folder {} does not exist", folder.display()),
            "Create the folder, or set DATABASE_URL to a file in a folder that exists".to_string(),
        )
    } else if is_read_only(&full, &folder) {
        (
            "pairsync may not write there".to_string(),
            "Let the user running pairsync write to the file and its folder, or set \
             DATABASE_URL to a file it may write"
                .to_string(),
        )
    } else if raw.contains("not a database") {
        (
            "the file is not a SQLite database".to_string(),
            "Point DATABASE_URL at pairsync's database, or at a new file name".to_string(),
        )
    } else {
        (
            format!("SQLite said: {raw}"),
            "Check the path in DATABASE_URL and the free space of its disk".to_string(),
        )
    };
    OpenError {
        tried: tried(&Backend::Sqlite(path.to_string())),
        cause,
        remedy,
    }
}

/// Whether the file (when it exists) or else its folder refuses writes to this process.
fn is_read_only(file: &Path, folder: &Path) -> bool {
    if file.exists() {
        return std::fs::OpenOptions::new().append(true).open(file).is_err();
    }
    let probe = folder.join(format!(".pairsync-write-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            false
        }
        Err(_) => true,
    }
}

fn postgres(url: &str, raw: &str) -> OpenError {
    let lower = raw.to_ascii_lowercase();
    let (cause, remedy) = if lower.contains("connection refused") {
        (
            "nothing answers at that host and port".to_string(),
            "Start PostgreSQL there, or correct the host and port in DATABASE_URL".to_string(),
        )
    } else if lower.contains("password authentication failed")
        || lower.contains("no password supplied")
        || lower.contains("authentication failed")
    {
        (
            "PostgreSQL refused the user name or password".to_string(),
            "Correct the user and password in DATABASE_URL".to_string(),
        )
    } else if lower.contains("does not exist") && lower.contains("database") {
        (
            "that database does not exist on the server".to_string(),
            "Create it (createdb NAME), or name one that exists at the end of DATABASE_URL"
                .to_string(),
        )
    } else if lower.contains("translate host name")
        || lower.contains("name or service not known")
        || lower.contains("failed to lookup")
    {
        (
            "the host name is unknown".to_string(),
            "Correct the host in DATABASE_URL".to_string(),
        )
    } else if lower.contains("timeout") || lower.contains("timed out") {
        (
            "the server did not answer in time".to_string(),
            "Check that the host is reachable from here (firewall, address)".to_string(),
        )
    } else {
        (
            format!("PostgreSQL said: {}", raw.trim()),
            "Check that PostgreSQL runs and that DATABASE_URL is right".to_string(),
        )
    };
    OpenError {
        tried: tried(&Backend::Postgres(url.to_string())),
        cause,
        remedy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            without_password("postgres://ann:secret@db.example:5432/rooms"),
            "postgres://ann:***@db.example:5432/rooms"
        );
        assert_eq!(
            without_password("postgres://ann@db/rooms"),
            "postgres://ann@db/rooms"
        );
        assert_eq!(
            without_password("postgres://db/rooms"),
            "postgres://db/rooms"
        );
        // An `@` in the path is not a user part.
        assert_eq!(without_password("postgres://db/a@b"), "postgres://db/a@b");
        let refused = OpenError::connect(
            &Backend::Postgres("postgres://ann:secret@127.0.0.1:1/x".into()),
            "connection refused",
        );
        assert!(!refused.to_string().contains("secret"), "{refused}");
    }

    #[test]
    fn schemes_are_read_only_from_a_url_form() {
        assert_eq!(scheme("mysql://a@b/c"), Some("mysql"));
        assert_eq!(scheme("/var/lib/pairsync.db"), None);
        assert_eq!(scheme("./odd://name.db"), None);
    }

    #[test]
    fn a_missing_folder_is_named_with_what_to_do() {
        let e = OpenError::connect(
            &Backend::Sqlite("/nonexistent-folder/for/sure/p.db".into()),
            "unable to open database file",
        );
        assert_eq!(
            e.to_string(),
            "cannot open the SQLite database /nonexistent-folder/for/sure/p.db: the folder \
             /nonexistent-folder/for/sure does not exist. Create the folder, or set \
             DATABASE_URL to a file in a folder that exists"
        );
    }

    #[test]
    fn a_folder_given_as_the_file_is_said() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let e = OpenError::connect(&Backend::Sqlite(path), "unable to open database file");
        assert!(
            e.to_string().contains("that is a folder, not a file"),
            "{e}"
        );
    }

    #[test]
    fn postgres_causes_are_said_in_words() {
        let url = Backend::Postgres("postgres://ann:pw@h:5/db".into());
        for (raw, cause) in [
            (
                "connection to server at \"h\", port 5 failed: Connection refused",
                "nothing answers",
            ),
            (
                "FATAL:  password authentication failed for user \"ann\"",
                "user name or password",
            ),
            (
                "FATAL:  database \"db\" does not exist",
                "that database does not exist",
            ),
            (
                "could not translate host name \"h\" to address",
                "the host name is unknown",
            ),
        ] {
            let said = OpenError::connect(&url, raw).to_string();
            assert!(
                said.starts_with("cannot open the PostgreSQL database postgres://ann:***@h:5/db: "),
                "{said}"
            );
            assert!(said.contains(cause), "{raw} → {said}");
        }
    }
}
