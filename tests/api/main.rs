//! The integration suite: every test starts the real server binary on port 0 with its own
//! database and talks HTTP and SSE to it, as a client would.

mod backend;
mod board;
mod breaks;
mod chaos;
mod cluster;
mod cluster_ticks;
mod defaults;
mod durability;
mod errors;
mod events;
mod expect;
mod exposition_check;
mod group_commit;
mod helpers;
mod https;
mod https_client;
mod legacy;
mod operators;
mod outages;
mod pages;
mod pair_rooms;
mod settings;
mod sse;
mod startup;
mod stream_caps;
mod team;
mod team_cluster;
mod team_presence;
mod team_support;
mod team_turns;
mod timer;
