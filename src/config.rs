//! Settings: one struct read from the environment and from `--flags` of the same meaning.

use std::time::Duration;

use clap::Parser;

/// A grace period that may be switched off with `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    /// Pause after this long.
    After(Duration),
    /// Never pause.
    Never,
}

impl std::str::FromStr for Grace {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("never") {
            return Ok(Grace::Never);
        }
        s.trim()
            .parse::<u64>()
            .map(|ms| Grace::After(Duration::from_millis(ms)))
            .map_err(|_| format!("expected milliseconds or `never`, got `{s}`"))
    }
}

fn positive_ms(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "expected a positive number of milliseconds, got `{s}`"
        )),
    }
}

/// Everything the server can be told at start.
#[derive(Debug, Clone, Parser)]
#[command(name = "pairsync", version, about)]
pub struct Settings {
    /// Listen address; port 0 picks a free port.
    #[arg(long, env = "PAIRSYNC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// A SQLite file path (or sqlite://PATH).
    #[arg(long, env = "DATABASE_URL", default_value = "pairsync.db")]
    pub database_url: String,

    /// Bearer token for the admin endpoints; generated and logged once when unset.
    #[arg(long, env = "PAIRSYNC_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

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
    /// of as many is allowed). Loopback clients are not limited (see `trusted_proxies`).
    #[arg(long, env = "PAIRSYNC_CREATE_PER_MINUTE", default_value_t = 60)]
    pub create_per_minute: u32,

    /// Comma-separated proxy addresses whose `X-Forwarded-For` names the real client.
    #[arg(long, env = "PAIRSYNC_TRUSTED_PROXIES", value_delimiter = ',', num_args = 0..)]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Streams this process holds at once, over all rooms; one more gets 503. Defaults to
    /// the open-files limit less a margin for the database and listeners.
    #[arg(long, env = "PAIRSYNC_MAX_STREAMS")]
    pub max_streams: Option<usize>,

    /// Streams one client address holds at once, over all rooms; one more gets 429.
    /// `0` turns the cap off. Loopback peers that name no client are not counted.
    #[arg(long, env = "PAIRSYNC_MAX_STREAMS_PER_CLIENT", default_value_t = 256)]
    pub max_streams_per_client: usize,

    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS (HTTP/2 and HTTP/1.1).
    #[arg(long, env = "PAIRSYNC_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key of `tls_cert`.
    #[arg(long, env = "PAIRSYNC_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Milliseconds a stopping server gives in-flight requests before it exits.
    #[arg(long, env = "PAIRSYNC_SHUTDOWN_GRACE_MS", default_value = "5000", value_parser = positive_ms)]
    pub shutdown_grace_ms: Duration,

    /// env_logger filter.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
}

/// Open files kept back from the stream cap for the database, listeners and logs.
const RESERVED_FILES: usize = 256;

/// The soft limit on open files of this process, read from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl Settings {
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
        let s = Settings::try_parse_from([
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
        assert!(Settings::try_parse_from(["pairsync", "--heartbeat-ms", "0"]).is_err());
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list() {
        let s = Settings::try_parse_from(["pairsync", "--trusted-proxies", "127.0.0.1,::1"])
            .expect("parses");
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(Settings::try_parse_from(["pairsync", "--trusted-proxies", "nginx"]).is_err());
    }

    #[test]
    fn the_per_client_stream_cap_defaults_to_256_and_tls_to_off() {
        let s = Settings::try_parse_from(["pairsync"]).expect("parses");
        assert_eq!(s.max_streams_per_client, 256);
        assert_eq!((s.tls_cert, s.tls_key), (None, None));
        let s = Settings::try_parse_from([
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
        assert!(Settings::try_parse_from(["pairsync", "--max-streams-per-client", "-1"]).is_err());
    }

    #[test]
    fn the_stream_cap_defaults_below_the_open_files_limit() {
        let s = Settings::try_parse_from(["pairsync"]).expect("parses");
        if let Some(limit) = open_files_limit() {
            assert!(s.stream_cap() < limit);
        }
        let capped = Settings::try_parse_from(["pairsync", "--max-streams", "7"]).expect("parses");
        assert_eq!(capped.stream_cap(), 7);
    }
}
