//! The JSON request bodies, each declared once: its fields (serde), its schema in the
//! OpenAPI document (utoipa) and its bounds (garde) sit on the same type, and the unit
//! tests below check the documented bounds against the enforced ones. Fields not named
//! here are ignored, as the contract asks. Numbers are whole and written without a fraction
//! or an exponent (`60000`, not `60000.0`): JSON Schema cannot say so, the descriptions do.

use std::borrow::Cow;

use garde::Validate;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::rules::{Command, NewRoom};
use crate::rules::{RoomSettings, SettingsPatch, MAX_BREAK_EVERY};
use crate::rules::{MAX_BREAK_MS, MAX_DURATION_MS, MIN_BREAK_MS, MIN_DURATION_MS};

/// The longest name a navigator or driver may have, in characters.
pub const MAX_NAME_CHARS: usize = 20;
/// The longest mission URL, in characters.
pub const MAX_MISSION_URL_CHARS: usize = 2048;

/// Regular-expression classes of [`NAME_PATTERN`], in the dialect that JSON Schema (ECMA-262),
/// Python and Rust share: `\uXXXX` escapes and ranges only.
macro_rules! name_class {
    // Unicode `White_Space`, what `str::trim` takes off.
    (space) => {
        r"[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
    // Neither white space nor a control character (Unicode `Cc`).
    (edge) => {
        r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
    // Not a control character.
    (inner) => {
        r"[^\u0000-\u001F\u007F-\u009F]"
    };
}

/// A name as the server accepts it: any white space around 1 to 20 characters that are not
/// control characters and that neither start nor end with white space.
pub const NAME_PATTERN: &str = concat!(
    "^",
    name_class!(space),
    "*",
    name_class!(edge),
    // Up to 20 characters: an edge one, up to 18 of any kind, and another edge one.
    "(",
    name_class!(inner),
    "{0,18}",
    name_class!(edge),
    ")?",
    name_class!(space),
    "*$"
);

/// A navigator's or driver's name as sent; the server keeps it trimmed.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// The name without the white space around it.
    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }
}

impl PartialSchema for Name {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "1 to {MAX_NAME_CHARS} characters once the white space around them is trimmed \
                 (the name is kept trimmed), none of them a control character"
            )))
            .min_length(Some(1))
            .pattern(Some(NAME_PATTERN))
            .into()
    }
}

impl ToSchema for Name {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Name")
    }
}

/// The rule of [`NAME_PATTERN`], with a message for each way to break it.
fn valid_name(name: &Name, _: &()) -> garde::Result {
    let trimmed = name.trimmed();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(garde::Error::new(format!(
            "must be 1 to {MAX_NAME_CHARS} characters after trimming"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    Ok(())
}

/// The driver's rule beside [`valid_name`]: not the navigator's name, once both are trimmed.
fn differs_from(navigator: &Name) -> impl FnOnce(&Name, &()) -> garde::Result + '_ {
    move |driver, _| {
        if driver.trimmed() == navigator.trimmed() {
            return Err(garde::Error::new("must differ from navigator"));
        }
        Ok(())
    }
}

/// The rule of a remaining time beside its `minimum`: at most the duration its body names
/// (which the schema's `maximum` cannot say).
fn at_most_the(duration: &'static str, ms: i64) -> impl FnOnce(&Option<i64>, &()) -> garde::Result {
    move |remaining, _| match remaining {
        Some(remaining) if *remaining > ms => Err(garde::Error::new(format!(
            "must be at most the {duration} ({ms})"
        ))),
        _ => Ok(()),
    }
}

/// `POST /api/pair-room`: a new room. The settings are optional, as in
/// `PATCH /api/pair-room/{code}/settings`. Other fields are ignored.
/// Numbers are written without a fraction or an exponent (`60000`, not `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 1500000})))]
pub struct CreateRoomBody {
    /// Who guides.
    #[garde(custom(valid_name))]
    pub navigator: Name,
    /// Who types: as `navigator`, and not equal to it once both are trimmed.
    #[garde(custom(valid_name), custom(differs_from(&self.navigator)))]
    pub driver: Name,
    /// The full countdown of a turn, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000, example = 1500000)]
    #[garde(range(min = MIN_DURATION_MS, max = MAX_DURATION_MS))]
    pub timer_duration: i64,
    /// The ms left on the new timer: 1 to `timerDuration` (never more than `timerDuration`),
    /// `timerDuration` when absent. The timer is idle when it equals `timerDuration`, else
    /// paused.
    #[schema(minimum = 1, maximum = 86400000)]
    #[garde(range(min = 1), custom(at_most_the("timerDuration", self.timer_duration)))]
    pub timer_remaining_time: Option<i64>,
    /// A link to what the pair works on: at most 2048 characters, stored and returned as
    /// given (`""` when absent).
    #[schema(max_length = 2048)]
    #[garde(length(chars, max = MAX_MISSION_URL_CHARS))]
    pub mission_url: Option<String>,
    /// After a time-up, the next turn starts by itself (default `false`).
    #[garde(skip)]
    pub auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never, the default) to 20.
    #[schema(minimum = 0, maximum = 20)]
    #[garde(range(min = 0, max = MAX_BREAK_EVERY))]
    pub break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000 (default 300000).
    #[schema(minimum = 1000, maximum = 3600000)]
    #[garde(range(min = MIN_BREAK_MS, max = MAX_BREAK_MS))]
    pub break_duration: Option<i64>,
}

impl From<CreateRoomBody> for NewRoom {
    fn from(body: CreateRoomBody) -> NewRoom {
        let duration = body.timer_duration;
        NewRoom {
            navigator: body.navigator.trimmed().to_string(),
            driver: body.driver.trimmed().to_string(),
            mission_url: body.mission_url.unwrap_or_default(),
            duration,
            remaining: body.timer_remaining_time.unwrap_or(duration),
            settings: RoomSettings::default().patched(SettingsPatch {
                auto_start: body.auto_start,
                break_every: body.break_every,
                break_duration: body.break_duration,
            }),
        }
    }
}

/// `PATCH /api/pair-room/{code}/settings`: any subset of the three; the others are kept.
/// Other fields are ignored. Numbers are written without a fraction or an exponent
/// (`60000`, not `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SettingsBody {
    /// After a time-up, the next turn starts by itself.
    #[garde(skip)]
    pub auto_start: Option<bool>,
    /// A break after every `breakEvery`-th time-up: 0 (never) to 20.
    #[schema(minimum = 0, maximum = 20)]
    #[garde(range(min = 0, max = MAX_BREAK_EVERY))]
    pub break_every: Option<i64>,
    /// How long a break lasts, ms: 1000 to 3600000.
    #[schema(minimum = 1000, maximum = 3600000)]
    #[garde(range(min = MIN_BREAK_MS, max = MAX_BREAK_MS))]
    pub break_duration: Option<i64>,
}

impl From<SettingsBody> for Command {
    fn from(body: SettingsBody) -> Command {
        Command::Settings(SettingsPatch {
            auto_start: body.auto_start,
            break_every: body.break_every,
            break_duration: body.break_duration,
        })
    }
}

/// `PATCH /api/{code}/timer`: a new duration, while the timer does not run. Other fields
/// are ignored. Numbers are written without a fraction or an exponent (`60000`, not
/// `60000.0`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SetDurationBody {
    /// The full countdown of a turn, ms: 1000 to 86400000.
    #[schema(minimum = 1000, maximum = 86400000, example = 1500000)]
    #[garde(range(min = MIN_DURATION_MS, max = MAX_DURATION_MS))]
    pub duration: i64,
    /// The ms left: 1 to `duration` (never more than `duration`), `duration` when absent.
    /// The timer becomes idle when it equals `duration`, else paused.
    #[schema(minimum = 1, maximum = 86400000)]
    #[garde(range(min = 1), custom(at_most_the("duration", self.duration)))]
    pub remaining_time: Option<i64>,
}

impl From<SetDurationBody> for Command {
    fn from(body: SetDurationBody) -> Command {
        Command::SetDuration {
            duration: body.duration,
            remaining: body.remaining_time.unwrap_or(body.duration),
        }
    }
}

/// The one status a client may set.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum SettableStatus {
    /// The pair is done.
    #[serde(rename = "COMPLETED")]
    Completed,
}

/// `PATCH /api/pair-room/{code}/status`: `{"status": "COMPLETED"}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct StatusBody {
    /// Only `COMPLETED` may be set.
    #[garde(skip)]
    pub status: SettableStatus,
}

impl From<StatusBody> for Command {
    fn from(body: StatusBody) -> Command {
        match body.status {
            SettableStatus::Completed => Command::Complete,
        }
    }
}
