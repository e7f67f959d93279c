//! Why the server could not start, in words for the person who started it: each refusal
//! names what was tried (a setting, a path, an address, a URL without its password), the
//! cause in plain words, and what to do.

use std::io::ErrorKind;
use std::path::PathBuf;

use crate::store::{OpenError, StoreError, UrlError};
use crate::tls::TlsError;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `DATABASE_URL` was refused.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The database opened but the running rooms could not be read.
    #[error("cannot read the rooms with a running timer: {0}")]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {0}: {cause}", cause = bind_cause(.0, .1))]
    Bind(String, std::io::Error),
    /// The metrics registry refused a series.
    #[error(transparent)]
    Metrics(#[from] prometheus::Error),
    /// The TLS settings are incomplete, or their files are refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Both ways of giving the admin token are set.
    #[error(
        "PAIRSYNC_ADMIN_TOKEN and PAIRSYNC_ADMIN_TOKEN_FILE are both set: set only one of them"
    )]
    TokenTwice,
    /// The admin token file cannot be read.
    #[error("cannot read the admin token file {path} (PAIRSYNC_ADMIN_TOKEN_FILE): {cause}. Check the path, and that the user running pairsync may read it", path = .0.display(), cause = io_cause(.1))]
    TokenFile(PathBuf, std::io::Error),
    /// The admin token file holds no token.
    #[error("the admin token file {path} (PAIRSYNC_ADMIN_TOKEN_FILE) is empty: write the token in it, or unset PAIRSYNC_ADMIN_TOKEN_FILE to have one generated", path = .0.display())]
    TokenEmpty(PathBuf),
}

/// Why `bind` could not be listened on, and what to do, in words.
fn bind_cause(bind: &str, e: &std::io::Error) -> String {
    let port = bind.rsplit_once(':').map_or("8080", |(_, p)| p);
    match e.kind() {
        ErrorKind::AddrInUse => format!(
            "another program already listens there. Stop it, or choose another port with \
             PAIRSYNC_BIND (e.g. 127.0.0.1:{})",
            port.parse::<u16>()
                .map_or(8081, |p| p.wrapping_add(1).max(1024))
        ),
        ErrorKind::PermissionDenied => "this user may not listen there (ports below 1024 need \
             privileges). Choose a port from 1024 up with PAIRSYNC_BIND"
            .to_string(),
        ErrorKind::AddrNotAvailable => "that address is not one of this machine's. Use \
             127.0.0.1:PORT for this machine only, or 0.0.0.0:PORT for every network"
            .to_string(),
        _ if e.to_string().contains("invalid socket address")
            || e.to_string().contains("failed to lookup")
            || e.to_string().contains("Name or service not known") =>
        {
            "PAIRSYNC_BIND takes an address and port such as 127.0.0.1:8080 or 0.0.0.0:8080"
                .to_string()
        }
        _ => e.to_string(),
    }
}

/// An I/O failure in words.
fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "there is no such file".into(),
        ErrorKind::PermissionDenied => "pairsync may not read it".into(),
        ErrorKind::IsADirectory => "that is a folder, not a file".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_says_what_to_do() {
        let e = StartError::Bind(
            "127.0.0.1:8080".into(),
            std::io::Error::from(ErrorKind::AddrInUse),
        );
        assert_eq!(
            e.to_string(),
            "cannot listen on 127.0.0.1:8080: another program already listens there. Stop it, \
             or choose another port with PAIRSYNC_BIND (e.g. 127.0.0.1:8081)"
        );
    }

    #[test]
    fn a_token_file_that_is_missing_is_named() {
        let e = StartError::TokenFile(
            "/etc/pairsync/token".into(),
            std::io::Error::from(ErrorKind::NotFound),
        );
        assert!(
            e.to_string().starts_with(
                "cannot read the admin token file /etc/pairsync/token \
                 (PAIRSYNC_ADMIN_TOKEN_FILE): there is no such file."
            ),
            "{e}"
        );
    }
}
