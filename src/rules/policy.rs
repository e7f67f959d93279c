//! What every room of a process follows, as the operator set it at start (the part of
//! the server's configuration the rules read): heartbeats, the pause of an empty room,
//! the stream cap, how long an unused room stays live, and whether other processes share
//! the rooms.

use std::time::Duration;

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

/// What every room of this process follows, as the operator configured it.
#[derive(Debug, Clone)]
pub struct RoomPolicy {
    /// Most time between two writes on a stream.
    pub heartbeat: Duration,
    /// How long a running timer runs on with no stream.
    pub pause_when_empty: Grace,
    /// Streams one room holds at once.
    pub max_subscribers: usize,
    /// How long a room with no stream and no running timer stays live.
    pub idle_ttl: Duration,
    /// Whether other processes may hold streams on the same rooms (a shared PostgreSQL):
    /// then an empty room asks where else streams were seen before it pauses.
    pub cluster: bool,
}

impl RoomPolicy {
    /// How long a room's streams may go without a write before a heartbeat is due: a
    /// quarter of the heartbeat period is left for a late wake-up.
    pub(crate) fn quiet_limit(&self) -> Duration {
        self.heartbeat.mul_f64(0.75)
    }
}
