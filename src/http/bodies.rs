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

use crate::rules::{goals, links, members, Command, Members, NewRoom, MAX_MEMBERS, MIN_MEMBERS};
use crate::rules::{RoomSettings, SettingsPatch, MAX_BREAK_EVERY};
use crate::rules::{MAX_BREAK_MS, MAX_DURATION_MS, MIN_BREAK_MS, MIN_DURATION_MS};

pub use crate::rules::members::MAX_NAME_CHARS;
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

/// A member's name as sent; the server keeps it trimmed.
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

/// The rooms' rule for a name ([`members::name`], which [`NAME_PATTERN`] spells), with a
/// message for each way to break it.
fn valid_name(name: &Name, _: &()) -> garde::Result {
    members::name(&name.0)
        .map(drop)
        .map_err(|e| garde::Error::new(e.to_string()))
}

/// [`valid_name`] for a name that may be absent.
fn valid_optional_name(name: &Option<Name>, ctx: &()) -> garde::Result {
    name.as_ref().map_or(Ok(()), |name| valid_name(name, ctx))
}

/// The driver's rule beside [`valid_name`]: not the navigator's name, once both are trimmed.
fn differs_from(navigator: &Option<Name>) -> impl FnOnce(&Option<Name>, &()) -> garde::Result + '_ {
    move |driver, _| match (driver, navigator) {
        (Some(driver), Some(navigator)) if driver.trimmed() == navigator.trimmed() => {
            Err(garde::Error::new("must differ from navigator"))
        }
        _ => Ok(()),
    }
}

/// The rooms' rule for a list of members: 2 to 12 valid names, no two the same.
fn valid_members(names: &Option<Vec<Name>>, ctx: &()) -> garde::Result {
    names
        .as_deref()
        .map_or(Ok(()), |names| valid_member_list(names, ctx))
}

/// A list of 2 to 12 names, as the document shows it.
pub struct MemberNames;

impl PartialSchema for MemberNames {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(Name::schema())
            .min_items(Some(MIN_MEMBERS))
            .max_items(Some(MAX_MEMBERS))
            .unique_items(true)
            .description(Some(
                "2 to 12 names in turn order: the driver, the navigator, then those who wait; \
                 no two the same once trimmed",
            ))
            .into()
    }
}

/// [`MemberNames`], or `null` (the field is then absent).
fn optional_member_names() -> RefOr<Schema> {
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(MemberNames::schema())
        .into()
}

impl ToSchema for MemberNames {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MemberNames")
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
#[schema(examples(
    json!({"navigator": "Ann", "driver": "Bob", "timerDuration": 1500000}),
    json!({"members": ["Bob", "Ann", "Cy"], "timerDuration": 1500000})
))]
pub struct CreateRoomBody {
    /// Who guides. Give `navigator` and `driver`, or `members`, not both.
    #[garde(custom(valid_optional_name))]
    pub navigator: Option<Name>,
    /// Who types: as `navigator`, and not equal to it once both are trimmed.
    #[garde(custom(valid_optional_name), custom(differs_from(&self.navigator)))]
    pub driver: Option<Name>,
    /// Everyone, in turn order (the driver first, the navigator second): instead of
    /// `driver` and `navigator`.
    #[schema(schema_with = optional_member_names)]
    #[garde(custom(valid_members))]
    pub members: Option<Vec<Name>>,
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

impl CreateRoomBody {
    /// The members this body names: `members`, or `driver` then `navigator`; `Err` names
    /// what is wrong when it gives both forms or neither.
    pub fn members(&self) -> Result<Members, String> {
        let trimmed = |names: &[&Name]| -> Result<Members, String> {
            let raw: Vec<&str> = names.iter().map(|n| n.trimmed()).collect();
            Members::new(&raw).map_err(|e| format!("members {e}"))
        };
        match (&self.members, &self.driver, &self.navigator) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                Err("give either members or driver and navigator, not both".to_string())
            }
            (Some(members), None, None) => trimmed(&members.iter().collect::<Vec<_>>()),
            (None, Some(driver), Some(navigator)) => trimmed(&[driver, navigator]),
            (None, _, None) => Err("navigator is required (or members)".to_string()),
            (None, None, Some(_)) => Err("driver is required (or members)".to_string()),
        }
    }

    /// The room this body asks for, once its members are known.
    pub fn into_new_room(self, members: Members) -> NewRoom {
        let duration = self.timer_duration;
        NewRoom {
            members,
            mission_url: self.mission_url.unwrap_or_default(),
            duration,
            remaining: self.timer_remaining_time.unwrap_or(duration),
            settings: RoomSettings::default().patched(SettingsPatch {
                auto_start: self.auto_start,
                break_every: self.break_every,
                break_duration: self.break_duration,
            }),
        }
    }
}

/// `POST /api/pair-room/{code}/members`: someone joins, at the end. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct JoinBody {
    /// The newcomer's name: a name no member has.
    #[garde(custom(valid_name))]
    pub name: Name,
}

impl From<JoinBody> for Command {
    fn from(body: JoinBody) -> Command {
        Command::Join(body.name.trimmed().to_string())
    }
}

/// `PUT /api/pair-room/{code}/members`: the whole order at once. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct MembersBody {
    /// Everyone, in turn order: the driver first, the navigator second.
    #[schema(schema_with = MemberNames::schema)]
    #[garde(custom(valid_member_list))]
    pub members: Vec<Name>,
}

/// [`valid_members`] for a list that must be there.
fn valid_member_list(names: &[Name], _: &()) -> garde::Result {
    let raw: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
    Members::new(&raw)
        .map(drop)
        .map_err(|e| garde::Error::new(e.to_string()))
}

impl MembersBody {
    /// The command this body asks for; the names were checked by its validation.
    pub fn command(&self) -> Result<Command, String> {
        let raw: Vec<&str> = self.members.iter().map(Name::trimmed).collect();
        Members::new(&raw)
            .map(Command::SetMembers)
            .map_err(|e| format!("members {e}"))
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

/// A goal's or a category's text as sent; the server keeps it trimmed.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// The text without the white space around it.
    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }
}

/// The rooms' rule for a goal's text ([`goals::content`]).
fn valid_goal(text: &Text, _: &()) -> garde::Result {
    goals::content(&text.0)
        .map(drop)
        .map_err(|e| garde::Error::new(e.to_string()))
}

/// The rooms' rule for a category's name ([`links::category_name`]).
fn valid_category(text: &Text, _: &()) -> garde::Result {
    links::category_name(&text.0)
        .map(drop)
        .map_err(|_| garde::Error::new("must be 1 to 30 characters after trimming"))
}

/// The rooms' rule for a link ([`links::url`]).
fn valid_url(text: &Text, _: &()) -> garde::Result {
    links::url(&text.0)
        .map(drop)
        .map_err(|_| garde::Error::new("must be an http or https URL of at most 2048 characters"))
}

/// A text of `min` to `max` characters once trimmed, as the document shows it.
fn text_schema(max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .description(Some(description))
        .into()
}

fn goal_text_schema() -> RefOr<Schema> {
    text_schema(
        goals::MAX_GOAL_CHARS,
        "1 to 500 characters once the white space around them is trimmed (kept trimmed)",
    )
}

fn category_text_schema() -> RefOr<Schema> {
    text_schema(
        links::MAX_CATEGORY_CHARS,
        "1 to 30 characters once the white space around them is trimmed (kept trimmed); \
         no other category of the room has it",
    )
}

fn url_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(links::MAX_URL_CHARS))
        .description(Some(
            "An `http` or `https` URL with a host, at most 2048 characters (kept trimmed)",
        ))
        .into()
}

/// `POST /api/{code}/todos`: a new goal, added last. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct TodoBody {
    /// What the goal says.
    #[schema(schema_with = goal_text_schema)]
    #[garde(custom(valid_goal))]
    pub content: Text,
}

/// `PATCH /api/todos/{id}/contents`: a goal's new text. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ContentsBody {
    /// What the goal now says.
    #[schema(schema_with = goal_text_schema)]
    #[garde(custom(valid_goal))]
    pub contents: Text,
}

/// `PATCH /api/todos/{id}/order`: a goal's new position. Other fields are ignored. Numbers
/// are written without a fraction or an exponent.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct OrderBody {
    /// The position to move to, from 0 (past the end: last); the others shift.
    #[schema(minimum = 0)]
    #[garde(range(min = 0))]
    pub order: i64,
}

/// `POST /api/{code}/category`: a new category. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CategoryBody {
    /// Its name.
    #[schema(schema_with = category_text_schema)]
    #[garde(custom(valid_category))]
    pub value: Text,
}

/// `PATCH /api/{code}/category`: a category's new name. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRenameBody {
    /// The category's id.
    #[garde(length(min = 1))]
    pub category_id: String,
    /// Its new name.
    #[schema(schema_with = category_text_schema)]
    #[garde(custom(valid_category))]
    pub updated_category_name: Text,
}

/// `POST /api/{code}/reference-link`: a new link. Other fields are ignored.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct LinkBody {
    /// The link.
    #[schema(schema_with = url_schema)]
    #[garde(custom(valid_url))]
    pub url: Text,
    /// The id of one of the room's categories, or `null` for none.
    #[garde(skip)]
    pub category_id: Option<String>,
}
