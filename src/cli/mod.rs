//! The terminal client, in the same binary as the server: `pairsync new` creates a room
//! and prints its page URL; `pairsync watch` shows a room full-screen and drives it. Both
//! speak HTTP and HTTPS.
//!
//! # Layout
//! - `args`: the binary's command line (server settings, or a client subcommand).
//! - `address`: server base URLs and room page URLs.
//! - `create`: the room `new` asks for, its arguments checked in words.
//! - `tls`: what HTTPS trusts, and a refused certificate in words.
//! - `api`: the HTTP calls and the event stream.
//! - `events`: the stream's events and the `state` snapshot.
//! - `model`: what the view shows for the events seen and the local time (pure).
//! - `screen`: the view laid out on a terminal of a given size (pure).
//! - `keys`: what each key does.
//! - `backoff`: when to reopen a lost stream.
//! - `terminal`: raw mode, the alternate screen, drawing and restoring.
//! - `watch`: the watch loop.
//! - `error`: the client's one-line errors.

pub mod address;
pub mod api;
pub mod args;
pub mod backoff;
pub mod create;
pub mod error;
pub mod events;
pub mod keys;
pub mod model;
pub mod screen;
pub mod terminal;
pub mod tls;
pub mod watch;

use std::process::ExitCode;

use address::{server_base, watch_target};
use api::Api;
use args::{NewArgs, WatchArgs, DEFAULT_SERVER};
use error::ClientError;
use tls::Trust;

/// Runs `work` on a single-threaded runtime; its error is printed on stderr, one line per
/// problem, and makes the exit status 1.
fn run_client<F>(work: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), ClientError>>,
{
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::from)
        .and_then(|runtime| runtime.block_on(work));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("pairsync: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Creates the room `args` describes; its page URL.
pub async fn new_room(args: &NewArgs) -> Result<String, ClientError> {
    let body = create::request(args).map_err(ClientError::Invalid)?;
    let api = Api::new(
        &server_base(&args.server)?,
        Trust::load(args.ca_cert.as_deref())?,
    )?;
    let code = api.create_room(&body).await.map_err(in_words)?;
    Ok(format!("{}/p/{code}", api.server()))
}

/// A refusal of a value the person gave, said in the words of `new`'s own checks
/// (then the server's message); any other error as it is.
fn in_words(error: ClientError) -> ClientError {
    if let ClientError::Refused {
        status: 400,
        message,
        ..
    } = &error
    {
        if let Some(words) = create::refusal_words(message) {
            return ClientError::RefusedInWords {
                words,
                message: message.clone(),
            };
        }
    }
    error
}

/// `pairsync new`: prints the new room's page URL on one line.
pub fn run_new(args: NewArgs) -> ExitCode {
    run_client(async move {
        println!("{}", new_room(&args).await?);
        Ok(())
    })
}

/// `pairsync watch`: the full-screen view until `q`.
pub fn run_watch(args: WatchArgs) -> ExitCode {
    run_client(async move {
        let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
        let address = watch_target(&args.room, server)?;
        // An empty name (`PAIRSYNC_NAME=`) is no name.
        let name = match args.name.as_deref().filter(|n| !n.is_empty()) {
            Some(raw) => Some(
                create::name(raw)
                    .map_err(|problem| ClientError::Invalid(vec![format!("--name: {problem}")]))?,
            ),
            None => None,
        };
        let trust = Trust::load(args.ca_cert.as_deref())?;
        watch::watch(address, name, trust).await
    })
}
