//! Process-wide counters and gauges, kept in a Prometheus registry and rendered in
//! its text format by `GET /metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Why a stream ended, or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Its client stopped reading and the backlog passed the bound: dropped by the server.
    Stalled,
    /// Its client closed it.
    ClientClosed,
    /// Its room was deleted.
    RoomDeleted,
    /// Refused: the room held as many streams as it may.
    RoomCap,
    /// Refused: the process held as many streams as it may.
    ProcessCap,
    /// Refused: the client held as many streams as it may.
    ClientCap,
}

impl StreamEnd {
    /// The label value and log word.
    pub fn label(self) -> &'static str {
        match self {
            StreamEnd::Stalled => "stalled",
            StreamEnd::ClientClosed => "client_closed",
            StreamEnd::RoomDeleted => "room_deleted",
            StreamEnd::RoomCap => "room_cap",
            StreamEnd::ProcessCap => "process_cap",
            StreamEnd::ClientCap => "client_cap",
        }
    }
}

/// All the series this process exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Room actors running in this process.
    pub rooms_live: IntGauge,
    /// Open SSE streams.
    pub sse_streams: IntGauge,
    /// Events written to streams (one per stream per event).
    pub events_sent: IntCounter,
    events_by_name: IntCounterVec,
    streams_dropped: IntCounter,
    streams_ended: IntCounterVec,
    http_requests: IntCounterVec,
    http_latency: HistogramVec,
    /// Completed countdowns.
    pub time_ups: IntCounter,
    /// How late each tick left the server, in seconds.
    pub tick_lateness: Histogram,
    /// Room write batches committed (one transaction each) and the writes they held.
    pub write_batches: crate::store::committer::BatchCounters,
    /// Reads that loaded rooms for requests, and the rooms they asked for.
    pub room_loads: RoomLoads,
    /// Changes of other processes applied by live rooms, by how: `carried` (from the
    /// row the announcement carried) or `read` (the row read again).
    feed_changes: IntCounterVec,
}

/// The registry's reads of rooms that requests asked for while not live here.
#[derive(Debug, Clone)]
pub struct RoomLoads {
    /// Reads made (each one statement for one room, a few for a batch).
    pub reads: IntCounter,
    /// The rooms they asked for.
    pub rooms: IntCounter,
}

/// How a live room learnt the row of another process's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedApplied {
    /// From the row the announcement carried.
    Carried,
    /// By reading the row again.
    Read,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh set of series in its own registry.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let rooms_live = IntGauge::new("pairsync_rooms_live", "Room actors live in this process")?;
        let sse_streams = IntGauge::new("pairsync_sse_streams", "Open event streams")?;
        let events_sent = IntCounter::new(
            "pairsync_events_sent_total",
            "SSE events written to streams, one per stream per event",
        )?;
        let events_by_name = IntCounterVec::new(
            Opts::new(
                "pairsync_sse_events_sent_total",
                "SSE events written to streams, by event name",
            ),
            &["event"],
        )?;
        let streams_dropped = IntCounter::new(
            "pairsync_streams_dropped_total",
            "Streams closed by the server because their client stopped reading",
        )?;
        let streams_ended = IntCounterVec::new(
            Opts::new(
                "pairsync_streams_ended_total",
                "Streams that ended or were refused, by reason",
            ),
            &["reason"],
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "pairsync_http_requests_total",
                "HTTP requests answered, by route and status",
            ),
            &["route", "status"],
        )?;
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "pairsync_http_request_duration_seconds",
                "Time to answer an HTTP request (for streams: to open it), by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )?;
        let time_ups = IntCounter::new("pairsync_time_ups_total", "Countdowns that reached 0")?;
        let tick_lateness = Histogram::with_opts(
            HistogramOpts::new(
                "pairsync_tick_lateness_seconds",
                "How late each tick left the server after its due instant",
            )
            .buckets(vec![
                0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
        )?;
        let write_batches = crate::store::committer::BatchCounters {
            batches: IntCounter::new(
                "pairsync_write_batches_total",
                "Room write batches committed, one transaction each",
            )?,
            writes: IntCounter::new(
                "pairsync_write_batch_writes_total",
                "Room writes committed in those batches",
            )?,
        };
        let room_loads = RoomLoads {
            reads: IntCounter::new(
                "pairsync_room_load_reads_total",
                "Database reads that loaded rooms not live here for requests",
            )?,
            rooms: IntCounter::new(
                "pairsync_room_load_rooms_total",
                "Rooms those reads asked for (several at once when requests came together)",
            )?,
        };
        let feed_changes = IntCounterVec::new(
            Opts::new(
                "pairsync_feed_changes_applied_total",
                "Other processes' changes applied by live rooms, by how the row was learnt",
            ),
            &["how"],
        )?;
        registry.register(Box::new(write_batches.batches.clone()))?;
        registry.register(Box::new(write_batches.writes.clone()))?;
        registry.register(Box::new(room_loads.reads.clone()))?;
        registry.register(Box::new(room_loads.rooms.clone()))?;
        registry.register(Box::new(feed_changes.clone()))?;
        registry.register(Box::new(rooms_live.clone()))?;
        registry.register(Box::new(sse_streams.clone()))?;
        registry.register(Box::new(events_sent.clone()))?;
        registry.register(Box::new(events_by_name.clone()))?;
        registry.register(Box::new(streams_dropped.clone()))?;
        registry.register(Box::new(streams_ended.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_latency.clone()))?;
        registry.register(Box::new(time_ups.clone()))?;
        registry.register(Box::new(tick_lateness.clone()))?;
        Ok(Metrics {
            registry,
            rooms_live,
            sse_streams,
            events_sent,
            events_by_name,
            streams_dropped,
            streams_ended,
            http_requests,
            http_latency,
            time_ups,
            tick_lateness,
            write_batches,
            room_loads,
            feed_changes,
        })
    }

    /// Counts one change of another process applied by a live room, learnt `how`.
    pub fn feed_applied(&self, how: FeedApplied) {
        let label = match how {
            FeedApplied::Carried => "carried",
            FeedApplied::Read => "read",
        };
        self.feed_changes.with_label_values(&[label]).inc();
    }

    /// Counts `streams` deliveries of one event named `event`.
    pub fn sent(&self, event: &str, streams: usize) {
        let n = u64::try_from(streams).unwrap_or(u64::MAX);
        self.events_sent.inc_by(n);
        self.events_by_name.with_label_values(&[event]).inc_by(n);
    }

    /// Counts one stream that ended or was refused; a stalled one also counts as dropped.
    pub fn stream_ended(&self, reason: StreamEnd) {
        if reason == StreamEnd::Stalled {
            self.streams_dropped.inc();
        }
        self.streams_ended
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// Counts one answered request of `route` (its pattern) with `status`, taking `seconds`.
    pub fn http_request(&self, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.http_latency
            .with_label_values(&[route])
            .observe(seconds);
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            log::error!("metrics encoding failed: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
