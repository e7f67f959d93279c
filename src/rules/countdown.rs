//! The countdown timer as a pure value: no I/O, no clock of its own.
//!
//! Every operation takes `now` (Unix epoch milliseconds) from the caller, so the
//! same sequence of calls always gives the same result. A running timer keeps
//! its *deadline*, never a decremented counter, so a run of any length cannot
//! drift, and a pause keeps the remaining time to the millisecond.
//!
//! Ticks are derived from the deadline: while running, the value `v` (a multiple
//! of [`TICK_MS`] strictly below the remaining time at start or resume, down to
//! and including 0) is due at `deadline − v`. The running state carries a cursor,
//! the next value to announce, which only ever moves down.
//!
//! A timer counts down either a turn (its `duration`) or a break between turns
//! ([`Phase`]). A break's length is fixed when it starts: its deadline, or its
//! remaining time once paused, carries it; a break never rests idle.

use serde::Serialize;

/// The spacing of ticks, in milliseconds.
pub const TICK_MS: i64 = 1000;
/// The shortest duration a timer may have.
pub const MIN_DURATION_MS: i64 = 1000;
/// The longest duration a timer may have (24 hours).
pub const MAX_DURATION_MS: i64 = 86_400_000;
/// The shortest break.
pub const MIN_BREAK_MS: i64 = 1000;
/// The longest break (one hour).
pub const MAX_BREAK_MS: i64 = 3_600_000;

/// What the countdown is for; the API calls it the timer's `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// A turn: one person drives, the other navigates.
    Turn,
    /// A break between turns.
    Break,
}

impl Phase {
    /// The lowercase name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Turn => "turn",
            Phase::Break => "break",
        }
    }

    /// The phase stored under `name`, if any.
    pub fn parse(name: &str) -> Option<Phase> {
        match name {
            "turn" => Some(Phase::Turn),
            "break" => Some(Phase::Break),
            _ => None,
        }
    }
}

/// Where the countdown stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// At full duration: never started, or reset, or just after a time-up.
    Idle,
    /// Counting down toward `deadline_at`; `next_tick` is the next tick value to announce.
    Running {
        /// The instant (epoch ms) at which the remaining time reaches 0.
        deadline_at: i64,
        /// The instant (epoch ms) this run began: the latest start or resume.
        resumed_at: i64,
        /// The next tick value (a multiple of [`TICK_MS`]) not yet announced.
        /// `None` once the final tick (0) has been announced.
        next_tick: Option<i64>,
    },
    /// Stopped part-way, with this many milliseconds left.
    Paused {
        /// Milliseconds left, `1..=duration`.
        remaining: i64,
    },
}

/// The name of a state as the API spells it (`state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    /// See [`State::Idle`].
    Idle,
    /// See [`State::Running`].
    Running,
    /// See [`State::Paused`].
    Paused,
}

impl StateName {
    /// The lowercase name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            StateName::Idle => "idle",
            StateName::Running => "running",
            StateName::Paused => "paused",
        }
    }
}

/// The timer of one pair room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// Where the countdown stands.
    pub state: State,
    /// The full length of one turn, in ms.
    pub duration: i64,
    /// Completed turns (time-ups) since the room was created.
    pub round: i64,
    /// A turn or a break.
    pub phase: Phase,
    /// How long this turn's countdown ran before its current run, ms (pauses excluded);
    /// 0 in a break.
    pub ran: i64,
}

/// The answer to a change of duration while the timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the timer is running; stop it before changing its duration")]
pub struct TimerRunning;

/// The largest tick value strictly below `remaining` (0 when `remaining ≤ TICK_MS`).
pub fn first_tick_below(remaining: i64) -> i64 {
    if remaining <= 0 {
        0
    } else {
        ((remaining - 1) / TICK_MS) * TICK_MS
    }
}

impl Timer {
    /// A turn's timer of `duration` ms with `remaining` ms left: idle when they are equal,
    /// else paused.
    pub fn new(duration: i64, remaining: i64, round: i64) -> Timer {
        Timer {
            state: Self::rest_state(duration, remaining),
            duration,
            round,
            phase: Phase::Turn,
            ran: 0,
        }
    }

    /// A turn's timer started from full at `deadline_at − duration`, running toward
    /// `deadline_at`, its tick cursor placed as if resumed at `now`.
    pub fn running(duration: i64, deadline_at: i64, round: i64, now: i64) -> Timer {
        Timer::new(duration, duration, round).resumed_in(
            Phase::Turn,
            deadline_at,
            deadline_at - duration,
            now,
        )
    }

    /// This timer in `phase`, running toward `deadline_at` since `resumed_at`, its tick
    /// cursor placed as if resumed at `now` (how a stored running timer is loaded).
    pub fn resumed_in(
        mut self,
        phase: Phase,
        deadline_at: i64,
        resumed_at: i64,
        now: i64,
    ) -> Timer {
        self.phase = phase;
        let remaining = (deadline_at - now).clamp(0, self.limit());
        self.state = State::Running {
            deadline_at,
            resumed_at,
            next_tick: Some(first_tick_below(remaining)),
        };
        self
    }

    /// This timer in `phase`, paused with `remaining` ms left (how a stored paused timer
    /// is loaded); the remaining time is kept within `1..=` the phase's longest length.
    pub fn paused_in(mut self, phase: Phase, remaining: i64) -> Timer {
        self.phase = phase;
        self.state = State::Paused {
            remaining: remaining.clamp(1, self.limit()),
        };
        self
    }

    /// This timer as a process that reads it back from storage at `now` sees it: the same
    /// countdown, a running one's tick cursor placed as if resumed at `now`.
    pub fn loaded_at(self, now: i64) -> Timer {
        match self.state {
            State::Running {
                deadline_at,
                resumed_at,
                ..
            } => self.resumed_in(self.phase, deadline_at, resumed_at, now),
            _ => self,
        }
    }

    /// The most a countdown of the current phase can have left: a turn's duration, or
    /// the longest break.
    fn limit(&self) -> i64 {
        match self.phase {
            Phase::Turn => self.duration,
            Phase::Break => MAX_BREAK_MS,
        }
    }

    fn rest_state(duration: i64, remaining: i64) -> State {
        if remaining >= duration {
            State::Idle
        } else {
            State::Paused {
                remaining: remaining.max(1),
            }
        }
    }

    /// The state's API name.
    pub fn state_name(&self) -> StateName {
        match self.state {
            State::Idle => StateName::Idle,
            State::Running { .. } => StateName::Running,
            State::Paused { .. } => StateName::Paused,
        }
    }

    /// Whether the countdown runs.
    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// When the current run began, while running.
    pub fn resumed_at(&self) -> Option<i64> {
        match self.state {
            State::Running { resumed_at, .. } => Some(resumed_at),
            _ => None,
        }
    }

    /// The deadline while running.
    pub fn deadline_at(&self) -> Option<i64> {
        match self.state {
            State::Running { deadline_at, .. } => Some(deadline_at),
            _ => None,
        }
    }

    /// Milliseconds left at `now`: within `0..=duration` for a turn, within `0..=`
    /// [`MAX_BREAK_MS`] for a break.
    pub fn remaining(&self, now: i64) -> i64 {
        let raw = match self.state {
            State::Idle => self.duration,
            State::Paused { remaining } => remaining,
            State::Running { deadline_at, .. } => deadline_at - now,
        };
        raw.clamp(0, self.limit())
    }

    /// Whether a running timer has reached its deadline at `now`.
    pub fn is_due(&self, now: i64) -> bool {
        matches!(self.state, State::Running { deadline_at, .. } if now >= deadline_at)
    }

    /// Idle or paused → running with `deadline = now + remaining`. Returns whether anything changed.
    pub fn start(&mut self, now: i64) -> bool {
        let remaining = match self.state {
            State::Running { .. } => return false,
            State::Idle => self.duration,
            State::Paused { remaining } => remaining,
        };
        self.state = State::Running {
            deadline_at: now + remaining,
            resumed_at: now,
            next_tick: Some(first_tick_below(remaining)),
        };
        true
    }

    /// Running → paused, keeping the remaining time to the millisecond. Returns whether
    /// anything changed. A timer that is due must get [`Timer::time_up`] first; here it
    /// pauses at 1 ms rather than at 0, which is never a valid paused value.
    pub fn stop(&mut self, now: i64) -> bool {
        if !self.is_running() {
            return false;
        }
        self.ran = self.ran_by(now);
        self.state = State::Paused {
            remaining: self.remaining(now).max(1),
        };
        true
    }

    /// How long this turn's countdown has run by `now`, ms, pauses excluded (never past
    /// the deadline); 0 in a break.
    pub fn ran_by(&self, now: i64) -> i64 {
        if self.phase == Phase::Break {
            return 0;
        }
        let current = match self.state {
            State::Running {
                deadline_at,
                resumed_at,
                ..
            } => (now.min(deadline_at) - resumed_at).max(0),
            _ => 0,
        };
        self.ran + current
    }

    /// Any state → a turn, idle at full duration (a break ends); the round is kept, and so
    /// is the time this turn ran. Returns whether anything changed.
    pub fn reset(&mut self, now: i64) -> bool {
        if self.state == State::Idle && self.phase == Phase::Turn {
            return false;
        }
        self.ran = self.ran_by(now);
        self.state = State::Idle;
        self.phase = Phase::Turn;
        true
    }

    /// Sets a new duration and remaining time while not running: a turn, idle when they
    /// are equal, else paused (a paused break ends). The caller has validated
    /// `1 ≤ remaining ≤ duration`.
    pub fn set_duration(&mut self, duration: i64, remaining: i64) -> Result<(), TimerRunning> {
        if self.is_running() {
            return Err(TimerRunning);
        }
        self.duration = duration;
        if self.phase == Phase::Break {
            self.ran = 0;
        }
        self.phase = Phase::Turn;
        self.state = Self::rest_state(duration, remaining.min(duration));
        Ok(())
    }

    /// A turn's countdown completed: idle at full duration, one more round.
    pub fn time_up(&mut self) {
        self.state = State::Idle;
        self.phase = Phase::Turn;
        self.round += 1;
        self.ran = 0;
    }

    /// A break of `length` ms begins at `now` and runs at once.
    pub fn start_break(&mut self, now: i64, length: i64) {
        self.phase = Phase::Break;
        self.ran = 0;
        self.state = State::Running {
            deadline_at: now + length,
            resumed_at: now,
            next_tick: Some(first_tick_below(length)),
        };
    }

    /// A break's countdown completed: the next turn, idle at full duration, same round.
    pub fn end_break(&mut self) {
        self.state = State::Idle;
        self.phase = Phase::Turn;
        self.ran = 0;
    }

    /// The instant at which the next tick is due, while one remains.
    pub fn next_tick_at(&self) -> Option<i64> {
        match self.state {
            State::Running {
                deadline_at,
                next_tick: Some(value),
                ..
            } => Some(deadline_at - value),
            _ => None,
        }
    }

    /// Takes every tick value due at `now`, in announcing order (highest first), and moves
    /// the cursor past them. A tick is never due before `deadline − value`.
    pub fn take_due_ticks(&mut self, now: i64) -> Vec<i64> {
        let mut due = Vec::new();
        if let State::Running {
            deadline_at,
            next_tick,
            ..
        } = &mut self.state
        {
            while let Some(value) = *next_tick {
                if now < *deadline_at - value {
                    break;
                }
                due.push(value);
                *next_tick = (value > 0).then(|| value - TICK_MS);
            }
        }
        due
    }

    /// Places a running timer's tick cursor at the first tick of its run, or, for a run
    /// that began before `since`, at the first tick below what was left at `since`. The
    /// ticks due by now then all come out at the next [`Timer::take_due_ticks`].
    pub fn ticks_from(&mut self, since: i64) {
        let limit = self.limit();
        if let State::Running {
            deadline_at,
            resumed_at,
            next_tick,
        } = &mut self.state
        {
            let from = (*resumed_at).max(since);
            *next_tick = Some(first_tick_below((*deadline_at - from).clamp(0, limit)));
        }
    }

    /// Moves a running timer's tick cursor below `told`, a remaining time already announced
    /// for this run, so that no tick tells it again. A copy loaded at a reading taken before
    /// the run began (another process's clock, a read planned earlier) would otherwise place
    /// its cursor one tick too high.
    pub fn ticks_below(&mut self, told: i64) {
        if let State::Running {
            next_tick: Some(value),
            ..
        } = &mut self.state
        {
            *value = (*value).min(first_tick_below(told));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn idle(duration: i64) -> Timer {
        Timer::new(duration, duration, 0)
    }

    #[test]
    fn a_new_timer_at_full_duration_is_idle_and_part_way_is_paused() {
        assert_eq!(idle(5000).state, State::Idle);
        assert_eq!(
            Timer::new(5000, 1200, 0).state,
            State::Paused { remaining: 1200 }
        );
    }

    #[test]
    fn start_from_idle_sets_the_deadline_to_now_plus_duration() {
        let mut t = idle(5000);
        assert!(t.start(T0));
        assert_eq!(t.deadline_at(), Some(T0 + 5000));
        assert_eq!(t.remaining(T0 + 1234), 5000 - 1234);
    }

    #[test]
    fn start_while_running_changes_nothing() {
        let mut t = idle(5000);
        t.start(T0);
        let before = t;
        assert!(!t.start(T0 + 500));
        assert_eq!(t, before);
    }

    #[test]
    fn stop_keeps_the_remaining_time_to_the_millisecond() {
        let mut t = idle(60_000);
        t.start(T0);
        assert!(t.stop(T0 + 12_345));
        assert_eq!(t.state, State::Paused { remaining: 47_655 });
    }

    #[test]
    fn stop_when_not_running_changes_nothing() {
        let mut t = idle(5000);
        assert!(!t.stop(T0));
        let mut p = Timer::new(5000, 10, 0);
        assert!(!p.stop(T0));
        assert_eq!(p.state, State::Paused { remaining: 10 });
    }

    #[test]
    fn resume_runs_toward_now_plus_the_paused_remaining() {
        let mut t = Timer::new(60_000, 47_655, 0);
        t.start(T0);
        assert_eq!(t.deadline_at(), Some(T0 + 47_655));
        assert_eq!(t.next_tick_at(), Some(T0 + 655));
    }

    #[test]
    fn reset_goes_idle_from_any_state_and_keeps_the_round() {
        let mut t = Timer::new(5000, 1000, 3);
        assert!(t.reset(T0));
        assert_eq!((t.state, t.round), (State::Idle, 3));
        assert!(!t.reset(T0));
        t.start(T0);
        assert!(t.reset(T0));
        assert_eq!(t.state, State::Idle);
    }

    #[test]
    fn set_duration_is_refused_while_running() {
        let mut t = idle(5000);
        t.start(T0);
        assert_eq!(t.set_duration(9000, 9000), Err(TimerRunning));
        assert_eq!(t.duration, 5000);
    }

    #[test]
    fn set_duration_is_idle_at_full_and_paused_part_way() {
        let mut t = idle(5000);
        t.set_duration(9000, 9000).expect("not running");
        assert_eq!((t.state, t.duration), (State::Idle, 9000));
        t.set_duration(9000, 4000).expect("not running");
        assert_eq!(t.state, State::Paused { remaining: 4000 });
    }

    #[test]
    fn remaining_never_goes_below_zero_after_the_deadline() {
        let mut t = idle(2000);
        t.start(T0);
        assert_eq!(t.remaining(T0 + 10_000), 0);
        assert!(t.is_due(T0 + 2000));
        assert!(!t.is_due(T0 + 1999));
    }

    #[test]
    fn time_up_goes_idle_and_counts_the_round() {
        let mut t = idle(2000);
        t.start(T0);
        t.time_up();
        assert_eq!((t.state, t.round, t.remaining(T0)), (State::Idle, 1, 2000));
    }

    #[test]
    fn ticks_are_every_whole_second_strictly_below_the_start_down_to_zero() {
        let mut t = idle(3000);
        t.start(T0);
        let mut seen = Vec::new();
        while let Some(at) = t.next_tick_at() {
            assert!(t.take_due_ticks(at - 1).is_empty(), "a tick would be early");
            for v in t.take_due_ticks(at) {
                seen.push((v, at));
            }
        }
        assert_eq!(
            seen,
            vec![(2000, T0 + 1000), (1000, T0 + 2000), (0, T0 + 3000)]
        );
    }

    #[test]
    fn ticks_after_a_resume_follow_the_new_deadline() {
        let mut t = Timer::new(10_000, 2500, 0);
        t.start(T0);
        assert_eq!(t.take_due_ticks(T0 + 500), vec![2000]);
        assert_eq!(t.next_tick_at(), Some(T0 + 1500));
    }

    #[test]
    fn late_ticks_come_out_together_in_order() {
        let mut t = idle(5000);
        t.start(T0);
        assert_eq!(t.take_due_ticks(T0 + 3100), vec![4000, 3000, 2000]);
        assert_eq!(t.take_due_ticks(T0 + 9000), vec![1000, 0]);
        assert_eq!(t.next_tick_at(), None);
    }

    #[test]
    fn a_reloaded_running_timer_ticks_from_where_the_deadline_says() {
        let t = Timer::running(60_000, T0 + 30_500, 2, T0);
        assert_eq!(t.next_tick_at(), Some(T0 + 500));
        let late = Timer::running(60_000, T0 - 5, 2, T0);
        assert!(late.is_due(T0));
    }

    #[test]
    fn a_long_run_does_not_drift() {
        let mut t = idle(MAX_DURATION_MS);
        t.start(T0);
        let mut count = 0;
        while let Some(at) = t.next_tick_at() {
            // Every tick leaves 3 ms late; the schedule stays tied to the deadline.
            let values = t.take_due_ticks(at + 3);
            assert_eq!(values.len(), 1);
            assert_eq!(t.deadline_at().map(|d| d - values[0]), Some(at));
            count += 1;
        }
        assert_eq!(count, MAX_DURATION_MS / TICK_MS);
    }

    #[test]
    fn a_break_runs_for_its_own_length_even_past_the_turn_duration_and_ticks_like_a_turn() {
        let mut t = Timer::new(2000, 2000, 3);
        t.start_break(T0, 5000);
        assert_eq!(t.phase, Phase::Break);
        assert_eq!(t.deadline_at(), Some(T0 + 5000));
        assert_eq!(t.remaining(T0 + 500), 4500);
        assert_eq!(t.take_due_ticks(T0 + 1000), vec![4000]);
        assert_eq!((t.round, t.duration), (3, 2000));
    }

    #[test]
    fn a_paused_break_keeps_its_remaining_time_and_resumes_in_the_break() {
        let mut t = Timer::new(2000, 2000, 0);
        t.start_break(T0, 300_000);
        assert!(t.stop(T0 + 1000));
        assert_eq!(t.state, State::Paused { remaining: 299_000 });
        assert!(t.start(T0 + 50_000));
        assert_eq!(
            (t.phase, t.deadline_at()),
            (Phase::Break, Some(T0 + 349_000))
        );
    }

    #[test]
    fn the_end_of_a_break_is_an_idle_turn_in_the_same_round() {
        let mut t = Timer::new(2000, 2000, 4);
        t.start_break(T0, 1000);
        t.end_break();
        assert_eq!(
            (t.phase, t.state, t.round, t.remaining(T0)),
            (Phase::Turn, State::Idle, 4, 2000)
        );
    }

    #[test]
    fn reset_and_a_new_duration_end_a_break() {
        let mut t = Timer::new(2000, 2000, 1);
        t.start_break(T0, 60_000);
        assert!(t.reset(T0));
        assert_eq!((t.phase, t.state, t.round), (Phase::Turn, State::Idle, 1));
        t.start_break(T0, 60_000);
        t.stop(T0 + 10);
        t.set_duration(9000, 4000).expect("not running");
        assert_eq!(
            (t.phase, t.state),
            (Phase::Turn, State::Paused { remaining: 4000 })
        );
    }

    #[test]
    fn a_stored_break_loads_with_its_own_length() {
        let running = Timer::new(2000, 2000, 2).resumed_in(Phase::Break, T0 + 90_500, T0 - 500, T0);
        assert_eq!(running.next_tick_at(), Some(T0 + 500));
        assert_eq!(running.remaining(T0), 90_500);
        let paused = Timer::new(2000, 2000, 2).paused_in(Phase::Break, 45_000);
        assert_eq!(paused.remaining(T0), 45_000);
        assert_eq!(paused.phase, Phase::Break);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Start,
            Stop,
            Reset,
            SetDuration(i64, i64),
            Advance(i64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                Just(Op::Start),
                Just(Op::Stop),
                Just(Op::Reset),
                (MIN_DURATION_MS..=20_000i64, 1..=20_000i64)
                    .prop_map(|(d, r)| Op::SetDuration(d, r.min(d))),
                (0..4000i64).prop_map(Op::Advance),
            ]
        }

        proptest! {
            #[test]
            fn no_sequence_breaks_the_bounds_or_makes_a_tick_early(
                duration in MIN_DURATION_MS..=20_000i64,
                ops in proptest::collection::vec(op(), 1..80),
            ) {
                let mut t = Timer::new(duration, duration, 0);
                let mut now = T0;
                let mut last_tick: Option<i64> = None;
                // The time this turn ran, counted here the plain way: every advance while
                // running, up to the deadline.
                let mut ran = 0;
                for op in ops {
                    match op {
                        Op::Start => { if t.start(now) { last_tick = None; } }
                        Op::Stop => {
                            if t.is_due(now) { t.time_up(); ran = 0; } else { t.stop(now); }
                        }
                        Op::Reset => { t.reset(now); }
                        Op::SetDuration(d, r) => { let _ = t.set_duration(d, r); }
                        Op::Advance(ms) => {
                            if t.is_running() { ran += ms.min(t.remaining(now)); }
                            now += ms;
                            let deadline = t.deadline_at();
                            for v in t.take_due_ticks(now) {
                                let d = deadline.expect("ticks only while running");
                                prop_assert!(now >= d - v, "tick {} early", v);
                                prop_assert_eq!(v % TICK_MS, 0);
                                if let Some(prev) = last_tick { prop_assert!(v < prev); }
                                last_tick = Some(v);
                            }
                            if t.is_due(now) {
                                prop_assert_eq!(t.ran_by(now), ran);
                                t.time_up();
                                last_tick = None;
                                ran = 0;
                            }
                        }
                    }
                    prop_assert_eq!(t.ran_by(now), ran, "the turn's run time, pauses excluded");
                    let r = t.remaining(now);
                    prop_assert!((0..=t.duration).contains(&r));
                    if let State::Paused { remaining } = t.state {
                        prop_assert!(remaining >= 1 && remaining <= t.duration);
                    }
                }
            }
        }
    }
}
