//! The command line of the `pairsync` binary: the server's settings when no subcommand
//! (or `serve`) is given, and the terminal client's subcommands `new` and `watch`.

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// The server a client talks to when neither `--server` nor `PAIRSYNC_SERVER` names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Minutes per turn of a room made by `pairsync new` without `--minutes`.
pub const DEFAULT_MINUTES: f64 = 25.0;

/// Everything the binary can be told: with no subcommand it runs the server.
#[derive(Debug, Parser)]
#[command(
    name = "pairsync",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "With no subcommand, pairsync runs the server (the same as `pairsync serve`)."
)]
pub struct Cli {
    /// What to do; the server when absent.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The server's settings, when no subcommand is given.
    #[command(flatten)]
    pub server: Config,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (what `pairsync` alone does).
    Serve(Box<Config>),
    /// The terminal client.
    #[command(flatten)]
    Client(Client),
}

/// The terminal client's subcommands.
#[derive(Debug, Subcommand)]
pub enum Client {
    /// Create a pair room and print its page URL.
    New(NewArgs),
    /// Watch and drive a pair room full-screen in this terminal.
    Watch(WatchArgs),
}

/// The command line of a client subcommand alone: it does not read the server's
/// settings, so a server setting in the environment never stops a client.
#[derive(Debug, Parser)]
#[command(name = "pairsync", version)]
struct ClientCli {
    #[command(subcommand)]
    client: Client,
}

/// What the binary was asked to do.
#[derive(Debug)]
pub enum Invocation {
    /// Run the server with these settings.
    Serve(Box<Config>),
    /// Run a client subcommand.
    Client(Client),
}

/// Reads the command line (`args` includes the program name); a help or usage error
/// comes back as clap's error, to be printed with `exit()`.
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let first = args.get(1).and_then(|a| a.to_str());
    if matches!(first, Some("new" | "watch")) {
        return ClientCli::try_parse_from(args).map(|c| Invocation::Client(c.client));
    }
    let cli = Cli::try_parse_from(args)?;
    Ok(match cli.command {
        None => Invocation::Serve(Box::new(cli.server)),
        Some(Command::Serve(settings)) => Invocation::Serve(settings),
        Some(Command::Client(client)) => Invocation::Client(client),
    })
}

/// `pairsync new`
#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// Who types first.
    #[arg(long)]
    pub driver: String,

    /// Who guides first.
    #[arg(long)]
    pub navigator: String,

    /// Minutes per turn (decimals allowed: 0.5 is 30 seconds).
    #[arg(long, default_value_t = DEFAULT_MINUTES, value_parser = minutes)]
    pub minutes: f64,

    /// The server's base URL.
    #[arg(long, env = "PAIRSYNC_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
}

impl NewArgs {
    /// The turn length in milliseconds, rounded to the nearest one.
    pub fn duration_ms(&self) -> i64 {
        // `minutes` is finite (checked when parsed); `as` saturates far outside the
        // range the server accepts, and the server answers that with its own message.
        (self.minutes * 60_000.0).round() as i64
    }
}

/// `pairsync watch`
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The room's page URL (`http://HOST:PORT/p/CODE`), or its access code with `--server`.
    #[arg(value_name = "URL|CODE")]
    pub room: String,

    /// The server's base URL, for a room given by its access code.
    #[arg(long, env = "PAIRSYNC_SERVER")]
    pub server: Option<String>,
}

fn minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() => Ok(m),
        _ => Err(format!("expected a number of minutes, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Invocation, clap::Error> {
        parse(std::iter::once("pairsync").chain(args.iter().copied()))
    }

    fn new_args(args: &[&str]) -> NewArgs {
        let mut all = vec!["new"];
        all.extend_from_slice(args);
        match run(&all) {
            Ok(Invocation::Client(Client::New(args))) => args,
            other => panic!("expected new, got {other:?}"),
        }
    }

    #[test]
    fn no_subcommand_is_the_server_with_its_flags() {
        match run(&["--bind", "127.0.0.1:0", "--pause-when-empty", "never"]) {
            Ok(Invocation::Serve(settings)) => assert_eq!(settings.bind, "127.0.0.1:0"),
            other => panic!("expected the server, got {other:?}"),
        }
    }

    #[test]
    fn serve_takes_the_same_flags() {
        match run(&["serve", "--bind", "127.0.0.1:0"]) {
            Ok(Invocation::Serve(settings)) => assert_eq!(settings.bind, "127.0.0.1:0"),
            other => panic!("expected the server, got {other:?}"),
        }
        assert!(run(&["serve", "--heartbeat-ms", "0"]).is_err());
    }

    #[test]
    fn new_reads_names_minutes_and_server() {
        let args = new_args(&[
            "--driver",
            "Bob",
            "--navigator",
            "Ann",
            "--minutes",
            "0.5",
            "--server",
            "http://example.test:9000",
        ]);
        assert_eq!(
            (args.driver.as_str(), args.navigator.as_str()),
            ("Bob", "Ann")
        );
        assert_eq!(args.duration_ms(), 30_000);
        assert_eq!(args.server, "http://example.test:9000");
    }

    #[test]
    fn new_needs_both_names_and_a_numeric_length() {
        assert!(run(&["new", "--driver", "Bob"]).is_err());
        assert!(run(&[
            "new",
            "--driver",
            "B",
            "--navigator",
            "A",
            "--minutes",
            "soon"
        ])
        .is_err());
        assert!(run(&[
            "new",
            "--driver",
            "B",
            "--navigator",
            "A",
            "--minutes",
            "inf"
        ])
        .is_err());
    }

    #[test]
    fn new_lasts_twenty_five_minutes_by_default() {
        assert_eq!(
            new_args(&["--driver", "B", "--navigator", "A"]).duration_ms(),
            25 * 60_000
        );
    }

    #[test]
    fn server_flags_do_not_mix_with_a_subcommand() {
        assert!(run(&[
            "--bind",
            "127.0.0.1:0",
            "new",
            "--driver",
            "B",
            "--navigator",
            "A"
        ])
        .is_err());
    }

    #[test]
    fn watch_takes_a_url_or_a_code() {
        match run(&["watch", "http://h:1/p/abcdefgh"]) {
            Ok(Invocation::Client(Client::Watch(args))) => {
                assert_eq!(args.room, "http://h:1/p/abcdefgh");
            }
            other => panic!("expected watch, got {other:?}"),
        }
        assert!(run(&["watch"]).is_err());
    }
}
