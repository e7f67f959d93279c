//! What a room's event stream says, decoded from its SSE blocks: the events of the
//! contract's table, the `state` snapshot, who is here (`presence`) and the room's goals
//! (`todos`), in the client's own types.

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

/// A room as the `state` event draws it: the timer, the members in turn order, and who is
/// here. A server older than the team room sends only the two names.
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
    /// Every member in turn order: the driver, the navigator, then the others (empty
    /// from a server that does not send it).
    #[serde(default)]
    pub members: Vec<String>,
    /// The names of the room's named streams, sorted (empty from an older server).
    #[serde(default)]
    pub here: Vec<String>,
    /// How many streams the room has open, named or not (`None` from an older server).
    #[serde(default)]
    pub watching: Option<u64>,
}

impl Snapshot {
    /// Who waits for a turn after the driver and the navigator, in order.
    pub fn waiting(&self) -> &[String] {
        self.members.get(2..).unwrap_or_default()
    }

    /// Every member in turn order (the driver and the navigator alone from a server that
    /// does not send `members`).
    pub fn order(&self) -> Vec<String> {
        if self.members.len() >= 2 {
            self.members.clone()
        } else {
            vec![self.driver.clone(), self.navigator.clone()]
        }
    }

    /// Who is here as the snapshot tells it, if the server tells it.
    pub fn presence(&self) -> Option<Presence> {
        self.watching.map(|watching| Presence {
            here: self.here.clone(),
            watching,
        })
    }

    /// What a running timer had left when the snapshot was made, read from its deadline
    /// and the server's clock; the remaining time otherwise.
    pub fn remaining_at_server_time(&self) -> i64 {
        match (self.state, self.deadline_at) {
            (TimerState::Running, Some(deadline)) => (deadline - self.server_time).max(0),
            _ => self.remaining_time.max(0),
        }
    }
}

/// Who is here: the `data` of a `presence` event, also carried by every snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Presence {
    /// The distinct names of the room's named streams, sorted.
    #[serde(default)]
    pub here: Vec<String>,
    /// All open streams of the room, named or not.
    pub watching: u64,
}

/// One of the room's goals, as the `todos` event lists them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Goal {
    /// The goal's id.
    pub id: u64,
    /// What is to be done.
    pub content: String,
    /// Done.
    #[serde(default)]
    pub is_checked: bool,
    /// Its place in the room's list, from 0.
    #[serde(default)]
    pub order: i64,
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
    /// `presence`: who is here now.
    Presence(Presence),
    /// `todos`: the room's whole list of goals, sorted by their order.
    Goals(Vec<Goal>),
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
        "presence" => serde_json::from_str(data).ok().map(ServerEvent::Presence),
        "todos" => serde_json::from_str::<Vec<Goal>>(data)
            .ok()
            .map(|mut goals| {
                goals.sort_by_key(|g| g.order);
                ServerEvent::Goals(goals)
            }),
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
    fn a_team_snapshot_gives_the_order_the_waiting_and_who_is_here() {
        let data = STATE.replace(
            "\"round\":2",
            "\"round\":2,\"members\":[\"Bob\",\"Ann\",\"Cy\",\"Dee\"],\"here\":[\"Ann\",\"Cy\"],\"watching\":3",
        );
        let s = state_of(&data);
        assert_eq!(s.order(), ["Bob", "Ann", "Cy", "Dee"]);
        assert_eq!(s.waiting(), ["Cy", "Dee"]);
        assert_eq!(
            s.presence(),
            Some(Presence {
                here: vec!["Ann".into(), "Cy".into()],
                watching: 3
            })
        );
    }

    #[test]
    fn a_snapshot_without_members_is_the_pair_and_tells_no_presence() {
        let s = state_of(STATE);
        assert_eq!(s.order(), ["Bob", "Ann"]);
        assert!(s.waiting().is_empty());
        assert_eq!(s.presence(), None);
    }

    #[test]
    fn presence_decodes_names_and_count() {
        assert_eq!(
            decode(
                Some("presence"),
                Some(r#"{"here":["Ann","Bob"],"watching":3}"#),
                None
            ),
            vec![ServerEvent::Presence(Presence {
                here: vec!["Ann".into(), "Bob".into()],
                watching: 3
            })]
        );
        assert_eq!(
            decode(Some("presence"), Some(r#"{"watching":1}"#), None),
            vec![ServerEvent::Presence(Presence {
                here: vec![],
                watching: 1
            })]
        );
        assert!(decode(Some("presence"), Some(r#"{"here":["Ann"]}"#), None).is_empty());
        assert!(decode(Some("presence"), Some("nobody"), None).is_empty());
    }

    #[test]
    fn goals_decode_sorted_by_their_order() {
        let data = r#"[{"id":7,"content":"Ship it","isChecked":false,"order":2},
            {"id":9007199254740991,"content":"Write the parser","isChecked":true,"order":0},
            {"id":3,"content":"Fix the test","isChecked":false,"order":1,"extra":null}]"#
            .replace('\n', "");
        match decode(Some("todos"), Some(&data), None).as_slice() {
            [ServerEvent::Goals(goals)] => {
                let contents: Vec<&str> = goals.iter().map(|g| g.content.as_str()).collect();
                assert_eq!(contents, ["Write the parser", "Fix the test", "Ship it"]);
                assert!(goals[0].is_checked && !goals[1].is_checked);
                assert_eq!(goals[0].id, 9_007_199_254_740_991);
            }
            other => panic!("expected goals, got {other:?}"),
        }
        assert_eq!(
            decode(Some("todos"), Some("[]"), None),
            vec![ServerEvent::Goals(vec![])]
        );
        assert!(decode(Some("todos"), Some(r#"{"id":1}"#), None).is_empty());
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
