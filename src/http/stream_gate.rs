//! The stream caps: how many event streams this process holds at once, and how many one
//! client holds. A stream takes a [`StreamPermit`] before it subscribes to its room; the
//! count and the check are one step under one lock, so concurrent connects cannot pass a
//! cap together, and the permit gives its place back when it is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::client_address::ClientKey;

/// Why a permit was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The process holds its cap of streams.
    Process {
        /// Streams open (the cap).
        open: usize,
    },
    /// The client holds its cap of streams.
    Client {
        /// The client.
        key: ClientKey,
        /// Streams this client holds (the cap).
        open: usize,
    },
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    by_client: HashMap<ClientKey, usize>,
}

/// Counts the streams of the process and of each client, against their caps.
#[derive(Debug)]
pub struct StreamGate {
    process_cap: usize,
    /// `0`: no per-client cap.
    client_cap: usize,
    counts: Mutex<Counts>,
}

impl StreamGate {
    /// A gate letting through at most `process_cap` streams, and at most `client_cap` per
    /// client (`0`: no per-client cap).
    pub fn new(process_cap: usize, client_cap: usize) -> Arc<StreamGate> {
        Arc::new(StreamGate {
            process_cap,
            client_cap,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent whatever panicked while holding the lock: every
        // change under it is a single increment or decrement.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for one stream of `client` (`None`: a client that is not counted on
    /// its own, only in the process total), or says which cap is full.
    pub fn acquire(self: &Arc<Self>, client: Option<ClientKey>) -> Result<StreamPermit, Refusal> {
        let mut counts = self.counts();
        if counts.open >= self.process_cap {
            return Err(Refusal::Process { open: counts.open });
        }
        let client = client.filter(|_| self.client_cap > 0);
        if let Some(key) = client {
            let held = counts.by_client.entry(key).or_insert(0);
            if *held >= self.client_cap {
                return Err(Refusal::Client { key, open: *held });
            }
            *held += 1;
        }
        counts.open += 1;
        Ok(StreamPermit {
            gate: Arc::clone(self),
            client,
        })
    }

    /// Streams holding a permit now.
    pub fn open(&self) -> usize {
        self.counts().open
    }

    /// Streams `client` holds now.
    pub fn held_by(&self, client: ClientKey) -> usize {
        self.counts().by_client.get(&client).copied().unwrap_or(0)
    }

    /// The process cap.
    pub fn process_cap(&self) -> usize {
        self.process_cap
    }

    /// The per-client cap (`0`: none).
    pub fn client_cap(&self) -> usize {
        self.client_cap
    }
}

/// One stream's place under the caps; dropping it gives the place back.
#[derive(Debug)]
pub struct StreamPermit {
    gate: Arc<StreamGate>,
    client: Option<ClientKey>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut counts = self.gate.counts();
        counts.open = counts.open.saturating_sub(1);
        if let Some(key) = self.client {
            if let Some(held) = counts.by_client.get_mut(&key) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    counts.by_client.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Option<ClientKey> {
        ClientKey::of(s.parse().expect("an IP address"))
    }

    #[test]
    fn the_process_cap_counts_every_stream_and_a_dropped_permit_frees_its_place() {
        let gate = StreamGate::new(2, 0);
        let a = gate.acquire(None).expect("first");
        let _b = gate.acquire(key("203.0.113.7")).expect("second");
        assert_eq!(
            gate.acquire(key("198.51.100.1")).err(),
            Some(Refusal::Process { open: 2 })
        );
        drop(a);
        assert_eq!(gate.open(), 1);
        assert!(gate.acquire(None).is_ok());
    }

    #[test]
    fn a_client_at_its_cap_is_refused_while_others_are_not() {
        let gate = StreamGate::new(100, 2);
        let one = gate.acquire(key("203.0.113.7")).expect("first");
        let _two = gate.acquire(key("203.0.113.7")).expect("second");
        assert_eq!(
            gate.acquire(key("203.0.113.7")).err(),
            key("203.0.113.7").map(|key| Refusal::Client { key, open: 2 })
        );
        assert!(gate.acquire(key("203.0.113.8")).is_ok());
        drop(one);
        assert_eq!(gate.held_by(key("203.0.113.7").expect("key")), 1);
        assert!(gate.acquire(key("203.0.113.7")).is_ok());
    }

    #[test]
    fn addresses_of_one_ipv6_64_are_one_client() {
        let gate = StreamGate::new(100, 2);
        let _a = gate.acquire(key("2001:db8:1:2::1")).expect("first");
        let _b = gate.acquire(key("2001:db8:1:2::2")).expect("second");
        assert_eq!(
            gate.acquire(key("2001:db8:1:2:abcd::9")).err(),
            key("2001:db8:1:2::").map(|key| Refusal::Client { key, open: 2 })
        );
        assert!(gate.acquire(key("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn uncounted_clients_and_a_zero_client_cap_meet_only_the_process_cap() {
        let gate = StreamGate::new(5, 1);
        let held: Vec<_> = (0..5).map(|_| gate.acquire(None).expect("place")).collect();
        assert!(matches!(gate.acquire(None), Err(Refusal::Process { .. })));
        drop(held);
        let off = StreamGate::new(5, 0);
        let held: Vec<_> = (0..5)
            .map(|_| off.acquire(key("203.0.113.7")).expect("place"))
            .collect();
        assert_eq!(held.len(), 5);
        assert_eq!(off.held_by(key("203.0.113.7").expect("key")), 0);
    }

    #[test]
    fn a_client_whose_streams_all_ended_leaves_no_entry() {
        let gate = StreamGate::new(100, 3);
        let permits: Vec<_> = (0..3)
            .map(|_| gate.acquire(key("203.0.113.7")).expect("place"))
            .collect();
        drop(permits);
        assert_eq!(gate.open(), 0);
        assert!(gate.counts().by_client.is_empty());
    }

    #[test]
    fn concurrent_acquirers_never_pass_the_caps_together() {
        const THREADS: usize = 16;
        const TRIES: usize = 200;
        const CLIENTS: usize = 4;
        let client = |i: usize| key(&format!("203.0.113.{}", i % CLIENTS));
        for (process_cap, client_cap, expected) in [(10, 4, 10), (100, 3, CLIENTS * 3)] {
            let gate = StreamGate::new(process_cap, client_cap);
            let granted: Vec<Vec<StreamPermit>> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..THREADS)
                    .map(|i| {
                        let gate = &gate;
                        scope.spawn(move || {
                            (0..TRIES)
                                .filter_map(|_| gate.acquire(client(i)).ok())
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("worker"))
                    .collect()
            });
            let total: usize = granted.iter().map(Vec::len).sum();
            assert_eq!(total, expected);
            assert_eq!(gate.open(), total);
            for i in 0..CLIENTS {
                let held = gate.held_by(client(i).expect("key"));
                assert!(held <= client_cap, "client {i} holds {held}");
            }
            drop(granted);
            assert_eq!(gate.open(), 0);
        }
    }
}
