//! The team room in [`RoomMachine`], at explicit clock readings: the members rotate at a
//! time-up and on `next`, each completed turn rides in the write that ends it, who is here
//! is told at most once a second with the latest values, and every `state` carries it.

use super::*;
use crate::rules::{CompletedTurn, Elsewhere, Members, PresenceView, TurnEnd};

/// A room of `duration` ms for A, B and C, loaded at 0.
fn team(duration: i64) -> Sim {
    let mut room = new_room(duration);
    room.members = Members::new(&["A", "B", "C"]).expect("members");
    Sim::loaded(room, Grace::Never, at(0))
}

fn saved_turns(effects: &[Effect]) -> Vec<CompletedTurn> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Save(write) => Some(write.turns.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn presence_told(effects: &[Effect]) -> Vec<PresenceView> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(n) => Some(n),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            Notice::Presence(view) => Some(view.clone()),
            _ => None,
        })
        .collect()
}

fn view(here: &[&str], watching: i64) -> PresenceView {
    PresenceView {
        here: here.iter().map(|n| n.to_string()).collect(),
        watching,
    }
}

#[test]
fn a_time_up_rotates_the_members_and_writes_the_turn_with_it() {
    let mut sim = team(2000);
    sim.command(at(0), Command::Start);
    let mut fx = Vec::new();
    while sim.machine.room().timer.round == 0 {
        fx.extend(sim.wake().1);
    }
    assert_eq!(sim.machine.room().members.names(), ["B", "C", "A"]);
    let turns = saved_turns(&fx);
    assert_eq!(turns.len(), 1, "one write, one turn");
    assert_eq!(
        (turns[0].driver.as_str(), turns[0].ran_ms, turns[0].end),
        ("A", 2000, TurnEnd::TimeUp)
    );
    assert_eq!(sim.row.as_ref().map(|r| r.members.driver()), Some("B"));
}

#[test]
fn next_while_running_ends_the_turn_without_a_final_tick_and_cancels_its_ticks() {
    let mut sim = team(10_000);
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    let fx = sim.command(at(3_500), Command::Next { round: Some(0) });
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:9000",
            "remaining-time:8000",
            "remaining-time:7000",
            "timer:stop",
            "remaining-time:10000",
            "state"
        ],
        "the ticks due before it, then the end of the turn"
    );
    assert_eq!(saved_turns(&fx)[0].ran_ms, 3_500);
    assert_eq!(sim.machine.room().members.names(), ["B", "C", "A"]);
    // Idle now: no tick is due any more.
    let (_, later) = sim.wake();
    assert!(broadcasts(&later).is_empty(), "{later:?}");
}

#[test]
fn next_during_a_break_ends_the_break_and_auto_start_follows() {
    let mut room = new_room(2000);
    room.settings = RoomSettings {
        auto_start: true,
        break_every: 1,
        break_duration: 60_000,
    };
    let mut sim = Sim::loaded(room, Grace::Never, at(0));
    sim.command(at(0), Command::Next { round: None });
    assert_eq!(sim.machine.room().timer.phase, Phase::Break);
    let fx = sim.command(at(5_000), Command::Next { round: None });
    assert_eq!(
        broadcasts(&fx)[5..],
        [
            "timer:stop",
            "remaining-time:2000",
            "state",
            "timer:start",
            "state"
        ]
    );
    let timer = sim.machine.room().timer;
    assert_eq!((timer.phase, timer.round), (Phase::Turn, 1));
    assert_eq!(timer.deadline_at(), Some(T0 + 7_000));
    assert!(saved_turns(&fx).is_empty(), "a break is no turn");
}

#[test]
fn who_is_here_is_told_at_once_then_at_most_once_a_second_with_the_latest_values() {
    let mut sim = team(60_000);
    let fx = sim.feed(at(0), Input::StreamOpened(Some("Ann".into())));
    assert_eq!(presence_told(&fx), [view(&["Ann"], 1)]);
    let fx = sim.feed(at(200), Input::StreamOpened(Some("Bob".into())));
    assert!(presence_told(&fx).is_empty(), "within the second");
    sim.feed(at(300), Input::StreamOpened(None));
    sim.feed(at(400), Input::StreamsClosed(vec![Some("Ann".into())]));
    assert_eq!(sim.wake_at(), Duration::from_millis(1000));
    let (_, fx) = sim.wake();
    assert_eq!(presence_told(&fx), [view(&["Bob"], 2)], "the latest values");
    // Nothing changed since: nothing more is told, and no wake-up is asked for it.
    let (_, fx) = sim.wake();
    assert!(presence_told(&fx).is_empty());
}

#[test]
fn other_processes_streams_count_and_every_state_carries_who_is_here() {
    let mut sim = team(60_000);
    sim.feed(at(0), Input::StreamOpened(Some("Ann".into())));
    let fx = sim.feed(
        at(5_000),
        Input::Elsewhere(Elsewhere {
            streams: 3,
            names: ["Cy".to_string(), "Ann".to_string()].into(),
        }),
    );
    assert_eq!(presence_told(&fx), [view(&["Ann", "Cy"], 4)]);
    let fx = sim.command(at(6_000), Command::Join("D".into()));
    let state = fx
        .iter()
        .find_map(|e| match e {
            Effect::Broadcast(n) => n.iter().find_map(|n| match n {
                Notice::State(s) => Some(s.clone()),
                _ => None,
            }),
            _ => None,
        })
        .expect("a state");
    assert_eq!(state.presence, view(&["Ann", "Cy"], 4));
    assert_eq!(state.members, ["A", "B", "C", "D"]);
    assert_eq!(sim.machine.presence(), view(&["Ann", "Cy"], 4));
}

#[test]
fn a_newcomer_is_counted_in_its_own_greeting() {
    let mut sim = team(60_000);
    let fx = sim.feed(at(0), Input::StreamOpened(Some("Ann".into())));
    let greeting = fx
        .iter()
        .find_map(|e| match e {
            Effect::Greet(n) => Some(n.clone()),
            _ => None,
        })
        .expect("greeted");
    let Some(Notice::State(state)) = greeting.iter().find(|n| matches!(n, Notice::State(_))) else {
        panic!("the greeting has a state: {greeting:?}");
    };
    assert_eq!(state.presence, view(&["Ann"], 1));
}

#[test]
fn a_next_made_elsewhere_is_told_without_a_final_tick() {
    let mut sim = team(10_000);
    sim.feed(at(0), Input::StreamOpened(None));
    sim.command(at(0), Command::Start);
    let mut theirs = sim.machine.room().clone();
    let t = theirs
        .apply(Command::Next { round: None }, T0 + 2_500)
        .expect("applies")
        .expect("changes");
    theirs = t.room;
    theirs.version += 1;
    let fx = sim.feed(at(2_600), Input::ChangeRead(theirs, t.notices));
    assert_eq!(
        broadcasts(&fx),
        [
            "remaining-time:9000",
            "remaining-time:8000",
            "timer:stop",
            "remaining-time:10000",
            "state"
        ],
        "the ticks due here, then the change as told; no remaining-time:0"
    );
}
