//! What a room's event stream says, decoded from its SSE blocks: the events of the
//! contract's table and the `state` snapshot, in the client's own types.

use std::time::Duration;

use serde::Deserialize;

/// A timer's state, as the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimerState {
    /// At full duration, not started.
    Idle,
    /// Counting down toward `deadlineAt`.
    Running,
    /// Stopped part-way.
    Paused,
}

impl TimerState {
    /// The server's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::Idle => "idle",
            TimerState::Running => "running",
            TimerState::Paused => "paused",
        }
    }
}

/// What the countdown is for: a turn, or a break between turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// A turn (also what a server that knows no phases means).
    #[default]
    Turn,
    /// A break.
    Break,
}

impl Phase {
    /// The server's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Turn => "turn",
            Phase::Break => "break",
        }
    }
}

/// A room as the `state` event draws it: the timer plus the two names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// idle, running or paused.
    pub state: TimerState,
    /// The full length of a turn, ms.
    pub duration: i64,
    /// What was left when the snapshot was made, ms.
    pub remaining_time: i64,
    /// When a running timer reaches 0 (epoch ms).
    pub deadline_at: Option<i64>,
    /// The server's clock when the snapshot was made (epoch ms).
    pub server_time: i64,
    /// Completed countdowns since the room was created.
    pub round: u64,
    /// Turn or break; `turn` when the server does not say.
    #[serde(default)]
    pub phase: Phase,
    /// Who guides.
    pub navigator: String,
    /// Who types.
    pub driver: String,
}

impl Snapshot {
    /// What a running timer had left when the snapshot was made, read from its deadline
    /// and the server's clock; the remaining time otherwise.
    pub fn remaining_at_server_time(&self) -> i64 {
        match (self.state, self.deadline_at) {
            (TimerState::Running, Some(deadline)) => (deadline - self.server_time).max(0),
            _ => self.remaining_time.max(0),
        }
    }
}

/// The `data` of a `timer` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    /// `start`: the timer runs.
    Start,
    /// `pause`: stopped part-way.
    Pause,
    /// `stop`: the countdown reached 0 (time-up, or a break's end).
    TimeUp,
    /// `reset`: back to idle at full duration.
    Reset,
    /// `update`: a new duration.
    Update,
    /// `break`: a break begins.
    Break,
    /// Anything else (`running` on connect, `complete`, later additions).
    Other(String),
}

/// One event of a room's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// `retry:`: how long to wait before reconnecting.
    Retry(Duration),
    /// `connect: OK`: the stream is open.
    Connected,
    /// `remaining-time`: ms left, sent at each whole second and on changes.
    Remaining(i64),
    /// `timer`: what just happened to the timer.
    Timer(TimerChange),
    /// `state`: the whole room.
    State(Box<Snapshot>),
    /// `close`: the room was deleted; the stream ends.
    Closed,
}

/// The events one SSE block carries: its `retry:` first, then its event, if the client
/// knows it. Unknown events and data that cannot be read are skipped, as a browser's
/// `EventSource` listener would never see them.
pub fn decode(event: Option<&str>, data: Option<&str>, retry_ms: Option<u64>) -> Vec<ServerEvent> {
    let mut out = Vec::new();
    if let Some(ms) = retry_ms {
        out.push(ServerEvent::Retry(Duration::from_millis(ms)));
    }
    let data = data.unwrap_or("").trim();
    let decoded = match event.unwrap_or("message") {
        "connect" => Some(ServerEvent::Connected),
        "remaining-time" => data.parse().ok().map(ServerEvent::Remaining),
        "timer" => Some(ServerEvent::Timer(match data {
            "start" => TimerChange::Start,
            "pause" => TimerChange::Pause,
            "stop" => TimerChange::TimeUp,
            "reset" => TimerChange::Reset,
            "update" => TimerChange::Update,
            "break" => TimerChange::Break,
            other => TimerChange::Other(other.to_string()),
        })),
        "state" => serde_json::from_str(data)
            .ok()
            .map(|s| ServerEvent::State(Box::new(s))),
        "close" => Some(ServerEvent::Closed),
        _ => None,
    };
    out.extend(decoded);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{"state":"running","duration":60000,"remainingTime":59000,"deadlineAt":1000059500,"serverTime":1000000000,"round":2,"navigator":"Ann","driver":"Bob"}"#;

    /// The one `state` event of a block.
    fn state_of(data: &str) -> Snapshot {
        match decode(Some("state"), Some(data), None).as_slice() {
            [ServerEvent::State(s)] => (**s).clone(),
            other => panic!("expected one state event, got {other:?}"),
        }
    }

    #[test]
    fn a_retry_only_block_gives_the_delay() {
        assert_eq!(
            decode(None, None, Some(250)),
            vec![ServerEvent::Retry(Duration::from_millis(250))]
        );
    }

    #[test]
    fn the_connect_sequence_decodes_in_order() {
        assert_eq!(
            decode(Some("connect"), Some("OK"), None),
            vec![ServerEvent::Connected]
        );
        assert_eq!(
            decode(Some("remaining-time"), Some("59000"), None),
            vec![ServerEvent::Remaining(59000)]
        );
        assert_eq!(
            decode(Some("timer"), Some("stop"), None),
            vec![ServerEvent::Timer(TimerChange::TimeUp)]
        );
        assert_eq!(
            decode(Some("close"), Some("OK"), None),
            vec![ServerEvent::Closed]
        );
    }

    #[test]
    fn a_state_without_phase_is_a_turn() {
        let s = state_of(STATE);
        assert_eq!(s.phase, Phase::Turn);
        assert_eq!(s.state, TimerState::Running);
        assert_eq!(
            (s.driver.as_str(), s.navigator.as_str(), s.round),
            ("Bob", "Ann", 2)
        );
        assert_eq!(s.remaining_at_server_time(), 59500);
    }

    #[test]
    fn a_state_in_a_break_says_so_and_extra_fields_are_ignored() {
        let data = STATE.replace(
            "\"round\":2",
            "\"round\":2,\"phase\":\"break\",\"settings\":{\"autoStart\":true}",
        );
        let s = state_of(&data);
        assert_eq!(s.phase, Phase::Break);
    }

    #[test]
    fn unknown_events_and_unreadable_data_are_skipped() {
        assert!(decode(Some("mystery"), Some("x"), None).is_empty());
        assert!(decode(Some("remaining-time"), Some("soon"), None).is_empty());
        assert!(decode(Some("state"), Some("{"), None).is_empty());
    }

    #[test]
    fn a_paused_snapshot_keeps_its_remaining_time() {
        let data = STATE
            .replace("running", "paused")
            .replace("1000059500", "null");
        let s = state_of(&data);
        assert_eq!(s.remaining_at_server_time(), 59000);
    }
}
