//! The database going away under a serving process, as its clients see it: PostgreSQL
//! cut off for a while with timers running, paused and due, and the disk under the SQLite
//! file filling up. (Crashes are in `durability`.)

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::expect::{assert_on_time, eventually, expect_error};
use crate::helpers::{skipped, TestServer, POSTGRES_ENV};
use crate::sse::{Frame, Recording};

/// How long the database stays away.
const OUTAGE: Duration = Duration::from_secs(10);
/// The contract's bound on a command's answer while the database is away, and on the
/// process's return to ready once it is back.
const WITHIN: Duration = Duration::from_secs(5);

/// What a client can read of a room, less what moves with the clock.
async fn standing(app: &TestServer, code: &str) -> Value {
    let (status, mut room) = app.get_json(&format!("/api/pair-room/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    let running = room["timer"]["state"] == "running";
    for moving in ["serverTime", "remainingTime"] {
        if let Some(timer) = room["timer"].as_object_mut() {
            timer.remove(moving);
        }
    }
    if let Some(room) = room.as_object_mut() {
        if running {
            room.remove("remainingTime");
        }
        // Who has the room open is no committed state.
        room.remove("here");
        room.remove("watching");
    }
    room
}

/// Sends `method path` (with `body`, if any) and asserts the contract's `503 unavailable`
/// within [`WITHIN`].
async fn refused_while_away(app: &TestServer, method: &str, path: String, body: Option<Value>) {
    let mut request = app
        .client
        .request(method.parse().expect("a method"), app.url(&path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let asked = Instant::now();
    let res = request.send().await.expect("an answer");
    let took = asked.elapsed();
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        took <= WITHIN,
        "{method} {path} was answered after {took:?}"
    );
}

/// The `remaining-time` ticks of a countdown toward `deadline`: each one, from the first
/// received on, is the next multiple of 1000 below the one before, none early and none
/// late; returns the values.
fn ticks_on_time(events: &[Frame], deadline: i64) -> Vec<i64> {
    let ticks: Vec<&Frame> = events
        .iter()
        .filter(|f| f.event.as_deref() == Some("remaining-time"))
        .collect();
    for pair in ticks.windows(2) {
        assert_eq!(pair[1].ms(), pair[0].ms() - 1000, "a tick is missing");
    }
    for tick in &ticks {
        assert_on_time(
            &format!("the tick {}", tick.ms()),
            tick.received_us,
            deadline - tick.ms(),
        );
    }
    ticks.iter().map(|t| t.ms()).collect()
}

// Two worker threads: the recordings go on reading (and stamping) their streams while the
// test itself blocks on the database administration that makes the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_keeps_streams_ticking_refuses_commands_and_ends_in_one_time_up() {
    if std::env::var(POSTGRES_ENV).is_err() {
        return skipped(
            "outages::a_postgres_outage_keeps_streams_ticking_refuses_commands_and_ends_in_one_time_up",
            &format!("{POSTGRES_ENV} is not set; it runs on the PostgreSQL pass"),
        );
    }
    /// The countdown whose deadline falls in the middle of the outage.
    const DUE_MS: i64 = 7000;
    let app = TestServer::spawn().await;
    let running = app.room(60_000).await;
    let paused = app.room(60_000).await;
    let idle = app.room(60_000).await;
    let due = app.room(DUE_MS).await;
    app.patch(&format!("/api/{running}/timer/start")).await;
    app.patch(&format!("/api/{paused}/timer/start")).await;
    app.patch(&format!("/api/{paused}/timer/stop")).await;
    let mut recordings = Vec::new();
    for code in [&running, &paused, &due] {
        let mut stream = app.connect(code).await;
        stream.skip_greeting().await;
        recordings.push(Recording::start(stream));
    }
    let [on_running, on_paused, on_due] = &recordings[..] else {
        unreachable!("three recordings");
    };
    app.patch(&format!("/api/{due}/timer/start")).await;
    on_due.until_event("timer", "start", WITHIN).await;
    let mut before = Vec::new();
    for code in [&running, &paused, &idle, &due] {
        before.push(standing(&app, code).await);
    }
    let deadline = |room: &Value| room["timer"]["deadlineAt"].as_i64().expect("a deadline");
    let (running_deadline, due_deadline) = (deadline(&before[0]), deadline(&before[3]));

    let at_cut = on_due.events().len();
    app.cut_off_database();
    let cut = Instant::now();

    let res = app.send("GET", "/readyz").await;
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        cut.elapsed() <= WITHIN,
        "readiness answered after {:?}",
        cut.elapsed()
    );
    assert_eq!(app.send("GET", "/healthz").await.status(), StatusCode::OK);
    // A command of every kind, to rooms in every state, all at once.
    let create = json!({"navigator": "Cy", "driver": "Di", "timerDuration": 60000});
    join_all([
        refused_while_away(&app, "POST", "/api/pair-room".into(), Some(create)),
        refused_while_away(&app, "PATCH", format!("/api/{running}/timer/stop"), None),
        refused_while_away(&app, "PATCH", format!("/api/{paused}/timer/start"), None),
        refused_while_away(
            &app,
            "PATCH",
            format!("/api/pair-room/{idle}/pair-swap"),
            None,
        ),
        refused_while_away(
            &app,
            "PATCH",
            format!("/api/{idle}/timer"),
            Some(json!({"duration": 5000})),
        ),
        refused_while_away(&app, "DELETE", format!("/api/pair-room/{idle}"), None),
    ])
    .await;
    // The due room's deadline passes: its last tick goes out; its time-up cannot be
    // written, and a command meets the same refusal.
    on_due.until_event("remaining-time", "0", WITHIN).await;
    assert!(cut.elapsed() < OUTAGE, "the deadline fell after the outage");
    refused_while_away(&app, "PATCH", format!("/api/{due}/timer/stop"), None).await;
    assert_eq!(app.send("GET", "/healthz").await.status(), StatusCode::OK);
    tokio::time::sleep_until((cut + OUTAGE).into()).await;
    assert!(on_paused.events().is_empty(), "{:?}", on_paused.events());

    app.restore_database();
    let restored = Instant::now();
    eventually(WITHIN, || async {
        (app.send("GET", "/readyz").await.status() == StatusCode::OK).then_some(())
    })
    .await;
    // The time-up that fell due is applied and broadcast, once.
    let time_up = on_due
        .until_from(at_cut, WITHIN, |f| {
            f.event.as_deref() == Some("state") && f.json()["state"] == "idle"
        })
        .await;
    assert!(
        restored.elapsed() <= WITHIN,
        "applied after {:?}",
        restored.elapsed()
    );
    assert_eq!(time_up.json()["round"], 1);
    assert_eq!(
        (
            time_up.json()["navigator"].as_str(),
            time_up.json()["driver"].as_str()
        ),
        (Some("Bob"), Some("Ann"))
    );
    // A marker after it: all that the time-up made the stream say came before the marker.
    assert_eq!(
        app.patch(&format!("/api/pair-room/{due}/pair-swap?round=1"))
            .await,
        StatusCode::NO_CONTENT
    );
    on_due
        .until_from(at_cut, WITHIN, |f| {
            f.event.as_deref() == Some("state") && f.json()["navigator"] == "Ann"
        })
        .await;
    let told: Vec<(String, String)> = on_due.events()[at_cut..].iter().map(Frame::pair).collect();
    let ticks = told
        .iter()
        .take_while(|(event, _)| event == "remaining-time")
        .count();
    assert!(ticks > 0, "no tick while the database was away: {told:?}");
    assert_eq!(told[ticks - 1].1, "0", "{told:?}");
    let names: Vec<&str> = told[ticks..].iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        ["timer", "remaining-time", "state", "state"],
        "{told:?}"
    );
    assert_eq!(told[ticks].1, "stop");
    assert_eq!(told[ticks + 1].1, DUE_MS.to_string());
    let events = on_due.events();
    let time_up_at = events
        .iter()
        .position(|f| f.pair() == ("timer".to_string(), "stop".to_string()))
        .expect("the time-up");
    ticks_on_time(&events[..time_up_at], due_deadline);

    // The running room ticked on through it all, on time; nothing else changed.
    let running_ticks = ticks_on_time(&on_running.events(), running_deadline);
    assert!(
        running_ticks.len() as u128 >= OUTAGE.as_millis() / 1000,
        "{running_ticks:?}"
    );
    for (code, was) in [&running, &paused, &idle].into_iter().zip(&before) {
        assert_eq!(&standing(&app, code).await, was);
    }
    assert!(on_paused.events().is_empty(), "{:?}", on_paused.events());
    assert!(
        recordings.iter().all(|r| !r.ended()),
        "a stream ended during the outage"
    );
}

/// A small tmpfs mounted on a folder of its own, unmounted when dropped.
struct SmallDisk {
    mount_point: tempfile::TempDir,
}

impl SmallDisk {
    /// The size of the disk: room for the database and a little more.
    const SIZE: &'static str = "2m";

    /// Mounts one, or says why it cannot.
    fn mount() -> Result<SmallDisk, String> {
        let mount_point = tempfile::tempdir().map_err(|e| e.to_string())?;
        let output = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={}", Self::SIZE),
                "tmpfs",
            ])
            .arg(mount_point.path())
            .output()
            .map_err(|e| format!("mount cannot run: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (not root, or no mount permission here): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(SmallDisk { mount_point })
    }

    fn path(&self) -> &std::path::Path {
        self.mount_point.path()
    }

    fn filler(&self) -> std::path::PathBuf {
        self.path().join("filler")
    }

    /// Writes a file until the disk refuses one more byte.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).expect("a filler file");
        for chunk in [64 * 1024, 4096, 512, 1] {
            let block = vec![0u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
    }

    /// Frees the space the filler took.
    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("the filler removed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.mount_point.path())
            .status();
    }
}

#[tokio::test]
async fn when_the_sqlite_disk_is_full_commands_get_503_nothing_committed_is_lost_and_freed_space_recovers(
) {
    /// The most commands a full disk may still take (in space SQLite had already).
    const MAX_TAKEN: i64 = 200;
    const NAME: &str = "outages::when_the_sqlite_disk_is_full_commands_get_503_nothing_committed_is_lost_and_freed_space_recovers";
    if std::env::var(POSTGRES_ENV).is_ok() {
        return skipped(NAME, "a SQLite test; it runs on the SQLite pass");
    }
    let disk = match SmallDisk::mount() {
        Ok(disk) => disk,
        Err(why) => return skipped(NAME, &format!("it needs a tmpfs: {why}")),
    };
    let mut app = TestServer::spawn_on_sqlite_file(&disk.path().join("pairsync.db"), &[]).await;
    let code = app.room(60_000).await;
    let running = app.room(60_000).await;
    app.patch(&format!("/api/{running}/timer/start")).await;
    let mut stream = app.connect(&running).await;
    stream.skip_greeting().await;
    let on_running = Recording::start(stream);
    let running_before = standing(&app, &running).await;

    disk.fill();
    // Commands go on until the database needs a byte the disk has not got: each one answered
    // 2xx is committed; the first refusal is the contract's 503, in time.
    let mut committed = 60_000;
    let mut refused = None;
    for attempt in 1..=MAX_TAKEN {
        let duration = 60_000 + attempt * 1000;
        let asked = Instant::now();
        let res = app
            .client
            .patch(app.url(&format!("/api/{code}/timer")))
            .json(&json!({"duration": duration}))
            .send()
            .await
            .expect("an answer");
        if res.status() == StatusCode::NO_CONTENT {
            committed = duration;
            continue;
        }
        expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        assert!(
            asked.elapsed() <= WITHIN,
            "answered after {:?}",
            asked.elapsed()
        );
        refused = Some(duration);
        break;
    }
    assert!(
        refused.is_some(),
        "{MAX_TAKEN} writes went through on a full disk"
    );
    let res = app
        .client
        .post(app.url("/api/pair-room"))
        .json(&json!({"navigator": "Cy", "driver": "Di", "timerDuration": 60000}))
        .send()
        .await
        .expect("an answer");
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(app.timer(&code).await["duration"], committed);
    assert_eq!(app.send("GET", "/healthz").await.status(), StatusCode::OK);
    // The running room's stream goes on ticking.
    let told = on_running.events().len();
    on_running
        .until_from(told, WITHIN, |f| {
            f.event.as_deref() == Some("remaining-time")
        })
        .await;
    // Reads still work, so the process stays ready: its streams and pages keep being served.
    assert_eq!(app.send("GET", "/readyz").await.status(), StatusCode::OK);

    disk.free();
    let after = eventually(WITHIN, || async {
        let (status, _) = app
            .patch_json(&format!("/api/{code}/timer"), json!({"duration": 30_000}))
            .await;
        (status == StatusCode::NO_CONTENT).then_some(30_000)
    })
    .await;
    assert_eq!(app.timer(&code).await["duration"], after);
    assert!(
        !on_running.ended(),
        "the stream ended while the disk was full"
    );
    drop(on_running);

    // Every committed change is on the disk: a crash and a restart find it.
    app.crash_and_restart();
    assert_eq!(app.timer(&code).await["duration"], after);
    assert_eq!(standing(&app, &running).await, running_before);
}
