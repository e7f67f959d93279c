//! Group commit: the writes of live rooms, gathered into batches that each commit in one
//! transaction with one announcement on the change feed.
//!
//! It owns the queue of writes waiting to be committed and the one leader that commits
//! them. A room hands its write to [`Committer::submit`] and waits for the outcome. When
//! no leader runs, the write makes one at once, so a write on a quiet process waits for
//! nothing; while a leader commits a batch, the writes that arrive wait in the queue and
//! form its next batch. No timer: a batch is whatever arrived during the last commit.
//! Each write is answered only after its batch committed ([`rooms::save_many`] says how a
//! stale row or a failed batch is answered), so a `2xx` still means committed.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use prometheus::IntCounter;
use tokio::sync::oneshot;

use super::rooms::{self, Pending, Saved};
use super::{Db, StoreError};

/// The most writes in one batch: a bound on one transaction's length, far above the
/// number of writes that arrive during one commit on a busy process.
pub const MAX_BATCH: usize = 256;

/// One write waiting in the queue, with where its outcome goes.
struct Job {
    pending: Pending,
    done: oneshot::Sender<Result<Saved, StoreError>>,
}

#[derive(Default)]
struct Queue {
    /// The writes not yet taken by the leader, in arrival order.
    waiting: Vec<Job>,
    /// Whether a leader runs (it takes the waiting writes until none is left).
    leading: bool,
}

/// The group committer of one process's room writes. Cheap to clone.
#[derive(Clone, Default)]
pub struct Committer {
    queue: Arc<Mutex<Queue>>,
    counters: Arc<OnceLock<BatchCounters>>,
}

/// Where the committer counts its batches, for the metrics.
#[derive(Debug, Clone)]
pub struct BatchCounters {
    /// Batches written (one transaction each, unless it failed and its writes went alone).
    pub batches: IntCounter,
    /// The writes they held.
    pub writes: IntCounter,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").finish_non_exhaustive()
    }
}

impl Committer {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue holds no invariant a panic could break half-way.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts every batch from now on in `counters` (once; later calls change nothing).
    pub fn count_in(&self, counters: BatchCounters) {
        let _ = self.counters.set(counters);
    }

    /// Queues `pending` for the next batch on `db`, and makes a leader when none runs;
    /// the receiver gets the write's outcome once its batch is done.
    pub fn submit(
        &self,
        db: &Db,
        pending: Pending,
    ) -> oneshot::Receiver<Result<Saved, StoreError>> {
        let (done, outcome) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push(Job { pending, done });
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            let (committer, db) = (self.clone(), db.clone());
            if !spawn_blocking(move || committer.lead(&db)) {
                // No leader could start: the waiting writes are answered as failed.
                let mut queue = self.lock();
                queue.leading = false;
                queue.waiting.clear();
            }
        }
        outcome
    }

    /// Commits batch after batch until the queue is empty, then stops leading.
    fn lead(&self, db: &Db) {
        // Should this thread unwind, the writes it holds are answered as failed (their
        // senders drop) and the next write makes a new leader.
        let _leading = Leading(self);
        loop {
            let batch: Vec<Job> = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.leading = false;
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..take).collect()
            };
            self.commit(db, batch);
        }
    }

    /// Writes one batch on one connection and answers each of its writes.
    fn commit(&self, db: &Db, batch: Vec<Job>) {
        let (pendings, senders): (Vec<Pending>, Vec<_>) =
            batch.into_iter().map(|job| (job.pending, job.done)).unzip();
        let outcomes = match db.room_conn() {
            Ok(mut conn) => rooms::save_many(&mut conn, &pendings),
            Err(e) => pendings
                .iter()
                .map(|_| Err(StoreError::Unavailable(e.to_string())))
                .collect(),
        };
        if let Some(counters) = self.counters.get() {
            counters.batches.inc();
            counters.writes.inc_by(pendings.len() as u64);
        }
        for (done, outcome) in senders.into_iter().zip(outcomes) {
            // A room that stopped waiting has nothing left to answer.
            let _ = done.send(outcome);
        }
    }
}

/// Marks the end of a leader, however it ends.
struct Leading<'a>(&'a Committer);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.lock();
            queue.leading = false;
            queue.waiting.clear();
        }
    }
}

/// Runs `work` on the blocking pool of the runtime, or on a thread of its own outside one;
/// whether it could start.
fn spawn_blocking(work: impl FnOnce() + Send + 'static) -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            drop(runtime.spawn_blocking(work));
            true
        }
        Err(_) => match std::thread::Builder::new()
            .name("pairsync-commit".into())
            .spawn(work)
        {
            Ok(_) => true,
            Err(e) => {
                log::error!("cannot start a committer thread: {e}");
                false
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use diesel::connection::SimpleConnection;
    use diesel::pg::PgConnection;
    use diesel::Connection;

    use super::*;
    use crate::rules::{Goal, Goals, PairRoom, Write};
    use crate::store::feed::{self, FeedEvent};
    use crate::store::models::RoomRow;
    use crate::store::scratch::{backends, created, Scratch};
    use crate::store::Conn;

    const T0: i64 = 1_700_000_000_000;

    /// The room one version on, its mission changed to `mission`.
    fn next(room: &PairRoom, mission: &str) -> Write {
        let mut room = room.clone();
        room.mission_url = mission.to_string();
        room.version += 1;
        Write {
            room,
            turns: Vec::new(),
            goals: false,
            links: false,
        }
    }

    fn pending(change: Write) -> Pending {
        Pending {
            change,
            now: T0 + 1,
            told: "s".into(),
        }
    }

    fn stored(conn: &mut Conn, code: &str) -> PairRoom {
        rooms::find(conn, code, T0 + 2)
            .expect("readable")
            .expect("there")
    }

    #[test]
    fn a_stale_row_in_a_batch_is_answered_with_its_current_row_and_the_others_commit() {
        for scratch in backends(
            "committer::tests::a_stale_row_in_a_batch_is_answered_with_its_current_row_and_the_others_commit",
        ) {
            let mut conn = scratch.conn();
            let rooms: Vec<PairRoom> = ["room-aaaa", "room-bbbb", "room-cccc"]
                .iter()
                .map(|code| created(&mut conn, code, T0))
                .collect();
            // Another writer moved the second room on first.
            let moved = next(&rooms[1], "elsewhere");
            assert_eq!(
                rooms::save(&mut conn, &moved, T0, "s").expect("written"),
                Saved::Committed
            );
            let batch: Vec<Pending> = rooms
                .iter()
                .map(|room| pending(next(room, "here")))
                .collect();
            let outcomes: Vec<Saved> = rooms::save_many(&mut conn, &batch)
                .into_iter()
                .map(|o| o.expect("answered"))
                .collect();
            let current = stored(&mut conn, "room-bbbb");
            assert_eq!(current.mission_url, "elsewhere");
            assert_eq!(
                outcomes,
                [
                    Saved::Committed,
                    Saved::Stale(Box::new(current)),
                    Saved::Committed
                ]
            );
            for code in ["room-aaaa", "room-cccc"] {
                let room = stored(&mut conn, code);
                assert_eq!((room.mission_url.as_str(), room.version), ("here", 2));
            }
        }
    }

    #[test]
    fn a_batch_that_fails_as_a_whole_commits_every_good_write_alone_and_fails_only_the_bad_one() {
        for scratch in backends(
            "committer::tests::a_batch_that_fails_as_a_whole_commits_every_good_write_alone_and_fails_only_the_bad_one",
        ) {
            let mut conn = scratch.conn();
            let first = created(&mut conn, "room-aaaa", T0);
            let second = created(&mut conn, "room-bbbb", T0);
            let third = created(&mut conn, "room-cccc", T0);
            let goal = |content: &str| Goal {
                id: 7,
                content: content.into(),
                is_checked: false,
                order: 1,
            };
            let mut with_goal = next(&first, "goal");
            with_goal.room.goals = Goals::from_stored(vec![goal("mine")]);
            with_goal.goals = true;
            assert_eq!(
                rooms::save(&mut conn, &with_goal, T0, "g").expect("written"),
                Saved::Committed
            );
            // The second room's write takes a goal id the first room holds: refused.
            let mut clash = next(&second, "clash");
            clash.room.goals = Goals::from_stored(vec![goal("theirs")]);
            clash.goals = true;
            let batch = vec![
                pending(next(&third, "third")),
                pending(clash),
                pending(next(&with_goal.room, "first")),
            ];
            let outcomes = rooms::save_many(&mut conn, &batch);
            assert!(matches!(outcomes[0], Ok(Saved::Committed)), "{outcomes:?}");
            assert!(outcomes[1].is_err(), "{outcomes:?}");
            assert!(matches!(outcomes[2], Ok(Saved::Committed)), "{outcomes:?}");
            assert_eq!(stored(&mut conn, "room-cccc").mission_url, "third");
            assert_eq!(stored(&mut conn, "room-aaaa").mission_url, "first");
            let untouched = stored(&mut conn, "room-bbbb");
            assert_eq!((untouched.version, untouched.goals.list().len()), (1, 0));
        }
    }

    #[test]
    fn writes_that_arrive_while_a_batch_commits_commit_together_as_the_next_batch() {
        for scratch in
            backends("committer::tests::writes_that_arrive_while_a_batch_commits_commit_together_as_the_next_batch")
        {
            let counters = BatchCounters {
                batches: IntCounter::new("b", "b").expect("a counter"),
                writes: IntCounter::new("w", "w").expect("a counter"),
            };
            scratch.db.count_batches_in(counters.clone());
            let rooms: Vec<PairRoom> = (0..40)
                .map(|i| created(&mut scratch.conn(), &format!("room-{i:04}"), T0))
                .collect();
            // Every pooled connection is taken, so the leader waits for one while the
            // other writes arrive.
            let held: Vec<_> = (0..super::super::POOL_SIZE)
                .map(|_| scratch.db.pool.get().expect("a connection"))
                .collect();
            let outcomes: Vec<_> = rooms
                .iter()
                .map(|room| {
                    scratch
                        .db
                        .writes
                        .submit(&scratch.db, pending(next(room, "on")))
                })
                .collect();
            drop(held);
            for outcome in outcomes {
                let saved = outcome.blocking_recv().expect("answered");
                assert_eq!(saved.expect("committed"), Saved::Committed);
            }
            assert_eq!(counters.writes.get(), 40);
            assert!(
                counters.batches.get() <= 2,
                "{} batches",
                counters.batches.get()
            );
            let mut conn = scratch.conn();
            for room in &rooms {
                assert_eq!(stored(&mut conn, &room.access_code).mission_url, "on");
            }
        }
    }

    #[test]
    fn a_lone_write_on_a_quiet_process_commits_at_once_in_a_batch_of_its_own() {
        let scratch = Scratch::sqlite();
        let counters = BatchCounters {
            batches: IntCounter::new("b", "b").expect("a counter"),
            writes: IntCounter::new("w", "w").expect("a counter"),
        };
        scratch.db.count_batches_in(counters.clone());
        let room = created(&mut scratch.conn(), "room-aaaa", T0);
        let outcome = scratch
            .db
            .writes
            .submit(&scratch.db, pending(next(&room, "x")));
        assert_eq!(
            outcome.blocking_recv().expect("answered").expect("saved"),
            Saved::Committed
        );
        assert_eq!((counters.batches.get(), counters.writes.get()), (1, 1));
    }

    #[test]
    fn a_batch_is_one_announcement_that_carries_every_written_row_and_not_the_stale_one() {
        let Some(scratch) = Scratch::postgres(
            "committer::tests::a_batch_is_one_announcement_that_carries_every_written_row_and_not_the_stale_one",
        ) else {
            return;
        };
        let mut conn = scratch.conn();
        let rooms: Vec<PairRoom> = (0..5)
            .map(|i| created(&mut conn, &format!("room-{i:04}"), T0))
            .collect();
        let mut listener = PgConnection::establish(&scratch.url).expect("connects");
        listener
            .batch_execute(&format!("LISTEN {}", feed::CHANNEL))
            .expect("listens");
        let mut batch: Vec<Pending> = rooms.iter().map(|r| pending(next(r, "go"))).collect();
        // One of them expects a version the row does not hold.
        batch[2].change.room.version += 1;
        let outcomes = rooms::save_many(&mut conn, &batch);
        assert!(matches!(outcomes[2], Ok(Saved::Stale(_))), "{outcomes:?}");
        let mut payloads = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while payloads.is_empty() && Instant::now() < until {
            for note in listener.notifications_iter() {
                payloads.push(note.expect("a notification").payload);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(payloads.len(), 1, "{payloads:?}");
        let changes: Vec<feed::Change> = feed::parse(&payloads[0])
            .expect("readable")
            .into_iter()
            .map(|event| match event {
                FeedEvent::Changed(change) => change,
                other => panic!("{other:?}"),
            })
            .collect();
        let written: Vec<&Pending> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, p)| (i != 2).then_some(p))
            .collect();
        assert_eq!(changes.len(), written.len());
        for (change, pending) in changes.iter().zip(written) {
            let room = &pending.change.room;
            assert_eq!(
                (change.code.as_str(), change.version),
                (room.access_code.as_str(), 2)
            );
            assert_eq!(change.told, "s");
            let carried = change.carried.as_ref().expect("the row");
            assert_eq!(carried.row, RoomRow::from_room(room, pending.now));
            assert_eq!(
                carried.room(room, T0 + 2).expect("a room"),
                stored(&mut conn, &room.access_code)
            );
        }
    }
}
