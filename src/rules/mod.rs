//! The rules of a room, as pure values: no actix, no diesel, no tokio, no I/O, no clock
//! of their own. Everything here takes the clock's reading from its caller, so the same
//! inputs always give the same answer, and every rule is tested with plain unit tests.
//!
//! # Layout
//! - [`countdown`]: the timer (`state` idle/running/paused, `phase` turn/break), its
//!   deadline and its ticks.
//! - [`goals`]: a room's goals in the order every page shares.
//! - [`links`]: a room's reference links and their categories.
//! - [`members`]: who is in a room, in turn order, and how the order rotates.
//! - [`settings`]: a room's settings (auto-start, breaks) and what follows a countdown.
//! - [`room`]: a room as a value (its people, its timer, its settings, its version);
//!   commands and time-ups as transitions.
//! - [`notice`]: what a room's streams are told, and the views of the timer and the room.
//! - [`machine`]: one live room as a state machine: inputs in, effects out (write, broadcast,
//!   wake me at, stop), with every timed rule (ticks, time-ups, graces, heartbeats, idling).
//! - [`presence`]: who is here, over every process, and when the room tells it.
//! - [`policy`]: what every room of a process follows, as the operator set it.
//! - [`now`]: a reading of the clock.

pub mod countdown;
pub mod goals;
pub mod links;
pub mod machine;
pub mod members;
pub mod notice;
pub mod now;
pub mod policy;
pub mod presence;
pub mod room;
pub mod settings;

pub use countdown::*;
pub use goals::{Goal, GoalError, Goals, MAX_GOALS};
pub use links::{Category, Link, LinkError, LinkView, Links};
pub use machine::{
    Checked, Effect, Input, RoomError, RoomMachine, Seen, Write, WriteOutcome, MAX_STALE_RETRIES,
    RETRY_FAILED_WRITE,
};
pub use members::{Members, MembersError, NameError, NotAMember, MAX_MEMBERS, MIN_MEMBERS};
pub use notice::*;
pub use now::Now;
pub use policy::{Grace, RoomPolicy};
pub use presence::{Elsewhere, Presence, PRESENCE_EVERY};
pub use room::*;
pub use settings::*;
