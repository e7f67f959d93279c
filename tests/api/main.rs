//! The integration suite: every test starts the real server binary on port 0 with its own
//! SQLite file and talks HTTP and SSE to it, as a client would.

mod durability;
mod errors;
mod events;
mod helpers;
mod https;
mod https_client;
mod operators;
mod pages;
mod pair_rooms;
mod settings;
mod stream_caps;
mod timer;
