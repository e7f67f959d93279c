//! A room's settings for what follows the end of a countdown, and the rule that applies
//! them: after a turn, a break every `breakEvery` rounds, else (with `autoStart`) the next
//! turn at once; after a break, the next turn at once with `autoStart`. Pure values, no I/O.

use serde::Serialize;
use utoipa::ToSchema;

use super::countdown::{MAX_BREAK_MS, MIN_BREAK_MS};

/// The most rounds `breakEvery` may name.
pub const MAX_BREAK_EVERY: i64 = 20;
/// The break length a room gets when its creator names none (five minutes).
pub const DEFAULT_BREAK_MS: i64 = 300_000;

/// How a room goes on by itself after a countdown ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomSettings {
    /// After a time-up, the next turn starts by itself.
    pub auto_start: bool,
    /// A break after every `break_every`-th time-up; `0`: never. `0..=20`.
    #[schema(minimum = 0, maximum = 20)]
    pub break_every: i64,
    /// How long a break lasts, ms: `1000..=3600000`.
    #[schema(minimum = 1000, maximum = 3600000)]
    pub break_duration: i64,
}

impl Default for RoomSettings {
    fn default() -> RoomSettings {
        RoomSettings {
            auto_start: false,
            break_every: 0,
            break_duration: DEFAULT_BREAK_MS,
        }
    }
}

/// A change to some of a room's settings; `None` keeps the current value. The values
/// are validated (within the bounds above) before one is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// New `auto_start`, if given.
    pub auto_start: Option<bool>,
    /// New `break_every`, if given.
    pub break_every: Option<i64>,
    /// New `break_duration`, if given.
    pub break_duration: Option<i64>,
}

/// What follows the end of a countdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// A break of this many ms starts at once.
    Break(i64),
    /// The next turn starts at once.
    Start,
    /// The timer rests idle until someone starts it.
    Rest,
}

impl RoomSettings {
    /// These settings with `patch` applied.
    pub fn patched(self, patch: SettingsPatch) -> RoomSettings {
        RoomSettings {
            auto_start: patch.auto_start.unwrap_or(self.auto_start),
            break_every: patch.break_every.unwrap_or(self.break_every),
            break_duration: patch.break_duration.unwrap_or(self.break_duration),
        }
    }

    /// What follows a turn's time-up that made the room's round `round`: a break when
    /// `break_every > 0` and `round` is a multiple of it, else the next turn with
    /// `auto_start`, else rest.
    pub fn after_turn(&self, round: i64) -> FollowUp {
        if self.break_every > 0 && round % self.break_every == 0 {
            FollowUp::Break(self.break_duration.clamp(MIN_BREAK_MS, MAX_BREAK_MS))
        } else {
            self.after_break()
        }
    }

    /// What follows the end of a break: the next turn with `auto_start`, else rest.
    pub fn after_break(&self) -> FollowUp {
        if self.auto_start {
            FollowUp::Start
        } else {
            FollowUp::Rest
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(auto_start: bool, break_every: i64) -> RoomSettings {
        RoomSettings {
            auto_start,
            break_every,
            break_duration: 60_000,
        }
    }

    #[test]
    fn a_new_room_never_breaks_and_never_starts_by_itself() {
        let s = RoomSettings::default();
        assert_eq!(
            (s.auto_start, s.break_every, s.break_duration),
            (false, 0, 300_000)
        );
        for round in 1..50 {
            assert_eq!(s.after_turn(round), FollowUp::Rest);
        }
        assert_eq!(s.after_break(), FollowUp::Rest);
    }

    #[test]
    fn a_break_follows_every_nth_round_and_auto_start_the_others() {
        let s = settings(true, 3);
        let follow: Vec<FollowUp> = (1..=6).map(|r| s.after_turn(r)).collect();
        assert_eq!(
            follow,
            [
                FollowUp::Start,
                FollowUp::Start,
                FollowUp::Break(60_000),
                FollowUp::Start,
                FollowUp::Start,
                FollowUp::Break(60_000)
            ]
        );
        assert_eq!(s.after_break(), FollowUp::Start);
        assert_eq!(settings(false, 3).after_turn(2), FollowUp::Rest);
        assert_eq!(settings(false, 1).after_turn(7), FollowUp::Break(60_000));
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let s = settings(false, 2);
        assert_eq!(s.patched(SettingsPatch::default()), s);
        let p = SettingsPatch {
            auto_start: Some(true),
            break_duration: Some(1000),
            ..SettingsPatch::default()
        };
        assert_eq!(
            s.patched(p),
            RoomSettings {
                auto_start: true,
                break_every: 2,
                break_duration: 1000
            }
        );
    }

    #[test]
    fn settings_serialize_as_the_contract_spells_them() {
        let json = serde_json::to_value(settings(true, 4)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"autoStart": true, "breakEvery": 4, "breakDuration": 60000})
        );
    }
}
