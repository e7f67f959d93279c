//! The `state` event as it goes out on a stream, for any names: whatever a name holds
//! (line breaks, `data:`, quotes, any Unicode, even what no member's name may), the frame
//! is one `id:`, one `event: state` and one `data:` line, with no carriage return
//! anywhere, and its data decodes back, by the server's JSON and by the terminal client's
//! decoder, to the same names.

#![no_main]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use actix_web::body::MessageBody;
use actix_web_lab::sse::{self, Sse};
use libfuzzer_sys::fuzz_target;
use pairsync::cli::events::{decode, ServerEvent};
use pairsync::rooms::fanout::notice_frame;
use pairsync::rules::{
    Goals, Links, Members, Notice, PairRoom, RoomSettings, RoomStatus, Snapshot, Timer,
    MAX_DURATION_MS, MIN_DURATION_MS,
};

/// The instant the snapshots are made at (epoch ms).
const NOW: i64 = 1_800_000_000_000;

/// The bytes the stream body writes for `event`.
fn on_the_wire(event: sse::Event) -> Vec<u8> {
    let body = pin!(Sse::from_infallible_stream(futures_util::stream::iter([
        event
    ])));
    match body.poll_next(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Some(Ok(bytes))) => bytes.to_vec(),
        other => panic!("a frame is written at once, not {other:?}"),
    }
}

/// The snapshot of a room with a timer in bounds, its names replaced by these.
fn snapshot(
    navigator: String,
    driver: String,
    duration: u32,
    left: u32,
    running: bool,
    round: u16,
) -> Snapshot {
    let duration = MIN_DURATION_MS + i64::from(duration) % (MAX_DURATION_MS - MIN_DURATION_MS + 1);
    let remaining = 1 + i64::from(left) % duration;
    let timer = if running {
        Timer::running(duration, NOW + remaining, i64::from(round), NOW)
    } else {
        Timer::new(duration, remaining, i64::from(round))
    };
    let room = PairRoom {
        access_code: "AbCdEfGhIjKlMnOpQrStUv".to_string(),
        members: Members::pair("D", "N").expect("two names"),
        mission_url: String::new(),
        created_at: NOW,
        timer,
        status: RoomStatus::InProgress,
        time_up_at: None,
        settings: RoomSettings::default(),
        version: 1,
        goals: Goals::default(),
        links: Links::default(),
    };
    let mut snapshot = room.snapshot(NOW);
    snapshot.members = vec![driver.clone(), navigator.clone(), navigator.clone()];
    snapshot.presence.here = snapshot.members.clone();
    snapshot.navigator = navigator;
    snapshot.driver = driver;
    snapshot
}

fuzz_target!(|input: (String, String, u32, u32, bool, u16, u64)| {
    let (navigator, driver, duration, left, running, round, id) = input;
    let snapshot = snapshot(
        navigator.clone(),
        driver.clone(),
        duration,
        left,
        running,
        round,
    );
    let bytes = on_the_wire(notice_frame(&Notice::State(snapshot), id));
    assert!(!bytes.contains(&b'\r'), "a carriage return in {bytes:?}");
    let text = String::from_utf8(bytes).expect("a frame is UTF-8");
    let block = text
        .strip_suffix("\n\n")
        .expect("a frame ends with a blank line");
    let lines: Vec<&str> = block.split('\n').collect();
    let [id_line, event_line, data_line] = lines[..] else {
        panic!("a frame is three lines: {text:?}");
    };
    assert_eq!(id_line, format!("id: {id}"));
    assert_eq!(event_line, "event: state");
    let data = data_line.strip_prefix("data: ").expect("a data line");

    let json: serde_json::Value = serde_json::from_str(data).expect("the data is JSON");
    assert_eq!(json["navigator"].as_str(), Some(navigator.as_str()));
    assert_eq!(json["driver"].as_str(), Some(driver.as_str()));
    assert_eq!(json["members"][1].as_str(), Some(navigator.as_str()));
    assert_eq!(json["here"][0].as_str(), Some(driver.as_str()));
    match decode(Some("state"), Some(data), None).as_slice() {
        [ServerEvent::State(snapshot)] => {
            assert_eq!(snapshot.navigator, navigator);
            assert_eq!(snapshot.driver, driver);
        }
        other => panic!("the terminal client reads {other:?} from {data:?}"),
    }
});
