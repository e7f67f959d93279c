//! The chaos test's writers: every kind of room command sent through nginx, each checked
//! against the model of the room right after its answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

/// What one writer did.
#[derive(Default)]
pub(super) struct WriterReport {
    pub(super) sent: usize,
    /// Acknowledged (2xx), by command.
    pub(super) acked: BTreeMap<&'static str, usize>,
    /// Refused as the model predicted (a swap for another round, a duration while running).
    pub(super) refused_as_predicted: usize,
    /// Answered 5xx or not at all: then read back, found applied or not.
    pub(super) unanswered_applied: usize,
    /// Leaves answered `404 member_not_found` because nginx sent them again to another
    /// process (`DELETE` is idempotent) after the first one, which had removed the member,
    /// died before answering.
    pub(super) retried_by_proxy: usize,
    pub(super) unanswered_not_applied: usize,
    /// The longest wait, after a command answered neither way, for PostgreSQL to end the
    /// killed process's sessions.
    pub(super) longest_dead_wait: Duration,
    /// Requests that failed before an answer (commands and reads).
    pub(super) transport_errors: Vec<(i64, String)>,
    pub(super) failures: Vec<String>,
}

pub(super) struct Writer {
    /// When the kills come.
    pub(super) kills: Arc<Vec<Instant>>,
    /// When they came (epoch ms), each noted just before the kill.
    pub(super) killed: Arc<Mutex<Vec<i64>>>,
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) rooms: Vec<(String, Room)>,
    pub(super) dice: Dice,
    pub(super) fives: Fives,
    /// Waited for before a command answered neither way is read back.
    pub(super) dead: DeadSessions,
    pub(super) report: WriterReport,
}

/// One request; its status (or why it got none), and when it was sent and answered
/// (epoch ms).
pub(super) async fn exchange(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (Result<(u16, Value), String>, i64, i64) {
    let mut request = client
        .request(
            method.parse().expect("an HTTP method"),
            format!("{base}{path}"),
        )
        .timeout(REQUEST_TIMEOUT);
    if let Some(body) = body {
        request = request.json(body);
    }
    let sent = now_ms();
    let outcome = match request.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let body = res.json::<Value>().await.unwrap_or(Value::Null);
            Ok((status, body))
        }
        Err(e) => Err(e.to_string()),
    };
    (outcome, sent, now_ms())
}

/// Reads the room through `base` until it answers `200`; the room and when the read was
/// sent and answered (epoch ms), or why it could not be read.
pub(super) async fn read_room(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    fives: &Fives,
    transport_errors: &mut Vec<(i64, String)>,
) -> Result<(Value, i64, i64), String> {
    let path = format!("/api/pair-room/{code}");
    let started = Instant::now();
    loop {
        let (outcome, sent, answered) = exchange(client, base, "GET", &path, None).await;
        match outcome {
            Ok((200, room)) => return Ok((room, sent, answered)),
            Ok((status, body)) if status < 500 => {
                return Err(format!("GET {path} answered {status} {body}"))
            }
            Ok((status, _)) => note_five(fives, answered * 1000, format!("{status} GET {path}")),
            Err(e) => transport_errors.push((answered * 1000, format!("GET {path}: {e}"))),
        }
        if started.elapsed() > READ_BACK_FOR {
            return Err(format!(
                "GET {path} did not answer 200 within {READ_BACK_FOR:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command for `room`, most of them natural for its state, a few refused by design.
pub(super) fn choose(room: &Room, dice: &mut Dice) -> RoomCommand {
    let running = matches!(room.clock, Clock::Running { .. });
    // start, stop, reset, duration, swap, swap for another round, next, join, leave
    let weights: [u64; 9] = if running {
        [4, 25, 8, 4, 20, 4, 8, 8, 7]
    } else {
        [45, 3, 6, 15, 10, 3, 5, 8, 7]
    };
    let duration = DURATIONS[dice.below(DURATIONS.len() as u64) as usize];
    let join = || {
        NAMES
            .iter()
            .find(|n| !room.members.iter().any(|m| m == *n))
            .map(|n| RoomCommand::Join(n.to_string()))
    };
    match dice.weighted(&weights) {
        0 => RoomCommand::Start,
        1 => RoomCommand::Stop,
        2 => RoomCommand::Reset,
        3 => RoomCommand::Update {
            duration,
            remaining: (dice.below(4) == 0).then(|| 1 + dice.below(duration as u64) as i64),
        },
        4 => RoomCommand::Swap { round: room.round },
        5 => RoomCommand::Swap {
            round: room.round + 1,
        },
        6 => RoomCommand::Next,
        7 if room.members.len() < 12 => join().unwrap_or(RoomCommand::Next),
        _ if room.members.len() > 2 => {
            let at = dice.below(room.members.len() as u64) as usize;
            RoomCommand::Leave(room.members[at].clone())
        }
        _ => join().unwrap_or(RoomCommand::Next),
    }
}

impl Writer {
    /// Sends commands to its rooms until `end`, each checked against the model.
    pub(super) async fn run(mut self, end: Instant) -> (WriterReport, Vec<(String, Room)>) {
        while Instant::now() < end {
            let i = self.dice.below(self.rooms.len() as u64) as usize;
            self.step(i).await;
            let pause = self.pause();
            tokio::time::sleep(pause).await;
        }
        (self.report, self.rooms)
    }

    /// How long to wait before the next command: a few ms around a kill, else about
    /// [`COMMAND_PAUSE_MS`] (or until the next kill's storm begins, if sooner).
    pub(super) fn pause(&mut self) -> Duration {
        let now = Instant::now();
        if self
            .kills
            .iter()
            .any(|k| now + STORM_BEFORE >= *k && now <= *k + STORM_AFTER)
        {
            return Duration::from_millis(2 + self.dice.below(10));
        }
        let normal =
            Duration::from_millis(COMMAND_PAUSE_MS / 2 + self.dice.below(COMMAND_PAUSE_MS));
        let storm = self
            .kills
            .iter()
            .filter_map(|k| k.checked_sub(STORM_BEFORE))
            .filter(|s| *s > now)
            .map(|s| s - now)
            .min();
        storm.map_or(normal, |s| s.min(normal))
    }

    /// One command to room `i`, then the room read back and held to the model.
    pub(super) async fn step(&mut self, i: usize) {
        let (code, model) = self.rooms[i].clone();
        let command = choose(&model, &mut self.dice);
        let (method, path, body) = command.request(&code);
        let (outcome, sent, answered) =
            exchange(&self.client, &self.base, method, &path, body.as_ref()).await;
        self.report.sent += 1;
        let before = model.at(sent, answered);
        let after = |b: &Room| b.apply(&command, sent, answered);
        let what = format!(
            "{method} {path} {}",
            body.map_or(String::new(), |b| b.to_string())
        );
        let mut unanswered = None;
        let candidates: Vec<Room> = match outcome {
            Ok((status, _)) if status >= 500 => {
                note_five(&self.fives, answered * 1000, format!("{status} {what}"));
                unanswered = Some(before.iter().map(|b| after(b).1).collect::<Vec<_>>());
                before
                    .iter()
                    .flat_map(|b| [b.clone(), after(b).1])
                    .collect()
            }
            Err(e) => {
                self.report
                    .transport_errors
                    .push((answered * 1000, format!("{what}: {e}")));
                unanswered = Some(before.iter().map(|b| after(b).1).collect::<Vec<_>>());
                before
                    .iter()
                    .flat_map(|b| [b.clone(), after(b).1])
                    .collect()
            }
            Ok((status, answer)) => {
                let fit: Vec<Room> = before
                    .iter()
                    .map(after)
                    .filter(|(s, _)| *s == status)
                    .map(|(_, r)| r)
                    .collect();
                // nginx sends an idempotent request (`DELETE`) that failed on a process
                // that died to the next process; if the first had removed the member, the
                // second finds none. Only a kill during the request explains that.
                let killed_meanwhile = self
                    .killed
                    .lock()
                    .is_ok_and(|k| k.iter().any(|at| *at >= sent - 5 && *at <= answered));
                if fit.is_empty()
                    && status == 404
                    && answer["error"] == "member_not_found"
                    && matches!(command, RoomCommand::Leave(_))
                    && killed_meanwhile
                {
                    self.report.retried_by_proxy += 1;
                    before.iter().map(|b| after(b).1).collect()
                } else if fit.is_empty() {
                    self.report.failures.push(format!(
                        "{what} answered {status} {answer}, which no state the acknowledged \
                         commands allow predicts: {before:?}"
                    ));
                    before.clone()
                } else {
                    if (200..300).contains(&status) {
                        *self.report.acked.entry(command.name()).or_default() += 1;
                    } else {
                        self.report.refused_as_predicted += 1;
                    }
                    fit
                }
            }
        };
        // A command the process died with may still be committed by PostgreSQL: once the
        // dead process's sessions are gone, it has been or never will be.
        if unanswered.is_some() {
            match self.dead.ended().await {
                Ok(took) => self.report.longest_dead_wait = self.report.longest_dead_wait.max(took),
                Err(why) => self.report.failures.push(format!("after {what}: {why}")),
            }
        }
        let read = read_room(
            &self.client,
            &self.base,
            &code,
            &self.fives,
            &mut self.report.transport_errors,
        )
        .await;
        let (room, read_sent, read_answered) = match read {
            Ok(read) => read,
            Err(why) => {
                self.report.failures.push(format!("after {what}: {why}"));
                return;
            }
        };
        let now: Vec<Room> = candidates
            .iter()
            .flat_map(|c| c.at(read_sent, read_answered))
            .collect();
        if !now.iter().any(|c| c.matches(&room)) {
            self.report.failures.push(format!(
                "after {what} (sent {sent}, answered {answered}, read {read_sent}..{read_answered}) \
                 the room is {room}, which is none of the states the acknowledged commands \
                 allow: {now:?}"
            ));
        }
        if let Some(applied) = unanswered {
            let applied: Vec<Room> = applied
                .iter()
                .flat_map(|c| c.at(read_sent, read_answered))
                .collect();
            if applied.iter().any(|c| c.matches(&room)) {
                self.report.unanswered_applied += 1;
            } else {
                self.report.unanswered_not_applied += 1;
            }
        }
        match Room::read(&room) {
            Some(read) => self.rooms[i].1 = read,
            None => self
                .report
                .failures
                .push(format!("after {what}: an unreadable room {room}")),
        }
    }
}
