//! What each key does in the watch view: space, `r`, `s`, `n`, `q` (and Ctrl-C, Esc).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::events::{Snapshot, TimerState};

/// A request to the server, as the keys make them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomCommand {
    /// `PATCH /api/{code}/timer/start`
    Start,
    /// `PATCH /api/{code}/timer/stop`
    Stop,
    /// `PATCH /api/{code}/timer/reset`
    Reset,
    /// `PATCH /api/pair-room/{code}/pair-swap?round=N`: swap in round `N` only.
    Swap {
        /// The round shown when the key was pressed.
        round: u64,
    },
    /// `PATCH /api/{code}/timer/next?round=N`: end the turn of round `N` now (or the break).
    Next {
        /// The round shown when the key was pressed.
        round: u64,
    },
}

impl RoomCommand {
    /// The request's path under the server's base URL.
    pub fn path(self, code: &str) -> String {
        match self {
            RoomCommand::Start => format!("/api/{code}/timer/start"),
            RoomCommand::Stop => format!("/api/{code}/timer/stop"),
            RoomCommand::Reset => format!("/api/{code}/timer/reset"),
            RoomCommand::Swap { round } => {
                format!("/api/pair-room/{code}/pair-swap?round={round}")
            }
            RoomCommand::Next { round } => format!("/api/{code}/timer/next?round={round}"),
        }
    }
}

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this to the server.
    Send(RoomCommand),
    /// Leave.
    Quit,
}

/// The action of `key` given the room as shown (`None` before the first snapshot).
pub fn action(key: KeyEvent, shown: Option<&Snapshot>) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('c') | KeyCode::Char('d') if ctrl => Some(Action::Quit),
        KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => Some(Action::Quit),
        _ if ctrl => None,
        KeyCode::Char(' ') => {
            let shown = shown?;
            Some(Action::Send(if shown.state == TimerState::Running {
                RoomCommand::Stop
            } else {
                RoomCommand::Start
            }))
        }
        KeyCode::Char('r') | KeyCode::Char('R') => shown.map(|_| Action::Send(RoomCommand::Reset)),
        KeyCode::Char('s') | KeyCode::Char('S') => {
            shown.map(|s| Action::Send(RoomCommand::Swap { round: s.round }))
        }
        KeyCode::Char('n') | KeyCode::Char('N') => {
            shown.map(|s| Action::Send(RoomCommand::Next { round: s.round }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::events::Phase;

    fn shown(state: TimerState, round: u64) -> Snapshot {
        Snapshot {
            state,
            duration: 60_000,
            remaining_time: 60_000,
            deadline_at: None,
            server_time: 0,
            round,
            phase: Phase::Turn,
            navigator: "Ann".into(),
            driver: "Bob".into(),
            members: vec!["Bob".into(), "Ann".into()],
            here: vec![],
            watching: Some(1),
        }
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn space_starts_a_stopped_timer_and_pauses_a_running_one() {
        let idle = shown(TimerState::Idle, 0);
        let paused = shown(TimerState::Paused, 0);
        let running = shown(TimerState::Running, 0);
        let space = press(KeyCode::Char(' '));
        assert_eq!(
            action(space, Some(&idle)),
            Some(Action::Send(RoomCommand::Start))
        );
        assert_eq!(
            action(space, Some(&paused)),
            Some(Action::Send(RoomCommand::Start))
        );
        assert_eq!(
            action(space, Some(&running)),
            Some(Action::Send(RoomCommand::Stop))
        );
    }

    #[test]
    fn s_swaps_in_the_round_shown() {
        let room = shown(TimerState::Idle, 7);
        assert_eq!(
            action(press(KeyCode::Char('s')), Some(&room)),
            Some(Action::Send(RoomCommand::Swap { round: 7 }))
        );
        assert_eq!(
            RoomCommand::Swap { round: 7 }.path("abc"),
            "/api/pair-room/abc/pair-swap?round=7"
        );
    }

    #[test]
    fn n_ends_the_turn_of_the_round_shown() {
        let room = shown(TimerState::Running, 4);
        assert_eq!(
            action(press(KeyCode::Char('n')), Some(&room)),
            Some(Action::Send(RoomCommand::Next { round: 4 }))
        );
        assert_eq!(
            action(press(KeyCode::Char('N')), Some(&room)),
            Some(Action::Send(RoomCommand::Next { round: 4 }))
        );
        assert_eq!(
            RoomCommand::Next { round: 4 }.path("abc"),
            "/api/abc/timer/next?round=4"
        );
        assert_eq!(action(press(KeyCode::Char('n')), None), None);
        let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_n, Some(&room)), None);
    }

    #[test]
    fn r_resets_and_the_paths_follow_the_contract() {
        let room = shown(TimerState::Paused, 0);
        assert_eq!(
            action(press(KeyCode::Char('r')), Some(&room)),
            Some(Action::Send(RoomCommand::Reset))
        );
        assert_eq!(RoomCommand::Start.path("abc"), "/api/abc/timer/start");
        assert_eq!(RoomCommand::Stop.path("abc"), "/api/abc/timer/stop");
        assert_eq!(RoomCommand::Reset.path("abc"), "/api/abc/timer/reset");
    }

    #[test]
    fn q_escape_and_ctrl_c_quit_even_before_a_snapshot() {
        assert_eq!(action(press(KeyCode::Char('q')), None), Some(Action::Quit));
        assert_eq!(action(press(KeyCode::Esc), None), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, None), Some(Action::Quit));
    }

    #[test]
    fn commands_wait_for_a_snapshot_and_other_keys_do_nothing() {
        assert_eq!(action(press(KeyCode::Char(' ')), None), None);
        assert_eq!(action(press(KeyCode::Char('s')), None), None);
        let room = shown(TimerState::Idle, 0);
        assert_eq!(action(press(KeyCode::Char('x')), Some(&room)), None);
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_s, Some(&room)), None);
    }
}
