//! A room as a pure value: its members in turn order (the first drives, the second
//! navigates), the timer, the settings, and the version of the committed row it mirrors.
//!
//! Commands and the passing of time turn one [`PairRoom`] into the next and say,
//! as a list of [`Notice`]s, what every stream of the room must be told. Nothing
//! here does I/O: the room actor commits the new value first and broadcasts the
//! notices after.
//!
//! A room also remembers its latest time-up for a while ([`PairRoom::time_up_at`]): a
//! swap that names no round and arrives within [`TIME_UP_SWAP_WINDOW_MS`] of a time-up,
//! with nothing else changed in between (the goals and links included), is the time-up's
//! own swap as a page that swaps roles itself sends it, and changes nothing (the time-up
//! already swapped). A swap that names its round swaps only in that round. The mark is
//! part of the stored row, so the rule holds across restarts and across processes that
//! share one database.
//!
//! A turn ends at its time-up, or earlier on `next`; either way the members rotate, the
//! round counts it, and the transition carries the [`CompletedTurn`] for the room's history,
//! committed in the same write. A swap rotates the members without ending the turn.
//!
//! What follows the end of a countdown (a break, or the next turn by itself; see
//! [`crate::rules`]) belongs to the same transition as that end: one committed write,
//! so it happens exactly once and the time-up's mark survives it. The end of a break
//! sets the mark too, as a page that swaps roles itself at every `remaining-time: 0`
//! sends its swap there as well.

use serde::Serialize;
use utoipa::ToSchema;

use super::countdown::{Phase, Timer, TimerRunning};
use super::goals::{GoalError, Goals};
use super::links::{Link, LinkError, Links};
use super::members::{Members, MembersError, NotAMember};
use super::notice::{Notice, PresenceView, Snapshot, TimerEvent, TimerView};
use super::settings::{FollowUp, RoomSettings, SettingsPatch};

/// How long after a time-up a swap without a round counts as that time-up's own swap.
pub const TIME_UP_SWAP_WINDOW_MS: i64 = 10_000;

/// Where the pair stands with its work, as the Room shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoomStatus {
    /// The pair works (every room starts so).
    InProgress,
    /// The pair said it is done.
    Completed,
}

impl RoomStatus {
    /// The name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::InProgress => "IN_PROGRESS",
            RoomStatus::Completed => "COMPLETED",
        }
    }

    /// The status stored under `name`, if any.
    pub fn parse(name: &str) -> Option<RoomStatus> {
        match name {
            "IN_PROGRESS" => Some(RoomStatus::InProgress),
            "COMPLETED" => Some(RoomStatus::Completed),
            _ => None,
        }
    }
}

/// One pair room, as committed in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRoom {
    /// The room's unguessable access code.
    pub access_code: String,
    /// Who is in the room, in turn order: the driver, the navigator, then the others.
    pub members: Members,
    /// A link to what the pair works on; `""` when none.
    pub mission_url: String,
    /// Creation instant, epoch ms.
    pub created_at: i64,
    /// The countdown.
    pub timer: Timer,
    /// In progress, or completed.
    pub status: RoomStatus,
    /// What follows the end of a countdown.
    pub settings: RoomSettings,
    /// When the latest time-up happened (epoch ms), as long as no request has changed the
    /// room since; `None` otherwise. What a time-up sets off by itself keeps it.
    pub time_up_at: Option<i64>,
    /// Bumped on every committed change; a write that expects an older version loses.
    pub version: i64,
    /// What the room works toward, in order.
    pub goals: Goals,
    /// Its reference links and their categories.
    pub links: Links,
}

/// A validated request for a new room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    /// Who is in the room, in turn order.
    pub members: Members,
    /// A link to what the pair works on; `""` when none.
    pub mission_url: String,
    /// Full duration, ms.
    pub duration: i64,
    /// Remaining ms (`1..=duration`); idle when equal to the duration, else paused.
    pub remaining: i64,
    /// What follows the end of a countdown.
    pub settings: RoomSettings,
}

impl NewRoom {
    /// The room this request makes under `access_code`, created at `now`.
    pub fn into_room(self, access_code: String, now: i64) -> PairRoom {
        PairRoom {
            access_code,
            members: self.members,
            mission_url: self.mission_url,
            created_at: now,
            timer: Timer::new(self.duration, self.remaining, 0),
            status: RoomStatus::InProgress,
            settings: self.settings,
            time_up_at: None,
            version: 1,
            goals: Goals::default(),
            links: Links::default(),
        }
    }
}

/// A change a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The members rotate by one (with two: navigator and driver trade places). With
    /// `round`, only while the room is in that round; without, unless it is the swap of a
    /// time-up that just happened.
    Swap {
        /// The round the swap was asked in, if the client named it.
        round: Option<i64>,
    },
    /// The turn ends now, as at a time-up (without its final tick); during a break, the
    /// break ends. With `round`, only while the room is in that round.
    Next {
        /// The round the request was asked in, if the client named it.
        round: Option<i64>,
    },
    /// Someone joins the members, at the end.
    Join(String),
    /// A member leaves.
    Leave(String),
    /// The whole order is replaced (renames, reorders, joins and leaves at once).
    SetMembers(Members),
    /// The pair is done: the status becomes completed and a running timer stops.
    Complete,
    /// Some of the room's settings change.
    Settings(SettingsPatch),
    /// A goal is added last, with this id and (checked) text.
    AddGoal {
        /// A fresh random id.
        id: i64,
        /// Its text.
        content: String,
    },
    /// A goal's text changes.
    EditGoal {
        /// The goal.
        id: i64,
        /// Its new text.
        content: String,
    },
    /// A goal moves to a position (past the end: last); the others shift.
    MoveGoal {
        /// The goal.
        id: i64,
        /// Its new position, from 0.
        to: u64,
    },
    /// A goal is checked, or unchecked.
    ToggleGoal(i64),
    /// A goal is removed.
    RemoveGoal(i64),
    /// A category is added.
    AddCategory {
        /// A fresh random id.
        id: String,
        /// Its (checked) name.
        name: String,
    },
    /// A category is renamed.
    RenameCategory {
        /// The category.
        id: String,
        /// Its new (checked) name.
        name: String,
    },
    /// A category is deleted; its links lose it.
    RemoveCategory(String),
    /// A link is added.
    AddLink(Link),
    /// A link is deleted.
    RemoveLink(i64),
}

/// Why a command cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `SetDuration` while the timer runs.
    #[error(transparent)]
    TimerRunning(#[from] TimerRunning),
    /// A swap or a `next` named a round the room is no longer (or not yet) in.
    #[error(transparent)]
    RoundChanged(#[from] RoundChanged),
    /// The members would break their rules.
    #[error(transparent)]
    Members(#[from] MembersError),
    /// The member to remove is not in the room.
    #[error(transparent)]
    NotAMember(#[from] NotAMember),
    /// The goals would break their rules, or the goal is unknown.
    #[error(transparent)]
    Goal(#[from] GoalError),
    /// The links or categories would break their rules, or one is unknown.
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// Its countdown ran out.
    TimeUp,
    /// Someone asked for the next turn.
    Next,
}

impl TurnEnd {
    /// The name the history gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            TurnEnd::TimeUp => "time-up",
            TurnEnd::Next => "next",
        }
    }

    /// The end stored under `name`, if any.
    pub fn parse(name: &str) -> Option<TurnEnd> {
        match name {
            "time-up" => Some(TurnEnd::TimeUp),
            "next" => Some(TurnEnd::Next),
            _ => None,
        }
    }
}

/// A turn that ended, as the room's history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedTurn {
    /// The round this turn completed (the room's round once it ended).
    pub round: i64,
    /// Who drove.
    pub driver: String,
    /// Who navigated.
    pub navigator: String,
    /// When it ended (epoch ms): its deadline at a time-up, the request's instant on `next`.
    pub ended_at: i64,
    /// How long its countdown ran, ms, pauses excluded.
    pub ran_ms: i64,
    /// How it ended.
    pub end: TurnEnd,
}

/// The answer to a swap asked in another round than the room's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the room is in round {current}, not in the round the swap names")]
pub struct RoundChanged {
    /// The room's round now.
    pub current: i64,
}

/// A room's next value and what to tell its streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The value to commit.
    pub room: PairRoom,
    /// The notices to broadcast once it is committed, in order.
    pub notices: Vec<Notice>,
    /// The turns it ended, oldest first, for the history (in the same write).
    pub turns: Vec<CompletedTurn>,
}

impl PairRoom {
    /// The timer as seen at `now`.
    pub fn timer_view(&self, now: i64) -> TimerView {
        TimerView {
            state: self.timer.state_name(),
            duration: self.timer.duration,
            remaining_time: self.timer.remaining(now),
            deadline_at: self.timer.deadline_at(),
            server_time: now,
            round: self.timer.round,
            phase: self.timer.phase,
        }
    }

    /// Who types: the first member.
    pub fn driver(&self) -> &str {
        self.members.driver()
    }

    /// Who guides: the second member.
    pub fn navigator(&self) -> &str {
        self.members.navigator()
    }

    /// The snapshot sent in `state` events; who is here is the live room's to fill in.
    pub fn snapshot(&self, now: i64) -> Snapshot {
        Snapshot {
            timer: self.timer_view(now),
            navigator: self.navigator().to_string(),
            driver: self.driver().to_string(),
            members: self.members.names().to_vec(),
            settings: self.settings,
            presence: PresenceView::default(),
        }
    }

    /// The end of the countdown, if its deadline has passed at `now`, and what follows it,
    /// as one transition (see [`PairRoom::finish`]). The room remembers when (see
    /// [`PairRoom::time_up_at`]). The final tick is not among the notices; it comes from
    /// [`Timer::take_due_ticks`].
    pub fn expire(&self, now: i64) -> Option<Transition> {
        let deadline = self
            .timer
            .deadline_at()
            .filter(|_| self.timer.is_due(now))?;
        let mut t = self.finish(now, deadline, TurnEnd::TimeUp);
        t.room.time_up_at = Some(now);
        Some(t)
    }

    /// Ends the countdown at `now` (`ended_at` for the history) and starts what follows. A
    /// turn's end rotates the members, counts the round, records the turn and rests idle
    /// at full duration; a break's end rests idle at full duration in the next turn. Then,
    /// as the settings say, a break or the next turn starts at `now`.
    fn finish(&self, now: i64, ended_at: i64, end: TurnEnd) -> Transition {
        let mut room = self.clone();
        let mut turns = Vec::new();
        let follow_up = match room.timer.phase {
            Phase::Turn => {
                turns.push(CompletedTurn {
                    round: room.timer.round + 1,
                    driver: room.driver().to_string(),
                    navigator: room.navigator().to_string(),
                    ended_at,
                    ran_ms: room.timer.ran_by(ended_at),
                    end,
                });
                room.timer.time_up();
                room.members.rotate();
                room.settings.after_turn(room.timer.round)
            }
            Phase::Break => {
                room.timer.end_break();
                room.settings.after_break()
            }
        };
        let mut notices = vec![
            Notice::Timer(TimerEvent::Stop),
            Notice::Remaining(room.timer.duration),
            Notice::State(room.snapshot(now)),
        ];
        match follow_up {
            FollowUp::Break(length) => {
                room.timer.start_break(now, length);
                notices.push(Notice::Timer(TimerEvent::Break));
                notices.push(Notice::Remaining(length));
                notices.push(Notice::State(room.snapshot(now)));
            }
            FollowUp::Start => {
                room.timer.start(now);
                notices.push(Notice::Timer(TimerEvent::Start));
                notices.push(Notice::State(room.snapshot(now)));
            }
            FollowUp::Rest => {}
        }
        Transition {
            room,
            notices,
            turns,
        }
    }

    /// Applies `command` at `now` after any due time-up. `Ok(None)` means nothing changed
    /// and nothing is to be sent. A command that changes the room ends the time-up's window
    /// for swaps without a round.
    pub fn apply(&self, command: Command, now: i64) -> Result<Option<Transition>, CommandError> {
        let (mut room, mut notices, mut turns) = match self.expire(now) {
            Some(t) => (t.room, t.notices, t.turns),
            None => (self.clone(), Vec::new(), Vec::new()),
        };
        // Goals and links are the room's board: a change to them tells only them. It is a
        // change to the room all the same, so it ends the time-up's window for swaps.
        if let Some(board) = room.apply_to_board(&command)? {
            room.time_up_at = None;
            notices.push(board);
            return Ok(Some(Transition {
                room,
                notices,
                turns,
            }));
        }
        let (changed, event) = match command {
            Command::Start => (room.timer.start(now), Some(TimerEvent::Start)),
            Command::Stop => (room.timer.stop(now), Some(TimerEvent::Pause)),
            Command::Reset => (room.timer.reset(now), Some(TimerEvent::Reset)),
            Command::SetDuration {
                duration,
                remaining,
            } => {
                room.timer.set_duration(duration, remaining)?;
                (true, Some(TimerEvent::Update))
            }
            Command::Swap { round } => (room.swap(round, now)?, None),
            Command::Complete => {
                room.timer.stop(now);
                room.status = RoomStatus::Completed;
                (true, Some(TimerEvent::Complete))
            }
            Command::Settings(patch) => {
                room.settings = room.settings.patched(patch);
                (true, None)
            }
            Command::Next { round } => {
                room.check_round(round)?;
                let next = room.finish(now, now, TurnEnd::Next);
                notices.extend(next.notices);
                turns.extend(next.turns);
                room = next.room;
                room.time_up_at = None;
                return Ok(Some(Transition {
                    room,
                    notices,
                    turns,
                }));
            }
            Command::Join(name) => {
                room.members = room.members.joined(&name)?;
                (true, None)
            }
            Command::Leave(name) => {
                room.members = room.members.without(&name)??;
                (true, None)
            }
            Command::SetMembers(members) => {
                room.members = members;
                (true, None)
            }
            // The board's commands were applied above.
            Command::AddGoal { .. }
            | Command::EditGoal { .. }
            | Command::MoveGoal { .. }
            | Command::ToggleGoal(_)
            | Command::RemoveGoal(_)
            | Command::AddCategory { .. }
            | Command::RenameCategory { .. }
            | Command::RemoveCategory(_)
            | Command::AddLink(_)
            | Command::RemoveLink(_) => (false, None),
        };
        if changed {
            room.time_up_at = None;
            if let Some(event) = event {
                notices.push(Notice::Timer(event));
                if !matches!(event, TimerEvent::Start | TimerEvent::Complete) {
                    notices.push(Notice::Remaining(room.timer.remaining(now)));
                }
            }
            notices.push(Notice::State(room.snapshot(now)));
        }
        if notices.is_empty() {
            return Ok(None);
        }
        Ok(Some(Transition {
            room,
            notices,
            turns,
        }))
    }

    /// Applies a command to the goals or the links; the notice that tells the change, or
    /// `None` for a command that is no board command.
    fn apply_to_board(&mut self, command: &Command) -> Result<Option<Notice>, CommandError> {
        match command {
            Command::AddGoal { id, content } => {
                self.goals.add(*id, content.clone())?;
            }
            Command::EditGoal { id, content } => self.goals.edit(*id, content.clone())?,
            Command::MoveGoal { id, to } => self.goals.move_to(*id, *to)?,
            Command::ToggleGoal(id) => self.goals.toggle(*id)?,
            Command::RemoveGoal(id) => self.goals.remove(*id)?,
            Command::AddCategory { id, name } => {
                self.links.add_category(id.clone(), name.clone())?;
                return Ok(Some(self.links_notice()));
            }
            Command::RenameCategory { id, name } => {
                self.links.rename_category(id, name.clone())?;
                return Ok(Some(self.links_notice()));
            }
            Command::RemoveCategory(id) => {
                self.links.remove_category(id)?;
                return Ok(Some(self.links_notice()));
            }
            Command::AddLink(link) => {
                self.links.add_link(link.clone())?;
                return Ok(Some(self.links_notice()));
            }
            Command::RemoveLink(id) => {
                self.links.remove_link(*id)?;
                return Ok(Some(self.links_notice()));
            }
            _ => return Ok(None),
        }
        Ok(Some(self.goals_notice()))
    }

    /// `todos` with the whole list of goals.
    pub fn goals_notice(&self) -> Notice {
        Notice::Todos(self.goals.list().to_vec())
    }

    /// `links` with the whole list of links, newest first.
    pub fn links_notice(&self) -> Notice {
        Notice::Links(self.links.views(None))
    }

    /// Refuses a request that names another round than the room's.
    fn check_round(&self, round: Option<i64>) -> Result<(), RoundChanged> {
        match round {
            Some(asked) if asked != self.timer.round => Err(RoundChanged {
                current: self.timer.round,
            }),
            _ => Ok(()),
        }
    }

    /// Rotates the members, unless `round` names another round (an error) or the swap names
    /// no round and is the latest time-up's own (nothing to do). Returns whether it rotated.
    fn swap(&mut self, round: Option<i64>, now: i64) -> Result<bool, RoundChanged> {
        self.check_round(round)?;
        if round.is_none() && self.swap_echoes_time_up(now) {
            return Ok(false);
        }
        self.members.rotate();
        Ok(true)
    }

    /// Whether a swap without a round at `now` is the latest time-up's own: the time-up was
    /// at most [`TIME_UP_SWAP_WINDOW_MS`] ago and no request has changed the room since.
    pub fn swap_echoes_time_up(&self, now: i64) -> bool {
        self.time_up_at
            .is_some_and(|at| now - at <= TIME_UP_SWAP_WINDOW_MS)
    }

    /// What a new stream is told first, after `connect`: the live remaining time, `running`
    /// while the timer runs, the snapshot, and the goals.
    pub fn greeting(&self, now: i64) -> Vec<Notice> {
        let mut notices = vec![Notice::Remaining(self.timer.remaining(now))];
        if self.timer.is_running() {
            notices.push(Notice::Timer(TimerEvent::Running));
        }
        notices.push(Notice::State(self.snapshot(now)));
        notices.push(self.goals_notice());
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::countdown::State;
    use crate::rules::members::{Members, MembersError, NotAMember};

    const T0: i64 = 1_700_000_000_000;

    fn room(duration: i64) -> PairRoom {
        PairRoom {
            access_code: "abcdefgh".into(),
            members: Members::pair("Dri", "Nav").expect("two names"),
            mission_url: String::new(),
            created_at: T0,
            timer: Timer::new(duration, duration, 0),
            status: RoomStatus::InProgress,
            settings: RoomSettings::default(),
            time_up_at: None,
            version: 1,
            goals: Goals::default(),
            links: Links::default(),
        }
    }

    const LEGACY_SWAP: Command = Command::Swap { round: None };

    fn swap_in(round: i64) -> Command {
        Command::Swap { round: Some(round) }
    }

    /// A room of `duration` ms started at `T0` whose time-up happened at its deadline:
    /// roles swapped once (Dri navigates, Nav drives), round 1.
    fn just_timed_up(duration: i64) -> PairRoom {
        let running = applied(&room(duration), Command::Start, T0).room;
        running.expire(T0 + duration).expect("due").room
    }

    fn roles(r: &PairRoom) -> (&str, &str) {
        (r.navigator(), r.driver())
    }

    fn events(t: &Transition) -> Vec<String> {
        t.notices
            .iter()
            .map(|n| match n {
                Notice::Remaining(v) => format!("remaining-time:{v}"),
                Notice::Timer(e) => format!("timer:{}", e.as_str()),
                Notice::State(_) => "state".to_string(),
                Notice::Presence(p) => format!("presence:{}", p.watching),
                Notice::Todos(g) => format!("todos:{}", g.len()),
                Notice::Links(l) => format!("links:{}", l.len()),
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
        let t = applied(&room(5000), LEGACY_SWAP, T0);
        assert_eq!((t.room.navigator(), t.room.driver()), ("Dri", "Nav"));
        assert_eq!(events(&t), ["state"]);
    }

    #[test]
    fn time_up_swaps_roles_counts_the_round_and_rests_idle() {
        let running = applied(&room(3000), Command::Start, T0).room;
        assert!(running.expire(T0 + 2999).is_none());
        let t = running.expire(T0 + 3000).expect("due");
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(t.room.timer.state, State::Idle);
        assert_eq!(t.room.timer.round, 1);
        assert_eq!(t.room.navigator(), "Dri");
    }

    #[test]
    fn a_stop_at_the_deadline_finds_the_time_up_done() {
        let running = applied(&room(3000), Command::Start, T0).room;
        let t = applied(&running, Command::Stop, T0 + 3000);
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(t.room.timer.state, State::Idle);
        assert_eq!(t.room.timer.round, 1);
    }

    #[test]
    fn one_page_swapping_at_time_up_changes_nothing() {
        let timed_up = just_timed_up(3000);
        assert_eq!(roles(&timed_up), ("Dri", "Nav"));
        assert_eq!(timed_up.apply(LEGACY_SWAP, T0 + 3000 + 150), Ok(None));
    }

    #[test]
    fn two_pages_swapping_at_time_up_change_nothing() {
        let timed_up = just_timed_up(3000);
        // Nothing changes, so the second page's swap meets the same room.
        assert_eq!(timed_up.apply(LEGACY_SWAP, T0 + 3000 + 120), Ok(None));
        assert_eq!(timed_up.apply(LEGACY_SWAP, T0 + 3000 + 480), Ok(None));
    }

    #[test]
    fn a_page_that_swaps_after_the_window_swaps() {
        let timed_up = just_timed_up(3000);
        // The contract's window: 10 s after the time-up, the last instant included.
        let at = T0 + 3000 + 10_000;
        assert_eq!(timed_up.apply(LEGACY_SWAP, at), Ok(None));
        let t = applied(&timed_up, LEGACY_SWAP, at + 1);
        assert_eq!(events(&t), ["state"]);
        assert_eq!(roles(&t.room), ("Nav", "Dri"));
    }

    #[test]
    fn a_person_who_names_the_round_swaps_right_after_a_time_up() {
        let timed_up = just_timed_up(3000);
        let t = applied(&timed_up, swap_in(1), T0 + 3000 + 100);
        assert_eq!(events(&t), ["state"]);
        assert_eq!(roles(&t.room), ("Nav", "Dri"));
        assert_eq!(t.room.time_up_at, None);
    }

    #[test]
    fn a_swap_named_for_another_round_is_refused() {
        let timed_up = just_timed_up(3000);
        assert_eq!(
            timed_up.apply(swap_in(0), T0 + 3000 + 100),
            Err(CommandError::RoundChanged(RoundChanged { current: 1 }))
        );
        assert_eq!(
            room(3000).apply(swap_in(1), T0),
            Err(CommandError::RoundChanged(RoundChanged { current: 0 }))
        );
        assert_eq!(
            roles(&applied(&room(3000), swap_in(0), T0).room),
            ("Dri", "Nav")
        );
    }

    #[test]
    fn a_swap_without_round_after_another_change_swaps() {
        let timed_up = just_timed_up(3000);
        let started = applied(&timed_up, Command::Start, T0 + 3000 + 200).room;
        let t = applied(&started, LEGACY_SWAP, T0 + 3000 + 400);
        assert_eq!(roles(&t.room), ("Nav", "Dri"));

        // A deliberate swap is a change too: a later swap without round swaps again.
        let swapped = applied(&timed_up, swap_in(1), T0 + 3000 + 100).room;
        let t = applied(&swapped, LEGACY_SWAP, T0 + 3000 + 300);
        assert_eq!(roles(&t.room), ("Dri", "Nav"));
    }

    #[test]
    fn a_request_that_changes_nothing_keeps_the_time_up_window() {
        let timed_up = just_timed_up(3000);
        assert_eq!(timed_up.apply(Command::Stop, T0 + 3000 + 50), Ok(None));
        assert_eq!(timed_up.apply(Command::Reset, T0 + 3000 + 60), Ok(None));
        assert_eq!(timed_up.apply(LEGACY_SWAP, T0 + 3000 + 70), Ok(None));
    }

    #[test]
    fn a_swap_that_overtakes_the_time_up_is_its_own_swap() {
        // The page saw the final tick and asked before the time-up was committed.
        let running = applied(&room(3000), Command::Start, T0).room;
        let t = applied(&running, LEGACY_SWAP, T0 + 3000 + 5);
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(roles(&t.room), ("Dri", "Nav"));
        assert_eq!(t.room.time_up_at, Some(T0 + 3000 + 5));
    }

    #[test]
    fn a_swap_with_the_round_after_the_deadline_follows_the_time_up() {
        let running = applied(&room(3000), Command::Start, T0).room;
        let t = applied(&running, swap_in(1), T0 + 4000);
        assert_eq!(
            events(&t),
            ["timer:stop", "remaining-time:3000", "state", "state"]
        );
        // Swapped by the time-up, then swapped back by the request.
        assert_eq!(t.room.navigator(), "Nav");
    }

    #[test]
    fn complete_stops_a_running_timer_and_announces_complete_then_state() {
        let running = applied(&room(5000), Command::Start, T0).room;
        let t = applied(&running, Command::Complete, T0 + 1200);
        assert_eq!(events(&t), ["timer:complete", "state"]);
        assert_eq!(t.room.status, RoomStatus::Completed);
        assert_eq!(t.room.timer.state, State::Paused { remaining: 3800 });
        let again = applied(&t.room, Command::Complete, T0 + 2000);
        assert_eq!(events(&again), ["timer:complete", "state"]);
    }

    fn room_with(duration: i64, auto_start: bool, break_every: i64) -> PairRoom {
        let mut r = room(duration);
        r.settings = RoomSettings {
            auto_start,
            break_every,
            break_duration: 60_000,
        };
        r
    }

    #[test]
    fn a_time_up_on_a_break_round_ends_in_a_running_break_in_one_transition() {
        let running = applied(&room_with(3000, false, 1), Command::Start, T0).room;
        let t = running.expire(T0 + 3000).expect("due");
        assert_eq!(
            events(&t),
            [
                "timer:stop",
                "remaining-time:3000",
                "state",
                "timer:break",
                "remaining-time:60000",
                "state"
            ]
        );
        assert_eq!(t.room.timer.phase, Phase::Break);
        assert_eq!(t.room.timer.deadline_at(), Some(T0 + 63_000));
        assert_eq!((t.room.timer.round, roles(&t.room)), (1, ("Dri", "Nav")));
        assert_eq!(t.room.time_up_at, Some(T0 + 3000));
    }

    #[test]
    fn with_auto_start_the_time_up_starts_the_next_turn_and_keeps_its_mark() {
        let running = applied(&room_with(3000, true, 0), Command::Start, T0).room;
        let t = running.expire(T0 + 3000).expect("due");
        assert_eq!(
            events(&t),
            [
                "timer:stop",
                "remaining-time:3000",
                "state",
                "timer:start",
                "state"
            ]
        );
        assert_eq!(t.room.timer.deadline_at(), Some(T0 + 6000));
        // The automatic start is no change in between: the page's own swap is absorbed.
        assert_eq!(t.room.apply(LEGACY_SWAP, T0 + 3200), Ok(None));
    }

    #[test]
    fn a_break_end_rests_idle_in_the_same_round_with_the_roles_kept() {
        let running = applied(&room_with(3000, false, 1), Command::Start, T0).room;
        let on_break = running.expire(T0 + 3000).expect("due").room;
        let t = on_break.expire(T0 + 63_000).expect("due");
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(
            (t.room.timer.phase, t.room.timer.state, t.room.timer.round),
            (Phase::Turn, State::Idle, 1)
        );
        assert_eq!(roles(&t.room), ("Dri", "Nav"));
        assert_eq!(t.room.time_up_at, Some(T0 + 63_000));
        assert_eq!(t.room.apply(LEGACY_SWAP, T0 + 63_300), Ok(None));
    }

    #[test]
    fn a_settings_change_announces_the_state_and_is_a_change_for_the_swap_rule() {
        let timed_up = just_timed_up(3000);
        let patch = SettingsPatch {
            auto_start: Some(true),
            ..SettingsPatch::default()
        };
        let t = applied(&timed_up, Command::Settings(patch), T0 + 3100);
        assert_eq!(events(&t), ["state"]);
        assert!(t.room.settings.auto_start);
        assert_eq!(t.room.settings.break_duration, 300_000);
        assert_eq!(t.room.time_up_at, None);
        assert!(t
            .room
            .apply(LEGACY_SWAP, T0 + 3200)
            .expect("swaps")
            .is_some());
    }

    #[test]
    fn a_snapshot_in_a_break_says_so() {
        let running = applied(&room_with(3000, false, 1), Command::Start, T0).room;
        let on_break = running.expire(T0 + 3000).expect("due").room;
        let json = serde_json::to_value(on_break.snapshot(T0 + 4000)).expect("serializes");
        assert_eq!(json["phase"], "break");
        assert_eq!(json["remainingTime"], 59_000);
        assert_eq!(json["duration"], 3000);
        assert_eq!(json["settings"]["breakEvery"], 1);
    }

    #[test]
    fn greeting_says_running_only_while_running_and_ends_with_the_goals() {
        let idle = room(5000);
        let g = idle.greeting(T0);
        assert_eq!(g.len(), 3);
        assert!(matches!(g[1], Notice::State(_)));
        let running = applied(&idle, Command::Start, T0).room;
        let g = running.greeting(T0 + 250);
        assert_eq!(g[0], Notice::Remaining(4750));
        assert_eq!(g[1], Notice::Timer(TimerEvent::Running));
        assert!(matches!(g[2], Notice::State(_)));
        assert_eq!(g[3], Notice::Todos(Vec::new()));
    }

    #[test]
    fn a_goal_change_tells_only_the_goals_and_ends_the_time_up_window() {
        let timed_up = just_timed_up(3000);
        let t = applied(
            &timed_up,
            Command::AddGoal {
                id: 7,
                content: "ship".into(),
            },
            T0 + 3100,
        );
        assert_eq!(events(&t), ["todos:1"]);
        assert_eq!(t.room.time_up_at, None);
        let swapped = applied(&t.room, LEGACY_SWAP, T0 + 3200);
        assert_eq!(events(&swapped), ["state"]);
        assert_eq!(roles(&swapped.room), ("Nav", "Dri"));
        assert_eq!(
            t.room.apply(Command::ToggleGoal(8), T0),
            Err(CommandError::Goal(GoalError::NotFound(8)))
        );
        // A refused goal change changes nothing, and the window stays open.
        assert!(timed_up.apply(Command::ToggleGoal(8), T0 + 3100).is_err());
        assert_eq!(timed_up.apply(LEGACY_SWAP, T0 + 3200), Ok(None));
    }

    #[test]
    fn a_link_or_category_change_ends_the_time_up_window() {
        let timed_up = just_timed_up(3000);
        let t = applied(
            &timed_up,
            Command::AddCategory {
                id: "c1".into(),
                name: "Docs".into(),
            },
            T0 + 3100,
        );
        assert_eq!(events(&t), ["links:0"]);
        assert_eq!(t.room.time_up_at, None);
        assert_eq!(
            roles(&applied(&t.room, LEGACY_SWAP, T0 + 3200).room),
            ("Nav", "Dri")
        );
    }

    #[test]
    fn a_link_change_tells_the_whole_list_with_category_names() {
        let r = applied(
            &room(3000),
            Command::AddCategory {
                id: "c1".into(),
                name: "Docs".into(),
            },
            T0,
        );
        assert_eq!(events(&r), ["links:0"]);
        let (url, host) = crate::rules::links::url("https://docs.rs/x").expect("a URL");
        let t = applied(
            &r.room,
            Command::AddLink(Link {
                id: 9,
                url,
                host,
                category: Some("c1".into()),
                added_at: T0,
            }),
            T0,
        );
        let Some(Notice::Links(list)) = t.notices.last() else {
            panic!("{:?}", t.notices);
        };
        assert_eq!(list[0].category_name.as_deref(), Some("Docs"));
        assert_eq!(list[0].head_title, "docs.rs");
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
                "phase": "turn", "navigator": "Nav", "driver": "Dri",
                "members": ["Dri", "Nav"],
                "settings": {"autoStart": false, "breakEvery": 0, "breakDuration": 300000},
                "here": [], "watching": 0
            })
        );
    }

    /// A room of `duration` ms with these members in turn order.
    fn team(duration: i64, names: &[&str]) -> PairRoom {
        let mut r = room(duration);
        r.members = Members::new(names).expect("members");
        r
    }

    fn order(r: &PairRoom) -> Vec<&str> {
        r.members.names().iter().map(String::as_str).collect()
    }

    #[test]
    fn a_time_up_sends_the_driver_to_the_end_and_records_the_turn() {
        let running = applied(&team(3000, &["A", "B", "C", "D"]), Command::Start, T0).room;
        let t = running.expire(T0 + 3000).expect("due");
        assert_eq!(order(&t.room), ["B", "C", "D", "A"]);
        assert_eq!(
            (t.room.driver(), t.room.navigator(), t.room.timer.round),
            ("B", "C", 1)
        );
        assert_eq!(
            t.turns,
            [CompletedTurn {
                round: 1,
                driver: "A".into(),
                navigator: "B".into(),
                ended_at: T0 + 3000,
                ran_ms: 3000,
                end: TurnEnd::TimeUp,
            }]
        );
    }

    #[test]
    fn a_time_up_found_late_ends_the_turn_at_its_deadline() {
        let running = applied(&team(3000, &["A", "B", "C"]), Command::Start, T0).room;
        let t = running.expire(T0 + 60_000).expect("due");
        assert_eq!((t.turns[0].ended_at, t.turns[0].ran_ms), (T0 + 3000, 3000));
    }

    #[test]
    fn a_swap_rotates_the_order_by_one_without_ending_the_turn() {
        let t = applied(&team(3000, &["A", "B", "C"]), LEGACY_SWAP, T0);
        assert_eq!(order(&t.room), ["B", "C", "A"]);
        assert_eq!((t.room.timer.round, t.turns.len()), (0, 0));
        assert_eq!(events(&t), ["state"]);
    }

    #[test]
    fn next_ends_a_running_turn_now_with_the_time_it_ran() {
        let running = applied(&team(60_000, &["A", "B", "C"]), Command::Start, T0).room;
        let paused = applied(&running, Command::Stop, T0 + 10_000).room;
        let resumed = applied(&paused, Command::Start, T0 + 500_000).room;
        let t = applied(&resumed, Command::Next { round: None }, T0 + 505_000);
        assert_eq!(
            events(&t),
            ["timer:stop", "remaining-time:60000", "state"],
            "no final tick"
        );
        assert_eq!(order(&t.room), ["B", "C", "A"]);
        assert_eq!(t.room.timer.round, 1);
        assert_eq!(t.room.timer.state, State::Idle);
        assert_eq!(
            t.room.time_up_at, None,
            "no window for swaps without a round"
        );
        assert_eq!(
            (t.turns[0].ran_ms, t.turns[0].ended_at, t.turns[0].end),
            (15_000, T0 + 505_000, TurnEnd::Next)
        );
        // A page that swaps at every final tick sees none after a `next`: its swap swaps.
        assert!(t
            .room
            .apply(LEGACY_SWAP, T0 + 505_100)
            .expect("applies")
            .is_some());
    }

    #[test]
    fn next_on_an_idle_or_paused_turn_ends_it_too() {
        let t = applied(&team(5000, &["A", "B"]), Command::Next { round: None }, T0);
        assert_eq!((order(&t.room), t.room.timer.round), (vec!["B", "A"], 1));
        assert_eq!(t.turns[0].ran_ms, 0);
        let running = applied(&room(5000), Command::Start, T0).room;
        let paused = applied(&running, Command::Stop, T0 + 1200).room;
        let t = applied(&paused, Command::Next { round: None }, T0 + 9000);
        assert_eq!(
            (t.turns[0].ran_ms, t.room.timer.remaining(T0 + 9000)),
            (1200, 5000)
        );
    }

    #[test]
    fn next_is_followed_by_a_break_or_auto_start_as_after_a_time_up() {
        let t = applied(
            &room_with(3000, false, 1),
            Command::Next { round: None },
            T0,
        );
        assert_eq!(
            events(&t),
            [
                "timer:stop",
                "remaining-time:3000",
                "state",
                "timer:break",
                "remaining-time:60000",
                "state"
            ]
        );
        assert_eq!(t.room.timer.phase, Phase::Break);
        let t = applied(&room_with(3000, true, 0), Command::Next { round: None }, T0);
        assert_eq!(t.room.timer.deadline_at(), Some(T0 + 3000));
        assert_eq!(t.room.time_up_at, None);
    }

    #[test]
    fn next_during_a_break_ends_the_break_and_records_no_turn() {
        let on_break = applied(
            &room_with(3000, false, 1),
            Command::Next { round: None },
            T0,
        )
        .room;
        let t = applied(&on_break, Command::Next { round: None }, T0 + 2000);
        assert_eq!(events(&t), ["timer:stop", "remaining-time:3000", "state"]);
        assert_eq!(
            (t.room.timer.phase, t.room.timer.state, t.room.timer.round),
            (Phase::Turn, State::Idle, 1)
        );
        assert!(t.turns.is_empty(), "breaks are not turns");
        assert_eq!(roles(&t.room), roles(&on_break));
    }

    #[test]
    fn next_named_for_another_round_is_refused() {
        let r = room(3000);
        assert_eq!(
            r.apply(Command::Next { round: Some(3) }, T0),
            Err(CommandError::RoundChanged(RoundChanged { current: 0 }))
        );
        assert_eq!(
            applied(&r, Command::Next { round: Some(0) }, T0)
                .room
                .timer
                .round,
            1
        );
    }

    #[test]
    fn a_next_after_the_deadline_finds_the_time_up_done_first() {
        let running = applied(&team(3000, &["A", "B", "C"]), Command::Start, T0).room;
        assert_eq!(
            running.apply(Command::Next { round: Some(0) }, T0 + 3500),
            Err(CommandError::RoundChanged(RoundChanged { current: 1 }))
        );
        let t = applied(&running, Command::Next { round: None }, T0 + 3500);
        let ends: Vec<TurnEnd> = t.turns.iter().map(|turn| turn.end).collect();
        assert_eq!(ends, [TurnEnd::TimeUp, TurnEnd::Next]);
        assert_eq!(order(&t.room), ["C", "A", "B"]);
    }

    #[test]
    fn members_join_leave_and_are_replaced_with_the_timer_and_round_kept() {
        let running = applied(&team(5000, &["A", "B"]), Command::Start, T0).room;
        let t = applied(&running, Command::Join("C".into()), T0 + 10);
        assert_eq!(
            (order(&t.room), events(&t)),
            (vec!["A", "B", "C"], vec!["state".to_string()])
        );
        assert_eq!(t.room.timer.deadline_at(), Some(T0 + 5000));
        let t = applied(&t.room, Command::Leave("A".into()), T0 + 20);
        assert_eq!(order(&t.room), ["B", "C"]);
        let renamed = Members::new(&["Cy", "Bea"]).expect("members");
        let t = applied(&t.room, Command::SetMembers(renamed), T0 + 30);
        assert_eq!((order(&t.room), t.room.timer.round), (vec!["Cy", "Bea"], 0));
        assert_eq!(
            t.room.apply(Command::Leave("Zed".into()), T0),
            Err(CommandError::NotAMember(NotAMember("Zed".into())))
        );
        assert_eq!(
            t.room.apply(Command::Leave("Cy".into()), T0),
            Err(CommandError::Members(MembersError::TooFew))
        );
        assert_eq!(
            t.room.apply(Command::Join("Bea".into()), T0),
            Err(CommandError::Members(MembersError::Duplicate("Bea".into())))
        );
    }

    #[test]
    fn a_member_change_ends_the_time_up_window_for_swaps_without_a_round() {
        let timed_up = just_timed_up(3000);
        let t = applied(&timed_up, Command::Join("Cy".into()), T0 + 3100);
        assert_eq!(t.room.time_up_at, None);
        assert!(t
            .room
            .apply(LEGACY_SWAP, T0 + 3200)
            .expect("applies")
            .is_some());
    }

    #[test]
    fn reset_keeps_the_time_the_turn_ran_for_its_record() {
        let running = applied(&team(10_000, &["A", "B"]), Command::Start, T0).room;
        let reset = applied(&running, Command::Reset, T0 + 4000).room;
        let again = applied(&reset, Command::Start, T0 + 5000).room;
        let t = again.expire(T0 + 15_000).expect("due");
        assert_eq!(t.turns[0].ran_ms, 14_000);
    }
}
