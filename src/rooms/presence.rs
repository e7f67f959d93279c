//! The `Presence` actor: this process's side of the cluster-wide presence. Rooms tell it
//! their streams (count and names) whenever they change; it writes them, announced on the
//! change feed, within [`FLUSH_AFTER`] of a change (several changes in one transaction),
//! writes a heartbeat every [`BEAT`], and removes this process's rows when the process
//! stops. Runs only when several processes may share the database (PostgreSQL).

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;

use crate::clock::Clock;
use crate::store::presence::{self, Count};
use crate::store::Db;

/// How often the heartbeat and the pending counts are written; well inside
/// [`presence::PROCESS_TTL_MS`].
pub const BEAT: Duration = Duration::from_secs(2);
/// How soon after a room's streams changed the change is written and announced: short
/// against the contract's 2 s for presence, long enough to gather a burst of streams into
/// one transaction.
pub const FLUSH_AFTER: Duration = Duration::from_millis(250);

/// Keeps this process's presence rows current.
pub struct Presence {
    /// This process's id in the `processes` table.
    process: String,
    db: Db,
    clock: Clock,
    /// Counts not yet written, by room.
    pending: HashMap<String, Count>,
    /// Whether a write is under way (the next waits for the next beat).
    writing: bool,
    /// Whether a write of the pending counts is already planned.
    flush_planned: bool,
    /// Set once the process left: nothing is written any more.
    left: bool,
    /// Told when the write under way is done (a leave waits for it).
    after_write: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Presence {
    /// A reporter for the process `process`.
    pub fn new(process: String, db: Db, clock: Clock) -> Presence {
        Presence {
            process,
            db,
            clock,
            pending: HashMap::new(),
            writing: false,
            flush_planned: false,
            left: false,
            after_write: Vec::new(),
        }
    }

    /// Writes the heartbeat and the pending counts; done at once when a write is already
    /// under way (the next beat takes what it left).
    fn flush(&mut self) -> ResponseActFuture<Self, ()> {
        if self.writing || self.left {
            return Box::pin(actix::fut::ready(()));
        }
        self.writing = true;
        let counts: Vec<Count> = self.pending.drain().map(|(_, c)| c).collect();
        let (db, process, now) = (self.db.clone(), self.process.clone(), self.clock.now_ms());
        let retry = counts.clone();
        let write = async move {
            db.run(move |conn| presence::report(conn, &process, now, &counts))
                .await
        };
        Box::pin(write.into_actor(self).map(move |done, act, ctx| {
            act.writing = false;
            for waiter in act.after_write.drain(..) {
                // A leave that stopped waiting has nothing to be told.
                let _ = waiter.send(());
            }
            if let Err(e) = done {
                log::warn!("cannot record this process's streams: {e}");
                // Written at the next beat, unless a newer count came meanwhile.
                for count in retry {
                    act.pending.entry(count.code.clone()).or_insert(count);
                }
            } else if !act.pending.is_empty() {
                // Changes that came while this write ran go out as soon as their own.
                act.plan_flush(ctx);
            }
        }))
    }

    /// Writes the pending counts [`FLUSH_AFTER`] from now (on the injected clock), unless a
    /// write is planned already; the clock's wake token is held until the write is done.
    fn plan_flush(&mut self, ctx: &mut Context<Self>) {
        if self.flush_planned {
            return;
        }
        self.flush_planned = true;
        let at = self.clock.now().mono + FLUSH_AFTER;
        let sleep = self.clock.sleep_until(at).into_actor(self);
        ctx.spawn(sleep.then(|token, act, _| {
            act.flush_planned = false;
            act.flush().map(move |(), _, _| drop(token))
        }));
    }

    /// Sleeps on the injected clock until the next beat, writes, and sleeps again; the
    /// clock's wake token is held until the beat's write is done.
    fn beat_later(&mut self, ctx: &mut Context<Self>) {
        let at = self.clock.now().mono + BEAT;
        let sleep = self.clock.sleep_until(at).into_actor(self);
        ctx.spawn(sleep.then(|token, act, _| {
            act.flush().map(move |(), act, ctx| {
                drop(token);
                act.beat_later(ctx);
            })
        }));
    }
}

impl Actor for Presence {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let first = self.flush();
        ctx.spawn(first);
        self.beat_later(ctx);
    }
}

/// From a room: its stream count in this process changed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Counted {
    /// The room.
    pub code: String,
    /// Its streams here now.
    pub streams: usize,
    /// The distinct names of its named streams here, sorted.
    pub names: Vec<String>,
}

impl Handler<Counted> for Presence {
    type Result = ();

    fn handle(&mut self, msg: Counted, ctx: &mut Self::Context) {
        let streams = i64::try_from(msg.streams).unwrap_or(i64::MAX);
        let count = Count {
            code: msg.code.clone(),
            streams,
            empty_since: (streams == 0).then(|| self.clock.now_ms()),
            names: msg.names,
        };
        self.pending.insert(msg.code, count);
        self.plan_flush(ctx);
    }
}

/// At a clean stop: remove this process's rows.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Leave;

impl Handler<Leave> for Presence {
    type Result = ResponseFuture<()>;

    /// Stops writing, waits for a write already under way (which would otherwise land
    /// after the goodbye), then removes this process's rows.
    fn handle(&mut self, _: Leave, _: &mut Self::Context) -> Self::Result {
        self.left = true;
        let under_way = self.writing.then(|| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.after_write.push(tx);
            rx
        });
        let (db, process) = (self.db.clone(), self.process.clone());
        Box::pin(async move {
            if let Some(done) = under_way {
                let _ = done.await;
            }
            if let Err(e) = db.run(move |conn| presence::leave(conn, &process)).await {
                log::warn!("cannot remove this process's presence: {e}");
            }
        })
    }
}
