//! The API over real HTTP against a real secantusd-rs: one test binary, one database
//! process, one app per test with its own database.

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod errors;
mod keys;
mod lifecycle;
mod sponsors;
mod users;
