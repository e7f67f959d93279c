//! The `RoomRegistry` supervisor actor: the one map from access codes to live room
//! actors. It creates rooms, loads a room from the database on first use (once, however
//! many requests ask for it at the same moment; rooms asked for while a load is under way
//! are loaded together, by one read), spreads room actors over the worker arbiters, loads
//! every running room at start, and forgets rooms that stopped.

use std::collections::HashMap;

use actix::fut::WrapFuture;
use actix::prelude::*;
use tokio::sync::oneshot;

use super::book::PresenceBook;
use super::messages::{Forget, PresenceElsewhere, Refresh};
use super::presence::BEAT;
use super::room::{Room, RoomContext};
use crate::access_code;
use crate::rules::{Elsewhere, NewRoom, PairRoom, RoomError};
use crate::store::feed::FeedEvent;
use crate::store::{presence, rooms, StoreError};

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

/// To the registry: the addresses of every live room, sorted by access code.
#[derive(Debug, Message)]
#[rtype(result = "Vec<(String, Addr<Room>)>")]
pub struct LiveRooms;

/// To the registry: the live actor of one room, if any (nothing is loaded).
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<Room>>")]
pub struct LiveRoom(pub String);

/// To the registry: what the change feed reported.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Feed(pub FeedEvent);

/// How often, on a shared database, the registry loads running rooms that are live in no
/// actor here (started by another process, maybe one that died since), so that their
/// time-ups and pauses happen whichever processes live on.
const SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads that load rooms for requests at once; rooms asked for meanwhile wait, and the
/// next read loads them all (a storm of requests for rooms not yet live costs a read per
/// batch, not per room).
const LOADS_IN_FLIGHT: usize = 2;

/// The most rooms one such read loads.
const LOAD_BATCH: usize = 500;

/// Tries at drawing an unused access code before giving up (a clash is already
/// vanishingly unlikely with 122 random bits).
const CODE_ATTEMPTS: usize = 5;

type Waiter = oneshot::Sender<Result<Addr<Room>, RoomError>>;

/// The supervisor of every room actor in this process.
pub struct RoomRegistry {
    /// What every room is started with: database, clock, settings, metrics.
    env: RoomContext,
    /// The threads room actors are spread over (empty: this actor's own thread).
    arbiters: Vec<ArbiterHandle>,
    /// Which arbiter gets the next room.
    next_arbiter: usize,
    /// The generation the next room actor gets.
    next_generation: u64,
    /// The live room actors by access code, each with its generation.
    live: HashMap<String, (Addr<Room>, u64)>,
    /// Requests waiting for a room being loaded, so that it is loaded once.
    loading: HashMap<String, Vec<Waiter>>,
    /// Rooms in `loading` whose read has not begun: the next read takes them.
    queued: Vec<String>,
    /// Reads of rooms for requests under way (at most [`LOADS_IN_FLIGHT`]).
    loads_in_flight: usize,
    /// Rooms with a running timer, started as soon as the registry starts.
    running_at_start: Vec<PairRoom>,
    /// What the other processes hold on each room (on a shared database).
    book: PresenceBook,
}

impl RoomRegistry {
    /// A registry that starts room actors round-robin on `arbiters` (on its own thread when
    /// the list is empty), beginning with the rooms in `running_at_start`.
    pub fn new(
        env: RoomContext,
        arbiters: Vec<ArbiterHandle>,
        running_at_start: Vec<PairRoom>,
    ) -> RoomRegistry {
        let me = env.cluster.as_ref().map(|c| c.process.clone());
        let book = PresenceBook::new(me.unwrap_or_default());
        RoomRegistry {
            env,
            arbiters,
            next_arbiter: 0,
            next_generation: 0,
            live: HashMap::new(),
            book,
            loading: HashMap::new(),
            queued: Vec::new(),
            loads_in_flight: 0,
            running_at_start,
        }
    }

    /// Tells each of `codes` that is live here what the other processes now hold on it.
    fn tell_elsewhere(&self, codes: &[String]) {
        for code in codes {
            if let Some((addr, _)) = self.live.get(code) {
                addr.do_send(PresenceElsewhere(self.book.elsewhere(code)));
            }
        }
    }

    /// Reads the whole presence book again (after the feed reconnected: reports may have
    /// been missed).
    fn reload_book(&mut self, ctx: &mut Context<Self>) {
        let (db, clock) = (self.env.db.clone(), self.env.clock.clone());
        let load = async move {
            db.run(move |conn| presence::book(conn, clock.now_ms()))
                .await
        };
        ctx.spawn(load.into_actor(self).map(|rows, act, _| match rows {
            Ok(rows) => {
                let changed = act.book.reload(rows);
                act.tell_elsewhere(&changed);
            }
            Err(e) => log::warn!("cannot read where the other processes hold streams: {e}"),
        }));
    }

    /// Every [`BEAT`] on the injected clock, forgets the streams of processes that stopped
    /// counting (killed, or gone); the clock's wake token is held until that is done.
    fn check_processes_later(&mut self, ctx: &mut Context<Self>) {
        let at = self.env.clock.now().mono + BEAT;
        let sleep = self.env.clock.sleep_until(at).into_actor(self);
        ctx.spawn(sleep.then(|token, act, _| {
            let (db, clock) = (act.env.db.clone(), act.env.clock.clone());
            let check = async move {
                db.run(move |conn| presence::live_processes(conn, clock.now_ms()))
                    .await
            };
            check.into_actor(act).map(move |alive, act, ctx| {
                match alive {
                    Ok(alive) => {
                        let changed = act.book.keep_only(&alive);
                        act.tell_elsewhere(&changed);
                    }
                    Err(e) => log::warn!("cannot tell which processes are alive: {e}"),
                }
                drop(token);
                act.check_processes_later(ctx);
            })
        }));
    }

    fn start_room(&mut self, room: PairRoom, ctx: &mut Context<Self>) -> Addr<Room> {
        self.next_generation += 1;
        let generation = self.next_generation;
        let code = room.access_code.clone();
        let (env, me) = (self.env.clone(), ctx.address().recipient());
        let make = move |_: &mut Context<Room>| Room::new(room, env, me, generation);
        let addr = if self.arbiters.is_empty() {
            Room::create(make)
        } else {
            let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
            self.next_arbiter = self.next_arbiter.wrapping_add(1);
            Room::start_in_arbiter(arbiter, make)
        };
        let elsewhere = self.book.elsewhere(&code);
        if elsewhere != Elsewhere::default() {
            addr.do_send(PresenceElsewhere(elsewhere));
        }
        self.live.insert(code, (addr.clone(), generation));
        addr
    }

    /// Sleeps on the injected clock until the next sweep, sweeps, and sleeps again. The
    /// clock's wake token is held until the sweep is done, so a manual clock's advance
    /// returns with the sweep's rooms started.
    fn sweep_later(&mut self, ctx: &mut Context<Self>) {
        let at = self.env.clock.now().mono + SWEEP;
        let sleep = self.env.clock.sleep_until(at).into_actor(self);
        ctx.spawn(sleep.then(|token, act, _| {
            act.sweep().map(move |(), act, ctx| {
                drop(token);
                act.sweep_later(ctx);
            })
        }));
    }

    /// Starts every running room that is not live here: lists the running rooms' codes,
    /// then loads only the rooms among them that this process does not hold (most sweeps
    /// load none: a room started anywhere is live on every process that heard of it).
    fn sweep(&mut self) -> impl ActorFuture<Self, Output = ()> {
        let db = self.env.db.clone();
        let list = async move { db.run(rooms::running_codes).await };
        list.into_actor(self)
            .then(|running, act, _| {
                let missing: Vec<String> = match running {
                    Ok(codes) => codes
                        .into_iter()
                        .filter(|code| !act.holds(code) && !act.loading.contains_key(code))
                        .collect(),
                    Err(e) => {
                        log::warn!("cannot list the running rooms: {e}");
                        Vec::new()
                    }
                };
                let (db, clock) = (act.env.db.clone(), act.env.clock.clone());
                async move {
                    if missing.is_empty() {
                        return Ok(Vec::new());
                    }
                    db.run(move |conn| rooms::find_many(conn, &missing, clock.now_ms()))
                        .await
                }
                .into_actor(act)
            })
            .map(|loaded, act, ctx| match loaded {
                Ok(rooms) => {
                    for room in rooms {
                        // Still not held: a request may have loaded it meanwhile.
                        if !act.holds(&room.access_code)
                            && !act.loading.contains_key(&room.access_code)
                        {
                            act.start_room(room, ctx);
                        }
                    }
                }
                Err(e) => log::warn!("cannot load the running rooms: {e}"),
            })
    }

    /// Whether a live room actor holds the room with this code.
    fn holds(&self, code: &str) -> bool {
        self.live
            .get(code)
            .is_some_and(|(addr, _)| addr.connected())
    }

    /// Begins a read of the queued rooms while fewer than [`LOADS_IN_FLIGHT`] are under
    /// way: one room alone by the one-statement look-up, several at once by one batch read.
    fn load_queued(&mut self, ctx: &mut Context<Self>) {
        while self.loads_in_flight < LOADS_IN_FLIGHT && !self.queued.is_empty() {
            let take = self.queued.len().min(LOAD_BATCH);
            let codes: Vec<String> = self.queued.drain(..take).collect();
            self.loads_in_flight += 1;
            let counters = &self.env.metrics.room_loads;
            counters.reads.inc();
            counters.rooms.inc_by(codes.len() as u64);
            let (db, clock) = (self.env.db.clone(), self.env.clock.clone());
            let wanted = codes.clone();
            let load = async move {
                db.run(move |conn| match wanted.as_slice() {
                    [code] => Ok(rooms::find(conn, code, clock.now_ms())?
                        .into_iter()
                        .collect()),
                    many => rooms::find_many(conn, many, clock.now_ms()),
                })
                .await
            };
            ctx.spawn(load.into_actor(self).map(move |loaded, act, ctx| {
                act.loads_in_flight -= 1;
                match loaded {
                    Ok(found) => {
                        let mut found: HashMap<String, PairRoom> = found
                            .into_iter()
                            .map(|room| (room.access_code.clone(), room))
                            .collect();
                        for code in codes {
                            let room = found.remove(&code);
                            act.finish_load(code, Ok(room), ctx);
                        }
                    }
                    Err(e) => {
                        let error = unavailable(e);
                        for code in codes {
                            act.finish_load(code, Err(error.clone()), ctx);
                        }
                    }
                }
                act.load_queued(ctx);
            }));
        }
    }

    /// Answers the requests waiting for room `code`: its new actor, `NotFound`, or why
    /// it could not be read.
    fn finish_load(
        &mut self,
        code: String,
        loaded: Result<Option<PairRoom>, RoomError>,
        ctx: &mut Context<Self>,
    ) {
        let answer = match loaded {
            Ok(Some(room)) => Ok(self.start_room(room, ctx)),
            Ok(None) => Err(RoomError::NotFound),
            Err(e) => Err(e),
        };
        for waiter in self.loading.remove(&code).unwrap_or_default() {
            // A requester that gave up has dropped its receiver; nothing to tell it.
            let _ = waiter.send(answer.clone());
        }
    }
}

/// A database failure, logged, in room terms.
fn unavailable(e: StoreError) -> RoomError {
    log::warn!("{e}");
    RoomError::Unavailable
}

impl Actor for RoomRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for room in std::mem::take(&mut self.running_at_start) {
            self.start_room(room, ctx);
        }
        if self.env.cluster.is_some() {
            self.sweep_later(ctx);
            self.check_processes_later(ctx);
        }
    }
}

impl Handler<Lookup> for RoomRegistry {
    type Result = ResponseFuture<Result<Addr<Room>, RoomError>>;

    fn handle(&mut self, msg: Lookup, ctx: &mut Self::Context) -> Self::Result {
        let Lookup { code, stale } = msg;
        if let Some((addr, _)) = self.live.get(&code) {
            let is_stale = stale.as_ref() == Some(addr) || !addr.connected();
            if !is_stale {
                let addr = addr.clone();
                return Box::pin(async move { Ok(addr) });
            }
            self.live.remove(&code);
        }
        let (tx, rx) = oneshot::channel();
        let answer = async move { rx.await.unwrap_or(Err(RoomError::Unavailable)) };
        if let Some(waiters) = self.loading.get_mut(&code) {
            waiters.push(tx);
            return Box::pin(answer);
        }
        self.loading.insert(code.clone(), vec![tx]);
        self.queued.push(code);
        self.load_queued(ctx);
        Box::pin(answer)
    }
}

impl Handler<Create> for RoomRegistry {
    type Result = ResponseActFuture<Self, Result<String, RoomError>>;

    fn handle(&mut self, msg: Create, _: &mut Self::Context) -> Self::Result {
        let (db, clock) = (self.env.db.clone(), self.env.clock.clone());
        let insert = async move {
            db.run(move |conn| {
                for _ in 0..CODE_ATTEMPTS {
                    let now = clock.now_ms();
                    let room = msg.0.clone().into_room(access_code::generate(), now);
                    match rooms::insert(conn, &room, now) {
                        Ok(()) => return Ok(room),
                        Err(StoreError::Duplicate) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(StoreError::Unavailable(
                    "no free access code after several draws".into(),
                ))
            })
            .await
        };
        Box::pin(insert.into_actor(self).map(|inserted, act, ctx| {
            let room = inserted.map_err(unavailable)?;
            let code = room.access_code.clone();
            act.start_room(room, ctx);
            Ok(code)
        }))
    }
}

impl Handler<Forget> for RoomRegistry {
    type Result = ();

    fn handle(&mut self, msg: Forget, _: &mut Self::Context) {
        if matches!(self.live.get(&msg.code), Some((_, g)) if *g == msg.generation) {
            self.live.remove(&msg.code);
        }
    }
}

impl Handler<Feed> for RoomRegistry {
    type Result = ();

    /// Passes a change to the room it names, if it is live here; after a reconnect of the
    /// feed, every live room reads its row again.
    fn handle(&mut self, msg: Feed, ctx: &mut Self::Context) {
        match msg.0 {
            FeedEvent::Changed(change) => {
                if let Some((addr, _)) = self.live.get(&change.code) {
                    addr.do_send(Refresh(Some(change)));
                }
            }
            FeedEvent::Presence(report) => {
                let changed = self.book.report(report);
                self.tell_elsewhere(&changed);
            }
            FeedEvent::Resync => {
                for (addr, _) in self.live.values() {
                    addr.do_send(Refresh(None));
                }
                self.reload_book(ctx);
            }
        }
    }
}

impl Handler<LiveRoom> for RoomRegistry {
    type Result = Option<Addr<Room>>;

    fn handle(&mut self, msg: LiveRoom, _: &mut Self::Context) -> Self::Result {
        self.live
            .get(&msg.0)
            .map(|(addr, _)| addr.clone())
            .filter(Addr::connected)
    }
}

impl Handler<LiveRooms> for RoomRegistry {
    type Result = MessageResult<LiveRooms>;

    fn handle(&mut self, _: LiveRooms, _: &mut Self::Context) -> Self::Result {
        let mut rooms: Vec<(String, Addr<Room>)> = self
            .live
            .iter()
            .filter(|(_, (addr, _))| addr.connected())
            .map(|(code, (addr, _))| (code.clone(), addr.clone()))
            .collect();
        rooms.sort_by(|a, b| a.0.cmp(&b.0));
        MessageResult(rooms)
    }
}
