//! The client's integration tests: one test binary (one link, one process), a module per
//! subject. Each drives the real client against in-process dev clusters on 127.0.0.1 and
//! ephemeral ports; the interop modules also drive kcat and Python clients
//! (`tests/interop/*.py`).
//!
//! Every test of this crate runs in this one process, so none may change what the others
//! see: no `std::env::set_var`, no current-directory change, no fixed port; directories come
//! from `streamctl_testkit::TempDir` or carry a unique name, and the one tracing subscriber is
//! installed by `streamctl_testkit::cluster` for all.
//!
//! Run one module with `cargo test -p streamctl-client --test it chaos:: -- --nocapture`.

// Tests state their expectations by unwrapping and indexing; a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod admin;
mod chaos;
mod client;
mod compaction;
mod consumer;
mod consumer_protocol;
mod eos_chaos;
mod kafka_versions;
mod producer;
mod random_frames;
mod rebalance_listener;
mod security;
mod transactions;
