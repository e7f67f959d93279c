//! The schema of one event of a room's stream (`GET /api/{code}/connect`), as a
//! Server-Sent Events parser reads it: `event`, `data` and `id`. It is the stream's
//! `itemSchema`, so a tool can check each event of a real stream against it.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::rules::TimerEvent;

/// The most ms a stream's `retry:` names (the contract's bound).
const MAX_RETRY_MS: u64 = 3000;

/// The schema of one stream event: one of the kinds below.
pub struct StreamEvent;

/// A string that is one of `values`.
fn one_of_words<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// One kind of event: its name, what it means, and the schema of its one line of data.
fn event(name: &str, description: &str, data: ObjectBuilder) -> RefOr<Schema> {
    ObjectBuilder::new()
        .title(Some(name))
        .description(Some(description))
        .property("event", one_of_words([name]))
        .required("event")
        .property("data", data)
        .required("data")
        .property(
            "id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]+$"))
                .description(Some(
                    "A decimal integer; the ids of one stream strictly increase",
                )),
        )
        .required("id")
        .property(
            "retry",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(MAX_RETRY_MS as f64))
                .description(Some(
                    "The reconnection delay, ms, when a parser joins it to an event",
                )),
        )
        .into()
}

/// A string holding a JSON array of the schema `name`.
fn list_of(name: &str) -> ObjectBuilder {
    let list: Schema = ArrayBuilder::new()
        .items(Ref::from_schema_name(name))
        .build()
        .into();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/json")
        .content_schema(Some(list))
}

impl PartialSchema for StreamEvent {
    fn schema() -> RefOr<Schema> {
        let timer_words = TimerEvent::ALL.map(TimerEvent::as_str);
        OneOfBuilder::new()
            .description(Some(
                "One event of the stream. A new stream first gets `retry: <ms>` (at most 3000), \
                 then `connect`, `remaining-time`, `timer: running` (only while the timer runs), \
                 `state` and `todos`; then every change of the room. A stream quiet for \
                 `PAIRSYNC_HEARTBEAT_MS` gets a comment line (`:`), which is no event.",
            ))
            .item(event(
                "connect",
                "The stream is open: the first event of every stream",
                one_of_words(["OK"]),
            ))
            .item(event(
                "remaining-time",
                "The timer's remaining ms: live on connect, each tick (a multiple of 1000) \
                 while it runs, and after every change",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^(0|[1-9][0-9]*)$")),
            ))
            .item(event(
                "timer",
                "What the timer did: `running` on connect while it runs, else the change",
                one_of_words(timer_words),
            ))
            .item(event(
                "state",
                "The room as a page draws it: a `Snapshot`, as one line of JSON",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_media_type("application/json")
                    .content_schema(Some(Ref::from_schema_name("Snapshot"))),
            ))
            .item(event(
                "presence",
                "Who is here changed (at most once a second per room): a `PresenceView`, \
                 as one line of JSON",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_media_type("application/json")
                    .content_schema(Some(Ref::from_schema_name("PresenceView"))),
            ))
            .item(event(
                "todos",
                "The room's goals, whole, in order: on connect and after every change, as one \
                 line of JSON",
                list_of("Goal"),
            ))
            .item(event(
                "links",
                "The room's reference links, whole, newest first, after every change to them \
                 or their categories, as one line of JSON",
                list_of("LinkView"),
            ))
            .item(event(
                "close",
                "The room was deleted; the stream ends after it",
                one_of_words(["OK"]),
            ))
            .into()
    }
}

impl ToSchema for StreamEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StreamEvent")
    }
}
