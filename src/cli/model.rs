//! The watched room as the terminal client knows it, and what it shows at a given local
//! time: a pure value fed with stream events and the local monotonic clock (ms).
//!
//! Between events a running countdown is computed from the last snapshot: the server's
//! clock is taken as `serverTime` plus the local time elapsed since the snapshot arrived,
//! so the remaining time is `deadlineAt` minus that. Each `remaining-time` tick (sent by
//! the server at `deadlineAt − v`) re-anchors it. The second shown is the remaining time
//! rounded up, as the pages show it.
//!
//! A `timer: stop` ends a turn (or a break) either because the countdown ran out (the
//! final `remaining-time: 0` came just before it) or because someone asked for the next
//! turn (`next`, which sends no final tick). Only the first rings the bell.

use super::events::{Goal, Phase, Presence, ServerEvent, Snapshot, TimerChange, TimerState};

/// How long a notice (a refused command, a swap, a time-up) stays on screen.
pub const NOTICE_MS: u64 = 6_000;

/// A `timer: stop` that finds a running countdown with less than this left (by the local
/// reckoning) is the countdown running out, even if its final tick was not seen.
const RAN_OUT_MS: i64 = 1_000;

/// Why a turn (or a break) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TurnEnd {
    /// The countdown reached 0.
    TimeUp,
    /// Someone asked for the next turn.
    Next,
}

/// The countdown between two events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Countdown {
    /// Nothing heard yet.
    Unknown,
    /// Not moving: this many ms left.
    Still(i64),
    /// Moving: `remaining` ms left at local time `at`.
    Running { remaining: i64, at: u64 },
}

/// The state of the link to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The stream is open.
    Connected,
    /// The stream was lost; the next attempt is at local time `at` (`None`: under way).
    Reconnecting {
        /// When the next attempt starts.
        at: Option<u64>,
        /// Why the last stream or attempt failed.
        reason: String,
    },
}

/// What happened that the screen alone cannot say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A countdown reached 0: ring the bell.
    Bell,
    /// The room was deleted.
    Deleted,
}

/// A line of text that disappears at a local time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    text: String,
    until: u64,
}

/// The watched room.
#[derive(Debug, Clone)]
pub struct Model {
    code: String,
    snapshot: Option<Snapshot>,
    countdown: Countdown,
    link: Link,
    notice: Option<Notice>,
    /// A timer change was announced and its `state` has not arrived yet: the countdown
    /// holds still until it does.
    settling: bool,
    /// A turn's (or a break's) end was announced and its `state` has not arrived yet.
    turn_end: Option<TurnEnd>,
    /// The latest `remaining-time` was 0: a `timer: stop` now is a time-up.
    at_zero: bool,
    /// Who is here, as last told (by a snapshot or a `presence` event).
    presence: Option<Presence>,
    /// The room's goals, once a `todos` event has told them.
    goals: Option<Vec<Goal>>,
}

/// Everything the screen shows, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The room's access code.
    pub room: String,
    /// Who types (empty until the first snapshot).
    pub driver: String,
    /// Who guides (empty until the first snapshot).
    pub navigator: String,
    /// Who waits for a turn after them, in order.
    pub waiting: Vec<String>,
    /// The names of those here (named streams), sorted.
    pub here: Vec<String>,
    /// How many streams watch the room (`None` when the server does not say).
    pub watching: Option<u64>,
    /// The goals not done yet, in the room's order.
    pub open_goals: Vec<String>,
    /// How many goals the room has, done or not.
    pub goals: usize,
    /// The countdown as `mm:ss` (`--:--` until known).
    pub clock: String,
    /// idle, running or paused (empty until known).
    pub state: &'static str,
    /// turn or break (empty until known).
    pub phase: &'static str,
    /// The room's round, as the server counts it.
    pub round: Option<u64>,
    /// Whether the stream is open.
    pub connected: bool,
    /// The link, in words.
    pub link: String,
    /// A passing message, if any.
    pub notice: Option<String>,
    /// What space does now: `start` or `pause`.
    pub space: &'static str,
}

/// `ms` as the pages show it: whole seconds rounded up, as `mm:ss` (minutes go past 59).
pub fn clock(ms: i64) -> String {
    let seconds = (ms.max(0) + 999) / 1000;
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

/// Whole seconds from `now` until `at`, rounded up.
fn seconds_until(at: u64, now: u64) -> u64 {
    at.saturating_sub(now).div_ceil(1000)
}

/// `names` as a person lists them: "Ann", "Ann and Bob", "Ann, Bob and Cy".
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What changed between the turn order `before` and the room `next`, in words, when a
/// member change or a swap (not a turn's end) changed it.
fn order_notice(before: &[String], next: &Snapshot) -> Option<String> {
    let after = next.order();
    if before == after.as_slice() {
        return None;
    }
    let roles = format!("{} drives, {} navigates.", next.driver, next.navigator);
    let mut rotated = before.to_vec();
    rotated.rotate_left(1);
    if rotated == after {
        return Some(if after.len() == 2 {
            format!("Roles swapped: {roles}")
        } else {
            format!("Roles rotated: {roles}")
        });
    }
    let joined: Vec<&str> = after
        .iter()
        .filter(|n| !before.contains(n))
        .map(String::as_str)
        .collect();
    let left: Vec<&str> = before
        .iter()
        .filter(|n| !after.contains(n))
        .map(String::as_str)
        .collect();
    let mut what = Vec::new();
    if !joined.is_empty() {
        what.push(format!("{} joined", listed(&joined)));
    }
    if !left.is_empty() {
        what.push(format!("{} left", listed(&left)));
    }
    let what = if what.is_empty() {
        "The order changed".to_string()
    } else {
        what.join(", ")
    };
    let same_roles = before.first() == Some(&next.driver) && before.get(1) == Some(&next.navigator);
    Some(if same_roles {
        format!("{what}.")
    } else {
        format!("{what}. {roles}")
    })
}

impl Model {
    /// A room about to be watched, its stream open.
    pub fn new(code: &str) -> Model {
        Model {
            code: code.to_string(),
            snapshot: None,
            countdown: Countdown::Unknown,
            link: Link::Connected,
            notice: None,
            settling: false,
            turn_end: None,
            at_zero: false,
            presence: None,
            goals: None,
        }
    }

    /// The latest snapshot, if any arrived.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Takes in one event of the stream, received at local time `now`.
    pub fn apply(&mut self, event: ServerEvent, now: u64) -> Option<Effect> {
        match event {
            ServerEvent::Retry(_) => None,
            ServerEvent::Connected => {
                self.link = Link::Connected;
                None
            }
            ServerEvent::Remaining(ms) => {
                self.at_zero = ms <= 0;
                let running = !self.settling
                    && self
                        .snapshot
                        .as_ref()
                        .is_some_and(|s| s.state == TimerState::Running);
                self.countdown = if running {
                    Countdown::Running {
                        remaining: ms,
                        at: now,
                    }
                } else {
                    Countdown::Still(ms)
                };
                None
            }
            ServerEvent::Timer(change) => {
                let ran_out = self.at_zero
                    || (!self.settling
                        && self
                            .snapshot
                            .as_ref()
                            .is_some_and(|s| s.state == TimerState::Running)
                        && self.remaining_ms(now).is_some_and(|ms| ms < RAN_OUT_MS));
                if !matches!(change, TimerChange::Start | TimerChange::Other(_)) {
                    // Hold the countdown where it is until the new state arrives.
                    if let Some(ms) = self.remaining_ms(now) {
                        self.countdown = Countdown::Still(ms);
                    }
                    self.settling = true;
                }
                if change == TimerChange::TimeUp {
                    if ran_out {
                        self.turn_end = Some(TurnEnd::TimeUp);
                        return Some(Effect::Bell);
                    }
                    self.turn_end = Some(TurnEnd::Next);
                }
                None
            }
            ServerEvent::State(next) => {
                self.on_state(*next, now);
                None
            }
            ServerEvent::Presence(presence) => {
                self.presence = Some(presence);
                None
            }
            ServerEvent::Goals(goals) => {
                self.goals = Some(goals);
                None
            }
            ServerEvent::Closed => Some(Effect::Deleted),
        }
    }

    fn on_state(&mut self, next: Snapshot, now: u64) {
        let remaining = next.remaining_at_server_time();
        self.countdown = if next.state == TimerState::Running && next.deadline_at.is_some() {
            Countdown::Running { remaining, at: now }
        } else {
            Countdown::Still(remaining)
        };
        let was = self.snapshot.as_ref().map(|prev| prev.phase);
        let roles = |when: &str| {
            format!(
                "{} drives{when}, {} navigates.",
                next.driver, next.navigator
            )
        };
        let notice = match self.turn_end {
            Some(_) if was == Some(Phase::Break) => {
                Some(format!("The break is over. {}", roles(" now")))
            }
            _ if next.phase == Phase::Break && was == Some(Phase::Turn) => {
                Some(format!("Time for a break. Then {}", roles("")))
            }
            Some(TurnEnd::TimeUp) => Some(format!("Time is up! {}", roles(" now"))),
            Some(TurnEnd::Next) => Some(format!("Next turn: {}", roles(" now"))),
            None => self
                .snapshot
                .as_ref()
                .and_then(|prev| order_notice(&prev.order(), &next)),
        };
        if let Some(text) = notice {
            self.say(text, now);
        }
        if let Some(presence) = next.presence() {
            self.presence = Some(presence);
        }
        self.settling = false;
        self.turn_end = None;
        self.snapshot = Some(next);
    }

    /// The stream was lost (or an attempt failed) for `reason`; the next attempt is at
    /// local time `retry_at`.
    /// A running countdown keeps counting toward the deadline it knows meanwhile.
    pub fn lost(&mut self, reason: &str, retry_at: u64) {
        self.link = Link::Reconnecting {
            at: Some(retry_at),
            reason: reason.to_string(),
        };
    }

    /// A new attempt to open the stream is under way.
    pub fn reconnecting(&mut self) {
        if let Link::Reconnecting { at, .. } = &mut self.link {
            *at = None;
        }
    }

    /// Shows `text` for [`NOTICE_MS`].
    pub fn say(&mut self, text: String, now: u64) {
        self.notice = Some(Notice {
            text,
            until: now + NOTICE_MS,
        });
    }

    /// The ms left at local time `now`, if known.
    pub fn remaining_ms(&self, now: u64) -> Option<i64> {
        match self.countdown {
            Countdown::Unknown => None,
            Countdown::Still(ms) => Some(ms.max(0)),
            Countdown::Running { remaining, at } => {
                let elapsed = i64::try_from(now.saturating_sub(at)).unwrap_or(i64::MAX);
                Some(remaining.saturating_sub(elapsed).max(0))
            }
        }
    }

    /// The next local time at which [`Model::view`] may change by itself (the countdown's
    /// second, the reconnect countdown, a notice's end), if any.
    pub fn next_change(&self, now: u64) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut consider = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
        if let (Countdown::Running { .. }, Some(ms)) = (self.countdown, self.remaining_ms(now)) {
            if ms > 0 {
                // The shown second drops when the remaining time reaches the next lower
                // multiple of 1000.
                let into_second = ms - (ms + 999) / 1000 * 1000 + 1000;
                consider(now + u64::try_from(into_second).unwrap_or(1000));
            }
        }
        if let Link::Reconnecting { at: Some(at), .. } = self.link {
            if at > now {
                let ms = at - now;
                consider(now + ((ms - 1) % 1000) + 1);
            }
        }
        if let Some(notice) = &self.notice {
            if notice.until > now {
                consider(notice.until);
            }
        }
        next
    }

    /// What the screen shows at local time `now`.
    pub fn view(&self, now: u64) -> View {
        let snapshot = self.snapshot.as_ref();
        let link = match &self.link {
            Link::Connected => "connected".to_string(),
            Link::Reconnecting {
                at: Some(at),
                reason,
            } => format!(
                "reconnecting in {}s ({reason})",
                seconds_until(*at, now).max(1)
            ),
            Link::Reconnecting { at: None, reason } => format!("reconnecting… ({reason})"),
        };
        let goals = self.goals.as_deref().unwrap_or_default();
        View {
            room: self.code.clone(),
            driver: snapshot.map(|s| s.driver.clone()).unwrap_or_default(),
            navigator: snapshot.map(|s| s.navigator.clone()).unwrap_or_default(),
            waiting: snapshot.map(|s| s.waiting().to_vec()).unwrap_or_default(),
            here: self
                .presence
                .as_ref()
                .map(|p| p.here.clone())
                .unwrap_or_default(),
            watching: self.presence.as_ref().map(|p| p.watching),
            open_goals: goals
                .iter()
                .filter(|g| !g.is_checked)
                .map(|g| g.content.clone())
                .collect(),
            goals: goals.len(),
            clock: self
                .remaining_ms(now)
                .map_or_else(|| "--:--".to_string(), clock),
            state: snapshot.map_or("", |s| s.state.as_str()),
            phase: snapshot.map_or("", |s| s.phase.as_str()),
            round: snapshot.map(|s| s.round),
            connected: self.link == Link::Connected,
            link,
            notice: self
                .notice
                .as_ref()
                .filter(|n| n.until > now)
                .map(|n| n.text.clone()),
            space: match snapshot.map(|s| s.state) {
                Some(TimerState::Running) => "pause",
                _ => "start",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::events::Phase;

    fn snapshot(state: TimerState, remaining: i64) -> Snapshot {
        let server_time = 1_700_000_000_000;
        Snapshot {
            state,
            duration: 300_000,
            remaining_time: remaining,
            deadline_at: (state == TimerState::Running).then_some(server_time + remaining),
            server_time,
            round: 3,
            phase: Phase::Turn,
            navigator: "Ann".into(),
            driver: "Bob".into(),
            members: vec![],
            here: vec![],
            watching: None,
        }
    }

    fn state(state: TimerState, remaining: i64) -> ServerEvent {
        ServerEvent::State(Box::new(snapshot(state, remaining)))
    }

    fn watching(s: TimerState, remaining: i64, now: u64) -> Model {
        let mut m = Model::new("room1234");
        m.apply(ServerEvent::Connected, now);
        m.apply(ServerEvent::Remaining(remaining), now);
        m.apply(state(s, remaining), now);
        m
    }

    #[test]
    fn clock_rounds_up_to_whole_seconds() {
        assert_eq!(clock(300_000), "05:00");
        assert_eq!(clock(299_001), "05:00");
        assert_eq!(clock(299_000), "04:59");
        assert_eq!(clock(1), "00:01");
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(-5), "00:00");
        assert_eq!(clock(90 * 60_000), "90:00");
    }

    #[test]
    fn an_idle_room_shows_names_full_duration_state_phase_and_round() {
        let v = watching(TimerState::Idle, 300_000, 10).view(5_000);
        assert_eq!((v.driver.as_str(), v.navigator.as_str()), ("Bob", "Ann"));
        assert_eq!(v.clock, "05:00");
        assert_eq!((v.state, v.phase, v.round), ("idle", "turn", Some(3)));
        assert!(v.connected);
        assert_eq!(v.link, "connected");
        assert_eq!(v.space, "start");
    }

    #[test]
    fn a_running_countdown_moves_with_the_local_clock_from_the_deadline() {
        // deadlineAt − serverTime = 10 000 ms when the snapshot arrives at local 1 000.
        let m = watching(TimerState::Running, 10_000, 1_000);
        assert_eq!(m.view(1_000).clock, "00:10");
        assert_eq!(m.view(1_999).clock, "00:10");
        assert_eq!(m.view(2_000).clock, "00:09");
        assert_eq!(m.view(10_999).clock, "00:01");
        assert_eq!(m.view(11_000).clock, "00:00");
        assert_eq!(m.view(60_000).clock, "00:00");
        assert_eq!(m.view(1_000).space, "pause");
    }

    #[test]
    fn the_deadline_not_the_rounded_remaining_time_sets_the_countdown() {
        let mut m = Model::new("room1234");
        let mut s = snapshot(TimerState::Running, 10_000);
        s.remaining_time = 9_000; // stale field; the deadline says 10 000
        m.apply(ServerEvent::State(Box::new(s)), 0);
        assert_eq!(m.view(500).clock, "00:10");
    }

    #[test]
    fn a_tick_re_anchors_the_countdown() {
        let mut m = watching(TimerState::Running, 10_000, 0);
        // The local clock ran slow: the tick for 7 s arrives at local 2 500.
        m.apply(ServerEvent::Remaining(7_000), 2_500);
        assert_eq!(m.view(2_500).clock, "00:07");
        assert_eq!(m.view(3_499).clock, "00:07");
        assert_eq!(m.view(3_500).clock, "00:06");
    }

    #[test]
    fn a_paused_countdown_holds_still() {
        let m = watching(TimerState::Paused, 123_456, 0);
        assert_eq!(m.view(0).clock, "02:04");
        assert_eq!(m.view(50_000).clock, "02:04");
        assert_eq!(m.next_change(50_000), None);
        assert_eq!(m.view(0).state, "paused");
    }

    #[test]
    fn a_pause_freezes_the_countdown_until_its_state_arrives() {
        let mut m = watching(TimerState::Running, 10_000, 0);
        assert_eq!(m.apply(ServerEvent::Timer(TimerChange::Pause), 3_200), None);
        assert_eq!(m.view(9_000).clock, "00:07");
        m.apply(ServerEvent::Remaining(6_790), 3_210);
        m.apply(state(TimerState::Paused, 6_790), 3_220);
        assert_eq!(m.view(20_000).clock, "00:07");
        assert_eq!(m.view(20_000).state, "paused");
    }

    #[test]
    fn time_up_rings_once_and_shows_the_swapped_roles_at_full_duration() {
        let mut m = watching(TimerState::Running, 2_000, 0);
        m.apply(ServerEvent::Remaining(0), 2_000);
        assert_eq!(
            m.apply(ServerEvent::Timer(TimerChange::TimeUp), 2_001),
            Some(Effect::Bell)
        );
        // The full duration arrives before the idle state: it must not count down.
        m.apply(ServerEvent::Remaining(300_000), 2_002);
        assert_eq!(m.view(2_900).clock, "05:00");
        let mut idle = snapshot(TimerState::Idle, 300_000);
        idle.round = 4;
        std::mem::swap(&mut idle.driver, &mut idle.navigator);
        assert_eq!(m.apply(ServerEvent::State(Box::new(idle)), 2_003), None);
        let v = m.view(3_000);
        assert_eq!(
            (v.clock.as_str(), v.state, v.round),
            ("05:00", "idle", Some(4))
        );
        assert_eq!((v.driver.as_str(), v.navigator.as_str()), ("Ann", "Bob"));
        assert_eq!(
            v.notice.as_deref(),
            Some("Time is up! Ann drives now, Bob navigates.")
        );
    }

    #[test]
    fn a_break_shows_its_phase_and_counts_down() {
        let mut m = watching(TimerState::Idle, 300_000, 0);
        m.apply(ServerEvent::Timer(TimerChange::Break), 10);
        m.apply(ServerEvent::Remaining(60_000), 10);
        assert_eq!(m.view(500).clock, "01:00");
        let mut brk = snapshot(TimerState::Running, 60_000);
        brk.phase = Phase::Break;
        m.apply(ServerEvent::State(Box::new(brk)), 20);
        let v = m.view(1_020);
        assert_eq!(
            (v.phase, v.state, v.clock.as_str()),
            ("break", "running", "00:59")
        );
        assert_eq!(
            v.notice.as_deref(),
            Some("Time for a break. Then Bob drives, Ann navigates.")
        );
        // Its end rings the bell and says so, not that roles swap.
        assert_eq!(
            m.apply(ServerEvent::Timer(TimerChange::TimeUp), 60_020),
            Some(Effect::Bell)
        );
        m.apply(
            ServerEvent::State(Box::new(snapshot(TimerState::Idle, 300_000))),
            60_030,
        );
        let v = m.view(60_040);
        assert_eq!((v.phase, v.state), ("turn", "idle"));
        assert_eq!(
            v.notice.as_deref(),
            Some("The break is over. Bob drives now, Ann navigates.")
        );
    }

    #[test]
    fn a_swap_is_announced_for_a_while() {
        let mut m = watching(TimerState::Idle, 300_000, 0);
        let mut swapped = snapshot(TimerState::Idle, 300_000);
        std::mem::swap(&mut swapped.driver, &mut swapped.navigator);
        m.apply(ServerEvent::State(Box::new(swapped)), 1_000);
        assert_eq!(
            m.view(1_000).notice.as_deref(),
            Some("Roles swapped: Ann drives, Bob navigates.")
        );
        assert_eq!(m.next_change(1_000), Some(1_000 + NOTICE_MS));
        assert_eq!(m.view(1_000 + NOTICE_MS).notice, None);
    }

    #[test]
    fn deletion_is_reported() {
        let mut m = watching(TimerState::Idle, 300_000, 0);
        assert_eq!(m.apply(ServerEvent::Closed, 5), Some(Effect::Deleted));
    }

    #[test]
    fn a_lost_stream_says_when_it_reconnects_and_keeps_counting() {
        let mut m = watching(TimerState::Running, 10_000, 0);
        m.lost("the server closed the stream", 3_000);
        let v = m.view(1_000);
        assert!(!v.connected);
        assert_eq!(v.link, "reconnecting in 2s (the server closed the stream)");
        assert_eq!(v.clock, "00:09");
        assert_eq!(
            m.view(2_500).link,
            "reconnecting in 1s (the server closed the stream)"
        );
        m.reconnecting();
        assert_eq!(
            m.view(3_000).link,
            "reconnecting… (the server closed the stream)"
        );
        m.apply(ServerEvent::Connected, 3_100);
        assert!(m.view(3_100).connected);
    }

    #[test]
    fn the_next_change_is_the_next_second_boundary() {
        let m = watching(TimerState::Running, 10_000, 0);
        assert_eq!(m.next_change(0), Some(1_000));
        assert_eq!(m.next_change(1), Some(1_000));
        assert_eq!(m.next_change(999), Some(1_000));
        assert_eq!(m.next_change(1_000), Some(2_000));
        assert_eq!(m.next_change(10_000), None);
        let idle = watching(TimerState::Idle, 300_000, 0);
        assert_eq!(idle.next_change(0), None);
    }

    /// A team of `names` (the first drives), idle at 5 minutes in round 3.
    fn team(names: &[&str]) -> Snapshot {
        let mut s = snapshot(TimerState::Idle, 300_000);
        s.members = names.iter().map(|n| n.to_string()).collect();
        s.driver = names[0].into();
        s.navigator = names[1].into();
        s
    }

    fn watching_team(names: &[&str]) -> Model {
        let mut m = Model::new("room1234");
        m.apply(ServerEvent::Connected, 0);
        m.apply(ServerEvent::State(Box::new(team(names))), 0);
        m
    }

    #[test]
    fn a_team_shows_who_waits_in_order() {
        let v = watching_team(&["Ann", "Bob", "Cy", "Dee"]).view(0);
        assert_eq!((v.driver.as_str(), v.navigator.as_str()), ("Ann", "Bob"));
        assert_eq!(v.waiting, ["Cy", "Dee"]);
        let pair = watching(TimerState::Idle, 300_000, 0).view(0);
        assert!(pair.waiting.is_empty());
    }

    #[test]
    fn next_rotates_the_order_without_the_bell() {
        let mut m = watching_team(&["Ann", "Bob", "Cy"]);
        let mut running = team(&["Ann", "Bob", "Cy"]);
        running.state = TimerState::Running;
        running.deadline_at = Some(running.server_time + 300_000);
        m.apply(ServerEvent::State(Box::new(running)), 1_000);
        m.apply(ServerEvent::Remaining(290_000), 11_000);
        // `next` 20 s into the turn: no final tick, and time was left.
        assert_eq!(
            m.apply(ServerEvent::Timer(TimerChange::TimeUp), 21_000),
            None
        );
        m.apply(ServerEvent::Remaining(300_000), 21_001);
        let mut rotated = team(&["Bob", "Cy", "Ann"]);
        rotated.round = 4;
        m.apply(ServerEvent::State(Box::new(rotated)), 21_002);
        let v = m.view(21_100);
        assert_eq!(
            (v.driver.as_str(), v.navigator.as_str(), v.round),
            ("Bob", "Cy", Some(4))
        );
        assert_eq!(v.waiting, ["Ann"]);
        assert_eq!(
            v.notice.as_deref(),
            Some("Next turn: Bob drives now, Cy navigates.")
        );
        assert_eq!((v.clock.as_str(), v.state), ("05:00", "idle"));
    }

    #[test]
    fn next_on_an_idle_turn_is_no_time_up_either() {
        let mut m = watching_team(&["Ann", "Bob"]);
        assert_eq!(m.apply(ServerEvent::Timer(TimerChange::TimeUp), 500), None);
        m.apply(ServerEvent::State(Box::new(team(&["Bob", "Ann"]))), 501);
        assert_eq!(
            m.view(600).notice.as_deref(),
            Some("Next turn: Bob drives now, Ann navigates.")
        );
    }

    #[test]
    fn a_countdown_that_ran_out_is_a_time_up_even_without_its_final_tick() {
        let mut m = watching(TimerState::Running, 2_000, 0);
        assert_eq!(
            m.apply(ServerEvent::Timer(TimerChange::TimeUp), 1_950),
            Some(Effect::Bell)
        );
    }

    #[test]
    fn member_changes_are_told_in_words() {
        let mut m = watching_team(&["Ann", "Bob", "Cy"]);
        let mut at = 0;
        let mut next = |m: &mut Model, names: &[&str]| {
            at += 100;
            m.apply(ServerEvent::State(Box::new(team(names))), at);
            m.view(at).notice
        };
        assert_eq!(
            next(&mut m, &["Bob", "Cy", "Ann"]).as_deref(),
            Some("Roles rotated: Bob drives, Cy navigates.")
        );
        assert_eq!(
            next(&mut m, &["Bob", "Cy", "Ann", "Dee"]).as_deref(),
            Some("Dee joined.")
        );
        assert_eq!(
            next(&mut m, &["Cy", "Ann", "Dee"]).as_deref(),
            Some("Bob left. Cy drives, Ann navigates.")
        );
        assert_eq!(
            next(&mut m, &["Cy", "Ann", "Eve", "Fay", "Dee"]).as_deref(),
            Some("Eve and Fay joined.")
        );
        assert_eq!(
            next(&mut m, &["Cy", "Ann", "Dee", "Fay", "Eve"]).as_deref(),
            Some("The order changed.")
        );
        assert_eq!(
            next(&mut m, &["Gus", "Ann", "Dee", "Fay", "Eve"]).as_deref(),
            Some("Gus joined, Cy left. Gus drives, Ann navigates.")
        );
    }

    #[test]
    fn the_same_order_again_says_nothing() {
        let mut m = watching_team(&["Ann", "Bob", "Cy"]);
        m.apply(
            ServerEvent::State(Box::new(team(&["Ann", "Bob", "Cy"]))),
            10,
        );
        assert_eq!(m.view(20).notice, None);
    }

    #[test]
    fn presence_comes_from_the_snapshot_then_from_presence_events() {
        let mut m = Model::new("room1234");
        let v = m.view(0);
        assert_eq!((v.here.len(), v.watching), (0, None));
        let mut s = team(&["Ann", "Bob"]);
        s.here = vec!["Ann".into()];
        s.watching = Some(2);
        m.apply(ServerEvent::State(Box::new(s.clone())), 0);
        let v = m.view(0);
        assert_eq!(
            (v.here.as_slice(), v.watching),
            (&["Ann".to_string()][..], Some(2))
        );
        m.apply(
            ServerEvent::Presence(Presence {
                here: vec!["Ann".into(), "Bob".into()],
                watching: 3,
            }),
            10,
        );
        let v = m.view(10);
        assert_eq!(v.here, ["Ann", "Bob"]);
        assert_eq!(v.watching, Some(3));
        // A later snapshot tells the latest too.
        s.here = vec![];
        s.watching = Some(1);
        m.apply(ServerEvent::State(Box::new(s)), 20);
        let v = m.view(20);
        assert_eq!((v.here.len(), v.watching), (0, Some(1)));
    }

    #[test]
    fn a_snapshot_that_tells_no_presence_keeps_the_last_one_told() {
        let mut m = watching(TimerState::Idle, 300_000, 0);
        m.apply(
            ServerEvent::Presence(Presence {
                here: vec!["Ann".into()],
                watching: 2,
            }),
            5,
        );
        m.apply(state(TimerState::Idle, 300_000), 6);
        assert_eq!(m.view(7).watching, Some(2));
    }

    #[test]
    fn goals_show_the_open_ones_in_order_once_told() {
        let mut m = watching(TimerState::Idle, 300_000, 0);
        assert_eq!((m.view(0).goals, m.view(0).open_goals.len()), (0, 0));
        let goal = |id, content: &str, done, order| Goal {
            id,
            content: content.into(),
            is_checked: done,
            order,
        };
        m.apply(
            ServerEvent::Goals(vec![
                goal(5, "Write the parser", true, 0),
                goal(2, "Fix the test", false, 1),
                goal(9, "Ship it", false, 2),
            ]),
            10,
        );
        let v = m.view(10);
        assert_eq!(v.goals, 3);
        assert_eq!(v.open_goals, ["Fix the test", "Ship it"]);
        m.apply(ServerEvent::Goals(vec![]), 20);
        assert_eq!((m.view(20).goals, m.view(20).open_goals.len()), (0, 0));
    }

    #[test]
    fn before_any_snapshot_nothing_is_made_up() {
        let v = Model::new("room1234").view(0);
        assert_eq!(v.clock, "--:--");
        assert_eq!((v.state, v.phase, v.round), ("", "", None));
        assert_eq!(v.room, "room1234");
    }
}
