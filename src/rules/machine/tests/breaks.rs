//! Breaks and auto-start in [`RoomMachine`], every transition at an explicit clock reading:
//! what follows a time-up is committed in the time-up's own write, a break ticks and ends
//! like a turn, stop, start and reset act on it, and a restart or another process sees
//! the same.

use super::*;
use crate::rules::{Phase, RoomSettings, SettingsPatch, Snapshot};

const TURN: i64 = 2000;
const BREAK: i64 = 5000;

fn settings(auto_start: bool, break_every: i64) -> RoomSettings {
    RoomSettings {
        auto_start,
        break_every,
        break_duration: BREAK,
    }
}

/// A room of 2 s turns and 5 s breaks with these settings, one stream open, started at 0.
fn started(auto_start: bool, break_every: i64) -> Sim {
    let mut room = new_room(TURN);
    room.settings = settings(auto_start, break_every);
    let mut sim = Sim::loaded(room, Grace::Never, at(0));
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    sim
}

/// Wakes the machine at every instant it asks for up to `ms`; the effects of the last wake.
fn run_until(sim: &mut Sim, ms: u64) -> Vec<Effect> {
    let mut last = Vec::new();
    while sim.wake_at() <= Duration::from_millis(ms) {
        last = sim.wake().1;
    }
    last
}

/// The committed row as a process starting at `now` reads it from the database.
fn reloaded(sim: &Sim, now: Now) -> PairRoom {
    let mut row = sim.row.clone().expect("row");
    row.timer = row.timer.loaded_at(now.wall_ms);
    row
}

fn saves(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Save(..)))
        .count()
}

fn roles(sim: &Sim) -> (String, String) {
    let room = sim.machine.room();
    (room.navigator().to_string(), room.driver().to_string())
}

const TIME_UP: [&str; 4] = [
    "remaining-time:0",
    "timer:stop",
    "remaining-time:2000",
    "state",
];

fn then(first: &[&str], rest: &[&str]) -> Vec<String> {
    first.iter().chain(rest).map(|s| s.to_string()).collect()
}

#[test]
fn a_time_up_on_a_break_round_starts_the_break_in_the_same_write() {
    let mut sim = started(false, 1);
    let fx = run_until(&mut sim, 2000);
    assert_eq!(
        broadcasts(&fx),
        then(&TIME_UP, &["timer:break", "remaining-time:5000", "state"])
    );
    assert_eq!(saves(&fx), 1);
    assert!(fx.contains(&Effect::TimeUps(1)));
    let room = sim.machine.room();
    assert_eq!(room.timer.phase, Phase::Break);
    assert_eq!(room.timer.deadline_at(), Some(T0 + 2000 + BREAK));
    assert_eq!(room.timer.round, 1);
    assert_eq!(roles(&sim), ("Dri".into(), "Nav".into()));
    assert_eq!(sim.row.as_ref(), Some(room));
    // The state between the time-up and the break is the idle turn the time-up left.
    let states: Vec<&Snapshot> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(n) => Some(n),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            Notice::State(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        (states[0].timer.phase, states[0].timer.state.as_str()),
        (Phase::Turn, "idle")
    );
    assert_eq!(
        (states[1].timer.phase, states[1].timer.remaining_time),
        (Phase::Break, BREAK)
    );
}

#[test]
fn a_break_ticks_like_a_turn_and_its_end_rests_idle_with_roles_and_round_kept() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 2000);
    let after_time_up = roles(&sim);
    for (due, value) in [(3000, 4000), (4000, 3000), (5000, 2000), (6000, 1000)] {
        assert_eq!(sim.wake_at(), Duration::from_millis(due));
        let early = sim.feed(at(due - 1), Input::Wake);
        assert!(broadcasts(&early).is_empty(), "{early:?}");
        let (_, fx) = sim.wake();
        assert_eq!(broadcasts(&fx), [format!("remaining-time:{value}")]);
    }
    assert_eq!(sim.wake_at(), Duration::from_millis(7000));
    let (_, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), TIME_UP);
    assert_eq!(saves(&fx), 1);
    assert!(!fx.iter().any(|e| matches!(e, Effect::TimeUps(_))));
    let room = sim.machine.room();
    assert_eq!(
        (room.timer.phase, room.timer.state, room.timer.round),
        (Phase::Turn, State::Idle, 1)
    );
    assert_eq!(roles(&sim), after_time_up);
}

#[test]
fn with_auto_start_the_next_turn_starts_at_the_time_up() {
    let mut sim = started(true, 0);
    let fx = run_until(&mut sim, 2000);
    assert_eq!(broadcasts(&fx), then(&TIME_UP, &["timer:start", "state"]));
    assert_eq!(saves(&fx), 1);
    let room = sim.machine.room();
    assert_eq!(room.timer.deadline_at(), Some(T0 + 4000));
    assert_eq!((room.timer.round, room.timer.phase), (1, Phase::Turn));
    // And the next one again, with the roles swapped back.
    let fx = run_until(&mut sim, 4000);
    assert_eq!(broadcasts(&fx), then(&TIME_UP, &["timer:start", "state"]));
    assert_eq!(sim.machine.room().timer.round, 2);
    assert_eq!(roles(&sim), ("Nav".into(), "Dri".into()));
}

#[test]
fn with_auto_start_a_break_every_second_round_ends_in_a_started_turn() {
    let mut sim = started(true, 2);
    let fx = run_until(&mut sim, 2000);
    assert_eq!(broadcasts(&fx), then(&TIME_UP, &["timer:start", "state"]));
    let fx = run_until(&mut sim, 4000);
    assert_eq!(
        broadcasts(&fx),
        then(&TIME_UP, &["timer:break", "remaining-time:5000", "state"])
    );
    assert_eq!(sim.machine.room().timer.round, 2);
    let fx = run_until(&mut sim, 9000);
    assert_eq!(broadcasts(&fx), then(&TIME_UP, &["timer:start", "state"]));
    let room = sim.machine.room();
    assert_eq!(
        (room.timer.phase, room.timer.deadline_at(), room.timer.round),
        (Phase::Turn, Some(T0 + 11_000), 2)
    );
}

#[test]
fn stop_and_start_pause_and_resume_a_break() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 3000);
    let fx = sim.command(at(3500), Command::Stop);
    assert_eq!(
        broadcasts(&fx),
        ["timer:pause", "remaining-time:3500", "state"]
    );
    let room = sim.machine.room();
    assert_eq!(
        (room.timer.phase, room.timer.state),
        (Phase::Break, State::Paused { remaining: 3500 })
    );
    // Paused: nothing happens at the old deadline.
    let fx = sim.feed(at(7000), Input::Wake);
    assert!(broadcasts(&fx).is_empty());
    let fx = sim.command(at(10_000), Command::Start);
    assert_eq!(broadcasts(&fx), ["timer:start", "state"]);
    assert_eq!(sim.machine.room().timer.deadline_at(), Some(T0 + 13_500));
    assert_eq!(sim.machine.room().timer.phase, Phase::Break);
    let fx = run_until(&mut sim, 13_500);
    assert_eq!(broadcasts(&fx), TIME_UP);
    assert_eq!(sim.machine.room().timer.phase, Phase::Turn);
}

#[test]
fn reset_ends_a_break_as_an_idle_turn_and_keeps_the_round() {
    let mut sim = started(true, 1);
    run_until(&mut sim, 2000);
    let fx = sim.command(at(2600), Command::Reset);
    assert_eq!(
        broadcasts(&fx),
        ["timer:reset", "remaining-time:2000", "state"]
    );
    let room = sim.machine.room();
    assert_eq!(
        (room.timer.phase, room.timer.state, room.timer.round),
        (Phase::Turn, State::Idle, 1)
    );
    // Nothing is due any more: no break end, no start.
    let fx = sim.feed(at(20_000), Input::Wake);
    assert!(broadcasts(&fx).is_empty());
}

#[test]
fn a_room_loaded_mid_break_resumes_the_same_deadline() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 2000);
    // The process died; another loads the row 2.2 s into the break.
    let mut again = Sim::loaded(reloaded(&sim, at(4200)), Grace::Never, at(4200));
    assert!(broadcasts(&again.effects).is_empty());
    assert_eq!(again.wake_at(), Duration::from_millis(5000));
    let (_, fx) = again.wake();
    assert_eq!(broadcasts(&fx), ["remaining-time:2000"]);
    let fx = run_until(&mut again, 7000);
    assert_eq!(broadcasts(&fx), TIME_UP);
    assert_eq!(again.row.expect("row").timer.phase, Phase::Turn);
}

#[test]
fn a_room_loaded_after_its_break_ended_ends_it_at_once_and_auto_starts_from_then() {
    let mut sim = started(true, 1);
    run_until(&mut sim, 2000);
    let again = Sim::loaded(reloaded(&sim, at(60_000)), Grace::Never, at(60_000));
    assert_eq!(
        broadcasts(&again.effects),
        then(&TIME_UP, &["timer:start", "state"])
    );
    let room = again.row.expect("row");
    assert_eq!(
        (room.timer.phase, room.timer.deadline_at(), room.timer.round),
        (Phase::Turn, Some(T0 + 62_000), 1)
    );
}

#[test]
fn a_failed_write_of_a_time_up_and_its_break_is_tried_again_whole() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 1000);
    sim.fail_next = true;
    let (_, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), ["remaining-time:0"]);
    assert_eq!(sim.machine.room().timer.phase, Phase::Turn);
    let (now, fx) = sim.wake();
    assert_eq!(now.mono, Duration::from_millis(3000));
    assert_eq!(
        broadcasts(&fx),
        then(
            &TIME_UP[1..],
            &["timer:break", "remaining-time:5000", "state"]
        )
    );
    assert_eq!(sim.machine.room().timer.deadline_at(), Some(T0 + 8000));
    assert_eq!(sim.machine.room().timer.round, 1);
}

#[test]
fn a_swap_without_round_after_a_time_up_and_its_follow_up_changes_nothing() {
    for (auto_start, break_every) in [(true, 0), (false, 1), (true, 1)] {
        let mut sim = started(auto_start, break_every);
        run_until(&mut sim, 2000);
        let before = roles(&sim);
        let fx = sim.command(at(2150), Command::Swap { round: None });
        assert_eq!(reply(&fx), Some(Ok(())));
        assert!(broadcasts(&fx).is_empty(), "{auto_start} {break_every}");
        assert_eq!(saves(&fx), 0);
        assert_eq!(roles(&sim), before);
    }
}

#[test]
fn a_swap_without_round_at_a_break_end_changes_nothing_and_one_with_the_round_swaps() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 7000);
    let before = roles(&sim);
    let fx = sim.command(at(7100), Command::Swap { round: None });
    assert!(broadcasts(&fx).is_empty());
    assert_eq!(roles(&sim), before);
    let fx = sim.command(at(7200), Command::Swap { round: Some(1) });
    assert_eq!(broadcasts(&fx), ["state"]);
    assert_ne!(roles(&sim), before);
}

#[test]
fn a_settings_change_tells_the_state_and_applies_from_the_next_time_up() {
    let mut sim = started(false, 0);
    let patch = SettingsPatch {
        break_every: Some(1),
        break_duration: Some(3000),
        ..SettingsPatch::default()
    };
    let fx = sim.command(at(500), Command::Settings(patch));
    assert_eq!(reply(&fx), Some(Ok(())));
    assert_eq!(broadcasts(&fx), ["state"]);
    assert_eq!(
        sim.row.as_ref().map(|r| r.settings),
        Some(RoomSettings {
            auto_start: false,
            break_every: 1,
            break_duration: 3000
        })
    );
    // The running turn keeps its deadline; its time-up brings the 3 s break.
    assert_eq!(sim.machine.room().timer.deadline_at(), Some(T0 + 2000));
    let fx = run_until(&mut sim, 2000);
    assert_eq!(
        broadcasts(&fx),
        then(&TIME_UP, &["timer:break", "remaining-time:3000", "state"])
    );
    // A change during the break leaves the break as it runs.
    sim.command(
        at(2500),
        Command::Settings(SettingsPatch {
            break_duration: Some(60_000),
            ..SettingsPatch::default()
        }),
    );
    assert_eq!(sim.machine.room().timer.deadline_at(), Some(T0 + 5000));
}

#[test]
fn an_empty_room_with_auto_start_still_pauses_a_grace_after_its_last_stream_left() {
    let mut room = new_room(25_000);
    room.settings = settings(true, 0);
    let mut sim = Sim::loaded(room, Grace::After(GRACE), at(0));
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    sim.feed(at(0), Input::StreamsClosed(vec![None; 1]));
    run_until(&mut sim, 60_000);
    let room = sim.machine.room();
    // Two automatic starts (at 25 s and 50 s) did not restart the grace.
    assert_eq!(room.timer.round, 2);
    assert_eq!(room.timer.state, State::Paused { remaining: 15_000 });
}

/// The row as another process commits the end of its countdown at `at_ms`.
fn expired_elsewhere(row: &PairRoom, at_ms: i64) -> PairRoom {
    let mut theirs = row.expire(T0 + at_ms).expect("due").room;
    theirs.version += 1;
    theirs
}

#[test]
fn a_time_up_and_break_committed_elsewhere_are_told_with_the_same_events() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 1000);
    let theirs = expired_elsewhere(sim.machine.room(), 2001);
    sim.row = Some(theirs.clone());
    let fx = sim.feed(at(2003), Input::RowRead(Some(theirs)));
    assert_eq!(
        broadcasts(&fx),
        then(&TIME_UP, &["timer:break", "remaining-time:5000", "state"])
    );
    assert_eq!(saves(&fx), 0);
    assert!(!fx.iter().any(|e| matches!(e, Effect::TimeUps(_))));
    // Its ticks follow the shared deadline, and its end elsewhere is told the same way.
    assert_eq!(sim.wake_at(), Duration::from_millis(3001));
    run_until(&mut sim, 6500);
    let theirs = expired_elsewhere(sim.machine.room(), 7001);
    let fx = sim.feed(at(7002), Input::RowRead(Some(theirs)));
    assert_eq!(broadcasts(&fx), TIME_UP);
}

#[test]
fn a_time_up_this_copy_loses_to_another_process_is_told_with_that_process_events() {
    let mut sim = started(true, 0);
    run_until(&mut sim, 1000);
    // The other process commits first; its notification has not arrived yet.
    sim.row = Some(expired_elsewhere(sim.machine.room(), 2000));
    let (_, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), then(&TIME_UP, &["timer:start", "state"]));
    assert!(!fx.iter().any(|e| matches!(e, Effect::TimeUps(_))));
    assert_eq!(sim.machine.room().timer.round, 1);
    assert_eq!(sim.machine.room().version, sim.row.expect("row").version);
}

#[test]
fn a_pause_and_a_reset_of_a_break_elsewhere_are_told_as_such() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 2000);
    let mut paused = sim.machine.room().clone();
    paused.timer.stop(T0 + 2500);
    paused.version += 1;
    let fx = sim.feed(at(2510), Input::RowRead(Some(paused.clone())));
    assert_eq!(
        broadcasts(&fx),
        ["timer:pause", "remaining-time:4500", "state"]
    );
    let mut reset = paused;
    reset.timer.reset(T0);
    reset.time_up_at = None;
    reset.version += 1;
    let fx = sim.feed(at(2600), Input::RowRead(Some(reset)));
    assert_eq!(
        broadcasts(&fx),
        ["timer:reset", "remaining-time:2000", "state"]
    );
}

#[test]
fn a_break_read_back_at_a_reading_before_it_began_ticks_no_value_twice() {
    let mut sim = started(false, 1);
    run_until(&mut sim, 1000);
    // The other process commits the time-up and its break at 2004; this copy's own write,
    // planned at 2000, reads that row back with its cursor placed at 2000.
    let theirs = expired_elsewhere(sim.machine.room(), 2004);
    let mut read = theirs;
    read.timer = read.timer.loaded_at(T0 + 2000);
    sim.row = Some(read);
    let (_, fx) = sim.wake();
    assert_eq!(
        broadcasts(&fx),
        then(&TIME_UP, &["timer:break", "remaining-time:5000", "state"])
    );
    // The next tick is the break's 4000, at 3004; 5000 was told with the break.
    assert_eq!(sim.wake_at(), Duration::from_millis(3004));
    let (_, fx) = sim.wake();
    assert_eq!(broadcasts(&fx), ["remaining-time:4000"]);
}
