//! A pair room as a pure value: who drives, who navigates, the timer, and the
//! version of the committed row it mirrors.
//!
//! Commands and the passing of time turn one [`PairRoom`] into the next and say,
//! as a list of [`Notice`]s, what every stream of the room must be told. Nothing
//! here does I/O: the room actor commits the new value first and broadcasts the
//! notices after.

use serde::Serialize;
use utoipa::ToSchema;

use crate::timer::{PhaseName, Timer, TimerRunning};

/// One pair room, as committed in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRoom {
    /// The room's unguessable access code.
    pub access_code: String,
    /// Who guides.
    pub navigator: String,
    /// Who types.
    pub driver: String,
    /// A link to what the pair works on; `""` when none.
    pub mission_url: String,
    /// Creation instant, epoch ms.
    pub created_at: i64,
    /// The countdown.
    pub timer: Timer,
    /// Bumped on every committed change; a write that expects an older version loses.
    pub version: i64,
}

/// A validated request for a new room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    /// Who guides.
    pub navigator: String,
    /// Who types.
    pub driver: String,
    /// A link to what the pair works on; `""` when none.
    pub mission_url: String,
    /// Full duration, ms.
    pub duration: i64,
    /// Remaining ms (`1..=duration`); idle when equal to the duration, else paused.
    pub remaining: i64,
}

impl NewRoom {
    /// The room this request makes under `access_code`, created at `now`.
    pub fn into_room(self, access_code: String, now: i64) -> PairRoom {
        PairRoom {
            access_code,
            navigator: self.navigator,
            driver: self.driver,
            mission_url: self.mission_url,
            created_at: now,
            timer: Timer::new(self.duration, self.remaining, 0),
            version: 1,
        }
    }
}

/// A change a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Idle or paused → running.
    Start,
    /// Running → paused.
    Stop,
    /// Any → idle at full duration.
    Reset,
    /// Not running: a new duration and remaining time.
    SetDuration {
        /// New full duration, ms.
        duration: i64,
        /// New remaining time, ms (`1..=duration`).
        remaining: i64,
    },
    /// Navigator and driver trade places.
    Swap,
}

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
}

impl TimerEvent {
    /// The word sent as the event's data.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerEvent::Start => "start",
            TimerEvent::Pause => "pause",
            TimerEvent::Stop => "stop",
            TimerEvent::Update => "update",
            TimerEvent::Reset => "reset",
            TimerEvent::Running => "running",
        }
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
}

/// The timer as the API shows it at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimerView {
    /// `idle`, `running` or `paused`.
    pub state: PhaseName,
    /// Full duration, ms.
    pub duration: i64,
    /// Remaining ms at `server_time`.
    pub remaining_time: i64,
    /// The deadline while running.
    pub deadline_at: Option<i64>,
    /// The instant this view was made.
    pub server_time: i64,
    /// Completed countdowns.
    pub round: i64,
}

/// All that a page needs to draw the room: the timer plus the two names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The timer fields, flattened.
    #[serde(flatten)]
    pub timer: TimerView,
    /// Who guides.
    pub navigator: String,
    /// Who types.
    pub driver: String,
}

/// Why a command cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `SetDuration` while the timer runs.
    #[error(transparent)]
    TimerRunning(#[from] TimerRunning),
}

/// A room's next value and what to tell its streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The value to commit.
    pub room: PairRoom,
    /// The notices to broadcast once it is committed, in order.
    pub notices: Vec<Notice>,
}

impl PairRoom {
    /// The timer as seen at `now`.
    pub fn timer_view(&self, now: i64) -> TimerView {
        TimerView {
            state: self.timer.phase_name(),
            duration: self.timer.duration,
            remaining_time: self.timer.remaining(now),
            deadline_at: self.timer.deadline_at(),
            server_time: now,
            round: self.timer.round,
        }
    }

    /// The snapshot sent in `state` events.
    pub fn snapshot(&self, now: i64) -> Snapshot {
        Snapshot {
            timer: self.timer_view(now),
            navigator: self.navigator.clone(),
            driver: self.driver.clone(),
        }
    }

    /// The time-up, if the deadline has passed at `now`: the timer stops, the roles swap,
    /// the round counts up and the timer rests idle at full duration. The final tick is not
    /// among the notices; it comes from [`Timer::take_due_ticks`].
    pub fn expire(&self, now: i64) -> Option<Transition> {
        if !self.timer.is_due(now) {
            return None;
        }
        let mut room = self.clone();
        room.timer.time_up();
        std::mem::swap(&mut room.navigator, &mut room.driver);
        let notices = vec![
            Notice::Timer(TimerEvent::Stop),
            Notice::Remaining(room.timer.duration),
            Notice::State(room.snapshot(now)),
        ];
        Some(Transition { room, notices })
    }

    /// Applies `command` at `now` after any due time-up. `Ok(None)` means nothing changed
    /// and nothing is to be sent.
    pub fn apply(&self, command: Command, now: i64) -> Result<Option<Transition>, CommandError> {
        let (mut room, mut notices) = match self.expire(now) {
            Some(t) => (t.room, t.notices),
            None => (self.clone(), Vec::new()),
        };
        let (changed, event) = match command {
            Command::Start => (room.timer.start(now), Some(TimerEvent::Start)),
            Command::Stop => (room.timer.stop(now), Some(TimerEvent::Pause)),
            Command::Reset => (room.timer.reset(), Some(TimerEvent::Reset)),
            Command::SetDuration {
                duration,
                remaining,
            } => {
                room.timer.set_duration(duration, remaining)?;
                (true, Some(TimerEvent::Update))
            }
            Command::Swap => {
                std::mem::swap(&mut room.navigator, &mut room.driver);
                (true, None)
            }
        };
        if changed {
            if let Some(event) = event {
                notices.push(Notice::Timer(event));
                if event != TimerEvent::Start {
                    notices.push(Notice::Remaining(room.timer.remaining(now)));
                }
            }
            notices.push(Notice::State(room.snapshot(now)));
        }
        if notices.is_empty() {
            return Ok(None);
        }
        Ok(Some(Transition { room, notices }))
    }

    /// What a new stream is told first, after `connect`: the live remaining time, `running`
    /// while the timer runs, and the snapshot.
    pub fn greeting(&self, now: i64) -> Vec<Notice> {
        let mut notices = vec![Notice::Remaining(self.timer.remaining(now))];
        if self.timer.is_running() {
            notices.push(Notice::Timer(TimerEvent::Running));
        }
        notices.push(Notice::State(self.snapshot(now)));
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timer::Phase;

    const T0: i64 = 1_700_000_000_000;

    fn room(duration: i64) -> PairRoom {
        PairRoom {
            access_code: "abcdefgh".into(),
            navigator: "Nav".into(),
            driver: "Dri".into(),
            mission_url: String::new(),
            created_at: T0,
            timer: Timer::new(duration, duration, 0),
            version: 1,
        }
    }

    fn events(t: &Transition) -> Vec<String> {
        t.notices
            .iter()
            .map(|n| match n {
                Notice::Remaining(v) => format!("remaining-time:{v}"),
                Notice::Timer(e) => format!("timer:{}", e.as_str()),
                Notice::State(_) => "state".to_string(),
            })
            .collect()
    }

    fn applied(r: &PairRoom, c: Command, now: i64) -> Transition {
        r.apply(c, now)
            .expect("command applies")
            .expect("command changes something")
    }

    #[test]
    fn start_announces_start_then_state() {
        let t = applied(&room(5000), Command::Start, T0);
        assert_eq!(events(&t), ["timer:start", "state"]);
    }

    #[test]
    fn stop_announces_pause_with_the_exact_remaining_time() {
        let running = applied(&room(5000), Command::Start, T0).room;
        let t = applied(&running, Command::Stop, T0 + 1234);
        assert_eq!(events(&t), ["timer:pause", "remaining-time:3766", "state"]);
    }

    #[test]
    fn reset_announces_the_full_duration() {
        let running = applied(&room(5000), Command::Start, T0).room;
        let t = applied(&running, Command::Reset, T0 + 10);
        assert_eq!(events(&t), ["timer:reset", "remaining-time:5000", "state"]);
    }

    #[test]
    fn requests_that_change_nothing_announce_nothing() {
        let idle = room(5000);
        assert_eq!(idle.apply(Command::Stop, T0), Ok(None));
        assert_eq!(idle.apply(Command::Reset, T0), Ok(None));
        let running = applied(&idle, Command::Start, T0).room;
        assert_eq!(running.apply(Command::Start, T0 + 5), Ok(None));
    }

    #[test]
    fn set_duration_always_announces_an_update() {
        let t = applied(
            &room(5000),
            Command::SetDuration {
                duration: 5000,
                remaining: 5000,
            },
            T0,
        );
        assert_eq!(events(&t), ["timer:update", "remaining-time:5000", "state"]);
    }

    #[test]
    fn set_duration_while_running_is_refused() {
        let running = applied(&room(5000), Command::Start, T0).room;
        let cmd = Command::SetDuration {
            duration: 9000,
            remaining: 9000,
        };
        assert_eq!(
            running.apply(cmd, T0 + 1),
            Err(CommandError::TimerRunning(TimerRunning))
        );
    }

    #[test]
    fn swap_trades_the_roles_and_announces_the_state() {
        let t = applied(&room(5000), Command::Swap, T0);
        assert_eq!(
            (t.room.navigator.as_str(), t.room.driver.as_str()),
            ("Dri", "Nav")
        );
        assert_eq!(events(&t), ["state"]);
    }

    #[test]
    fn time_up_swaps_roles_counts_the_round_and_rests_idle() {
        let running = applied(&room(3000), Command::Start, T0).room;
        assert!(running.expire(T0 + 2999).is_none());
        let t = running.expire(T0 + 3000).expect("due");
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(t.room.timer.phase, Phase::Idle);
        assert_eq!(t.room.timer.round, 1);
        assert_eq!(t.room.navigator, "Dri");
    }

    #[test]
    fn a_stop_at_the_deadline_finds_the_time_up_done() {
        let running = applied(&room(3000), Command::Start, T0).room;
        let t = applied(&running, Command::Stop, T0 + 3000);
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(t.room.timer.phase, Phase::Idle);
        assert_eq!(t.room.timer.round, 1);
    }

    #[test]
    fn a_swap_after_the_deadline_follows_the_time_up() {
        let running = applied(&room(3000), Command::Start, T0).room;
        let t = applied(&running, Command::Swap, T0 + 4000);
        assert_eq!(
            events(&t),
            ["timer:stop", "remaining-time:3000", "state", "state"]
        );
        // Swapped by the time-up, then swapped back by the request.
        assert_eq!(t.room.navigator, "Nav");
    }

    #[test]
    fn greeting_says_running_only_while_running() {
        let idle = room(5000);
        assert_eq!(idle.greeting(T0).len(), 2);
        let running = applied(&idle, Command::Start, T0).room;
        let g = running.greeting(T0 + 250);
        assert_eq!(g[0], Notice::Remaining(4750));
        assert_eq!(g[1], Notice::Timer(TimerEvent::Running));
    }

    #[test]
    fn the_snapshot_serializes_as_the_contract_spells_it() {
        let running = applied(&room(5000), Command::Start, T0).room;
        let json = serde_json::to_value(running.snapshot(T0 + 1000)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "state": "running", "duration": 5000, "remainingTime": 4000,
                "deadlineAt": T0 + 5000, "serverTime": T0 + 1000, "round": 0,
                "navigator": "Nav", "driver": "Dri"
            })
        );
    }
}
