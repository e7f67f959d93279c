//! One event stream of a churn cycle, read on demand: open it, wait for a given event
//! with a deadline, or watch its ticks for a while.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::common::clock::epoch_us;
use crate::common::net::{self, Answer, Server};
use crate::common::sse::{Event, Reader};

/// An open stream and the events read but not yet taken.
pub struct Conn {
    tcp: TcpStream,
    reader: Reader,
    queue: VecDeque<(Event, i64)>,
}

/// What watching a running timer's ticks found.
#[derive(Debug, Default)]
pub struct Watched {
    pub lateness_us: Vec<i64>,
    /// Ticks due in the watched stretch that did not come.
    pub missed: usize,
    /// Ticks not below the previous one, or events other than ticks.
    pub out_of_order: usize,
}

impl Conn {
    /// Opens a stream (`GET path`); an answer other than `200` is an error naming it.
    pub async fn open(source: IpAddr, server: &Server, path: &str) -> Result<Conn, String> {
        let mut tcp = net::connect(source, server, None).await?;
        net::request_stream(&mut tcp, server, path).await?;
        let mut reader = Reader::new();
        match net::read_answer(&mut tcp, &mut reader).await? {
            Answer::Stream(_) => Ok(Conn {
                tcp,
                reader,
                queue: VecDeque::new(),
            }),
            Answer::Refused(r) => Err(r.to_string()),
        }
    }

    /// The next event and the instant it was read (epoch µs), waiting until `deadline`.
    pub async fn next(&mut self, deadline: Instant) -> Result<(Event, i64), String> {
        loop {
            if let Some(next) = self.queue.pop_front() {
                return Ok(next);
            }
            let received_us = epoch_us();
            let queue = &mut self.queue;
            let open = self
                .reader
                .events(&mut |e| queue.push_back((e, received_us)))?;
            if !self.queue.is_empty() {
                continue;
            }
            if !open {
                return Err("the stream ended".into());
            }
            self.reader.raw.reserve(1024);
            let read =
                tokio::time::timeout_at(deadline.into(), self.tcp.read_buf(&mut self.reader.raw))
                    .await
                    .map_err(|_| "timed out waiting for an event".to_string())?;
            match read {
                Ok(0) => return Err("the stream ended".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("read: {}", net::io_kind(&e))),
            }
        }
    }

    /// Reads events until one named `name` (with `data`, when given) comes; returns it.
    pub async fn until(
        &mut self,
        name: &str,
        data: Option<&str>,
        deadline: Instant,
    ) -> Result<(Event, i64), String> {
        loop {
            let (event, at) = self.next(deadline).await?;
            if event.name == name && data.is_none_or(|d| event.data == d) {
                return Ok((event, at));
            }
        }
    }

    /// Watches a running timer's ticks until `until` (epoch µs): each tick's lateness
    /// against `deadline_ms`, the ticks due after `from_us` and more than `margin_us`
    /// before `until` that did not come, and anything else that came.
    pub async fn watch_ticks(
        &mut self,
        deadline_ms: i64,
        from_us: i64,
        until_us: i64,
        margin_us: i64,
    ) -> Watched {
        let mut watched = Watched::default();
        let mut got = Vec::new();
        let end = Instant::now()
            + std::time::Duration::from_micros(u64::try_from(until_us - epoch_us()).unwrap_or(0));
        while let Ok((event, at)) = self.next(end).await {
            match event.data.parse::<i64>() {
                Ok(value) if event.name == "remaining-time" => {
                    if got.last().is_some_and(|last| value >= *last) {
                        watched.out_of_order += 1;
                    }
                    got.push(value);
                    watched.lateness_us.push(at - (deadline_ms - value) * 1000);
                }
                _ => watched.out_of_order += 1,
            }
        }
        let first_due_value = (deadline_ms * 1000 - from_us).div_euclid(1_000_000) * 1000;
        for value in (0..=first_due_value.max(0)).rev().step_by(1000) {
            let due_us = (deadline_ms - value) * 1000;
            if due_us > from_us && due_us < until_us - margin_us && !got.contains(&value) {
                watched.missed += 1;
            }
        }
        watched
    }
}
