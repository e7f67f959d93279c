//! The change feed's wire format.
//!
//! - What a change told its streams: a compact line (`t=pause,r=3766,s`) read back into
//!   notices by the other processes, every `state` (`s`), goals list (`g`) and links list
//!   (`l`) made again from the room after the change.
//! - The row a change wrote ([`Carried`]): the `rooms` row by column name, with the goals
//!   or the links when the change rewrote them, so that a process with the room live
//!   applies the change without reading the row again.
//! - A batch of changes in one payload (`b:[{…},{…}]`, [`batch_payloads`]), each payload
//!   under PostgreSQL's 8,000-byte limit; a change too large for any payload goes in the
//!   old form `code:version:told`, which carries no row, so its readers read the row.
//!
//! Reading is tolerant: the old form of one change per payload is still understood, unknown
//! fields are ignored, and a change whose row cannot be read is kept without it (its
//! readers read the row instead).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Change;
use crate::rules::{Category, Goal, Goals, Link, Links, Notice, PairRoom, TimerEvent};
use crate::store::models::{CorruptRow, RoomRow};

/// The prefix of a payload that holds a batch of changes.
pub const BATCH_PREFIX: &str = "b:";
/// The most bytes of one payload (PostgreSQL refuses 8,000 and more).
pub const MAX_PAYLOAD: usize = 7_900;

/// The row a committed change wrote, as the feed carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The `rooms` row as written.
    pub row: RoomRow,
    /// The goals, when the change rewrote them.
    pub goals: Option<Goals>,
    /// The links and categories, when the change rewrote them.
    pub links: Option<Links>,
}

impl Carried {
    /// The room after the change, its ticks placed at `now`; `before` is the room one
    /// version older, whose goals and links stand when the change did not rewrite them.
    pub fn room(&self, before: &PairRoom, now: i64) -> Result<PairRoom, CorruptRow> {
        let mut room = self.row.clone().into_room(now)?;
        room.goals = self.goals.clone().unwrap_or_else(|| before.goals.clone());
        room.links = self.links.clone().unwrap_or_else(|| before.links.clone());
        Ok(room)
    }
}

/// One change of a batch payload. Short keys keep many in one payload.
#[derive(Debug, Serialize, Deserialize)]
struct WireChange {
    /// The access code.
    c: String,
    /// The version after the change (`0`: deleted).
    v: i64,
    /// What the change told its streams.
    #[serde(default)]
    t: String,
    /// The row as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<Value>,
    /// The goals, `[id, content, checked, order]` each, when rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    g: Option<Value>,
    /// The links and categories, when rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<Value>,
}

/// A goal on the wire.
type WireGoal = (i64, String, bool, i64);

/// The links and categories on the wire.
#[derive(Debug, Serialize, Deserialize)]
struct WireLinks {
    /// `[id, value]` per category, in order.
    c: Vec<(String, String)>,
    /// `[id, url, host, category, added at]` per link.
    k: Vec<(i64, String, String, Option<String>, i64)>,
}

fn goals_to_wire(goals: &Goals) -> Value {
    let list: Vec<WireGoal> = goals
        .list()
        .iter()
        .map(|g| (g.id, g.content.clone(), g.is_checked, g.order))
        .collect();
    serde_json::to_value(list).unwrap_or(Value::Null)
}

fn goals_from_wire(value: Value) -> Option<Goals> {
    let list: Vec<WireGoal> = serde_json::from_value(value).ok()?;
    Some(Goals::from_stored(
        list.into_iter()
            .map(|(id, content, is_checked, order)| Goal {
                id,
                content,
                is_checked,
                order,
            })
            .collect(),
    ))
}

fn links_to_wire(links: &Links) -> Value {
    let wire = WireLinks {
        c: links
            .categories()
            .iter()
            .map(|c| (c.id.clone(), c.value.clone()))
            .collect(),
        k: links
            .stored()
            .iter()
            .map(|l| {
                (
                    l.id,
                    l.url.clone(),
                    l.host.clone(),
                    l.category.clone(),
                    l.added_at,
                )
            })
            .collect(),
    };
    serde_json::to_value(wire).unwrap_or(Value::Null)
}

fn links_from_wire(value: Value) -> Option<Links> {
    let wire: WireLinks = serde_json::from_value(value).ok()?;
    Some(Links::from_stored(
        wire.c
            .into_iter()
            .map(|(id, value)| Category { id, value })
            .collect(),
        wire.k
            .into_iter()
            .map(|(id, url, host, category, added_at)| Link {
                id,
                url,
                host,
                category,
                added_at,
            })
            .collect(),
    ))
}

/// One change as a JSON object of a batch payload.
fn change_to_wire(change: &Change) -> String {
    let carried = change.carried.as_deref();
    let wire = WireChange {
        c: change.code.clone(),
        v: change.version,
        t: change.told.clone(),
        r: carried.and_then(|c| serde_json::to_value(&c.row).ok()),
        g: carried.and_then(|c| c.goals.as_ref().map(goals_to_wire)),
        l: carried.and_then(|c| c.links.as_ref().map(links_to_wire)),
    };
    serde_json::to_string(&wire).unwrap_or_default()
}

/// One change of a batch payload; `None` when it names no room or version. A row (or a
/// board part) that cannot be read leaves the change without its row.
fn change_from_wire(value: Value) -> Option<Change> {
    let wire: WireChange = serde_json::from_value(value).ok()?;
    let carried = wire.r.and_then(|row| {
        let row: RoomRow = serde_json::from_value(row).ok()?;
        let goals = match wire.g {
            Some(g) => Some(goals_from_wire(g)?),
            None => None,
        };
        let links = match wire.l {
            Some(l) => Some(links_from_wire(l)?),
            None => None,
        };
        Some(Box::new(Carried { row, goals, links }))
    });
    Some(Change {
        code: wire.c,
        version: wire.v,
        told: wire.t,
        carried,
    })
}

/// The payloads that announce `changes`, in order: as few as keep each under
/// [`MAX_PAYLOAD`]. A change too large for a payload of its own goes in the old form,
/// without its row.
pub fn batch_payloads(changes: &[Change]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut open = String::new();
    let close = |open: &mut String, payloads: &mut Vec<String>| {
        if !open.is_empty() {
            open.push(']');
            payloads.push(std::mem::take(open));
        }
    };
    for change in changes {
        let one = change_to_wire(change);
        if BATCH_PREFIX.len() + one.len() + 2 > MAX_PAYLOAD {
            close(&mut open, &mut payloads);
            payloads.push(change.payload());
            continue;
        }
        if !open.is_empty() && open.len() + one.len() + 2 > MAX_PAYLOAD {
            close(&mut open, &mut payloads);
        }
        if open.is_empty() {
            open.push_str(BATCH_PREFIX);
            open.push('[');
        } else {
            open.push(',');
        }
        open.push_str(&one);
    }
    close(&mut open, &mut payloads);
    payloads
}

/// The changes of a batch payload (without its [`BATCH_PREFIX`]), in order; `None` when it
/// is not a JSON list. Entries this version cannot read are left out.
pub fn batch_from_wire(json: &str) -> Option<Vec<Change>> {
    let list: Vec<Value> = serde_json::from_str(json).ok()?;
    Some(list.into_iter().filter_map(change_from_wire).collect())
}

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

    /// A change of `room` (one version on) that carries its row, with its goals.
    fn carried_change(room: &PairRoom, goals: bool) -> Change {
        let mut after = room.clone();
        after.version += 1;
        Change {
            code: after.access_code.clone(),
            version: after.version,
            told: "t=start,s".into(),
            carried: Some(Box::new(Carried {
                row: crate::store::models::RoomRow::from_room(&after, T0),
                goals: goals.then(|| after.goals.clone()),
                links: None,
            })),
        }
    }

    fn changes_of(payloads: &[String]) -> Vec<Change> {
        payloads
            .iter()
            .flat_map(|p| crate::store::feed::parse(p).expect("readable"))
            .map(|event| match event {
                crate::store::feed::FeedEvent::Changed(change) => change,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batch_of_changes_survives_the_feed_in_order_in_payloads_under_the_limit() {
        let changes: Vec<Change> = (0..60)
            .map(|i| {
                let mut r = room();
                r.access_code = format!("room-{i:04}-abcdefgh");
                carried_change(&r, i % 7 == 0)
            })
            .collect();
        let payloads = batch_payloads(&changes);
        assert!(payloads.len() > 1, "{} payloads", payloads.len());
        assert!(payloads.len() < 20, "{} payloads", payloads.len());
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            assert!(payload.starts_with(BATCH_PREFIX), "{payload}");
        }
        assert_eq!(changes_of(&payloads), changes);
        let first = &changes[0];
        let before = room();
        let applied = first
            .carried
            .as_ref()
            .expect("a row")
            .room(&before, T0)
            .expect("a room");
        assert_eq!((applied.version, &applied.goals), (2, &before.goals));
    }

    #[test]
    fn a_change_too_large_for_a_payload_goes_alone_in_the_old_form_without_its_row() {
        let mut big = room();
        big.goals = Goals::from_stored(
            (0..100)
                .map(|id| Goal {
                    id,
                    content: "g".repeat(500),
                    is_checked: false,
                    order: id,
                })
                .collect(),
        );
        let small = carried_change(&room(), false);
        let large = carried_change(&big, true);
        let payloads = batch_payloads(&[small.clone(), large.clone(), small.clone()]);
        assert_eq!(payloads.len(), 3, "{payloads:?}");
        assert_eq!(payloads[1], "abcdefgh:2:t=start,s");
        let back = changes_of(&payloads);
        assert_eq!(back[0], small);
        assert_eq!(back[2], small);
        assert_eq!((back[1].version, back[1].carried.is_none()), (2, true));
    }

    #[test]
    fn a_batch_entry_whose_row_this_version_cannot_read_is_kept_without_its_row() {
        let line = r#"[{"c":"abcdefgh","v":3,"t":"s","r":{"access_code":"abcdefgh","shape":"new"},"x":1},{"v":4},{"c":"ijklmnop","v":5}]"#;
        let back = batch_from_wire(line).expect("a list");
        assert_eq!(back.len(), 2, "{back:?}");
        assert_eq!((back[0].code.as_str(), back[0].version), ("abcdefgh", 3));
        assert!(back[0].carried.is_none());
        assert_eq!(
            (
                back[1].code.as_str(),
                back[1].version,
                back[1].told.as_str()
            ),
            ("ijklmnop", 5, "")
        );
        assert_eq!(batch_from_wire("not json"), None);
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
