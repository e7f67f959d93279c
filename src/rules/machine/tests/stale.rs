//! A copy of a room that another process changed a moment ago (its change not yet read
//! here): a command this copy would refuse, or find nothing to do for, is checked against
//! the committed row first, and planned on it when it is newer. With one process per
//! database there is nothing to check.

use super::*;
use crate::rules::Checked;

/// A live copy on a database that other processes share, and the newer row one of them
/// committed that this copy has not read yet.
fn shared_and_behind(change: Command) -> (RoomMachine, PairRoom) {
    let policy = Arc::new(RoomPolicy {
        cluster: true,
        ..(*config(Grace::Never)).clone()
    });
    let mine = new_room(60_000);
    let mut machine = RoomMachine::new(mine.clone(), policy, at(0));
    machine.start(at(0));
    let mut theirs = mine
        .apply(change, T0 + 100)
        .expect("applies")
        .expect("changes")
        .room;
    theirs.version += 1;
    (machine, theirs)
}

fn replies(effects: &[Effect]) -> Vec<Result<(), RoomError>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_command_refused_on_an_old_copy_is_planned_again_on_the_newer_row() {
    let (mut machine, theirs) = shared_and_behind(Command::AddGoal {
        id: 42,
        content: "new".into(),
    });
    let fx = machine.step(at(200), Input::Command(Command::ToggleGoal(42)));
    assert_eq!(fx, [Effect::CheckRow], "no answer before the row is read");
    let fx = machine.step(
        at(210),
        Input::RowChecked(Checked::Row(Some(Box::new(theirs)))),
    );
    assert!(
        broadcasts(&fx).contains(&"todos:1".to_string()),
        "the other process's change is told first: {fx:?}"
    );
    let save = fx.iter().find_map(|e| match e {
        Effect::Save(w) => Some(w.room.clone()),
        _ => None,
    });
    let saved = save.expect("the command is planned on the newer row");
    assert!(saved.goals.get(42).is_some_and(|g| g.is_checked));
    let fx = machine.step(at(220), Input::Written(WriteOutcome::Committed));
    assert_eq!(replies(&fx), [Ok(())]);
}

#[test]
fn a_command_with_nothing_to_do_on_an_old_copy_is_done_on_the_newer_row() {
    // This copy still runs; the room was paused elsewhere, and now someone starts it.
    let policy = Arc::new(RoomPolicy {
        cluster: true,
        ..(*config(Grace::Never)).clone()
    });
    let mut mine = new_room(60_000);
    mine.timer.start(T0);
    let mut machine = RoomMachine::new(mine.clone(), policy, at(0));
    machine.start(at(0));
    let mut theirs = mine
        .apply(Command::Stop, T0 + 100)
        .expect("applies")
        .expect("changes")
        .room;
    theirs.version += 1;
    let fx = machine.step(at(200), Input::Command(Command::Start));
    assert_eq!(fx, [Effect::CheckRow]);
    let fx = machine.step(
        at(210),
        Input::RowChecked(Checked::Row(Some(Box::new(theirs)))),
    );
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Save(w) if w.room.timer.is_running())));
}

#[test]
fn when_the_row_is_no_newer_the_held_answer_goes_out() {
    let (mut machine, _) = shared_and_behind(Command::Start);
    let fx = machine.step(at(200), Input::Command(Command::ToggleGoal(9)));
    assert_eq!(fx, [Effect::CheckRow]);
    let same = machine.room().clone();
    let fx = machine.step(
        at(210),
        Input::RowChecked(Checked::Row(Some(Box::new(same)))),
    );
    assert!(matches!(
        replies(&fx)[..],
        [Err(RoomError::Rejected(CommandError::Goal(_)))]
    ));
    // A database that does not answer gives the same answer.
    machine.step(at(300), Input::Command(Command::ToggleGoal(9)));
    let fx = machine.step(at(310), Input::RowChecked(Checked::Failed));
    assert_eq!(replies(&fx).len(), 1);
    assert!(replies(&fx)[0].is_err());
}

#[test]
fn with_one_process_a_refusal_is_answered_at_once() {
    let mut sim = Sim::new(60_000, Grace::Never);
    let fx = sim.command(at(0), Command::ToggleGoal(9));
    assert!(!fx.contains(&Effect::CheckRow));
    assert_eq!(replies(&fx).len(), 1);
}

/// A run started elsewhere a few ms above a whole second, read here after that second's
/// tick fell due.
fn started_elsewhere(paused_at: i64, read_after_ms: u64) -> (Sim, Vec<Effect>) {
    let mut room = new_room(1_200_000);
    room.timer
        .set_duration(1_200_000, paused_at)
        .expect("not running");
    let mut sim = Sim::loaded(room, Grace::Never, at(0));
    sim.feed(at(0), Input::StreamOpened(None));
    let t = sim
        .machine
        .room()
        .apply(Command::Start, T0 + 1_000)
        .expect("applies")
        .expect("starts");
    let mut theirs = t.room;
    theirs.version += 1;
    // What the other process reads back at our reading: the cursor a load would place.
    theirs.timer = theirs.timer.loaded_at(T0 + 1_000 + read_after_ms as i64);
    let mut fx = sim.feed(
        at(1_000 + read_after_ms),
        Input::ChangeRead(theirs, t.notices),
    );
    fx.extend(sim.feed(at(1_000 + read_after_ms), Input::Wake));
    (sim, fx)
}

#[test]
fn a_start_read_after_its_first_tick_fell_due_still_sends_that_tick_late() {
    // Paused at 1,194,002 ms, started elsewhere at 1,000: the tick 1,194,000 is due at
    // 1,002; the change arrives here at 1,010.
    let (mut sim, fx) = started_elsewhere(1_194_002, 10);
    assert_eq!(
        broadcasts(&fx),
        ["timer:start", "state", "remaining-time:1194000"]
    );
    assert!(fx.contains(&Effect::TickLate(8)));
    let (_, next) = sim.wake();
    assert_eq!(broadcasts(&next), ["remaining-time:1193000"]);
}

#[test]
fn every_tick_a_late_change_missed_is_sent_in_order_and_none_twice() {
    for offset in 1..=20 {
        let (mut sim, fx) = started_elsewhere(1_194_000 + offset, 25);
        let mut told: Vec<String> = broadcasts(&fx)
            .into_iter()
            .filter(|e| e.starts_with("remaining-time"))
            .collect();
        for _ in 0..3 {
            told.extend(broadcasts(&sim.wake().1));
        }
        assert_eq!(
            told[..4],
            [
                "remaining-time:1194000",
                "remaining-time:1193000",
                "remaining-time:1192000",
                "remaining-time:1191000"
            ],
            "offset {offset}"
        );
    }
}

#[test]
fn a_run_begun_long_before_its_change_arrived_is_not_replayed_tick_by_tick() {
    // A change read 10 s late (a lost feed): the streams get the state and the ticks from
    // two seconds back, not ten seconds of ticks at once.
    let (_, fx) = started_elsewhere(1_194_500, 10_000);
    let ticks = broadcasts(&fx)
        .into_iter()
        .filter(|e| e.starts_with("remaining-time"))
        .count();
    assert!((1..=3).contains(&ticks), "{:?}", broadcasts(&fx));
}
