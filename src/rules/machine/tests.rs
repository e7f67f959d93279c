//! Every timed rule of [`RoomMachine`], driven by explicit clock readings: no actor, no
//! database, no sleep. A small simulated shell answers writes from an in-memory row.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::rules::{
    Members, NewRoom, Phase, RoomSettings, SettingsPatch, State, Timer, TimerEvent,
};

const T0: i64 = 1_700_000_000_000;
const GRACE: Duration = Duration::from_secs(60);
const HEARTBEAT: Duration = Duration::from_secs(15);
const IDLE: Duration = Duration::from_secs(300);

fn config(pause: Grace) -> Arc<RoomPolicy> {
    Arc::new(RoomPolicy {
        heartbeat: HEARTBEAT,
        pause_when_empty: pause,
        max_subscribers: 3,
        idle_ttl: IDLE,
        cluster: false,
    })
}

/// The clock `ms` after the start of a test.
fn at(ms: u64) -> Now {
    Now {
        wall_ms: T0 + ms as i64,
        mono: Duration::from_millis(ms),
    }
}

fn new_room(duration: i64) -> PairRoom {
    NewRoom {
        members: Members::pair("Dri", "Nav").expect("two names"),
        mission_url: String::new(),
        duration,
        remaining: duration,
        settings: RoomSettings::default(),
    }
    .into_room("abcdefgh".into(), T0)
}

/// A machine with the committed row it mirrors, and a log of what it asked for.
struct Sim {
    machine: RoomMachine,
    /// The row as the database holds it.
    row: Option<PairRoom>,
    /// Whether the next write fails.
    fail_next: bool,
    /// Every effect so far, writes answered in place.
    effects: Vec<Effect>,
}

impl Sim {
    fn new(duration: i64, pause: Grace) -> Sim {
        Sim::loaded(new_room(duration), pause, at(0))
    }

    /// A room loaded at `now`, with the effects of its start carried out.
    fn loaded(room: PairRoom, pause: Grace, now: Now) -> Sim {
        let mut sim = Sim {
            machine: RoomMachine::new(room.clone(), config(pause), now),
            row: Some(room),
            fail_next: false,
            effects: Vec::new(),
        };
        let mut started = sim.machine.start(now);
        if let Some(Effect::Save(write)) = started.iter().find(|e| matches!(e, Effect::Save(..))) {
            let outcome = sim.save(&write.room.clone());
            started.extend(sim.machine.step(now, Input::Written(outcome)));
        }
        sim.effects = started;
        sim
    }

    /// Feeds `input` at `now`, answers every write the way the database would, and returns
    /// all the effects, in order.
    fn feed(&mut self, now: Now, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            for effect in self.machine.step(now, input) {
                match &effect {
                    Effect::Save(write) => pending.push(Input::Written(self.save(&write.room))),
                    Effect::DeleteRow => pending.push(Input::Written(self.delete())),
                    _ => {}
                }
                out.push(effect);
            }
        }
        self.effects.extend(out.clone());
        out
    }

    fn save(&mut self, next: &PairRoom) -> WriteOutcome {
        if std::mem::take(&mut self.fail_next) {
            return WriteOutcome::Failed;
        }
        match &self.row {
            None => WriteOutcome::Gone,
            Some(row) if row.version == next.version - 1 => {
                self.row = Some(next.clone());
                WriteOutcome::Committed
            }
            Some(row) => WriteOutcome::Stale(Box::new(row.clone())),
        }
    }

    fn delete(&mut self) -> WriteOutcome {
        if std::mem::take(&mut self.fail_next) {
            return WriteOutcome::Failed;
        }
        match self.row.take() {
            Some(_) => WriteOutcome::Committed,
            None => WriteOutcome::Gone,
        }
    }

    fn command(&mut self, now: Now, command: Command) -> Vec<Effect> {
        self.feed(now, Input::Command(command))
    }

    /// The monotonic instant of the last wake-up asked for.
    fn wake_at(&self) -> Duration {
        self.effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::WakeAt(at) => Some(*at),
                _ => None,
            })
            .expect("a wake-up was asked for")
    }

    /// Wakes the machine at the instant it asked for, as its shell would.
    fn wake(&mut self) -> (Now, Vec<Effect>) {
        let mono = self.wake_at();
        let now = Now {
            wall_ms: T0 + mono.as_millis() as i64,
            mono,
        };
        (now, self.feed(now, Input::Wake))
    }
}

/// The notices broadcast among `effects`, as `event:data` words.
fn broadcasts(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(n) => Some(n),
            _ => None,
        })
        .flatten()
        .map(|n| match n {
            Notice::Remaining(v) => format!("remaining-time:{v}"),
            Notice::Timer(e) => format!("timer:{}", e.as_str()),
            Notice::State(_) => "state".into(),
            Notice::Presence(p) => format!("presence:{}:{}", p.here.join("+"), p.watching),
            Notice::Todos(g) => format!("todos:{}", g.len()),
            Notice::Links(l) => format!("links:{}", l.len()),
        })
        .collect()
}

fn reply(effects: &[Effect]) -> Option<Result<(), RoomError>> {
    effects.iter().find_map(|e| match e {
        Effect::Reply(r) => Some(r.clone()),
        _ => None,
    })
}

fn stops(effects: &[Effect]) -> bool {
    effects.contains(&Effect::Stop)
}

mod breaks;
mod stale;
mod team;

#[test]
fn ticks_go_out_at_the_deadline_less_each_whole_second_and_never_before() {
    let mut sim = Sim::new(3000, Grace::Never);
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(250), Command::Start);
    let mut seen = Vec::new();
    for (due, value) in [(1250, 2000), (2250, 1000)] {
        assert_eq!(sim.wake_at(), Duration::from_millis(due));
        // A wake-up a millisecond early (a clock that fired too soon) sends nothing.
        let early = sim.feed(at(due - 1), Input::Wake);
        assert!(broadcasts(&early).is_empty(), "{early:?}");
        let (_, fx) = sim.wake();
        assert_eq!(broadcasts(&fx), [format!("remaining-time:{value}")]);
        assert!(fx.contains(&Effect::TickLate(0)));
        seen.push(value);
    }
    assert_eq!(seen, [2000, 1000]);
    assert_eq!(sim.wake_at(), Duration::from_millis(3250));
}

#[test]
fn the_time_up_sends_the_final_tick_then_stop_swaps_the_roles_and_counts_the_round() {
    let mut sim = Sim::new(2000, Grace::Never);
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    sim.wake();
    let (_, fx) = sim.wake();
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:0",
            "timer:stop",
            "remaining-time:2000",
            "state"
        ]
    );
    assert!(fx.contains(&Effect::TimeUps(1)));
    // The final tick goes out before the write; the rest only once it is committed.
    let save = fx.iter().position(|e| matches!(e, Effect::Save(..)));
    let tick = fx
        .iter()
        .position(|e| matches!(e, Effect::Broadcast(n) if n == &vec![Notice::Remaining(0)]));
    assert!(tick < save, "{fx:?}");
    let room = sim.machine.room();
    assert_eq!(room.timer.state, State::Idle);
    assert_eq!(room.timer.round, 1);
    assert_eq!((room.navigator(), room.driver()), ("Dri", "Nav"));
    assert_eq!(sim.row.as_ref(), Some(room));
}

#[test]
fn a_resume_ticks_from_the_new_deadline_and_pause_keeps_the_millisecond() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.command(at(0), Command::Start);
    let fx = sim.command(at(1234), Command::Stop);
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:4000",
            "timer:pause",
            "remaining-time:3766",
            "state"
        ]
    );
    sim.command(at(10_000), Command::Start);
    // 3766 left: the first tick is 3000, due 766 ms after the resume.
    assert_eq!(sim.wake_at(), Duration::from_millis(10_766));
    let (_, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), ["remaining-time:3000"]);
}

#[test]
fn a_failed_time_up_write_tells_the_streams_only_the_final_tick_and_is_retried_a_second_later() {
    let mut sim = Sim::new(1000, Grace::Never);
    sim.command(at(0), Command::Start);
    sim.fail_next = true;
    let (now, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), ["remaining-time:0"]);
    assert!(!fx.contains(&Effect::TimeUps(1)));
    assert!(sim.machine.room().timer.is_running());
    assert_eq!(sim.wake_at(), now.mono + RETRY_FAILED_WRITE);
    // Nothing is tried again before then.
    let early = sim.feed(at(1500), Input::Wake);
    assert!(
        !early.iter().any(|e| matches!(e, Effect::Save(..))),
        "{early:?}"
    );
    let (_, fx) = sim.wake();
    assert_eq!(
        broadcasts(&fx),
        ["timer:stop", "remaining-time:1000", "state"]
    );
    assert_eq!(sim.machine.room().timer.round, 1);
}

#[test]
fn a_command_that_races_a_due_time_up_applies_the_time_up_once_first() {
    let mut sim = Sim::new(1000, Grace::Never);
    sim.command(at(0), Command::Start);
    // The stop arrives after the deadline, before the machine's own wake-up.
    let fx = sim.command(at(1003), Command::Stop);
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:0",
            "timer:stop",
            "remaining-time:1000",
            "state"
        ]
    );
    assert_eq!(reply(&fx), Some(Ok(())));
    assert_eq!(sim.machine.room().timer.round, 1);
    // The wake-up that was due finds nothing left to do.
    let fx = sim.feed(at(1004), Input::Wake);
    assert!(broadcasts(&fx).is_empty());
    assert_eq!(sim.machine.room().timer.round, 1);
}

#[test]
fn an_empty_running_room_pauses_a_grace_after_its_load() {
    let mut running = new_room(600_000);
    running.timer = Timer::running(600_000, T0 + 600_000, 0, T0 + 5_000);
    let mut sim = Sim::loaded(running, Grace::After(GRACE), at(5_000));
    sim.feed(at(5_000), Input::Wake);
    // Ticks come first; the pause is due at the load plus the grace.
    let mut now = at(5_000);
    while sim.machine.room().timer.is_running() {
        let (woke, _) = sim.wake();
        assert!(woke.mono <= Duration::from_millis(65_000));
        now = woke;
    }
    assert_eq!(now.mono, Duration::from_millis(65_000));
    assert_eq!(
        sim.machine.room().timer.state,
        State::Paused { remaining: 535_000 }
    );
    let last = broadcasts(&sim.effects);
    assert_eq!(
        last[last.len() - 3..],
        ["timer:pause", "remaining-time:535000", "state"]
    );
}

#[test]
fn the_grace_counts_from_the_last_close_and_restarts_when_another_stream_comes_and_goes() {
    let mut sim = Sim::new(600_000, Grace::After(GRACE));
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    sim.feed(at(10_000), Input::StreamsClosed(vec![None; 1]));
    sim.feed(at(40_000), Input::StreamOpened(None));
    sim.feed(at(50_000), Input::StreamsClosed(vec![None; 1]));
    // Still running at 10 s + grace: the grace restarted at 50 s.
    sim.feed(at(70_000), Input::Wake);
    assert!(sim.machine.room().timer.is_running());
    sim.feed(at(109_999), Input::Wake);
    assert!(sim.machine.room().timer.is_running());
    let fx = sim.feed(at(110_000), Input::Wake);
    assert_eq!(
        broadcasts(&fx)[1..],
        ["timer:pause", "remaining-time:490000", "state"]
    );
}

#[test]
fn a_start_in_an_empty_room_restarts_the_grace() {
    let mut sim = Sim::new(600_000, Grace::After(GRACE));
    sim.command(at(30_000), Command::Start);
    sim.feed(at(60_000), Input::Wake);
    assert!(sim.machine.room().timer.is_running());
    sim.feed(at(90_000), Input::Wake);
    assert!(!sim.machine.room().timer.is_running());
}

#[test]
fn never_keeps_an_empty_room_running() {
    let mut sim = Sim::new(600_000, Grace::Never);
    sim.command(at(0), Command::Start);
    sim.feed(at(500_000), Input::Wake);
    assert!(sim.machine.room().timer.is_running());
}

#[test]
fn a_room_with_no_stream_and_no_running_timer_is_forgotten_after_its_idle_time() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.command(at(1_000), Command::Swap { round: None });
    assert_eq!(sim.wake_at(), Duration::from_millis(301_000));
    assert!(!stops(&sim.feed(at(300_999), Input::Wake)));
    assert!(stops(&sim.feed(at(301_000), Input::Wake)));
    // A stopped copy sends its callers back to the registry for a fresh one.
    let fx = sim.command(at(301_001), Command::Start);
    assert_eq!(reply(&fx), Some(Err(RoomError::Stopped)));
}

#[test]
fn a_room_with_a_stream_or_a_running_timer_is_not_forgotten() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.feed(at(0), Input::StreamOpened(None));
    assert!(!stops(&sim.feed(at(400_000), Input::Wake)));
    let mut running = Sim::new(900_000, Grace::Never);
    running.command(at(0), Command::Start);
    assert!(!stops(&running.feed(at(400_000), Input::Wake)));
}

#[test]
fn quiet_streams_get_a_heartbeat_before_the_heartbeat_period_passes() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.feed(at(0), Input::StreamOpened(None));
    let due = sim.wake_at();
    assert!(due < HEARTBEAT, "{due:?}");
    let (_, fx) = sim.wake();
    assert!(fx.contains(&Effect::Heartbeat));
    // A broadcast counts as a write: the next heartbeat is counted from it.
    sim.command(at(20_000), Command::Swap { round: None });
    assert_eq!(
        sim.wake_at(),
        Duration::from_millis(20_000) + HEARTBEAT.mul_f64(0.75)
    );
}

#[test]
fn a_full_room_refuses_one_more_stream() {
    let mut sim = Sim::new(5000, Grace::Never);
    for _ in 0..3 {
        let fx = sim.feed(at(0), Input::StreamOpened(None));
        assert!(fx.iter().any(|e| matches!(e, Effect::Greet(_))));
    }
    let fx = sim.feed(at(0), Input::StreamOpened(None));
    assert_eq!(reply(&fx), Some(Err(RoomError::Full)));
    assert_eq!(sim.machine.subscribers(), 3);
}

#[test]
fn a_newcomer_gets_the_ticks_already_due_sent_to_the_others_first() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.command(at(0), Command::Start);
    let fx = sim.feed(at(1_500), Input::StreamOpened(None));
    let greeting = fx
        .iter()
        .position(|e| matches!(e, Effect::Greet(_)))
        .expect("greeted");
    assert_eq!(broadcasts(&fx[..greeting]), ["remaining-time:4000"]);
    assert_eq!(
        fx[greeting],
        Effect::Greet(vec![
            Notice::Remaining(3500),
            Notice::Timer(TimerEvent::Running),
            Notice::State({
                let mut s = sim.machine.room().snapshot(T0 + 1_500);
                s.presence.watching = 1;
                s
            }),
            Notice::Todos(Vec::new()),
        ])
    );
}

#[test]
fn a_command_that_finds_a_newer_row_adopts_it_and_is_planned_again() {
    let mut sim = Sim::new(5000, Grace::Never);
    // Another writer started the timer and bumped the version.
    let mut theirs = sim.row.clone().expect("row");
    theirs.timer.start(T0 + 100);
    theirs.version += 1;
    sim.row = Some(theirs);
    let fx = sim.command(at(200), Command::Swap { round: None });
    assert_eq!(reply(&fx), Some(Ok(())));
    // The streams hear of the other change as it was told, then of the swap on top of it.
    assert_eq!(broadcasts(&fx), ["timer:start", "state", "state"]);
    let room = sim.machine.room();
    assert_eq!(room.version, 3);
    assert!(room.timer.is_running());
    assert_eq!(room.navigator(), "Dri");
    assert_eq!(sim.row.as_ref(), Some(room));
}

#[test]
fn a_command_whose_write_fails_changes_nothing_and_answers_unavailable() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.fail_next = true;
    let fx = sim.command(at(0), Command::Start);
    assert_eq!(reply(&fx), Some(Err(RoomError::Unavailable)));
    assert!(broadcasts(&fx).is_empty());
    assert!(!sim.machine.room().timer.is_running());
}

#[test]
fn a_refused_command_is_answered_at_once_without_a_write() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.command(at(0), Command::Start);
    let fx = sim.command(
        at(10),
        Command::SetDuration {
            duration: 9000,
            remaining: 9000,
        },
    );
    assert!(matches!(reply(&fx), Some(Err(RoomError::Rejected(_)))));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Save(..))));
}

#[test]
fn a_delete_closes_the_streams_stops_and_answers_not_found_from_then_on() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.feed(at(0), Input::StreamOpened(None));
    let fx = sim.feed(at(10), Input::Delete);
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::CloseStreams | Effect::Stop))
            .count(),
        2
    );
    assert_eq!(reply(&fx), Some(Ok(())));
    assert_eq!(sim.row, None);
    let fx = sim.command(at(20), Command::Start);
    assert_eq!(reply(&fx), Some(Err(RoomError::NotFound)));
    assert_eq!(sim.machine.live(), Err(RoomError::NotFound));
}

#[test]
fn a_write_that_finds_the_row_gone_closes_the_room() {
    let mut sim = Sim::new(5000, Grace::Never);
    sim.row = None;
    let fx = sim.command(at(0), Command::Start);
    assert_eq!(reply(&fx), Some(Err(RoomError::NotFound)));
    assert!(fx.contains(&Effect::CloseStreams));
}

#[test]
fn a_row_read_back_that_is_newer_is_adopted_and_an_older_one_is_ignored() {
    let mut sim = Sim::new(5000, Grace::Never);
    let mut newer = sim.machine.room().clone();
    newer.members.rotate();
    newer.version += 1;
    let fx = sim.feed(at(0), Input::RowRead(Some(newer.clone())));
    assert_eq!(broadcasts(&fx), ["state"]);
    assert_eq!(sim.machine.room(), &newer);
    let mut older = newer.clone();
    older.version -= 1;
    let fx = sim.feed(at(1), Input::RowRead(Some(older)));
    assert!(broadcasts(&fx).is_empty());
    assert_eq!(sim.machine.room(), &newer);
}

#[test]
fn a_room_loaded_after_its_deadline_applies_the_time_up_at_once() {
    let mut running = new_room(5000);
    running.timer = Timer::running(5000, T0 + 5000, 0, T0 + 9_000);
    let sim = Sim::loaded(running, Grace::Never, at(9_000));
    assert_eq!(
        broadcasts(&sim.effects),
        [
            "remaining-time:0",
            "timer:stop",
            "remaining-time:5000",
            "state"
        ]
    );
    assert_eq!(sim.row.expect("row").timer.round, 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Command(Command),
        Advance(u64),
        Open,
        Close,
        FailNextWrite,
        ElsewhereSwap,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => prop_oneof![
                Just(Command::Start),
                Just(Command::Stop),
                Just(Command::Reset),
                Just(Command::Swap { round: None }),
                (1000..=6000i64).prop_map(|d| Command::SetDuration { duration: d, remaining: d }),
                (
                    proptest::option::of(any::<bool>()),
                    proptest::option::of(0..=3i64),
                    proptest::option::of(1000..=4000i64),
                )
                    .prop_map(|(auto_start, break_every, break_duration)| {
                        Command::Settings(SettingsPatch { auto_start, break_every, break_duration })
                    }),
            ]
            .prop_map(Step::Command),
            4 => (0..2500u64).prop_map(Step::Advance),
            1 => Just(Step::Open),
            1 => Just(Step::Close),
            1 => Just(Step::FailNextWrite),
            1 => Just(Step::ElsewhereSwap),
        ]
    }

    /// What the property checks across one run.
    #[derive(Default)]
    struct Watch {
        deadlines_timed_up: std::collections::HashSet<i64>,
        rounds: i64,
    }

    impl Watch {
        /// Checks the effects of one input fed at `now` to a room that was `before`.
        fn check(
            &mut self,
            before: &PairRoom,
            now: Now,
            fx: &[Effect],
        ) -> Result<(), TestCaseError> {
            let deadline = before.timer.deadline_at();
            for effect in fx {
                match effect {
                    // Ticks go out before any write of the same input, on the old deadline.
                    Effect::TickLate(late) => prop_assert!(*late >= 0, "a tick {} ms early", -late),
                    Effect::Broadcast(notices) => {
                        // A break starts only right after a time-up whose round calls for one.
                        for (i, n) in notices.iter().enumerate() {
                            if n != &Notice::Timer(TimerEvent::Break) {
                                continue;
                            }
                            prop_assert!(i >= 3, "a break without a time-up: {:?}", notices);
                            let Notice::State(s) = &notices[i - 1] else {
                                return Err(TestCaseError::fail(format!("{notices:?}")));
                            };
                            prop_assert_eq!(&notices[i - 3], &Notice::Timer(TimerEvent::Stop));
                            prop_assert!(s.settings.break_every > 0);
                            prop_assert_eq!(s.timer.round % s.settings.break_every, 0);
                        }
                        // Ticks go out on their own, never with a `state`; the `remaining-time`
                        // of an event (a reset during a break, say) is no tick.
                        let ticks = notices.iter().all(|n| matches!(n, Notice::Remaining(_)));
                        for n in notices.iter().filter(|_| ticks) {
                            if let (Notice::Remaining(v), Some(d), true) =
                                (n, deadline, before.timer.is_running())
                            {
                                prop_assert!(
                                    now.wall_ms >= d - v,
                                    "remaining-time {} at {} before {}",
                                    v,
                                    now.wall_ms,
                                    d - v
                                );
                            }
                        }
                    }
                    Effect::TimeUps(n) => {
                        self.rounds += i64::try_from(*n).unwrap_or(0);
                        let d = deadline.expect("a time-up ends a run");
                        prop_assert!(
                            self.deadlines_timed_up.insert(d),
                            "two time-ups for the deadline {}",
                            d
                        );
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }

    proptest! {
        #[test]
        fn no_sequence_sends_a_tick_early_applies_two_time_ups_for_one_deadline_or_drops_a_commit(
            steps in proptest::collection::vec(step(), 1..120),
        ) {
            let mut sim = Sim::new(3000, Grace::After(Duration::from_secs(4)));
            let mut now = at(0);
            let mut watch = Watch::default();
            for step in steps {
                let mut feed = |sim: &mut Sim, now: Now, input: Input| -> Result<Vec<Effect>, TestCaseError> {
                    let before = sim.machine.room().clone();
                    let fx = sim.feed(now, input);
                    watch.check(&before, now, &fx)?;
                    Ok(fx)
                };
                match step {
                    Step::Command(c) => {
                        let fx = feed(&mut sim, now, Input::Command(c))?;
                        prop_assert_eq!(fx.iter().filter(|e| matches!(e, Effect::Reply(_))).count(), 1);
                    }
                    Step::Advance(ms) => {
                        let target = now.mono + Duration::from_millis(ms);
                        // Wake at every instant asked for on the way, as the shell would.
                        let mut wakes = 0;
                        while sim.wake_at() <= target {
                            let wake = sim.wake_at().max(now.mono);
                            now = Now { wall_ms: T0 + wake.as_millis() as i64, mono: wake };
                            feed(&mut sim, now, Input::Wake)?;
                            wakes += 1;
                            prop_assert!(wakes < 100, "wake-ups that never settle");
                        }
                        now = Now { wall_ms: T0 + target.as_millis() as i64, mono: target };
                    }
                    Step::Open => { feed(&mut sim, now, Input::StreamOpened(None))?; }
                    Step::Close if sim.machine.subscribers() > 0 => { feed(&mut sim, now, Input::StreamsClosed(vec![None; 1]))?; }
                    Step::Close => {}
                    Step::FailNextWrite => sim.fail_next = true,
                    Step::ElsewhereSwap => {
                        if let Some(row) = sim.row.as_mut() {
                            row.members.rotate();
                            row.version += 1;
                        }
                    }
                }
                // A break always counts down: it never rests idle.
                let timer = sim.machine.room().timer;
                prop_assert!(timer.phase == Phase::Turn || timer.state != State::Idle);
                // No committed change is dropped: the live copy is the committed row, except
                // for a change made elsewhere that nothing here has read back yet.
                let row = sim.row.clone().expect("never deleted here");
                let mine = sim.machine.room();
                if row.version == mine.version {
                    prop_assert_eq!(&row.navigator(), &mine.navigator());
                    prop_assert_eq!(row.timer.deadline_at(), mine.timer.deadline_at());
                    prop_assert_eq!(row.timer.round, mine.timer.round);
                } else {
                    prop_assert!(row.version > mine.version);
                }
            }
            prop_assert_eq!(watch.rounds, sim.row.expect("row").timer.round);
        }
    }
}

#[test]
fn a_change_read_back_from_another_process_is_told_with_the_events_it_made_there() {
    let mut sim = Sim::new(5000, Grace::Never);
    let mut started = sim.machine.room().clone();
    started.timer.start(T0 + 100);
    started.version += 1;
    let fx = sim.feed(at(120), Input::RowRead(Some(started.clone())));
    assert_eq!(broadcasts(&fx), ["timer:start", "state"]);
    // Ticks follow the shared deadline: 4000 is due at 1100.
    assert_eq!(sim.wake_at(), Duration::from_millis(1100));
    let mut paused = started;
    paused.timer.stop(T0 + 1500);
    paused.version += 1;
    let fx = sim.feed(at(1510), Input::RowRead(Some(paused)));
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:4000",
            "timer:pause",
            "remaining-time:3600",
            "state"
        ]
    );
    let fx = sim.feed(at(1600), Input::RowRead(None));
    assert!(fx.contains(&Effect::CloseStreams) && fx.contains(&Effect::Stop));
}

#[test]
fn a_time_up_committed_elsewhere_is_told_once_and_not_counted_here() {
    let mut sim = Sim::new(1000, Grace::Never);
    sim.command(at(0), Command::Start);
    let mut theirs = sim.machine.room().clone();
    let done = theirs.expire(T0 + 1000).expect("due");
    theirs = done.room;
    theirs.version += 1;
    sim.row = Some(theirs.clone());
    let fx = sim.feed(at(1001), Input::RowRead(Some(theirs)));
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:0",
            "timer:stop",
            "remaining-time:1000",
            "state"
        ]
    );
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::TimeUps(_) | Effect::Save(..))));
    assert_eq!(sim.machine.room().timer.round, 1);
}

#[test]
fn a_change_announced_with_its_events_is_told_exactly_so() {
    let mut sim = Sim::new(5000, Grace::Never);
    let mut theirs = sim.machine.room().clone();
    theirs.timer.set_duration(5000, 5000).expect("not running");
    theirs.version += 1;
    // An update to the same values looks like nothing in the row; its events say otherwise.
    let told = vec![
        Notice::Timer(TimerEvent::Update),
        Notice::Remaining(5000),
        Notice::State(theirs.snapshot(T0)),
    ];
    let fx = sim.feed(at(10), Input::ChangeRead(theirs, told));
    assert_eq!(
        broadcasts(&fx),
        ["timer:update", "remaining-time:5000", "state"]
    );
}

#[test]
fn a_time_up_read_before_this_process_reached_the_deadline_still_sends_the_final_tick() {
    let mut sim = Sim::new(1000, Grace::Never);
    sim.command(at(0), Command::Start);
    let mut theirs = sim.machine.room().expire(T0 + 1000).expect("due").room;
    theirs.version += 1;
    // This process's clock reads a little earlier than the committing one's.
    let fx = sim.feed(at(998), Input::RowRead(Some(theirs)));
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:0",
            "timer:stop",
            "remaining-time:1000",
            "state"
        ]
    );
}
