//! The messages a room actor answers, and the one it sends its registry ([`Forget`]).
//! Handlers send these; nothing else reaches into an actor. The registry's own messages
//! live beside it, in `registry`.

use actix::prelude::*;

use super::fanout::StreamReceiver;
use crate::rules::RoomError;
use crate::rules::{Command, Elsewhere, PairRoom, PresenceView};

/// To the registry, from a stopping room: forget this actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Forget {
    /// The room's access code.
    pub code: String,
    /// The generation the registry gave the actor when it started it.
    pub generation: u64,
}

/// To a room: apply a command (committed before the answer).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), RoomError>")]
pub struct Execute(pub Command);

/// To a room: its current value and how many streams it holds.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<RoomView, RoomError>")]
pub struct Describe;

/// A room as [`Describe`] answers it.
#[derive(Debug, Clone)]
pub struct RoomView {
    /// The room's value.
    pub room: PairRoom,
    /// Open streams in this process.
    pub subscribers: usize,
    /// Who is here, over every process.
    pub presence: PresenceView,
}

/// To a room: open a stream for `name` (or anonymous); answers its receiving end, already
/// holding the connect sequence.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StreamReceiver, RoomError>")]
pub struct Subscribe {
    /// The person the stream is for, when the client named one (a valid member name).
    pub name: Option<String>,
}

/// To a room: what the other live processes now hold on it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PresenceElsewhere(pub Elsewhere);

/// To a room: another process committed a change to its row (`None`: changes may have been
/// missed). The room reads its row again unless it already has that version.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Refresh(pub Option<crate::store::feed::Change>);

/// To a room: delete it, close its streams and stop.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), RoomError>")]
pub struct Delete;
