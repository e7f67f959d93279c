//! The change feed's wire format.
//!
//! - What a change told its streams: a compact line (`t=pause,r=3766,s`) read back into
//!   notices by the other processes, every `state` (`s`), goals list (`g`) and links list
//!   (`l`) made again from the room after the change.
//! - The row a change wrote ([`Carried`]): the `rooms` row by column name, with the goals
//!   or the links when the change rewrote them, so that a process with the room live
//!   applies the change without reading the row again.
//! - A batch of changes in one payload (`b:[{…},{…}]`, [`batch_payloads`]), each payload
//!   under PostgreSQL's 8,000-byte limit.
//! - A change too large for one payload goes alone in a batch payload cut into chunks
//!   (`k:SET:INDEX:COUNT:PIECE`, [`chunk_payloads`]), sent in order in the same transaction:
//!   `SET` names the chunk set (16 random hex digits), `INDEX` counts from 0, `COUNT` is the
//!   set's size (at most [`MAX_CHUNKS`]) and `PIECE` is the next part of the payload's text,
//!   cut only between UTF-8 characters. The index makes every chunk differ, so that
//!   PostgreSQL folds none of them. A listener puts each set back together
//!   ([`Reassembly`]) before reading it, holds at most [`MAX_OPEN_SETS`] sets at once, and
//!   drops a set that comes incomplete or out of order; the version gap then makes the
//!   room read its row again.
//!
//! Reading is tolerant: the old form of one change per payload (`code:version:told`, which
//! carries no row, so its readers read the row) is still understood, unknown fields are
//! ignored, and a change whose row cannot be read is kept without it (its readers read the
//! row instead).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Change;
use crate::rules::{Category, Goal, Goals, Links, Notice, PairRoom, TimerEvent};
use crate::store::models::{CorruptRow, RoomRow};

/// The prefix of a payload that holds a batch of changes.
pub const BATCH_PREFIX: &str = "b:";
/// The prefix of a payload that holds one chunk of a payload too large to send whole.
pub const CHUNK_PREFIX: &str = "k:";
/// The most bytes of one payload (PostgreSQL refuses 8,000 and more).
pub const MAX_PAYLOAD: usize = 7_900;
/// The most chunks of one set (about 2 MB of text, several times the largest change a
/// room can make).
pub const MAX_CHUNKS: usize = 256;
/// The most chunk sets a listener holds open at once; with [`MAX_CHUNKS`], what bounds its
/// memory.
pub const MAX_OPEN_SETS: usize = 4;
/// The longest chunk header: the prefix, 16 hex digits, two numbers up to [`MAX_CHUNKS`]
/// and three colons.
const MAX_CHUNK_HEADER: usize = 2 + 16 + 3 + 3 + 3;

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
    k: Vec<crate::store::board::LinkFields>,
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
            .map(crate::store::board::link_of_row)
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
/// [`MAX_PAYLOAD`]. A change too large for a payload of its own goes alone in a batch
/// payload cut into chunks ([`chunk_payloads`]); one too large even for [`MAX_CHUNKS`]
/// chunks (no room makes one) goes in the old form, without its row.
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
            match chunk_payloads(&format!("{BATCH_PREFIX}[{one}]")) {
                Some(chunks) => payloads.extend(chunks),
                None => payloads.push(change.payload()),
            }
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

/// `whole` cut into the chunk payloads of one new set, in order, each under
/// [`MAX_PAYLOAD`] and cut only between characters; `None` when it needs more than
/// [`MAX_CHUNKS`].
pub fn chunk_payloads(whole: &str) -> Option<Vec<String>> {
    let set = format!("{:016x}", uuid::Uuid::new_v4().as_u64_pair().0);
    chunks_of_set(whole, &set)
}

fn chunks_of_set(whole: &str, set: &str) -> Option<Vec<String>> {
    let room = MAX_PAYLOAD - MAX_CHUNK_HEADER;
    let mut pieces = Vec::new();
    let mut rest = whole;
    while !rest.is_empty() {
        let mut end = rest.len().min(room);
        // A character is at most 4 bytes, so a boundary lies within 3 bytes back.
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
        if pieces.len() > MAX_CHUNKS {
            return None;
        }
    }
    let count = pieces.len();
    Some(
        pieces
            .into_iter()
            .enumerate()
            .map(|(index, piece)| format!("{CHUNK_PREFIX}{set}:{index}:{count}:{piece}"))
            .collect(),
    )
}

/// One chunk payload's parts (after its [`CHUNK_PREFIX`]).
struct Chunk<'a> {
    set: &'a str,
    index: usize,
    count: usize,
    piece: &'a str,
}

impl<'a> Chunk<'a> {
    /// `None` for a header this version cannot read.
    fn read(rest: &'a str) -> Option<Chunk<'a>> {
        let mut parts = rest.splitn(4, ':');
        let set = parts.next()?;
        let index: usize = parts.next()?.parse().ok()?;
        let count: usize = parts.next()?.parse().ok()?;
        let piece = parts.next()?;
        let fits = !set.is_empty() && set.len() <= 32 && index < count && count <= MAX_CHUNKS;
        fits.then_some(Chunk {
            set,
            index,
            count,
            piece,
        })
    }
}

/// A chunk set being put back together.
#[derive(Debug)]
struct OpenSet {
    /// The set's name.
    set: String,
    /// Its size.
    count: usize,
    /// The chunks received, the first ones; the next one's index.
    received: usize,
    /// Their pieces, joined.
    text: String,
}

/// Puts chunk sets back together on the listening side: one per `LISTEN` connection, so
/// that a set cut short by a lost connection is dropped with it.
#[derive(Debug, Default)]
pub struct Reassembly {
    /// The sets begun and not complete, oldest first.
    open: std::collections::VecDeque<OpenSet>,
}

impl Reassembly {
    /// The payload to read, given the next one that arrived: that payload itself when it is
    /// no chunk, the whole text when it is the last chunk of its set, `None` otherwise. A
    /// chunk that does not follow the one before in its set drops the set; a chunk whose
    /// set began unseen is dropped; a new set past [`MAX_OPEN_SETS`] drops the oldest.
    pub fn accept(&mut self, payload: String) -> Option<String> {
        let Some(rest) = payload.strip_prefix(CHUNK_PREFIX) else {
            return Some(payload);
        };
        let Some(chunk) = Chunk::read(rest) else {
            log::warn!("change feed: unreadable chunk header");
            return None;
        };
        let at = match self.open.iter().position(|o| o.set == chunk.set) {
            Some(at) => at,
            None if chunk.index == 0 => {
                if self.open.len() >= MAX_OPEN_SETS {
                    if let Some(dropped) = self.open.pop_front() {
                        log::warn!("change feed: chunk set {} left incomplete", dropped.set);
                    }
                }
                self.open.push_back(OpenSet {
                    set: chunk.set.to_string(),
                    count: chunk.count,
                    received: 0,
                    text: String::new(),
                });
                self.open.len() - 1
            }
            None => {
                log::warn!(
                    "change feed: a chunk of set {} whose start was missed",
                    chunk.set
                );
                return None;
            }
        };
        let open = &mut self.open[at];
        if chunk.index != open.received || chunk.count != open.count {
            log::warn!("change feed: chunk set {} out of order; dropped", open.set);
            self.open.remove(at);
            return None;
        }
        open.text.push_str(chunk.piece);
        open.received += 1;
        if open.received < open.count {
            return None;
        }
        self.open.remove(at).map(|open| open.text)
    }

    /// How many sets are begun and not complete.
    pub fn open_sets(&self) -> usize {
        self.open.len()
    }
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

    /// The room with 100 goals of 500 characters, most of them several bytes long.
    fn crowded() -> PairRoom {
        let mut big = room();
        big.goals = Goals::from_stored(
            (0..100)
                .map(|id| Goal {
                    id: 1_000 + id,
                    content: format!(
                        "{id:03}{}",
                        "목표🎯é\"x".chars().cycle().take(497).collect::<String>()
                    ),
                    is_checked: id % 3 == 0,
                    order: id,
                })
                .collect(),
        );
        big
    }

    /// The changes of `payloads` as a listener reads them, chunk sets put back together.
    fn reassembled(payloads: &[String]) -> Vec<Change> {
        let mut chunks = Reassembly::default();
        let whole: Vec<String> = payloads
            .iter()
            .filter_map(|p| chunks.accept(p.clone()))
            .collect();
        assert_eq!(chunks.open_sets(), 0);
        changes_of(&whole)
    }

    #[test]
    fn a_change_too_large_for_a_payload_goes_alone_in_chunks_each_under_the_limit_and_comes_back_whole(
    ) {
        let small = carried_change(&room(), false);
        let large = carried_change(&crowded(), true);
        let sent = [small.clone(), large.clone(), small.clone(), large.clone()];
        let payloads = batch_payloads(&sent);
        let whole = format!("{BATCH_PREFIX}[{}]", change_to_wire(&large));
        assert!(whole.len() > 15 * MAX_PAYLOAD, "{} bytes", whole.len());
        let chunks: Vec<&String> = payloads
            .iter()
            .filter(|p| p.starts_with(CHUNK_PREFIX))
            .collect();
        assert_eq!(payloads.len(), 2 + chunks.len(), "{payloads:?}");
        assert!(payloads[0].starts_with(BATCH_PREFIX));
        for payload in &payloads {
            assert!(payload.len() < MAX_PAYLOAD, "{}", payload.len());
        }
        // Every chunk differs (PostgreSQL folds identical payloads of one transaction),
        // the two sets included.
        let distinct: std::collections::HashSet<&String> = chunks.iter().copied().collect();
        assert_eq!(distinct.len(), chunks.len());
        let sets: std::collections::HashSet<&str> =
            chunks.iter().filter_map(|c| c.split(':').nth(1)).collect();
        assert_eq!(sets.len(), 2, "{sets:?}");
        // A chunk is no payload to read alone.
        assert_eq!(crate::store::feed::parse(chunks[0]), None);
        let back = reassembled(&payloads);
        assert_eq!(back, sent);
        let applied = back[1]
            .carried
            .as_ref()
            .expect("the row")
            .room(&room(), T0)
            .expect("a room");
        assert_eq!(applied.goals, crowded().goals);
    }

    #[test]
    fn chunks_are_cut_between_characters() {
        // Four-byte characters after one, two and three single bytes: every alignment.
        for lead in 0..4 {
            let whole = format!("{}{}", "a".repeat(lead), "🎯".repeat(5_000));
            let chunks = chunk_payloads(&whole).expect("chunks");
            assert!(chunks.len() >= 3, "{}", chunks.len());
            let mut joined = String::new();
            for (index, chunk) in chunks.iter().enumerate() {
                assert!(chunk.len() < MAX_PAYLOAD, "{}", chunk.len());
                let parts: Vec<&str> = chunk.splitn(5, ':').collect();
                assert_eq!(parts[2], index.to_string());
                assert_eq!(parts[3], chunks.len().to_string());
                joined.push_str(parts[4]);
            }
            assert_eq!(joined, whole);
            let mut back = Reassembly::default();
            let out: Vec<String> = chunks.into_iter().filter_map(|c| back.accept(c)).collect();
            assert_eq!(out, [whole]);
        }
        // More than the most chunks of one set: none.
        assert_eq!(
            chunk_payloads(&"x".repeat(MAX_PAYLOAD * (MAX_CHUNKS + 1))),
            None
        );
    }

    #[test]
    fn a_chunk_set_left_incomplete_or_out_of_order_is_dropped_and_memory_stays_bounded() {
        let large = carried_change(&crowded(), true);
        let small = carried_change(&room(), false);
        let whole = format!("{BATCH_PREFIX}[{}]", change_to_wire(&large));
        let set = |name: &str| chunks_of_set(&whole, name).expect("chunks");
        let one = set("00000000000000a1");
        let count = one.len();
        // A lost connection: its reassembly, and the set it held, are gone; the next
        // connection drops the rest of that set, whose start it never saw.
        let mut first = Reassembly::default();
        for chunk in &one[..count / 2] {
            assert_eq!(first.accept(chunk.clone()), None);
        }
        assert_eq!(first.open_sets(), 1);
        let mut next = Reassembly::default();
        for chunk in &one[count / 2..] {
            assert_eq!(next.accept(chunk.clone()), None);
        }
        assert_eq!(next.open_sets(), 0);
        // A missing chunk drops its set; the payloads around it still come through.
        let mut gap = set("00000000000000b2");
        gap.remove(2);
        let plain = batch_payloads(std::slice::from_ref(&small));
        let mut payloads = plain.clone();
        payloads.extend(gap);
        payloads.extend(plain.clone());
        let mut chunks = Reassembly::default();
        let out: Vec<String> = payloads
            .into_iter()
            .filter_map(|p| chunks.accept(p))
            .collect();
        assert_eq!(out, [plain.clone(), plain].concat());
        assert_eq!(chunks.open_sets(), 0);
        assert_eq!(changes_of(&out), [small.clone(), small]);
        // Sets cut short pile up to the bound, the oldest dropped first.
        let mut held = Reassembly::default();
        for i in 0..MAX_OPEN_SETS + 3 {
            let cut = set(&format!("{i:016x}"));
            assert_eq!(held.accept(cut[0].clone()), None);
            assert!(held.open_sets() <= MAX_OPEN_SETS);
        }
        assert_eq!(held.open_sets(), MAX_OPEN_SETS);
        let oldest = set(&format!("{:016x}", 0));
        assert_eq!(held.accept(oldest[1].clone()), None);
        // A header this version cannot read, or one past the bounds, is dropped.
        for bad in [
            "k:".to_string(),
            "k:ab:1:1:x".to_string(),
            "k::0:1:x".to_string(),
            format!("k:ab:0:{}:x", MAX_CHUNKS + 1),
            "k:ab:x:2:x".to_string(),
        ] {
            assert_eq!(Reassembly::default().accept(bad.clone()), None, "{bad}");
        }
        // The whole set, in order, is read as its change.
        assert_eq!(reassembled(&set("00000000000000c3")), [large]);
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
