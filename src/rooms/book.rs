//! What the other live processes hold on each room, as their presence reports on the
//! change feed tell it: kept by the registry, which hands each live room its share. A
//! process whose heartbeat stops (or that leaves) is dropped at the next liveness check.

use std::collections::{BTreeSet, HashMap};

use crate::rules::Elsewhere;
use crate::store::feed::PresenceReport;
use crate::store::presence::Held;

/// Streams and names per room, per other process.
#[derive(Debug, Default)]
pub struct PresenceBook {
    /// This process, whose own streams its rooms count themselves.
    me: String,
    /// room → process → (streams, names).
    rooms: HashMap<String, HashMap<String, (i64, Vec<String>)>>,
}

impl PresenceBook {
    /// An empty book for the process `me`.
    pub fn new(me: String) -> PresenceBook {
        PresenceBook {
            me,
            rooms: HashMap::new(),
        }
    }

    fn set(&mut self, process: &str, code: &str, streams: i64, names: Vec<String>) {
        if streams > 0 {
            self.rooms
                .entry(code.to_string())
                .or_default()
                .insert(process.to_string(), (streams, names));
        } else if let Some(by_process) = self.rooms.get_mut(code) {
            by_process.remove(process);
            if by_process.is_empty() {
                self.rooms.remove(code);
            }
        }
    }

    /// Takes in a report; answers the rooms it changed (none for this process's own).
    pub fn report(&mut self, report: PresenceReport) -> Vec<String> {
        if report.process == self.me {
            return Vec::new();
        }
        let mut changed = Vec::new();
        for (code, streams, names) in report.rooms {
            self.set(&report.process, &code, streams, names);
            changed.push(code);
        }
        changed
    }

    /// Replaces the whole book with what the database holds; answers every room whose share
    /// changed.
    pub fn reload(&mut self, rows: Vec<Held>) -> Vec<String> {
        let old = std::mem::take(&mut self.rooms);
        for row in rows {
            if row.process != self.me {
                self.set(&row.process, &row.code, row.streams, row.names);
            }
        }
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for code in old.keys().chain(self.rooms.keys()) {
            if old.get(code) != self.rooms.get(code) {
                changed.insert(code.clone());
            }
        }
        changed.into_iter().collect()
    }

    /// Forgets every process not in `alive`; answers the rooms that changed.
    pub fn keep_only(&mut self, alive: &[String]) -> Vec<String> {
        let mut changed = Vec::new();
        self.rooms.retain(|code, by_process| {
            let before = by_process.len();
            by_process.retain(|process, _| alive.contains(process));
            if by_process.len() != before {
                changed.push(code.clone());
            }
            !by_process.is_empty()
        });
        changed
    }

    /// What the other processes hold on `code`.
    pub fn elsewhere(&self, code: &str) -> Elsewhere {
        let mut elsewhere = Elsewhere::default();
        for (streams, names) in self.rooms.get(code).into_iter().flat_map(|m| m.values()) {
            elsewhere.streams += streams;
            elsewhere.names.extend(names.iter().cloned());
        }
        elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(process: &str, rooms: &[(&str, i64, &[&str])]) -> PresenceReport {
        PresenceReport {
            process: process.into(),
            rooms: rooms
                .iter()
                .map(|(c, s, n)| (c.to_string(), *s, n.iter().map(|x| x.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn other_processes_add_up_and_this_one_is_left_to_its_rooms() {
        let mut book = PresenceBook::new("me".into());
        assert!(book.report(report("me", &[("r1", 5, &["Me"])])).is_empty());
        book.report(report("a", &[("r1", 2, &["Ann"])]));
        book.report(report("b", &[("r1", 1, &["Bob", "Ann"]), ("r2", 1, &[])]));
        let r1 = book.elsewhere("r1");
        assert_eq!(r1.streams, 3);
        assert_eq!(r1.names.into_iter().collect::<Vec<_>>(), ["Ann", "Bob"]);
        book.report(report("a", &[("r1", 0, &[])]));
        assert_eq!(book.elsewhere("r1").streams, 1);
        let mut changed = book.keep_only(&["a".into()]);
        changed.sort();
        assert_eq!(changed, ["r1", "r2"]);
        assert_eq!(book.elsewhere("r1"), Elsewhere::default());
    }

    #[test]
    fn a_reload_replaces_the_book_and_names_what_moved() {
        let mut book = PresenceBook::new("me".into());
        book.report(report("a", &[("r1", 2, &["Ann"]), ("r2", 1, &[])]));
        let held = |process: &str, code: &str, streams| Held {
            process: process.into(),
            code: code.into(),
            streams,
            names: Vec::new(),
        };
        let changed = book.reload(vec![
            held("a", "r2", 1),
            held("me", "r3", 4),
            held("b", "r4", 1),
        ]);
        assert_eq!(changed, ["r1", "r4"]);
        assert_eq!(book.elsewhere("r3"), Elsewhere::default());
        assert_eq!(book.elsewhere("r4").streams, 1);
    }
}
