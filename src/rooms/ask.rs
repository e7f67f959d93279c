//! How HTTP handlers reach a room: look it up in the registry, send the message, and
//! try again with a fresh actor when the one found had just stopped.

use actix::prelude::*;

use super::messages::{Describe, RoomView};
use super::registry::Lookup;
use super::{Room, RoomRegistry};
use crate::access_code;
use crate::clock::Clock;
use crate::rules::RoomError;
use crate::store::{presence, rooms, Db};

/// Attempts before a room that keeps stopping under us counts as unavailable.
const ATTEMPTS: usize = 3;

/// Sends `msg` to the live room `code` and answers its reply. A code that cannot name a
/// room is `NotFound` without a database look-up.
pub async fn ask<M, R>(registry: &Addr<RoomRegistry>, code: &str, msg: M) -> Result<R, RoomError>
where
    M: Message<Result = Result<R, RoomError>> + Clone + Send + 'static,
    R: Send + 'static,
    Room: Handler<M>,
{
    if !access_code::is_well_formed(code) {
        return Err(RoomError::NotFound);
    }
    let mut stale = None;
    for _ in 0..ATTEMPTS {
        let room = registry
            .send(Lookup {
                code: code.to_string(),
                stale: stale.take(),
            })
            .await
            .map_err(|_| RoomError::Unavailable)??;
        match room.send(msg.clone()).await {
            // The actor stopped (idle, or the process is stopping) before it answered.
            Ok(Err(RoomError::Stopped)) | Err(_) => stale = Some(room),
            Ok(reply) => return reply,
        }
    }
    Err(RoomError::Unavailable)
}

/// The room as committed now, and who is here. When several processes may share the
/// database, the row and the processes' presence are read through, so that a change
/// committed by another process a moment ago is never missed; otherwise the live room
/// answers (loading it when needed).
pub async fn current(
    registry: &Addr<RoomRegistry>,
    db: &Db,
    clock: &Clock,
    code: &str,
) -> Result<RoomView, RoomError> {
    if db.shared_url().is_none() {
        return ask(registry, code, Describe).await;
    }
    if !access_code::is_well_formed(code) {
        return Err(RoomError::NotFound);
    }
    let (key, clock) = (code.to_string(), clock.clone());
    let (room, presence) = db
        .run(move |conn| {
            let now = clock.now_ms();
            let Some(room) = rooms::find(conn, &key, now)? else {
                return Ok(None);
            };
            Ok(Some((room, presence::of_room(conn, &key, now)?)))
        })
        .await
        .map_err(|e| {
            log::warn!("{e}");
            RoomError::Unavailable
        })?
        .ok_or(RoomError::NotFound)?;
    Ok(RoomView {
        room,
        subscribers: 0,
        presence,
    })
}
