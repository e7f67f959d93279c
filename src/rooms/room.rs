//! The `Room` actor: the shell that carries out what one room's [`RoomMachine`] decides.
//!
//! It feeds the machine every input with the injected clock's reading, and does the I/O
//! the effects ask for: it writes rows through the group committer while the actor waits
//! (so the inputs of one room stay ordered and a change is committed before it is
//! broadcast), applies the changes other processes announce (from the row the
//! announcement carries, or by reading the row when it carries none or a gap shows),
//! sends frames through the [`Fanout`], sleeps until the next wake-up, and stops.

use std::collections::HashMap;
use std::sync::Arc;

use actix::fut::{ready, ActorFutureExt, WrapFuture};
use actix::prelude::*;

use super::fanout::{Fanout, Gone, StreamReceiver};
use super::messages::{
    Delete, Describe, Execute, Forget, PresenceElsewhere, Refresh, RoomView, Subscribe,
};
use super::presence::{Counted, Presence};
use crate::access_code::short;
use crate::clock::{Clock, WakeToken};
use crate::metrics::{FeedApplied, Metrics, StreamEnd};
use crate::rules::{Checked, PairRoom, Write};
use crate::rules::{Effect, Input, RoomError, RoomMachine, RoomPolicy, Seen, WriteOutcome};
use crate::store::feed::wire::{told_from_wire, told_to_wire};
use crate::store::presence;
use crate::store::rooms::{self, Pending, Saved};
use crate::store::Db;

/// What a room needs from the process around it.
#[derive(Clone)]
pub struct RoomContext {
    /// The committed truth.
    pub db: Db,
    /// The clock every decision is timed by.
    pub clock: Clock,
    /// The settings every room shares.
    pub policy: Arc<RoomPolicy>,
    /// The process's metrics.
    pub metrics: Metrics,
    /// This process among the others on a shared database, if it may be shared.
    pub cluster: Option<Cluster>,
}

/// This process among several on one database.
#[derive(Clone)]
pub struct Cluster {
    /// This process's id in the presence tables.
    pub process: String,
    /// Where rooms report their stream counts.
    pub presence: Addr<Presence>,
}

/// One live pair room.
pub struct Room {
    /// Every decision about the room.
    machine: RoomMachine,
    /// The database, the clock, the settings and the metrics.
    env: RoomContext,
    /// The room's streams.
    fanout: Fanout,
    /// Told when this actor stops, so that it forgets this generation of the room.
    registry: Recipient<Forget>,
    /// Which start of the room this actor is, so that a late `Forget` from an older actor
    /// cannot remove a newer one.
    generation: u64,
    /// One future per stream that ends when its client hangs up; cancelled when the room
    /// lets go of the stream first, which releases the stream's last sender.
    watchers: HashMap<u64, SpawnHandle>,
    /// The sleep until the machine's next wake-up, and its instant.
    wake: Option<(SpawnHandle, std::time::Duration)>,
}

/// How a batch of effects ends: the reply to the input that caused it, if any.
type Outcome = Option<Result<(), RoomError>>;
type Work = ResponseActFuture<Room, Outcome>;

impl Room {
    /// A room actor for `room`, not yet started.
    pub fn new(
        room: PairRoom,
        env: RoomContext,
        registry: Recipient<Forget>,
        generation: u64,
    ) -> Room {
        let fanout = Fanout::new(env.metrics.clone(), short(&room.access_code));
        let machine = RoomMachine::new(room, env.policy.clone(), env.clock.now());
        Room {
            machine,
            env,
            fanout,
            registry,
            generation,
            watchers: HashMap::new(),
            wake: None,
        }
    }

    /// Feeds `input` to the machine and carries out what it answers.
    fn feed(&mut self, input: Input, ctx: &mut Context<Self>) -> Work {
        let effects = self.step(input);
        self.carry_out(effects, ctx)
    }

    /// Feeds `input` to the machine; tells the other processes when this process's streams
    /// on the room (their count or their names) changed.
    fn step(&mut self, input: Input) -> Vec<Effect> {
        let before = (self.machine.subscribers(), self.machine.names_here());
        let effects = self.machine.step(self.env.clock.now(), input);
        if let Some(cluster) = &self.env.cluster {
            let after = (self.machine.subscribers(), self.machine.names_here());
            if before != after {
                cluster.presence.do_send(Counted {
                    code: self.machine.room().access_code.clone(),
                    streams: after.0,
                    names: after.1,
                });
            }
        }
        effects
    }

    /// Carries out `effects` in order. A write resolves the returned future only once its
    /// outcome, and whatever that outcome caused, has been carried out too.
    fn carry_out(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) -> Work {
        let mut reply = None;
        let mut write = None;
        let mut ask = false;
        let mut check = false;
        let mut gone = Vec::new();
        for effect in effects {
            match effect {
                Effect::Save(change) => {
                    if self.machine.pausing_empty() {
                        log::info!(
                            "room {}…: no stream for the grace period, pausing",
                            short(&change.room.access_code)
                        );
                    }
                    write = Some(Some(*change));
                }
                Effect::DeleteRow => write = Some(None),
                Effect::AskPresence => ask = true,
                Effect::CheckRow => check = true,
                Effect::Broadcast(notices) => {
                    let ids = self.fanout.broadcast(&notices);
                    gone.extend(self.let_go(ids, ctx));
                }
                Effect::Heartbeat => {
                    let ids = self.fanout.heartbeat();
                    gone.extend(self.let_go(ids, ctx));
                }
                // Answered only to `StreamOpened`, which the `Subscribe` handler carries out.
                Effect::Greet(_) => {}
                Effect::WakeAt(at) => self.sleep_until(at, ctx),
                Effect::CloseStreams => {
                    self.fanout.close_all();
                    for (_, handle) in self.watchers.drain() {
                        ctx.cancel_future(handle);
                    }
                }
                Effect::Stop => ctx.stop(),
                Effect::Reply(answer) => reply = Some(answer),
                Effect::TickLate(ms) => self.env.metrics.tick_lateness.observe(ms as f64 / 1000.0),
                Effect::TimeUps(n) => self.env.metrics.time_ups.inc_by(n),
            }
        }
        let io: Work = if check {
            Box::pin(
                self.read_row()
                    .into_actor(self)
                    .then(move |checked, act, ctx| {
                        act.feed(Input::RowChecked(checked), ctx)
                            .map(move |later, _, _| reply.or(later))
                    }),
            )
        } else if ask {
            Box::pin(
                self.seen_elsewhere()
                    .into_actor(self)
                    .then(move |seen, act, ctx| {
                        act.feed(Input::SeenElsewhere(seen), ctx)
                            .map(move |later, _, _| reply.or(later))
                    }),
            )
        } else {
            match write {
                None => Box::pin(ready(reply)),
                Some(row) => Box::pin(self.write(row).into_actor(self).then(
                    move |outcome, act, ctx| {
                        act.feed(Input::Written(outcome), ctx)
                            .map(move |later, _, _| reply.or(later))
                    },
                )),
            }
        };
        if gone.is_empty() {
            return io;
        }
        // Streams the fan-out let go are the machine's news at once; the write or question
        // asked above still follows (the machine holds no wake-up while one is pending).
        let closed = self.feed(Input::StreamsClosed(gone), ctx);
        Box::pin(closed.then(move |early, _, _| io.map(move |later, _, _| later.or(early))))
    }

    /// Writes `row` over its previous version with what changed beside it (or, for `None`,
    /// deletes the room).
    fn write(&self, row: Option<Write>) -> impl std::future::Future<Output = WriteOutcome> {
        let db = self.env.db.clone();
        let code = self.machine.room().access_code.clone();
        let now = self.env.clock.now_ms();
        let told = told_to_wire(self.machine.pending_notices());
        async move {
            let key = code.clone();
            let done = match row {
                Some(change) => db.save(Pending { change, now, told }).await,
                None => db
                    .run_for_room(move |conn| rooms::delete(conn, &key))
                    .await
                    .map(|existed| {
                        if existed {
                            Saved::Committed
                        } else {
                            Saved::Gone
                        }
                    }),
            };
            match done {
                Ok(Saved::Committed) => WriteOutcome::Committed,
                Ok(Saved::Stale(current)) => WriteOutcome::Stale(current),
                Ok(Saved::Gone) => WriteOutcome::Gone,
                Err(e) => {
                    log::warn!("room {}…: write failed: {e}", short(&code));
                    WriteOutcome::Failed
                }
            }
        }
    }

    /// The room's row as the database holds it now.
    fn read_row(&self) -> impl std::future::Future<Output = Checked> {
        let (db, clock) = (self.env.db.clone(), self.env.clock.clone());
        let code = self.machine.room().access_code.clone();
        async move {
            let key = code.clone();
            match db
                .run_for_room(move |conn| rooms::find(conn, &key, clock.now_ms()))
                .await
            {
                Ok(row) => Checked::Row(row.map(Box::new)),
                Err(e) => {
                    log::warn!("room {}…: cannot read its row again: {e}", short(&code));
                    Checked::Failed
                }
            }
        }
    }

    /// When another process last had a stream on this room.
    fn seen_elsewhere(&self) -> impl std::future::Future<Output = Seen> {
        let db = self.env.db.clone();
        let code = self.machine.room().access_code.clone();
        let now = self.env.clock.now_ms();
        let process = self.env.cluster.as_ref().map(|c| c.process.clone());
        async move {
            let Some(process) = process else {
                return Seen::Never;
            };
            let seen = db
                .run(move |conn| presence::seen_elsewhere(conn, &process, &code, now))
                .await;
            match seen {
                Ok(Some(at)) => Seen::At(at),
                Ok(None) => Seen::Never,
                Err(e) => {
                    log::warn!("cannot read where else the room has streams: {e}");
                    Seen::Unknown
                }
            }
        }
    }

    /// Cancels the watchers of streams the fan-out let go; answers the names they were
    /// opened with.
    fn let_go(&mut self, gone: Vec<Gone>, ctx: &mut Context<Self>) -> Vec<Option<String>> {
        gone.into_iter()
            .map(|(id, name)| {
                if let Some(handle) = self.watchers.remove(&id) {
                    ctx.cancel_future(handle);
                }
                name
            })
            .collect()
    }

    /// Replaces the pending wake-up with one at `at`. While the woken work runs, the actor
    /// takes no other input, and the clock's token is held until it is done.
    fn sleep_until(&mut self, at: std::time::Duration, ctx: &mut Context<Self>) {
        if let Some((handle, pending)) = self.wake.take() {
            if pending == at {
                // Most inputs leave the next wake-up where it was.
                self.wake = Some((handle, pending));
                return;
            }
            ctx.cancel_future(handle);
        }
        let sleep = self.env.clock.sleep_until(at).into_actor(self);
        let handle = ctx.spawn(sleep.map(|token: WakeToken, act, ctx| {
            act.wake = None;
            let work = act.feed(Input::Wake, ctx).map(move |_, _, _| drop(token));
            ctx.wait(work);
        }));
        self.wake = Some((handle, at));
    }

    /// A stream's client went away.
    fn unsubscribed(&mut self, id: u64, ctx: &mut Context<Self>) {
        self.watchers.remove(&id);
        if let Some(name) = self.fanout.remove(id) {
            let work = self
                .feed(Input::StreamsClosed(vec![name]), ctx)
                .map(|_, _, _| ());
            ctx.wait(work);
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.env.metrics.rooms_live.inc();
        // A time-up that fell due while nobody watched (or the server was down) happens now.
        let effects = self.machine.start(self.env.clock.now());
        let work = self.carry_out(effects, ctx).map(|_, _, _| ());
        ctx.wait(work);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.env.metrics.rooms_live.dec();
        // Streams still open here (the process is stopping) just end; their pages reconnect.
        self.fanout.detach_all();
        self.registry.do_send(Forget {
            code: self.machine.room().access_code.clone(),
            generation: self.generation,
        });
    }
}

/// The reply of a batch that must have one.
fn answered(outcome: Outcome) -> Result<(), RoomError> {
    outcome.unwrap_or(Err(RoomError::Unavailable))
}

impl Handler<Execute> for Room {
    type Result = AtomicResponse<Self, Result<(), RoomError>>;

    fn handle(&mut self, msg: Execute, ctx: &mut Self::Context) -> Self::Result {
        let work = self.feed(Input::Command(msg.0), ctx);
        AtomicResponse::new(Box::pin(work.map(|outcome, _, _| answered(outcome))))
    }
}

impl Handler<Delete> for Room {
    type Result = AtomicResponse<Self, Result<(), RoomError>>;

    fn handle(&mut self, _: Delete, ctx: &mut Self::Context) -> Self::Result {
        let work = self.feed(Input::Delete, ctx);
        AtomicResponse::new(Box::pin(work.map(|outcome, _, _| answered(outcome))))
    }
}

impl Handler<Refresh> for Room {
    type Result = ();

    fn handle(&mut self, msg: Refresh, ctx: &mut Self::Context) {
        let known = self.machine.room().version;
        if matches!(&msg.0, Some(change) if change.version != 0 && change.version <= known) {
            // This process's own write, or older news.
            return;
        }
        if let Some(input) = msg.0.as_ref().and_then(|change| self.carried(change)) {
            self.env.metrics.feed_applied(FeedApplied::Carried);
            let work = self.feed(input, ctx).map(|_, _, _| ());
            ctx.wait(work);
            return;
        }
        if msg.0.is_some() {
            self.env.metrics.feed_applied(FeedApplied::Read);
        }
        let (db, clock) = (self.env.db.clone(), self.env.clock.clone());
        let code = self.machine.room().access_code.clone();
        let read = async move {
            db.run(move |conn| rooms::find(conn, &code, clock.now_ms()))
                .await
        };
        let work = read.into_actor(self).then(move |row, act, ctx| match row {
            Ok(row) => {
                let now = act.env.clock.now_ms();
                // The change's own account, when the row read is the one it announced.
                let told = match (&row, &msg.0) {
                    (Some(row), Some(change)) if row.version == change.version => {
                        told_from_wire(&change.told, row, now)
                    }
                    _ => None,
                };
                let input = match (row, told) {
                    (Some(row), Some(told)) => Input::ChangeRead(row, told),
                    (row, _) => Input::RowRead(row),
                };
                act.feed(input, ctx)
            }
            Err(e) => {
                log::warn!(
                    "room {}…: cannot read its row again: {e}",
                    short(&act.machine.room().access_code)
                );
                Box::pin(ready(None))
            }
        });
        ctx.wait(work.map(|_, _, _| ()));
    }
}

impl Room {
    /// The change as the machine's input, from the row its announcement carried, when
    /// that row is the very next version of the room; `None` when the row must be read
    /// (no row carried, a gap of versions, a delete, or a row that cannot be read).
    fn carried(&self, change: &crate::store::feed::Change) -> Option<Input> {
        let before = self.machine.room();
        if change.version != before.version + 1 {
            return None;
        }
        let now = self.env.clock.now_ms();
        let row = match change.carried.as_ref()?.room(before, now) {
            Ok(row) => row,
            Err(e) => {
                log::warn!("{e}; reading it again");
                return None;
            }
        };
        if (row.version, row.access_code.as_str()) != (change.version, before.access_code.as_str())
        {
            return None;
        }
        let told = told_from_wire(&change.told, &row, now)?;
        Some(Input::ChangeRead(row, told))
    }
}

impl Handler<Describe> for Room {
    type Result = Result<RoomView, RoomError>;

    fn handle(&mut self, _: Describe, _: &mut Self::Context) -> Self::Result {
        self.machine.live()?;
        Ok(RoomView {
            room: self.machine.room().clone(),
            subscribers: self.machine.subscribers(),
            presence: self.machine.presence(),
        })
    }
}

impl Handler<Subscribe> for Room {
    type Result = Result<StreamReceiver, RoomError>;

    fn handle(&mut self, msg: Subscribe, ctx: &mut Self::Context) -> Self::Result {
        let effects = self.step(Input::StreamOpened(msg.name.clone()));
        let mut greeting = None;
        let mut rest = Vec::with_capacity(effects.len());
        for effect in effects {
            match effect {
                Effect::Greet(notices) => greeting = Some(notices),
                Effect::Reply(Err(e)) => {
                    if e == RoomError::Full {
                        self.env.metrics.stream_ended(StreamEnd::RoomCap);
                        log::info!(
                            "room {}…: stream refused, room is full",
                            short(&self.machine.room().access_code)
                        );
                    }
                    return Err(e);
                }
                other => rest.push(other),
            }
        }
        // Ticks already due go out to the other streams before the newcomer is added.
        let work = self.carry_out(rest, ctx).map(|_, _, _| ());
        ctx.wait(work);
        let Some(greeting) = greeting else {
            return Err(RoomError::Unavailable);
        };
        let (id, closed, rx) = self.fanout.subscribe(msg.name, &greeting);
        let watcher = async move { closed.closed().await }
            .into_actor(self)
            .map(move |_, act, ctx| act.unsubscribed(id, ctx));
        self.watchers.insert(id, ctx.spawn(watcher));
        Ok(rx)
    }
}

impl Handler<PresenceElsewhere> for Room {
    type Result = ();

    fn handle(&mut self, msg: PresenceElsewhere, ctx: &mut Self::Context) {
        let work = self.feed(Input::Elsewhere(msg.0), ctx).map(|_, _, _| ());
        ctx.wait(work);
    }
}
