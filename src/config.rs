//! The server's configuration: one struct read from the environment and from `--flags` of the
//! same meaning, set by the operator at start.

use std::time::Duration;

use clap::Parser;

pub use crate::rules::Grace;

fn positive_ms(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "expected a positive number of milliseconds, got `{s}`"
        )),
    }
}

/// The origins whose pages may call the API from another origin: a comma-separated list,
/// blank entries skipped (so an empty setting means none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

impl std::str::FromStr for Origins {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|o| !o.trim().is_empty())
            .map(origin)
            .collect::<Result<_, _>>()
            .map(Origins)
    }
}

/// An origin as browsers send it in `Origin`: `http://` or `https://`, a host and an
/// optional port, nothing after. It is lowercased and a default port is dropped, as
/// browsers do, so that it compares equal to what they send.
fn origin(s: &str) -> Result<String, String> {
    let refuse = || {
        format!(
            "expected an origin such as https://app.example.com \
             (scheme, host and optional port, nothing after), got `{s}`"
        )
    };
    let lower = s.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").ok_or_else(refuse)?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(refuse()),
    };
    if !is_authority(rest) {
        return Err(refuse());
    }
    Ok(lower
        .strip_suffix(default_port)
        .unwrap_or(&lower)
        .to_string())
}

/// Whether `s` is a host (a name, a v4 address or a `[v6 address]`) with an optional
/// `:port`, and nothing else.
fn is_authority(s: &str) -> bool {
    let (host_ok, port) = match s.strip_prefix('[') {
        Some(v6) => {
            let Some((address, after)) = v6.split_once(']') else {
                return false;
            };
            let ok =
                !address.is_empty() && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
            (ok, after)
        }
        None => {
            let (host, after) = s.find(':').map_or((s, ""), |i| s.split_at(i));
            let ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            (ok, after)
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

/// Everything the server can be told at start.
#[derive(Debug, Clone, Parser)]
#[command(name = "pairsync", version, about)]
pub struct Config {
    /// Listen address and port. 127.0.0.1 is this machine only; 0.0.0.0:8080 lets other
    /// machines open the room links. Port 0 picks a free port.
    #[arg(long, env = "PAIRSYNC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Where rooms are kept: a SQLite file path (or sqlite://PATH), made when missing;
    /// or a PostgreSQL URL (postgres://USER:PASSWORD@HOST/DATABASE), which several
    /// processes may share.
    #[arg(long, env = "DATABASE_URL", default_value = "pairsync.db")]
    pub database_url: String,

    /// Bearer token for the admin endpoints; generated and logged once when neither
    /// this nor --admin-token-file is set.
    #[arg(long, env = "PAIRSYNC_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// A file holding the admin token (a trailing newline is ignored), instead of
    /// --admin-token.
    #[arg(long, env = "PAIRSYNC_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<std::path::PathBuf>,

    /// Milliseconds a running timer keeps running after its room's last stream closed
    /// (`never` keeps it running).
    #[arg(long, env = "PAIRSYNC_PAUSE_WHEN_EMPTY", default_value = "60000")]
    pub pause_when_empty: Grace,

    /// Most milliseconds between two writes on a stream.
    #[arg(long, env = "PAIRSYNC_HEARTBEAT_MS", default_value = "15000", value_parser = positive_ms)]
    pub heartbeat_ms: Duration,

    /// Streams one room holds at once.
    #[arg(long, env = "PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM", default_value_t = 64)]
    pub max_subscribers_per_room: usize,

    /// Milliseconds a room with no stream and no running timer stays live in memory
    /// before its actor stops (its state stays in the database).
    #[arg(long, env = "PAIRSYNC_ROOM_IDLE_MS", default_value = "300000", value_parser = positive_ms)]
    pub room_idle_ms: Duration,

    /// Rooms one client address (an IPv6 client: its /64) may create per minute (a burst
    /// of as many is allowed). Loopback clients are not limited (see --trusted-proxies).
    #[arg(long, env = "PAIRSYNC_CREATE_PER_MINUTE", default_value_t = 60)]
    pub create_per_minute: u32,

    /// Comma-separated proxy addresses whose `X-Forwarded-For` names the real client.
    #[arg(long, env = "PAIRSYNC_TRUSTED_PROXIES", value_delimiter = ',', num_args = 0..)]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Comma-separated origins (`https://host[:port]`) whose pages may call the API from
    /// another origin, with credentials; none by default.
    #[arg(long, env = "PAIRSYNC_ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: Origins,

    /// Streams this process holds at once, over all rooms; one more gets 503. Defaults to
    /// the open-files limit less a margin for the database and listeners.
    #[arg(long, env = "PAIRSYNC_MAX_STREAMS")]
    pub max_streams: Option<usize>,

    /// Streams one client address holds at once, over all rooms; one more gets 429.
    /// `0` turns the cap off. Loopback peers that name no client are not counted.
    #[arg(long, env = "PAIRSYNC_MAX_STREAMS_PER_CLIENT", default_value_t = 256)]
    pub max_streams_per_client: usize,

    /// PEM certificate chain; with --tls-key, the server speaks HTTPS (HTTP/2 and HTTP/1.1).
    #[arg(long, env = "PAIRSYNC_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key of the --tls-cert certificate.
    #[arg(long, env = "PAIRSYNC_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Milliseconds a stopping server gives in-flight requests before it exits.
    #[arg(long, env = "PAIRSYNC_SHUTDOWN_GRACE_MS", default_value = "5000", value_parser = positive_ms)]
    pub shutdown_grace_ms: Duration,

    /// What the log shows: an env_logger filter such as `info`, `debug` or
    /// `pairsync=debug,info`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,

    /// Threads room actors run on; one per core when unset. Not a flag: embedders and the
    /// in-process tests set it (`Some(0)` runs every room on the registry's own thread).
    #[arg(skip)]
    pub room_threads: Option<usize>,
}

/// Open files kept back from the stream cap for the database, listeners and logs.
const RESERVED_FILES: usize = 256;

/// The soft limit on open files of this process, read from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl Config {
    /// The process-wide stream cap: the configured one, else the open-files limit less
    /// [`RESERVED_FILES`] (each stream holds one socket).
    pub fn stream_cap(&self) -> usize {
        self.max_streams.unwrap_or_else(|| {
            open_files_limit()
                .map_or(10_000, |n| n.saturating_sub(RESERVED_FILES))
                .max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_when_empty_takes_milliseconds_or_never() {
        assert_eq!("never".parse(), Ok(Grace::Never));
        assert_eq!("250".parse(), Ok(Grace::After(Duration::from_millis(250))));
        assert!("soon".parse::<Grace>().is_err());
    }

    #[test]
    fn flags_override_the_defaults() {
        let s = Config::try_parse_from([
            "pairsync",
            "--bind",
            "127.0.0.1:0",
            "--heartbeat-ms",
            "200",
            "--pause-when-empty",
            "never",
        ])
        .expect("parses");
        assert_eq!(s.bind, "127.0.0.1:0");
        assert_eq!(s.heartbeat_ms, Duration::from_millis(200));
        assert_eq!(s.pause_when_empty, Grace::Never);
        assert!(Config::try_parse_from(["pairsync", "--heartbeat-ms", "0"]).is_err());
    }

    #[test]
    fn allowed_origins_are_a_comma_separated_list_of_origins_as_browsers_send_them() {
        let s = Config::try_parse_from([
            "pairsync",
            "--allowed-origins",
            "https://App.Example.com, http://localhost:3000,https://x.test:443,http://[::1]:8080",
        ])
        .expect("parses");
        assert_eq!(
            s.allowed_origins.0,
            [
                "https://app.example.com",
                "http://localhost:3000",
                "https://x.test",
                "http://[::1]:8080"
            ]
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://app.example.com",
            "*",
            "https://",
            "https://a.test:",
            "https://a.test:80x",
            "https://user@a.test",
            "http://[::1",
            "http://[::1]x",
        ] {
            let parsed = Config::try_parse_from(["pairsync", "--allowed-origins", bad]);
            assert!(parsed.is_err(), "{bad} was accepted");
        }
        for none in [
            vec!["pairsync"],
            vec!["pairsync", "--allowed-origins", " , "],
        ] {
            let s = Config::try_parse_from(none).expect("parses");
            assert_eq!(s.allowed_origins, Origins::default());
        }
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list() {
        let s = Config::try_parse_from(["pairsync", "--trusted-proxies", "127.0.0.1,::1"])
            .expect("parses");
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(Config::try_parse_from(["pairsync", "--trusted-proxies", "nginx"]).is_err());
    }

    #[test]
    fn the_per_client_stream_cap_defaults_to_256_and_tls_to_off() {
        let s = Config::try_parse_from(["pairsync"]).expect("parses");
        assert_eq!(s.max_streams_per_client, 256);
        assert_eq!((s.tls_cert, s.tls_key), (None, None));
        let s = Config::try_parse_from([
            "pairsync",
            "--max-streams-per-client",
            "0",
            "--tls-cert",
            "/etc/pairsync/cert.pem",
            "--tls-key",
            "/etc/pairsync/key.pem",
        ])
        .expect("parses");
        assert_eq!(s.max_streams_per_client, 0);
        assert_eq!(
            s.tls_cert.as_deref(),
            Some(std::path::Path::new("/etc/pairsync/cert.pem"))
        );
        assert!(Config::try_parse_from(["pairsync", "--max-streams-per-client", "-1"]).is_err());
    }

    #[test]
    fn the_stream_cap_defaults_below_the_open_files_limit() {
        let s = Config::try_parse_from(["pairsync"]).expect("parses");
        if let Some(limit) = open_files_limit() {
            assert!(s.stream_cap() < limit);
        }
        let capped = Config::try_parse_from(["pairsync", "--max-streams", "7"]).expect("parses");
        assert_eq!(capped.stream_cap(), 7);
    }
}
