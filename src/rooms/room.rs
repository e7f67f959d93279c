//! The `Room` actor: the live projection of one committed room row.
//!
//! It owns the room's value, its streams and its timers (the next tick, the
//! pause-when-empty grace, heartbeats, reaping). Every change is planned by the pure
//! [`PairRoom`] functions, committed to the database on the blocking pool while the
//! actor waits (so commands on one room stay ordered), and only then broadcast.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::fut::{ready, ActorFutureExt, WrapFuture};
use actix::prelude::*;

use super::fanout::Fanout;
use super::messages::{Delete, Describe, Execute, Forget, RoomView, Subscribe};
use super::registry::RoomRegistry;
use crate::clock::now_ms;
use crate::config::Grace;
use crate::error::ApiError;
use crate::metrics::{Metrics, StreamEnd};
use crate::pairing::{Command, Notice, PairRoom};
use crate::store::rooms::{self, Saved};
use crate::store::Db;

/// How long a failed time-up write waits before it is tried again.
const TIME_UP_RETRY: Duration = Duration::from_secs(1);
/// How many times a command is re-planned when another writer changed the row first.
const MAX_STALE_RETRIES: u8 = 3;
/// The longest wait between two checks of whether an idle room may stop.
const MAX_REAP_CHECK: Duration = Duration::from_secs(30);

/// The settings every room shares.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Most time between two writes on a stream.
    pub heartbeat: Duration,
    /// How long a running timer runs on with no stream.
    pub pause_when_empty: Grace,
    /// Streams one room holds at once.
    pub max_subscribers: usize,
    /// How long a room with no stream and no running timer stays live.
    pub idle_ttl: Duration,
}

/// One live pair room.
pub struct Room {
    room: PairRoom,
    db: Db,
    config: Arc<RoomConfig>,
    metrics: Metrics,
    registry: Addr<RoomRegistry>,
    generation: u64,
    fanout: Fanout,
    watchers: HashMap<u64, SpawnHandle>,
    next_tick: Option<SpawnHandle>,
    pause_check: Option<SpawnHandle>,
    empty_since: Instant,
    last_activity: Instant,
}

type Reply = ResponseActFuture<Room, Result<(), ApiError>>;

impl Room {
    /// A room actor for `room`, not yet started.
    pub fn new(
        room: PairRoom,
        db: Db,
        config: Arc<RoomConfig>,
        metrics: Metrics,
        registry: Addr<RoomRegistry>,
        generation: u64,
    ) -> Room {
        let now = Instant::now();
        let fanout = Fanout::new(metrics.clone(), short(&room.access_code));
        Room {
            room,
            db,
            config,
            fanout,
            metrics,
            registry,
            generation,
            watchers: HashMap::new(),
            next_tick: None,
            pause_check: None,
            empty_since: now,
            last_activity: now,
        }
    }

    /// Broadcasts every tick due at `now` (they change nothing that is stored).
    fn announce_due_ticks(&mut self, now: i64, ctx: &mut Context<Self>) {
        let deadline = self.room.timer.deadline_at();
        let ticks = self.room.timer.take_due_ticks(now);
        if ticks.is_empty() {
            return;
        }
        if let Some(deadline) = deadline {
            for value in &ticks {
                let late_ms = now - (deadline - value);
                self.metrics.tick_lateness.observe(late_ms as f64 / 1000.0);
            }
        }
        let notices: Vec<Notice> = ticks.into_iter().map(Notice::Remaining).collect();
        let gone = self.fanout.broadcast(&notices);
        self.streams_gone(gone, ctx);
    }

    /// Plans `command` (or, for `None`, just the passing of time), commits the result and
    /// broadcasts it. Resolves once committed; the caller keeps the actor waiting meanwhile.
    fn execute(&mut self, command: Option<Command>, attempt: u8, ctx: &mut Context<Self>) -> Reply {
        let now = now_ms();
        self.announce_due_ticks(now, ctx);
        let plan = match command {
            Some(c) => self.room.apply(c, now),
            None => Ok(self.room.expire(now)),
        };
        let transition = match plan {
            Err(e) => return Box::pin(ready(Err(e.into()))),
            Ok(None) => {
                self.rearm(ctx);
                return Box::pin(ready(Ok(())));
            }
            Ok(Some(t)) => t,
        };
        let mut next = transition.room;
        next.version += 1;
        let notices = transition.notices;
        let candidate = next.clone();
        let db = self.db.clone();
        let write = async move { db.run(move |conn| rooms::save(conn, &candidate, now)).await };
        Box::pin(write.into_actor(self).then(move |saved, act, ctx| {
            let result: Reply = match saved {
                Ok(Saved::Committed) => {
                    let rounds = next.timer.round - act.room.timer.round;
                    act.metrics
                        .time_ups
                        .inc_by(u64::try_from(rounds).unwrap_or(0));
                    act.room = next;
                    let gone = act.fanout.broadcast(&notices);
                    act.streams_gone(gone, ctx);
                    if command == Some(Command::Start) && act.fanout.is_empty() {
                        act.empty_since = Instant::now();
                    }
                    act.rearm(ctx);
                    Box::pin(ready(Ok(())))
                }
                Ok(Saved::Stale(current)) if attempt < MAX_STALE_RETRIES => {
                    act.adopt(current, ctx);
                    act.execute(command, attempt + 1, ctx)
                }
                Ok(Saved::Stale(current)) => {
                    act.adopt(current, ctx);
                    act.rearm(ctx);
                    Box::pin(ready(Err(ApiError::Unavailable)))
                }
                Ok(Saved::Gone) => {
                    act.close(ctx);
                    Box::pin(ready(Err(ApiError::RoomNotFound)))
                }
                Err(e) => {
                    act.rearm(ctx);
                    Box::pin(ready(Err(e.into())))
                }
            };
            result
        }))
    }

    /// Takes another writer's newer row as the truth and tells the streams.
    fn adopt(&mut self, current: PairRoom, ctx: &mut Context<Self>) {
        let now = now_ms();
        self.room = current;
        let gone = self
            .fanout
            .broadcast(&[Notice::State(self.room.snapshot(now))]);
        self.streams_gone(gone, ctx);
    }

    /// Schedules the next tick (or time-up) and the pause-when-empty check.
    fn rearm(&mut self, ctx: &mut Context<Self>) {
        self.last_activity = Instant::now();
        if let Some(handle) = self.next_tick.take() {
            ctx.cancel_future(handle);
        }
        if self.room.timer.is_running() {
            let now = now_ms();
            let at = match self.room.timer.next_tick_at() {
                Some(at) => at,
                // The final tick went out but the time-up did not commit: try again.
                None => now + TIME_UP_RETRY.as_millis() as i64,
            };
            let delay = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
            self.next_tick = Some(ctx.run_later(delay, |act, ctx| {
                act.next_tick = None;
                let work = act.execute(None, 0, ctx).map(|_, _, _| ());
                ctx.wait(work);
            }));
        }
        self.arm_pause_when_empty(ctx);
    }

    /// Pauses a running timer once the room has been without streams for the grace period.
    fn arm_pause_when_empty(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.pause_check.take() {
            ctx.cancel_future(handle);
        }
        let Grace::After(grace) = self.config.pause_when_empty else {
            return;
        };
        if !self.fanout.is_empty() || !self.room.timer.is_running() {
            return;
        }
        let delay = (self.empty_since + grace).saturating_duration_since(Instant::now());
        self.pause_check = Some(ctx.run_later(delay, |act, ctx| {
            act.pause_check = None;
            if act.fanout.is_empty() && act.room.timer.is_running() {
                log::info!(
                    "room {}…: no stream for the grace period, pausing",
                    short(&act.room.access_code)
                );
                let work = act
                    .execute(Some(Command::Stop), 0, ctx)
                    .map(|result, act, ctx| {
                        if result.is_err() {
                            act.rearm(ctx);
                        }
                    });
                ctx.wait(work);
            }
        }));
    }

    /// Forgets streams that were dropped or found closed: their watchers hold a sender, so
    /// they are cancelled, which lets each stream end.
    fn streams_gone(&mut self, ids: Vec<u64>, ctx: &mut Context<Self>) {
        if ids.is_empty() {
            return;
        }
        for id in &ids {
            if let Some(handle) = self.watchers.remove(id) {
                ctx.cancel_future(handle);
            }
        }
        if self.fanout.is_empty() {
            self.empty_since = Instant::now();
            self.arm_pause_when_empty(ctx);
        }
    }

    /// A stream's client went away.
    fn unsubscribed(&mut self, id: u64, ctx: &mut Context<Self>) {
        self.watchers.remove(&id);
        if self.fanout.remove(id) && self.fanout.is_empty() {
            self.empty_since = Instant::now();
            self.last_activity = self.empty_since;
            self.arm_pause_when_empty(ctx);
        }
    }

    /// Sends `close` to every stream, ends them, and stops the actor.
    fn close(&mut self, ctx: &mut Context<Self>) {
        self.fanout.close_all();
        for (_, handle) in self.watchers.drain() {
            ctx.cancel_future(handle);
        }
        ctx.stop();
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let quiet = self.config.heartbeat.mul_f64(0.75);
        let gone = self.fanout.heartbeat(quiet);
        self.streams_gone(gone, ctx);
    }

    fn reap_if_idle(&mut self, ctx: &mut Context<Self>) {
        if self.fanout.is_empty()
            && !self.room.timer.is_running()
            && self.last_activity.elapsed() >= self.config.idle_ttl
        {
            log::debug!("room {}: idle, unloading", short(&self.room.access_code));
            ctx.stop();
        }
    }
}

/// An access code shortened for logs, so that logs do not hand out rooms.
pub fn short(code: &str) -> &str {
    code.get(..6).unwrap_or(code)
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.metrics.rooms_live.inc();
        ctx.run_interval(self.config.heartbeat / 4, |act, ctx| act.heartbeat(ctx));
        let reap_every = (self.config.idle_ttl / 2).min(MAX_REAP_CHECK);
        ctx.run_interval(reap_every, |act, ctx| act.reap_if_idle(ctx));
        // A time-up that fell due while nobody watched (or the server was down) happens now.
        let work = self.execute(None, 0, ctx).map(|_, _, _| ());
        ctx.wait(work);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.metrics.rooms_live.dec();
        // Streams still open here (the process is stopping) just end; their pages reconnect.
        self.fanout.detach_all();
        self.registry.do_send(Forget {
            code: self.room.access_code.clone(),
            generation: self.generation,
        });
    }
}

impl Handler<Execute> for Room {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, msg: Execute, ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(self.execute(Some(msg.0), 0, ctx))
    }
}

impl Handler<Describe> for Room {
    type Result = MessageResult<Describe>;

    fn handle(&mut self, _: Describe, _: &mut Self::Context) -> Self::Result {
        MessageResult(RoomView {
            room: self.room.clone(),
            subscribers: self.fanout.len(),
        })
    }
}

impl Handler<Subscribe> for Room {
    type Result = Result<super::fanout::StreamReceiver, ApiError>;

    fn handle(&mut self, _: Subscribe, ctx: &mut Self::Context) -> Self::Result {
        if self.fanout.len() >= self.config.max_subscribers {
            self.metrics.stream_ended(StreamEnd::RoomCap);
            log::info!(
                "room {}…: stream refused, room is full",
                short(&self.room.access_code)
            );
            return Err(ApiError::TooManySubscribers);
        }
        let greeting = self.room.greeting(now_ms());
        let (id, closed, rx) = self.fanout.subscribe(&greeting);
        let watcher = async move { closed.closed().await }
            .into_actor(self)
            .map(move |_, act, ctx| act.unsubscribed(id, ctx));
        let handle = ctx.spawn(watcher);
        self.watchers.insert(id, handle);
        self.last_activity = Instant::now();
        if let Some(handle) = self.pause_check.take() {
            ctx.cancel_future(handle);
        }
        Ok(rx)
    }
}

impl Handler<Delete> for Room {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, _: Delete, _: &mut Self::Context) -> Self::Result {
        let db = self.db.clone();
        let code = self.room.access_code.clone();
        let delete = async move { db.run(move |conn| rooms::delete(conn, &code)).await };
        AtomicResponse::new(Box::pin(delete.into_actor(self).map(
            |deleted, act, ctx| match deleted {
                Ok(existed) => {
                    act.close(ctx);
                    if existed {
                        Ok(())
                    } else {
                        Err(ApiError::RoomNotFound)
                    }
                }
                Err(e) => Err(e.into()),
            },
        )))
    }
}
