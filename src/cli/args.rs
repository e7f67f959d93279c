//! The command line of the `pairsync` binary: the server's settings when no subcommand
//! (or `serve`) is given, and the terminal client's subcommands `new` and `watch`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

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
#[command(group(
    ArgGroup::new("who")
        .args(["driver", "navigator", "members"])
        .required(true)
        .multiple(true)
))]
pub struct NewArgs {
    /// Who types first (with --navigator; or give everyone with --member).
    #[arg(long, value_name = "NAME", requires = "navigator")]
    pub driver: Option<String>,

    /// Who guides first (with --driver).
    #[arg(long, value_name = "NAME", requires = "driver")]
    pub navigator: Option<String>,

    /// A member of the room, in turn order: the first drives, the second navigates, the
    /// others wait their turn. Give it once per person (2 to 12), instead of --driver
    /// and --navigator.
    #[arg(
        long = "member",
        value_name = "NAME",
        conflicts_with_all = ["driver", "navigator"]
    )]
    pub members: Vec<String>,

    /// Minutes per turn (decimals allowed: 0.5 is 30 seconds).
    #[arg(long, default_value_t = DEFAULT_MINUTES, value_parser = minutes, allow_negative_numbers = true)]
    pub minutes: f64,

    /// After a time-up, start the next turn by itself.
    #[arg(long)]
    pub auto_start: bool,

    /// A break after every N-th turn (0: no breaks, the default).
    #[arg(long, value_name = "N", value_parser = turns, allow_negative_numbers = true)]
    pub break_every: Option<i64>,

    /// Minutes per break (decimals allowed; the server's default is 5).
    #[arg(long, value_name = "M", value_parser = minutes, allow_negative_numbers = true)]
    pub break_minutes: Option<f64>,

    /// The server's base URL.
    #[arg(long, env = "PAIRSYNC_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,

    /// A PEM file of certificates to trust besides the system's, for an HTTPS server.
    #[arg(long, value_name = "FILE", env = "PAIRSYNC_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

impl NewArgs {
    /// The turn length in milliseconds, rounded to the nearest one.
    pub fn duration_ms(&self) -> i64 {
        minutes_to_ms(self.minutes)
    }

    /// The break length in milliseconds, if given.
    pub fn break_ms(&self) -> Option<i64> {
        self.break_minutes.map(minutes_to_ms)
    }

    /// Whether only v2's arguments are given (`--driver`, `--navigator`, `--minutes`):
    /// such a room is sent as v2 sent it, and the server alone judges it.
    pub fn is_pair_only(&self) -> bool {
        self.members.is_empty()
            && !self.auto_start
            && self.break_every.is_none()
            && self.break_minutes.is_none()
    }
}

/// `minutes` in milliseconds, rounded to the nearest one.
fn minutes_to_ms(minutes: f64) -> i64 {
    // `minutes` is finite (checked when parsed); `as` saturates far outside the range
    // the server accepts, and such a length is refused before or by the server.
    (minutes * 60_000.0).round() as i64
}

/// `pairsync watch`
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The room's page URL (`http://HOST:PORT/p/CODE`), or its access code with `--server`.
    // An access code may begin with `-`: it is the room, not an option.
    #[arg(value_name = "URL|CODE", allow_hyphen_values = true)]
    pub room: String,

    /// The server's base URL, for a room given by its access code.
    #[arg(long, env = "PAIRSYNC_SERVER")]
    pub server: Option<String>,

    /// Your name, so that the room shows you among those here (anonymous without it).
    #[arg(long, value_name = "NAME", env = "PAIRSYNC_NAME")]
    pub name: Option<String>,

    /// A PEM file of certificates to trust besides the system's, for an HTTPS server.
    #[arg(long, value_name = "FILE", env = "PAIRSYNC_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

fn turns(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("a break comes after a whole number of turns, not `{s}`"))
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
            (args.driver.as_deref(), args.navigator.as_deref()),
            (Some("Bob"), Some("Ann"))
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
    fn new_takes_members_in_order_and_the_room_settings() {
        let args = new_args(&[
            "--member",
            "Ann",
            "--member",
            "Bob",
            "--member",
            "Cy",
            "--auto-start",
            "--break-every",
            "4",
            "--break-minutes",
            "7.5",
        ]);
        assert_eq!(args.members, ["Ann", "Bob", "Cy"]);
        assert_eq!(
            (args.driver.as_deref(), args.navigator.as_deref()),
            (None, None)
        );
        assert!(args.auto_start);
        assert_eq!(args.break_every, Some(4));
        assert_eq!(args.break_ms(), Some(450_000));
        assert!(!args.is_pair_only());
    }

    #[test]
    fn the_pair_form_alone_is_v2s() {
        let args = new_args(&["--driver", "B", "--navigator", "A", "--minutes", "3"]);
        assert!(args.is_pair_only());
        assert_eq!((args.break_every, args.break_ms()), (None, None));
        assert!(!args.auto_start);
        let args = new_args(&["--driver", "B", "--navigator", "A", "--auto-start"]);
        assert!(!args.is_pair_only());
    }

    #[test]
    fn members_and_the_pair_form_do_not_mix_and_one_of_them_is_needed() {
        let both = run(&[
            "new",
            "--member",
            "A",
            "--member",
            "B",
            "--driver",
            "C",
            "--navigator",
            "D",
        ]);
        let e = both.expect_err("both forms");
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(e.exit_code(), 2);
        let neither = run(&["new", "--minutes", "3"]).expect_err("no names");
        assert_eq!(
            neither.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn negative_numbers_are_values_for_the_checks_to_refuse_in_words() {
        let args = new_args(&[
            "--member",
            "A",
            "--member",
            "B",
            "--break-every",
            "-1",
            "--minutes",
            "-2",
        ]);
        assert_eq!(args.break_every, Some(-1));
        assert_eq!(args.duration_ms(), -120_000);
        assert!(run(&["new", "--member", "A", "--break-every", "often"]).is_err());
    }

    #[test]
    fn watch_takes_a_name_and_a_ca_file() {
        match run(&[
            "watch",
            "abcdefgh",
            "--name",
            "Ann",
            "--ca-cert",
            "/tmp/ca.pem",
        ]) {
            Ok(Invocation::Client(Client::Watch(args))) => {
                assert_eq!(args.name.as_deref(), Some("Ann"));
                assert_eq!(args.ca_cert, Some(PathBuf::from("/tmp/ca.pem")));
            }
            other => panic!("expected watch, got {other:?}"),
        }
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

    #[test]
    fn a_break_every_that_is_not_whole_is_said_in_words() {
        let e = run(&[
            "new",
            "--member",
            "a",
            "--member",
            "b",
            "--break-every",
            "1.5",
        ])
        .expect_err("refused");
        assert!(
            e.to_string()
                .contains("a break comes after a whole number of turns, not `1.5`"),
            "{e}"
        );
    }
}
