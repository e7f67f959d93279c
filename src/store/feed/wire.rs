//! The change feed's account of what a change told its streams: a compact line
//! (`t=pause,r=3766,s`) carried in the notification, read back into notices by the other
//! processes, every `state` (`s`), goals list (`g`) and links list (`l`) made again from
//! the room they read.

use crate::rules::{Notice, PairRoom, TimerEvent};

/// What a committed change told its streams, in a compact line for the change feed
/// (`t=pause,r=3766,s`): every `state` is left as a mark, to be made again from the row.
/// Who is here is no part of a change (each process tells its own), so `presence` is left
/// out.
pub fn told_to_wire(notices: &[Notice]) -> String {
    let parts: Vec<String> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::Remaining(ms) => Some(format!("r={ms}")),
            Notice::Timer(event) => Some(format!("t={}", event.as_str())),
            Notice::State(_) => Some("s".to_string()),
            Notice::Todos(_) => Some("g".to_string()),
            Notice::Links(_) => Some("l".to_string()),
            Notice::Presence(_) => None,
        })
        .collect();
    parts.join(",")
}

/// The notices of [`told_to_wire`]'s line, every `state` made from `room` at `now`; `None`
/// for a line this version does not understand.
pub fn told_from_wire(line: &str, room: &PairRoom, now: i64) -> Option<Vec<Notice>> {
    if line.is_empty() {
        return Some(Vec::new());
    }
    line.split(',')
        .map(|part| match part.split_once('=') {
            None if part == "s" => Some(Notice::State(room.snapshot(now))),
            None if part == "g" => Some(room.goals_notice()),
            None if part == "l" => Some(room.links_notice()),
            Some(("r", ms)) => ms.parse().ok().map(Notice::Remaining),
            Some(("t", word)) => TimerEvent::from_word(word).map(Notice::Timer),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Members, NewRoom, RoomSettings};

    const T0: i64 = 1_700_000_000_000;

    fn room() -> PairRoom {
        NewRoom {
            members: Members::pair("Dri", "Nav").expect("two names"),
            mission_url: String::new(),
            duration: 5000,
            remaining: 5000,
            settings: RoomSettings::default(),
        }
        .into_room("abcdefgh".into(), T0)
    }

    #[test]
    fn what_a_change_told_survives_the_feed_with_every_state_made_again() {
        let r = room();
        let notices = vec![
            Notice::Timer(TimerEvent::Pause),
            Notice::Remaining(3766),
            Notice::State(r.snapshot(T0)),
        ];
        let line = told_to_wire(&notices);
        assert_eq!(line, "t=pause,r=3766,s");
        let back = told_from_wire(&line, &r, T0 + 5).expect("readable");
        assert_eq!(back[..2], notices[..2]);
        assert_eq!(back[2], Notice::State(r.snapshot(T0 + 5)));
        assert_eq!(told_from_wire("", &r, T0), Some(Vec::new()));
        assert_eq!(told_from_wire("t=dance", &r, T0), None);
    }

    #[test]
    fn every_timer_event_survives_the_feed() {
        let r = room();
        for event in TimerEvent::ALL {
            let told = vec![Notice::Timer(event)];
            assert_eq!(
                told_from_wire(&told_to_wire(&told), &r, T0),
                Some(told),
                "{event:?}"
            );
        }
    }
}
