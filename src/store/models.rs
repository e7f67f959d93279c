//! The `rooms` row and its conversion to and from the domain's [`PairRoom`].

use diesel::prelude::*;

use super::schema::rooms;
use crate::rules::{Goals, Links, Members, PairRoom, Phase, RoomSettings, RoomStatus, Timer};

/// A `rooms` row as stored; also how the change feed carries a written row to the other
/// processes (as JSON, by column name).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Queryable,
    QueryableByName,
    Selectable,
    Insertable,
    AsChangeset,
    serde::Serialize,
    serde::Deserialize,
)]
#[diesel(table_name = rooms)]
#[diesel(treat_none_as_null = true)]
pub struct RoomRow {
    /// See the schema.
    pub access_code: String,
    /// See the schema.
    pub navigator: String,
    /// See the schema.
    pub driver: String,
    /// See the schema.
    pub mission_url: String,
    /// See the schema.
    pub created_at: i64,
    /// See the schema.
    pub duration_ms: i64,
    /// See the schema.
    pub state: String,
    /// See the schema.
    pub remaining_ms: i64,
    /// See the schema.
    pub deadline_at: Option<i64>,
    /// See the schema.
    pub round: i64,
    /// See the schema.
    pub version: i64,
    /// See the schema.
    pub updated_at: i64,
    /// See the schema.
    pub status: String,
    /// See the schema.
    pub time_up_at: Option<i64>,
    /// See the schema.
    pub phase: String,
    /// See the schema.
    pub auto_start: bool,
    /// See the schema.
    pub break_every: i64,
    /// See the schema.
    pub break_duration_ms: i64,
    /// See the schema.
    pub members: String,
    /// See the schema.
    pub ran_ms: i64,
    /// See the schema.
    pub resumed_at: Option<i64>,
}

/// A row whose content no version of this server writes.
#[derive(Debug, thiserror::Error)]
#[error("room {code}: unreadable row ({reason})")]
pub struct CorruptRow {
    /// The row's access code.
    pub code: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl RoomRow {
    /// The row that stores `room`, written at `now`.
    pub fn from_room(room: &PairRoom, now: i64) -> RoomRow {
        RoomRow {
            access_code: room.access_code.clone(),
            navigator: room.navigator().to_string(),
            driver: room.driver().to_string(),
            mission_url: room.mission_url.clone(),
            created_at: room.created_at,
            duration_ms: room.timer.duration,
            state: room.timer.state_name().as_str().to_string(),
            remaining_ms: room.timer.remaining(now),
            deadline_at: room.timer.deadline_at(),
            round: room.timer.round,
            version: room.version,
            updated_at: now,
            status: room.status.as_str().to_string(),
            time_up_at: room.time_up_at,
            phase: room.timer.phase.as_str().to_string(),
            auto_start: room.settings.auto_start,
            break_every: room.settings.break_every,
            break_duration_ms: room.settings.break_duration,
            members: serde_json::to_string(room.members.names()).unwrap_or_default(),
            ran_ms: room.timer.ran,
            resumed_at: room.timer.resumed_at(),
        }
    }

    /// The room this row stores, its timer's tick cursor placed at `now`.
    pub fn into_room(self, now: i64) -> Result<PairRoom, CorruptRow> {
        let corrupt = |reason| CorruptRow {
            code: self.access_code.clone(),
            reason,
        };
        if self.duration_ms <= 0 {
            return Err(corrupt("duration is not positive"));
        }
        let phase = Phase::parse(&self.phase).ok_or_else(|| corrupt("unknown phase"))?;
        let names: Vec<String> =
            serde_json::from_str(&self.members).map_err(|_| corrupt("members are not a list"))?;
        // A row from before the members column was filled holds its pair in its own columns.
        let members = if names.is_empty() {
            Members::pair(&self.driver, &self.navigator)
        } else {
            Members::new(&names)
        }
        .map_err(|_| corrupt("members break their rules"))?;
        let mut idle = Timer::new(self.duration_ms, self.duration_ms, self.round);
        idle.ran = self.ran_ms.max(0);
        let timer = match (self.state.as_str(), self.deadline_at, phase) {
            ("running", Some(deadline), _) => {
                // A run stored before its start was: a turn from full, a break of its length.
                let resumed_at = self.resumed_at.unwrap_or(deadline - self.duration_ms);
                idle.resumed_in(phase, deadline, resumed_at, now)
            }
            ("running", None, _) => return Err(corrupt("running without a deadline")),
            ("idle", _, Phase::Turn) => idle,
            ("idle", _, Phase::Break) => return Err(corrupt("an idle break")),
            ("paused", _, _) => idle.paused_in(phase, self.remaining_ms),
            _ => return Err(corrupt("unknown state")),
        };
        let status = RoomStatus::parse(&self.status).ok_or_else(|| corrupt("unknown status"))?;
        Ok(PairRoom {
            access_code: self.access_code,
            members,
            mission_url: self.mission_url,
            created_at: self.created_at,
            timer,
            status,
            settings: RoomSettings {
                auto_start: self.auto_start,
                break_every: self.break_every,
                break_duration: self.break_duration_ms,
            },
            time_up_at: self.time_up_at,
            version: self.version,
            goals: Goals::default(),
            links: Links::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_survives_a_round_trip_through_the_row() {
        let now = 1_700_000_000_000;
        let mut room = PairRoom {
            access_code: "abcdefgh".into(),
            members: Members::new(&["D", "N", "Third"]).expect("members"),
            mission_url: "https://example.test/m".into(),
            created_at: now - 5,
            timer: Timer::new(60_000, 60_000, 4),
            status: RoomStatus::InProgress,
            settings: RoomSettings {
                auto_start: true,
                break_every: 3,
                break_duration: 90_000,
            },
            time_up_at: Some(now - 3000),
            version: 7,
            goals: Goals::default(),
            links: Links::default(),
        };
        for step in 0..6 {
            match step {
                1 => {
                    room.timer.start(now);
                }
                2 => {
                    room.timer.stop(now + 1234);
                }
                3 => {
                    room.status = RoomStatus::Completed;
                    room.time_up_at = None;
                }
                4 => room.timer.start_break(now, 90_000),
                5 => {
                    room.timer.stop(now + 30_000);
                }
                _ => {}
            }
            let back = RoomRow::from_room(&room, now)
                .into_room(now)
                .expect("readable");
            assert_eq!(back, room, "step {step}");
            // Read back later, as another process or a restart reads it: what the rules'
            // `loaded_at` says.
            let later = RoomRow::from_room(&room, now)
                .into_room(now + 1777)
                .expect("readable");
            let mut expected = room.clone();
            expected.timer = expected.timer.loaded_at(now + 1777);
            assert_eq!(later, expected, "step {step}, read later");
        }
    }
}
