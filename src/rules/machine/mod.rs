//! A live pair room as a plain state machine: no actix, no I/O, no clock of its own.
//!
//! [`RoomMachine::step`] takes the clock's reading and one [`Input`] (a command, a
//! wake-up, a stream opened or closed, the outcome of a write, a row read back from the
//! database) and answers the [`Effect`]s its shell must carry out, in order: write this
//! row, broadcast these notices, wake me at this instant, close the streams, stop. The
//! shell (the `Room` actor) reports each write's outcome back as another input, and
//! feeds nothing else in while a write is in flight.
//!
//! The rules it owns, each counted on the injected clock:
//! - a tick `v` goes out at `deadlineAt − v`, never before; the time-up once the deadline
//!   has passed, committed before it is broadcast, and tried again a while after a failed
//!   write;
//! - a running room with no stream pauses after the grace, counted from the latest of the
//!   last stream's close, the latest start, and the room's load;
//! - a quiet stream gets a heartbeat; a room with no stream and no running timer is
//!   forgotten after its idle time;
//! - a command whose write finds a newer row adopts that row and is planned again;
//! - a change made elsewhere is told with the events it made there (as announced on the
//!   change feed, else worked out by [`change_events`]).
//!
//! What follows a countdown's end (a break, or the next turn by itself) is part of the
//! time-up's own transition ([`PairRoom::expire`]): one write, committed once, and a
//! running break is woken, ticked and ended like a turn.

use std::sync::Arc;
use std::time::Duration;

use super::countdown::{Phase, State};
use super::notice::{Notice, TimerEvent};
use super::now::Now;
use super::policy::{Grace, RoomPolicy};
use super::presence::{Elsewhere, Presence};
use super::room::{Command, CommandError, CompletedTurn, PairRoom};

/// How long a failed automatic write (a time-up, a pause of an empty room) waits before it
/// is tried again.
pub const RETRY_FAILED_WRITE: Duration = Duration::from_secs(1);
/// How many times a command is planned again when another writer changed the row first.
pub const MAX_STALE_RETRIES: u8 = 3;
/// How far back the ticks of a run begun in another process are still sent here (late)
/// when its change arrives: a change reaches the other processes within milliseconds; after
/// a longer gap (a lost change feed) the streams are made whole by the state instead.
pub const CATCH_UP: Duration = Duration::from_secs(2);

/// Why a room refuses a request, in room terms; the HTTP layer maps each to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// No room has this access code (never created, or deleted).
    #[error("no such room")]
    NotFound,
    /// The command does not apply to the room as it stands.
    #[error(transparent)]
    Rejected(#[from] CommandError),
    /// The room holds as many streams as it may.
    #[error("the room holds as many streams as it may")]
    Full,
    /// The database did not take the change; nothing changed.
    #[error("the database is unavailable")]
    Unavailable,
    /// This live copy of the room has stopped; ask the registry for a fresh one.
    #[error("the room stopped")]
    Stopped,
}

/// One thing that happens to a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A client's command; answered by one [`Effect::Reply`].
    Command(Command),
    /// A client deletes the room; answered by one [`Effect::Reply`].
    Delete,
    /// The instant of the last [`Effect::WakeAt`] has come.
    Wake,
    /// A client opens a stream, named after its person or anonymous: [`Effect::Greet`], or
    /// a refusal in [`Effect::Reply`].
    StreamOpened(Option<String>),
    /// Streams ended (their clients left, stalled, or were dropped), each with the name it
    /// opened with.
    StreamsClosed(Vec<Option<String>>),
    /// What the other live processes now hold on the room.
    Elsewhere(Elsewhere),
    /// The outcome of the write in flight.
    Written(WriteOutcome),
    /// The room's row as the database holds it now (`None`: the row is gone).
    RowRead(Option<PairRoom>),
    /// The answer to [`Effect::AskPresence`].
    SeenElsewhere(Seen),
    /// The row after a change another process announced, with what that change told its
    /// streams (each `state` made from this row).
    ChangeRead(PairRoom, Vec<Notice>),
    /// The answer to [`Effect::CheckRow`].
    RowChecked(Checked),
}

/// The row as [`Effect::CheckRow`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The row as the database holds it now (`None`: the row is gone).
    Row(Option<Box<PairRoom>>),
    /// The database did not answer.
    Failed,
}

/// When another process last had a stream on the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// No other process reported one.
    Never,
    /// At this wall instant (epoch ms); the present while one holds a stream.
    At(i64),
    /// The database did not answer.
    Unknown,
}

/// What became of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The row had the expected version; the write is committed (for a delete: the row
    /// existed and is gone).
    Committed,
    /// Another writer changed the row first; this is the row as it stands.
    Stale(Box<PairRoom>),
    /// The row does not exist.
    Gone,
    /// The database did not answer or refused; nothing was written.
    Failed,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write this row over the one holding `version − 1`, with what changed beside it, in
    /// one transaction; then report [`Input::Written`].
    Save(Box<Write>),
    /// Delete the row, then report [`Input::Written`].
    DeleteRow,
    /// Send these notices to every stream, in order.
    Broadcast(Vec<Notice>),
    /// Send these notices to the stream just opened (after `connect`), and keep it.
    Greet(Vec<Notice>),
    /// Send every stream an SSE comment.
    Heartbeat,
    /// Ask the database when another process last had a stream on this room, then report
    /// [`Input::SeenElsewhere`].
    AskPresence,
    /// Read the room's row, then report [`Input::RowChecked`]: a command that this copy
    /// refuses, or finds nothing to do for, is checked against the committed row first when
    /// other processes may have changed it a moment ago.
    CheckRow,
    /// Report [`Input::Wake`] at this monotonic instant; replaces any earlier wake-up.
    WakeAt(Duration),
    /// Send `close` to every stream and end them.
    CloseStreams,
    /// Stop this live copy of the room and forget it.
    Stop,
    /// The answer to the command, delete or stream being handled.
    Reply(Result<(), RoomError>),
    /// A tick went out this many ms after its due instant.
    TickLate(i64),
    /// This many time-ups were committed.
    TimeUps(u64),
}

/// One committed change: the room's new row, and what is written beside it in the same
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The new row, its `version` one above the row it replaces.
    pub room: PairRoom,
    /// The turns the change ended, for the history.
    pub turns: Vec<CompletedTurn>,
    /// Whether the goals changed (they are written whole).
    pub goals: bool,
    /// Whether the links or their categories changed (written whole).
    pub links: bool,
}

/// What a write in flight was for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    Command(Command),
    Delete,
    TimeUp,
    EmptyPause,
}

/// A command's answer held back until the row is read again.
#[derive(Debug, Clone)]
struct Checking {
    cause: Cause,
    attempt: u8,
    answer: Result<(), RoomError>,
}

#[derive(Debug, Clone)]
struct InFlight {
    cause: Cause,
    /// The value committed when the write succeeds (`None` for a delete).
    next: Option<PairRoom>,
    notices: Vec<Notice>,
    attempt: u8,
}

/// One live room: its committed value, its schedule and its stream count.
#[derive(Debug, Clone)]
pub struct RoomMachine {
    /// The committed value this live copy mirrors.
    room: PairRoom,
    policy: Arc<RoomPolicy>,
    /// Who is here: this process's streams, the others', and the latest `presence` told.
    presence: Presence,
    /// Where the pause-when-empty grace counts from: the latest of the last stream's
    /// close, the latest start, and the room's load.
    empty_since: Duration,
    /// The last command or stream change, for forgetting idle rooms.
    last_activity: Duration,
    /// The last write every stream got, for heartbeats.
    last_write: Duration,
    /// A failed automatic write is not tried again before this instant.
    retry_at: Option<Duration>,
    /// The write the shell is carrying out, if any.
    in_flight: Option<InFlight>,
    /// The command whose answer waits for the row to be read again, if any.
    checking: Option<Checking>,
    /// Whether the shell is asking where else the room has streams.
    asking: bool,
    /// Set once the room told its shell to stop; whether it was deleted.
    ended: Option<bool>,
}

impl RoomMachine {
    /// A room loaded (or created) at `now`, with no stream yet.
    pub fn new(room: PairRoom, policy: Arc<RoomPolicy>, now: Now) -> RoomMachine {
        RoomMachine {
            room,
            policy,
            presence: Presence::new(),
            empty_since: now.mono,
            last_activity: now.mono,
            last_write: now.mono,
            retry_at: None,
            in_flight: None,
            checking: None,
            asking: false,
            ended: None,
        }
    }

    /// The committed value.
    pub fn room(&self) -> &PairRoom {
        &self.room
    }

    /// Streams open on this room in this process.
    pub fn subscribers(&self) -> usize {
        self.presence.streams()
    }

    /// Who is here, over every process.
    pub fn presence(&self) -> crate::rules::PresenceView {
        self.presence.view()
    }

    /// The distinct names of this process's named streams, sorted (for the other
    /// processes).
    pub fn names_here(&self) -> Vec<String> {
        self.presence.names_here()
    }

    /// Whether this live copy still speaks for the room: `Err` once the room was deleted
    /// (`NotFound`) or this copy stopped (`Stopped`).
    pub fn live(&self) -> Result<(), RoomError> {
        match self.ended {
            None => Ok(()),
            Some(true) => Err(RoomError::NotFound),
            Some(false) => Err(RoomError::Stopped),
        }
    }

    /// The first effects of a room just loaded: a time-up that fell due while nobody
    /// watched happens now, and the first wake-up is set.
    pub fn start(&mut self, now: Now) -> Vec<Effect> {
        self.step(now, Input::Wake)
    }

    /// Handles one input at `now`.
    pub fn step(&mut self, now: Now, input: Input) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Err(refusal) = self.live() {
            if !matches!(input, Input::Wake | Input::StreamsClosed(_)) {
                fx.push(Effect::Reply(Err(refusal)));
            }
            return fx;
        }
        match input {
            Input::Command(command) => {
                self.last_activity = now.mono;
                self.announce_due_ticks(now, &mut fx);
                self.plan(now, Cause::Command(command), 0, &mut fx);
            }
            Input::Delete => {
                self.in_flight = Some(InFlight {
                    cause: Cause::Delete,
                    next: None,
                    notices: Vec::new(),
                    attempt: 0,
                });
                fx.push(Effect::DeleteRow);
            }
            Input::Wake => self.wake(now, &mut fx),
            Input::StreamOpened(name) => self.open_stream(now, name, &mut fx),
            Input::StreamsClosed(names) => self.close_streams(now, &names),
            Input::Elsewhere(elsewhere) => self.presence.set_elsewhere(elsewhere),
            Input::Written(outcome) => self.written(now, outcome, &mut fx),
            Input::RowRead(row) => self.row_read(now, row, None, &mut fx),
            Input::SeenElsewhere(seen) => self.seen_elsewhere(now, seen, &mut fx),
            Input::ChangeRead(row, told) => self.row_read(now, Some(row), Some(told), &mut fx),
            Input::RowChecked(checked) => self.row_checked(now, checked, &mut fx),
        }
        if self.ended.is_none() {
            self.tell_presence(now, &mut fx);
        }
        if self.in_flight.is_none()
            && self.checking.is_none()
            && !self.asking
            && self.ended.is_none()
        {
            fx.push(Effect::WakeAt(self.next_wake(now)));
        }
        fx
    }

    /// Tells every stream who is here when that changed and the latest `presence` is old
    /// enough; with no stream here, there is nobody to tell.
    fn tell_presence(&mut self, now: Now, fx: &mut Vec<Effect>) {
        if let Some(view) = self.presence.take(now.mono) {
            if self.presence.streams() > 0 {
                self.broadcast(now, vec![Notice::Presence(view)], fx);
            }
        }
    }

    /// Broadcasts every tick due at `now`; they change nothing that is stored.
    fn announce_due_ticks(&mut self, now: Now, fx: &mut Vec<Effect>) {
        let Some(deadline) = self.room.timer.deadline_at() else {
            return;
        };
        let ticks = self.room.timer.take_due_ticks(now.wall_ms);
        if ticks.is_empty() {
            return;
        }
        fx.extend(
            ticks
                .iter()
                .map(|value| Effect::TickLate(now.wall_ms - (deadline - value))),
        );
        self.broadcast(now, ticks.into_iter().map(Notice::Remaining).collect(), fx);
    }

    fn broadcast(&mut self, now: Now, mut notices: Vec<Notice>, fx: &mut Vec<Effect>) {
        if notices.is_empty() {
            return;
        }
        self.stamp(&mut notices);
        self.last_write = now.mono;
        fx.push(Effect::Broadcast(notices));
    }

    /// Every `state` carries who is here at the moment it is sent.
    fn stamp(&self, notices: &mut [Notice]) {
        for notice in notices {
            if let Notice::State(snapshot) = notice {
                snapshot.presence = self.presence.view();
            }
        }
    }

    /// Plans `cause` on the room as it stands and starts its write, or answers at once
    /// when nothing is to be written.
    fn plan(&mut self, now: Now, cause: Cause, attempt: u8, fx: &mut Vec<Effect>) {
        let planned = match &cause {
            Cause::Command(command) => self.room.apply(command.clone(), now.wall_ms),
            Cause::EmptyPause => self.room.apply(Command::Stop, now.wall_ms),
            Cause::TimeUp => Ok(self.room.expire(now.wall_ms)),
            Cause::Delete => Ok(None),
        };
        let check_first = self.policy.cluster
            && attempt < MAX_STALE_RETRIES
            && matches!(cause, Cause::Command(_));
        match planned {
            Err(e) if check_first => self.check(cause, attempt, Err(e.into()), fx),
            Err(e) => fx.push(Effect::Reply(Err(e.into()))),
            Ok(None) if check_first => self.check(cause, attempt, Ok(()), fx),
            Ok(None) => {
                if let Cause::Command(_) = cause {
                    fx.push(Effect::Reply(Ok(())));
                }
            }
            Ok(Some(transition)) => {
                let mut next = transition.room;
                next.version = self.room.version + 1;
                fx.push(Effect::Save(Box::new(Write {
                    goals: next.goals != self.room.goals,
                    links: next.links != self.room.links,
                    room: next.clone(),
                    turns: transition.turns,
                })));
                self.in_flight = Some(InFlight {
                    cause,
                    next: Some(next),
                    notices: transition.notices,
                    attempt,
                });
            }
        }
    }

    /// Holds `answer` back until the row is read again: another process may have changed
    /// the room a moment ago, and the command would then be planned on the newer row.
    fn check(
        &mut self,
        cause: Cause,
        attempt: u8,
        answer: Result<(), RoomError>,
        fx: &mut Vec<Effect>,
    ) {
        self.checking = Some(Checking {
            cause,
            attempt,
            answer,
        });
        fx.push(Effect::CheckRow);
    }

    /// The row read again for a held answer: a newer row is adopted (and told) and the
    /// command planned on it; else the held answer goes out.
    fn row_checked(&mut self, now: Now, checked: Checked, fx: &mut Vec<Effect>) {
        let Some(held) = self.checking.take() else {
            return;
        };
        match checked {
            Checked::Row(Some(row)) if row.version > self.room.version => {
                self.row_read(now, Some(*row), None, fx);
                self.plan(now, held.cause, held.attempt + 1, fx);
            }
            Checked::Row(None) => {
                self.end(true, fx);
                fx.push(Effect::Reply(Err(RoomError::NotFound)));
            }
            Checked::Row(Some(_)) | Checked::Failed => fx.push(Effect::Reply(held.answer)),
        }
    }

    fn retry_allowed(&self, now: Now) -> bool {
        self.retry_at.is_none_or(|at| now.mono >= at)
    }

    fn grace_over(&self, now: Now) -> bool {
        let Grace::After(grace) = self.policy.pause_when_empty else {
            return false;
        };
        self.presence.streams() == 0
            && self.room.timer.is_running()
            && now.mono >= self.empty_since + grace
    }

    fn wake(&mut self, now: Now, fx: &mut Vec<Effect>) {
        self.announce_due_ticks(now, fx);
        if self.retry_allowed(now) {
            if self.room.timer.is_due(now.wall_ms) {
                return self.plan(now, Cause::TimeUp, 0, fx);
            }
            if self.grace_over(now) {
                if self.policy.cluster {
                    // Streams on other processes count too: ask before pausing.
                    self.asking = true;
                    return fx.push(Effect::AskPresence);
                }
                return self.plan(now, Cause::EmptyPause, 0, fx);
            }
        }
        if self.presence.streams() > 0 && now.mono >= self.last_write + self.policy.quiet_limit() {
            self.last_write = now.mono;
            fx.push(Effect::Heartbeat);
        }
        if self.presence.streams() == 0
            && !self.room.timer.is_running()
            && now.mono >= self.last_activity + self.policy.idle_ttl
        {
            self.ended = Some(false);
            fx.push(Effect::Stop);
        }
    }

    /// Pauses an empty room only when no other process had a stream on it for the whole
    /// grace either; else the grace counts from when one was last seen there.
    fn seen_elsewhere(&mut self, now: Now, seen: Seen, fx: &mut Vec<Effect>) {
        self.asking = false;
        let Grace::After(grace) = self.policy.pause_when_empty else {
            return;
        };
        match seen {
            Seen::Unknown => self.retry_at = Some(now.mono + RETRY_FAILED_WRITE),
            Seen::At(at)
                if now.wall_ms - at < i64::try_from(grace.as_millis()).unwrap_or(i64::MAX) =>
            {
                let ago = Duration::from_millis(u64::try_from(now.wall_ms - at).unwrap_or(0));
                self.empty_since = self.empty_since.max(now.mono.saturating_sub(ago));
            }
            Seen::At(_) | Seen::Never => {
                if self.grace_over(now) {
                    self.plan(now, Cause::EmptyPause, 0, fx);
                }
            }
        }
    }

    fn open_stream(&mut self, now: Now, name: Option<String>, fx: &mut Vec<Effect>) {
        if self.presence.streams() >= self.policy.max_subscribers {
            fx.push(Effect::Reply(Err(RoomError::Full)));
            return;
        }
        // Ticks already due go to the other streams first, so that the newcomer's
        // greeting is never followed by an older tick.
        self.announce_due_ticks(now, fx);
        self.presence.opened(name.as_deref());
        self.last_activity = now.mono;
        let mut greeting = self.room.greeting(now.wall_ms);
        self.stamp(&mut greeting);
        fx.push(Effect::Greet(greeting));
    }

    fn close_streams(&mut self, now: Now, names: &[Option<String>]) {
        if names.is_empty() {
            return;
        }
        self.presence.closed(names);
        self.last_activity = now.mono;
        if self.presence.streams() == 0 {
            self.empty_since = now.mono;
        }
    }

    fn end(&mut self, deleted: bool, fx: &mut Vec<Effect>) {
        self.ended = Some(deleted);
        self.presence.clear_here();
        fx.push(Effect::CloseStreams);
        fx.push(Effect::Stop);
    }

    fn written(&mut self, now: Now, outcome: WriteOutcome, fx: &mut Vec<Effect>) {
        let Some(flight) = self.in_flight.take() else {
            // The shell reports only the writes it was asked for; nothing to match.
            return;
        };
        let answers = matches!(flight.cause, Cause::Command(_) | Cause::Delete);
        match (outcome, flight.next) {
            (WriteOutcome::Committed, None) => {
                self.end(true, fx);
                fx.push(Effect::Reply(Ok(())));
            }
            (WriteOutcome::Committed, Some(next)) => {
                let rounds = next.timer.round - self.room.timer.round;
                if rounds > 0 {
                    fx.push(Effect::TimeUps(u64::try_from(rounds).unwrap_or(0)));
                }
                if next.timer.is_running() && !self.room.timer.is_running() {
                    self.empty_since = now.mono;
                }
                self.room = next;
                self.retry_at = None;
                self.broadcast(now, flight.notices, fx);
                if answers {
                    fx.push(Effect::Reply(Ok(())));
                }
            }
            (WriteOutcome::Gone, _) => {
                self.end(true, fx);
                if answers {
                    fx.push(Effect::Reply(Err(RoomError::NotFound)));
                }
            }
            (WriteOutcome::Stale(current), _) => {
                // Another process got there first: tell the streams what it did.
                self.row_read(now, Some(*current), None, fx);
                let again = flight.attempt < MAX_STALE_RETRIES;
                match flight.cause {
                    Cause::Command(_) if again => {
                        self.plan(now, flight.cause.clone(), flight.attempt + 1, fx);
                    }
                    Cause::TimeUp if again && self.room.timer.is_due(now.wall_ms) => {
                        self.plan(now, flight.cause.clone(), flight.attempt + 1, fx);
                    }
                    Cause::EmptyPause if again && !self.policy.cluster && self.grace_over(now) => {
                        self.plan(now, flight.cause.clone(), flight.attempt + 1, fx);
                    }
                    Cause::Command(_) | Cause::Delete => {
                        fx.push(Effect::Reply(Err(RoomError::Unavailable)));
                    }
                    // Looked at again at the next wake-up, on the adopted row.
                    Cause::TimeUp | Cause::EmptyPause => {}
                }
            }
            (WriteOutcome::Failed, _) => {
                if answers {
                    fx.push(Effect::Reply(Err(RoomError::Unavailable)));
                } else {
                    self.retry_at = Some(now.mono + RETRY_FAILED_WRITE);
                }
            }
        }
    }

    /// Replaces the live copy with a newer committed row.
    fn take(&mut self, now: Now, mut current: PairRoom) {
        if current.timer.is_running()
            && current.timer.deadline_at() == self.room.timer.deadline_at()
        {
            // The same run toward the same deadline keeps its tick cursor: no tick twice.
            current.timer.state = self.room.timer.state;
        } else if current.timer.is_running() {
            // A run begun elsewhere: its streams here get every tick from its start (late
            // when the change reached this process late), up to a short while back.
            let since = now.wall_ms - i64::try_from(CATCH_UP.as_millis()).unwrap_or(0);
            current.timer.ticks_from(since);
        }
        if current.timer.is_running() && !self.room.timer.is_running() {
            self.empty_since = now.mono;
        }
        self.room = current;
        self.retry_at = None;
    }

    /// Another process changed the row. One change on top of what this copy holds is told
    /// as that change told its own streams (`told`, else worked out from the two rows);
    /// after a gap, the new `state` makes the streams whole.
    fn row_read(
        &mut self,
        now: Now,
        row: Option<PairRoom>,
        told: Option<Vec<Notice>>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(current) = row else {
            return self.end(true, fx);
        };
        if current.version <= self.room.version {
            return;
        }
        self.announce_due_ticks(now, fx);
        let mut notices = Vec::new();
        // A time-up (not a `next`) marks the row with its instant.
        let timed_up = current.timer.round > self.room.timer.round
            && current.time_up_at.is_some()
            && current.time_up_at != self.room.time_up_at;
        if timed_up && self.room.timer.next_tick_at().is_some() {
            // The time-up passed the deadline where it was committed: the final tick is due.
            notices.push(Notice::Remaining(0));
        }
        if current.version == self.room.version + 1 {
            // The end of a countdown is replayed from the old row, which makes its states in
            // between too; any other change is told as announced.
            match (replayed_expiry(&self.room, &current), told) {
                (Some(replayed), _) => {
                    notices.extend(replayed);
                    notices.push(Notice::State(current.snapshot(now.wall_ms)));
                }
                (None, Some(told)) => notices.extend(told),
                (None, None) => {
                    if !only_the_board_differs(&self.room, &current) {
                        notices.extend(change_events(&self.room, &current, now.wall_ms));
                        notices.push(Notice::State(current.snapshot(now.wall_ms)));
                    }
                    board_events(&self.room, &current, &mut notices);
                }
            }
        } else {
            notices.push(Notice::State(current.snapshot(now.wall_ms)));
            board_events(&self.room, &current, &mut notices);
        }
        self.take(now, current);
        if let Some(told) = told_remaining(&notices) {
            self.room.timer.ticks_below(told);
        }
        self.broadcast(now, notices, fx);
    }

    /// Whether the write in flight pauses a room that had no stream for the grace.
    pub fn pausing_empty(&self) -> bool {
        matches!(&self.in_flight, Some(flight) if flight.cause == Cause::EmptyPause)
    }

    /// What the write in flight will tell the streams once committed.
    pub fn pending_notices(&self) -> &[Notice] {
        self.in_flight
            .as_ref()
            .map_or(&[], |flight| flight.notices.as_slice())
    }

    /// The earliest instant at which something may be due. A failed automatic write holds
    /// back only the writes (time-up, pause), never the ticks.
    fn next_wake(&self, now: Now) -> Duration {
        let timer = &self.room.timer;
        let after_retry = |at: Duration| self.retry_at.map_or(at, |retry| at.max(retry));
        let mut at = Vec::with_capacity(4);
        if let Some(deadline) = timer.deadline_at() {
            if let Some(tick) = timer.next_tick_at() {
                at.push(now.mono_at_wall(tick));
            }
            at.push(after_retry(now.mono_at_wall(deadline)));
        }
        if let Grace::After(grace) = self.policy.pause_when_empty {
            if timer.is_running() && self.presence.streams() == 0 {
                at.push(after_retry(self.empty_since + grace));
            }
        }
        if let Some(due) = self.presence.due() {
            at.push(due);
        }
        if self.presence.streams() > 0 {
            at.push(self.last_write + self.policy.quiet_limit());
        } else if !timer.is_running() {
            at.push(self.last_activity + self.policy.idle_ttl);
        }
        at.into_iter().min().unwrap_or(now.mono)
    }
}

/// The events (before the final `state`) that one committed change from `old` to `new`
/// makes, as the process that made it broadcast them.
///
/// The end of a countdown, and what followed it, is told by making that transition again
/// from `old` at the instant it was made ([`PairRoom::time_up_at`]): the same pure rules
/// give the same events, `state`s in between included. Any other change is told by what
/// it changed.
fn change_events(old: &PairRoom, new: &PairRoom, now: i64) -> Vec<Notice> {
    if let Some(notices) = replayed_expiry(old, new) {
        return notices;
    }
    let remaining = new.timer.remaining(now);
    let (was, is) = (&old.timer, &new.timer);
    if is.round > was.round {
        return vec![
            Notice::Timer(TimerEvent::Stop),
            Notice::Remaining(is.duration),
        ];
    }
    if is.phase == Phase::Break && was.phase == Phase::Turn {
        return vec![
            Notice::Timer(TimerEvent::Break),
            Notice::Remaining(remaining),
        ];
    }
    let event = match (was.state, is.state) {
        (_, _) if was.duration != is.duration => TimerEvent::Update,
        (State::Running { .. }, State::Running { .. }) => return Vec::new(),
        (_, State::Running { .. }) => return vec![Notice::Timer(TimerEvent::Start)],
        (State::Running { .. }, State::Paused { .. }) => TimerEvent::Pause,
        (State::Idle, State::Idle) => return Vec::new(),
        (_, State::Idle) => TimerEvent::Reset,
        (State::Paused { remaining: a }, State::Paused { remaining: b }) if a == b => {
            return Vec::new()
        }
        (_, State::Paused { .. }) => TimerEvent::Update,
    };
    vec![Notice::Timer(event), Notice::Remaining(remaining)]
}

/// Whether `old` and `new` differ in their goals or links alone.
fn only_the_board_differs(old: &PairRoom, new: &PairRoom) -> bool {
    let mut same = new.clone();
    same.goals = old.goals.clone();
    same.links = old.links.clone();
    same.version = old.version;
    same.timer = same.timer.loaded_at(0);
    let mut was = old.clone();
    was.timer = was.timer.loaded_at(0);
    same == was
}

/// The lists that changed from `old` to `new`, as `todos` and `links`, unless `notices`
/// already tell them.
fn board_events(old: &PairRoom, new: &PairRoom, notices: &mut Vec<Notice>) {
    if new.goals != old.goals && !notices.iter().any(|n| matches!(n, Notice::Todos(_))) {
        notices.push(new.goals_notice());
    }
    if new.links != old.links && !notices.iter().any(|n| matches!(n, Notice::Links(_))) {
        notices.push(new.links_notice());
    }
}

/// The lowest remaining time `notices` tell for the run they end on: what follows their
/// last `timer` event (all of them when there is none).
fn told_remaining(notices: &[Notice]) -> Option<i64> {
    let run = notices
        .iter()
        .rposition(|n| matches!(n, Notice::Timer(_)))
        .map_or(notices, |last| &notices[last..]);
    run.iter()
        .filter_map(|n| match n {
            Notice::Remaining(v) => Some(*v),
            // A snapshot's remaining time is no tick: the ticks it passed are still due.
            Notice::State(_)
            | Notice::Timer(_)
            | Notice::Presence(_)
            | Notice::Todos(_)
            | Notice::Links(_) => None,
        })
        .min()
}

/// The notices (all but the last `state`) of the countdown's end that turned `old` into
/// `new`, when that is what happened: `new` carries a new time-up mark, and ending `old`'s
/// countdown at that instant gives `new`.
fn replayed_expiry(old: &PairRoom, new: &PairRoom) -> Option<Vec<Notice>> {
    let at = new
        .time_up_at
        .filter(|_| new.time_up_at != old.time_up_at)?;
    let replay = old.expire(at)?;
    let (a, b) = (&replay.room, new);
    let same = a.members == b.members
        && a.settings == b.settings
        && a.timer.round == b.timer.round
        && a.timer.phase == b.timer.phase
        && a.timer.state_name() == b.timer.state_name()
        && a.timer.deadline_at() == b.timer.deadline_at();
    if !same {
        return None;
    }
    let mut notices = replay.notices;
    notices.pop();
    Some(notices)
}

#[cfg(test)]
mod tests;
