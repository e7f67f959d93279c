//! The messages room actors and the registry answer. Handlers send these; nothing
//! else reaches into an actor.

use actix::prelude::*;

use super::fanout::StreamReceiver;
use super::machine::RoomError;
use super::room::Room;
use crate::pairing::{Command, NewRoom, PairRoom};

/// To the registry: the live room for this access code, loading it from the database
/// when no actor runs for it. `stale` names an address that failed to answer (its actor
/// stopped), which the registry then replaces.
#[derive(Debug, Message)]
#[rtype(result = "Result<Addr<Room>, RoomError>")]
pub struct Lookup {
    /// The room's access code.
    pub code: String,
    /// An address that did not answer.
    pub stale: Option<Addr<Room>>,
}

/// To the registry: commit a new room and start its actor; answers the access code.
#[derive(Debug, Message)]
#[rtype(result = "Result<String, RoomError>")]
pub struct Create(pub NewRoom);

/// To the registry, from a stopping room: forget this actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Forget {
    /// The room's access code.
    pub code: String,
    /// The generation the registry gave the actor when it started it.
    pub generation: u64,
}

/// To the registry: the addresses of every live room, sorted by access code.
#[derive(Debug, Message)]
#[rtype(result = "Vec<(String, Addr<Room>)>")]
pub struct LiveRooms;

/// To the registry: the live actor of one room, if any (nothing is loaded).
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<Room>>")]
pub struct LiveRoom(pub String);

/// To a room: apply a command (committed before the answer).
#[derive(Debug, Clone, Copy, Message)]
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
    /// Open streams.
    pub subscribers: usize,
}

/// To a room: open a stream; answers its receiving end, already holding the connect sequence.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<StreamReceiver, RoomError>")]
pub struct Subscribe;

/// To the registry: what the change feed reported.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Feed(pub crate::store::feed::FeedEvent);

/// To a room: another process committed a change to its row (`None`: changes may have been
/// missed). The room reads its row again unless it already has that version.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Refresh(pub Option<crate::store::feed::Change>);

/// To a room: delete it, close its streams and stop.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), RoomError>")]
pub struct Delete;
