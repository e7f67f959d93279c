//! The integration suite: every test starts the real server binary on port 0 with its own
//! SQLite file and talks HTTP and SSE to it, as a client would.

mod cluster;
mod durability;
mod errors;
mod events;
mod helpers;
mod legacy;
mod operators;
mod pair_rooms;
mod settings;
mod timer;
