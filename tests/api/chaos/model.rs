//! What the chaos test expects of a room: the room as its acknowledged commands made it,
//! with the uncertainty that time leaves. A command is committed at some instant between
//! its sending and its answer, and a running timer's time-up happens at its deadline (no
//! earlier, and in a process killed at that moment, somewhat later); so the model holds
//! a room as a set of candidates, each a state the contract allows, and narrows it to the
//! one state it reads back after every command.

use serde_json::Value;

/// The test process and the servers read one clock; what they say of an instant may
/// differ by the rounding of an epoch millisecond, and a little more.
pub const CLOCK_TOLERANCE_MS: i64 = 2;

/// How late a time-up may be written when the processes that hold the room are killed at
/// its deadline: another process loads every running room it does not hold within 5 s,
/// and a time-up that could not be written is tried again a second later. Past this, the
/// model insists that it happened; before it, either state is allowed (the streams check
/// when it happened).
pub const TIME_UP_LATE_MS: i64 = 7_000;

/// The timer of a room. Instants and durations are epoch milliseconds and milliseconds;
/// a range `lo..=hi` is what the model knows of a value it cannot know to the millisecond.
#[derive(Clone, Debug, PartialEq)]
pub enum Clock {
    /// At full duration.
    Idle,
    /// Running toward a deadline in `lo..=hi`.
    Running { lo: i64, hi: i64 },
    /// Paused with a remaining time in `lo..=hi`.
    Paused { lo: i64, hi: i64 },
}

/// A room as the model expects it.
#[derive(Clone, Debug, PartialEq)]
pub struct Room {
    /// In turn order: the driver first, then the navigator.
    pub members: Vec<String>,
    pub duration: i64,
    pub round: i64,
    pub clock: Clock,
}

/// A command the writer sends.
#[derive(Clone, Debug)]
pub enum Command {
    Start,
    Stop,
    Reset,
    /// `PATCH /api/{code}/timer` with a duration and maybe a remaining time.
    Update {
        duration: i64,
        remaining: Option<i64>,
    },
    /// `PATCH …/pair-swap?round=N`.
    Swap {
        round: i64,
    },
    Next,
    Join(String),
    Leave(String),
}

impl Command {
    /// A short name, for the figures.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Stop => "stop",
            Command::Reset => "reset",
            Command::Update { .. } => "duration",
            Command::Swap { .. } => "swap",
            Command::Next => "next",
            Command::Join(_) => "join",
            Command::Leave(_) => "leave",
        }
    }

    /// The method, the path (for the room `code`) and the JSON body of the request.
    pub fn request(&self, code: &str) -> (&'static str, String, Option<Value>) {
        match self {
            Command::Start => ("PATCH", format!("/api/{code}/timer/start"), None),
            Command::Stop => ("PATCH", format!("/api/{code}/timer/stop"), None),
            Command::Reset => ("PATCH", format!("/api/{code}/timer/reset"), None),
            Command::Next => ("PATCH", format!("/api/{code}/timer/next"), None),
            Command::Update {
                duration,
                remaining,
            } => {
                let mut body = serde_json::json!({ "duration": duration });
                if let Some(r) = remaining {
                    body["remainingTime"] = (*r).into();
                }
                ("PATCH", format!("/api/{code}/timer"), Some(body))
            }
            Command::Swap { round } => (
                "PATCH",
                format!("/api/pair-room/{code}/pair-swap?round={round}"),
                None,
            ),
            Command::Join(name) => (
                "POST",
                format!("/api/pair-room/{code}/members"),
                Some(serde_json::json!({ "name": name })),
            ),
            // The writer's names are letters and digits: nothing to percent-encode.
            Command::Leave(name) => (
                "DELETE",
                format!("/api/pair-room/{code}/members/{name}"),
                None,
            ),
        }
    }
}

impl Room {
    /// The room after a time-up: the order rotates, `round` + 1, idle at full duration.
    pub fn timed_up(&self) -> Room {
        let mut next = self.clone();
        next.members.rotate_left(1);
        next.round += 1;
        next.clock = Clock::Idle;
        next
    }

    /// Every state the room may be in at some instant in `from..=to` (epoch ms), given
    /// that a running timer times up at its deadline, never before, and at most
    /// [`TIME_UP_LATE_MS`] after.
    pub fn at(&self, from: i64, to: i64) -> Vec<Room> {
        match self.clock {
            Clock::Running { lo, hi } => {
                let mut out = Vec::new();
                if from <= hi + TIME_UP_LATE_MS {
                    out.push(self.clone());
                }
                if to >= lo - CLOCK_TOLERANCE_MS {
                    out.push(self.timed_up());
                }
                out
            }
            _ => vec![self.clone()],
        }
    }

    /// What the contract answers to `command` on this room, committed at an instant in
    /// `sent..=answered`, and the room after it.
    pub fn apply(&self, command: &Command, sent: i64, answered: i64) -> (u16, Room) {
        let mut next = self.clone();
        let status = match command {
            Command::Start => {
                next.clock = match self.clock {
                    Clock::Idle => Clock::Running {
                        lo: sent + self.duration,
                        hi: answered + self.duration,
                    },
                    Clock::Paused { lo, hi } => Clock::Running {
                        lo: sent + lo,
                        hi: answered + hi,
                    },
                    Clock::Running { .. } => self.clock.clone(),
                };
                204
            }
            Command::Stop => {
                if let Clock::Running { lo, hi } = self.clock {
                    // A stop at or after the deadline finds the time-up done: that is the
                    // candidate [`Room::at`] gave.
                    next.clock = Clock::Paused {
                        lo: (lo - answered).max(1),
                        hi: (hi - sent).min(self.duration),
                    };
                }
                204
            }
            Command::Reset => {
                next.clock = Clock::Idle;
                204
            }
            Command::Update {
                duration,
                remaining,
            } => {
                if matches!(self.clock, Clock::Running { .. }) {
                    409
                } else {
                    next.duration = *duration;
                    next.clock = match remaining {
                        Some(r) if r != duration => Clock::Paused { lo: *r, hi: *r },
                        _ => Clock::Idle,
                    };
                    204
                }
            }
            Command::Swap { round } => {
                if *round == self.round {
                    next.members.rotate_left(1);
                    204
                } else {
                    409
                }
            }
            Command::Next => {
                next = self.timed_up();
                204
            }
            Command::Join(name) => {
                next.members.push(name.clone());
                204
            }
            Command::Leave(name) => {
                next.members.retain(|m| m != name);
                204
            }
        };
        (status, next)
    }

    /// Whether `room` (a `GET /api/pair-room/{code}` answer) is this state.
    pub fn matches(&self, room: &Value) -> bool {
        let timer = &room["timer"];
        let members: Vec<&str> = room["members"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let within = |v: &Value, lo: i64, hi: i64| {
            v.as_i64()
                .is_some_and(|v| v >= lo - CLOCK_TOLERANCE_MS && v <= hi + CLOCK_TOLERANCE_MS)
        };
        let clock = match self.clock {
            Clock::Idle => {
                timer["state"] == "idle" && timer["remainingTime"].as_i64() == Some(self.duration)
            }
            Clock::Paused { lo, hi } => {
                timer["state"] == "paused" && within(&timer["remainingTime"], lo, hi)
            }
            Clock::Running { lo, hi } => {
                timer["state"] == "running" && within(&timer["deadlineAt"], lo, hi)
            }
        };
        clock
            && members == self.members
            && room["driver"].as_str() == self.members.first().map(String::as_str)
            && room["navigator"].as_str() == self.members.get(1).map(String::as_str)
            && timer["round"].as_i64() == Some(self.round)
            && timer["duration"].as_i64() == Some(self.duration)
            && room["duration"].as_i64() == Some(self.duration)
            && timer["phase"] == "turn"
            && room["status"] == "IN_PROGRESS"
    }

    /// The room exactly as `room` (a `GET /api/pair-room/{code}` answer) says it is;
    /// `None` when the answer lacks a field the model needs.
    pub fn read(room: &Value) -> Option<Room> {
        let timer = &room["timer"];
        let members = room["members"]
            .as_array()?
            .iter()
            .map(|m| m.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()?;
        let clock = match timer["state"].as_str()? {
            "idle" => Clock::Idle,
            "paused" => {
                let r = timer["remainingTime"].as_i64()?;
                Clock::Paused { lo: r, hi: r }
            }
            "running" => {
                let d = timer["deadlineAt"].as_i64()?;
                Clock::Running { lo: d, hi: d }
            }
            _ => return None,
        };
        Some(Room {
            members,
            duration: timer["duration"].as_i64()?,
            round: timer["round"].as_i64()?,
            clock,
        })
    }
}

/// A small deterministic generator (xorshift64*), so that a run can be repeated from its
/// seed.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// One of `weights`' indices, each as likely as its weight.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut roll = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn room(clock: Clock) -> Room {
        Room {
            members: vec!["A".into(), "B".into(), "C".into()],
            duration: 10_000,
            round: 2,
            clock,
        }
    }

    #[test]
    fn a_running_room_near_its_deadline_may_or_may_not_have_timed_up() {
        let r = room(Clock::Running {
            lo: 1_000_000,
            hi: 1_000_000,
        });
        assert_eq!(r.at(990_000, 995_000), vec![r.clone()]);
        assert_eq!(r.at(999_000, 1_000_100), vec![r.clone(), r.timed_up()]);
        assert_eq!(
            r.at(1_000_000 + TIME_UP_LATE_MS + 1, 1_010_000),
            vec![r.timed_up()]
        );
        assert_eq!(r.timed_up().members, ["B", "C", "A"]);
        assert_eq!(r.timed_up().round, 3);
    }

    #[test]
    fn a_stop_keeps_what_remained_between_the_sending_and_the_answer() {
        let r = room(Clock::Running {
            lo: 1_000_000,
            hi: 1_000_000,
        });
        let (status, paused) = r.apply(&Command::Stop, 995_000, 995_020);
        assert_eq!(status, 204);
        assert_eq!(
            paused.clock,
            Clock::Paused {
                lo: 4_980,
                hi: 5_000
            }
        );
        let read = json!({"members": ["A", "B", "C"], "driver": "A", "navigator": "B",
            "status": "IN_PROGRESS", "duration": 10_000,
            "timer": {"state": "paused", "remainingTime": 4_990, "duration": 10_000, "round": 2,
                      "phase": "turn", "deadlineAt": null}});
        assert!(paused.matches(&read));
        assert!(!r.matches(&read));
        assert_eq!(
            Room::read(&read).map(|r| r.clock),
            Some(Clock::Paused {
                lo: 4_990,
                hi: 4_990
            })
        );
    }

    #[test]
    fn a_swap_for_another_round_and_an_update_while_running_are_refused() {
        let r = room(Clock::Running { lo: 5, hi: 5 });
        assert_eq!(r.apply(&Command::Swap { round: 1 }, 0, 0), (409, r.clone()));
        let update = Command::Update {
            duration: 5_000,
            remaining: None,
        };
        assert_eq!(r.apply(&update, 0, 0), (409, r.clone()));
        let (status, swapped) = r.apply(&Command::Swap { round: 2 }, 0, 0);
        assert_eq!(status, 204);
        assert_eq!(swapped.members, ["B", "C", "A"]);
        assert_eq!(swapped.clock, r.clock);
    }
}
