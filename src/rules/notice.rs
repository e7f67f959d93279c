//! What the streams of a room are told: the `timer` events, the notices a change makes,
//! and the views of the timer and the room that `state` events and the API carry.

use serde::Serialize;
use utoipa::ToSchema;

use super::countdown::{Phase, StateName};
use super::goals::Goal;
use super::links::LinkView;
use super::settings::RoomSettings;

/// The value of an `event: timer` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerEvent {
    /// The timer started or resumed.
    Start,
    /// The timer paused.
    Pause,
    /// A countdown completed.
    Stop,
    /// The duration or remaining time was set.
    Update,
    /// The timer was reset.
    Reset,
    /// Sent on connect while the timer runs.
    Running,
    /// The room was marked completed.
    Complete,
    /// A break began.
    Break,
}

impl TimerEvent {
    /// Every timer event, in the order of the enum.
    pub const ALL: [TimerEvent; 8] = [
        TimerEvent::Start,
        TimerEvent::Pause,
        TimerEvent::Stop,
        TimerEvent::Update,
        TimerEvent::Reset,
        TimerEvent::Running,
        TimerEvent::Complete,
        TimerEvent::Break,
    ];

    /// The word sent as the event's data.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerEvent::Start => "start",
            TimerEvent::Pause => "pause",
            TimerEvent::Stop => "stop",
            TimerEvent::Update => "update",
            TimerEvent::Reset => "reset",
            TimerEvent::Running => "running",
            TimerEvent::Complete => "complete",
            TimerEvent::Break => "break",
        }
    }

    /// The event named by `word`, as [`TimerEvent::as_str`] spells it.
    pub fn from_word(word: &str) -> Option<TimerEvent> {
        TimerEvent::ALL.into_iter().find(|e| e.as_str() == word)
    }
}

/// One thing every stream of a room is told, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `event: remaining-time` with the remaining ms.
    Remaining(i64),
    /// `event: timer` with a word.
    Timer(TimerEvent),
    /// `event: state` with the snapshot.
    State(Snapshot),
    /// `event: presence` with who is here.
    Presence(PresenceView),
    /// `event: todos` with the whole list of goals, in order.
    Todos(Vec<Goal>),
    /// `event: links` with the whole list of links, newest first.
    Links(Vec<LinkView>),
}

/// The timer as the API shows it at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimerView {
    /// `idle`, `running` or `paused`.
    pub state: StateName,
    /// Full duration, ms.
    pub duration: i64,
    /// Remaining ms at `server_time`.
    pub remaining_time: i64,
    /// The deadline while running.
    pub deadline_at: Option<i64>,
    /// The instant this view was made.
    pub server_time: i64,
    /// Completed turns.
    pub round: i64,
    /// `turn` or `break`.
    pub phase: Phase,
}

/// All that a page needs to draw the room: the timer, the members, the settings and who
/// is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The timer fields, flattened.
    #[serde(flatten)]
    pub timer: TimerView,
    /// Who guides: `members[1]`.
    pub navigator: String,
    /// Who types: `members[0]`.
    pub driver: String,
    /// Everyone in turn order: the driver, the navigator, then those who wait.
    pub members: Vec<String>,
    /// What follows the end of a countdown.
    pub settings: RoomSettings,
    /// Who is here, flattened.
    #[serde(flatten)]
    pub presence: PresenceView,
}

/// Who has the room open: the data of a `presence` event, and part of the Room and the
/// Snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    /// The distinct names of the room's open named streams on every live process, sorted.
    pub here: Vec<String>,
    /// All open streams of the room on every live process, named or not.
    pub watching: i64,
}
