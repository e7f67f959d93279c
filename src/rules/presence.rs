//! Who is here: a live room's open streams in this process (each named by its person or
//! anonymous), what the other processes report of theirs, and when the next `presence`
//! event may go. The room's `here` is the sorted distinct names over every process, its
//! `watching` every stream over every process; a change is told at most once every
//! [`PRESENCE_EVERY`], carrying the latest values.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::notice::PresenceView;

/// The least time between two `presence` events of one room.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(1);

/// What the other live processes hold on a room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elsewhere {
    /// Their open streams, named or not.
    pub streams: i64,
    /// The distinct names of their named streams.
    pub names: BTreeSet<String>,
}

/// A live room's presence, as its machine keeps it.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// Open streams in this process.
    streams: usize,
    /// Open named streams in this process, by name.
    named: BTreeMap<String, usize>,
    /// What the other processes hold.
    elsewhere: Elsewhere,
    /// What the latest `presence` event told (at first: nobody).
    told: PresenceView,
    /// When the latest `presence` event went (monotonic); `None` before the first.
    told_at: Option<Duration>,
    /// A stream was greeted with a view the latest event did not tell: the next event is
    /// owed to it even if the view goes back to the told one before then (it would
    /// otherwise keep its greeting's view).
    owed: bool,
}

impl Presence {
    /// No stream anywhere yet; nothing to tell.
    pub fn new() -> Presence {
        Presence::default()
    }

    /// Streams open in this process.
    pub fn streams(&self) -> usize {
        self.streams
    }

    /// The distinct names of this process's named streams, sorted.
    pub fn names_here(&self) -> Vec<String> {
        self.named.keys().cloned().collect()
    }

    /// A stream opened, named `name` or anonymous; its greeting tells it [`Self::view`].
    pub fn opened(&mut self, name: Option<&str>) {
        self.streams += 1;
        if let Some(name) = name {
            *self.named.entry(name.to_string()).or_default() += 1;
        }
        if self.view() != self.told {
            self.owed = true;
        }
    }

    /// Streams ended, each with the name it opened with.
    pub fn closed(&mut self, names: &[Option<String>]) {
        self.streams = self.streams.saturating_sub(names.len());
        for name in names.iter().flatten() {
            if let Some(count) = self.named.get_mut(name) {
                *count -= 1;
                if *count == 0 {
                    self.named.remove(name);
                }
            }
        }
    }

    /// Every stream of this process ended at once (the room ended).
    pub fn clear_here(&mut self) {
        self.streams = 0;
        self.named.clear();
    }

    /// The other processes now hold `elsewhere`.
    pub fn set_elsewhere(&mut self, elsewhere: Elsewhere) {
        self.elsewhere = elsewhere;
    }

    /// Who is here now, over every process.
    pub fn view(&self) -> PresenceView {
        let mut here: BTreeSet<&String> = self.named.keys().collect();
        here.extend(self.elsewhere.names.iter());
        PresenceView {
            here: here.into_iter().cloned().collect(),
            watching: i64::try_from(self.streams)
                .unwrap_or(i64::MAX)
                .saturating_add(self.elsewhere.streams.max(0)),
        }
    }

    /// When the next `presence` event may go: `None` while the latest one told the
    /// present view and no stream was greeted with another since.
    pub fn due(&self) -> Option<Duration> {
        if self.told == self.view() && !self.owed {
            return None;
        }
        Some(
            self.told_at
                .map_or(Duration::ZERO, |at| at + PRESENCE_EVERY),
        )
    }

    /// The view to tell at `now`, if it changed since the latest event and that event is
    /// at least [`PRESENCE_EVERY`] old; it counts as told from now on.
    pub fn take(&mut self, now: Duration) -> Option<PresenceView> {
        let due = self.due()?;
        if now < due {
            return None;
        }
        let view = self.view();
        self.told = view.clone();
        self.told_at = Some(now);
        self.owed = false;
        Some(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn here_is_the_sorted_distinct_names_and_watching_every_stream() {
        let mut p = Presence::new();
        p.opened(Some("Bob"));
        p.opened(Some("Ann"));
        p.opened(Some("Bob"));
        p.opened(None);
        p.set_elsewhere(Elsewhere {
            streams: 2,
            names: ["Cy".to_string(), "Ann".to_string()].into(),
        });
        assert_eq!(
            p.view(),
            PresenceView {
                here: vec!["Ann".into(), "Bob".into(), "Cy".into()],
                watching: 6
            }
        );
        p.closed(&[Some("Bob".into()), None]);
        assert_eq!(p.view().here, ["Ann", "Bob", "Cy"]);
        p.closed(&[Some("Bob".into())]);
        assert_eq!(p.view().here, ["Ann", "Cy"]);
        assert_eq!(p.view().watching, 3);
        assert_eq!(p.names_here(), ["Ann"]);
    }

    #[test]
    fn a_change_is_told_at_once_then_at_most_once_a_second_with_the_latest_view() {
        let mut p = Presence::new();
        assert_eq!(p.due(), None, "nothing changed since the load");
        p.opened(Some("Ann"));
        let first = p.take(secs(5_000)).expect("told at once");
        assert_eq!(first.watching, 1);
        p.opened(None);
        p.opened(Some("Bob"));
        assert_eq!(p.due(), Some(secs(6_000)));
        assert_eq!(p.take(secs(5_400)), None, "within the second");
        let second = p.take(secs(6_000)).expect("a second later");
        assert_eq!((second.here.len(), second.watching), (2, 3));
        assert_eq!(p.take(secs(9_000)), None, "nothing new");
    }

    #[test]
    fn a_reconnect_within_the_second_tells_nothing() {
        let mut p = Presence::new();
        p.opened(None);
        p.take(secs(1_000)).expect("told");
        // The stream drops and comes back: its greeting tells what everyone was told.
        p.closed(&[None]);
        p.opened(None);
        assert_eq!(p.due(), None);
    }

    #[test]
    fn a_stream_greeted_with_a_view_undone_within_the_second_is_told_the_latest() {
        let mut p = Presence::new();
        p.opened(None);
        p.opened(None);
        p.take(secs(1_000)).expect("told: 2 watching");
        // A page reopens its stream: the new one is greeted (3 watching) before the old
        // one's end is seen. Back at 2, the newcomer would keep its 3 without an event.
        p.opened(None);
        assert_eq!(p.view().watching, 3);
        p.closed(&[None]);
        assert_eq!(p.due(), Some(secs(2_000)));
        assert_eq!(p.take(secs(2_000)).map(|v| v.watching), Some(2));
        assert_eq!(p.due(), None);
    }
}
