//! The dev cluster's integration tests: one test binary (one link, one process), a module per
//! subject. Each drives in-process clusters over the wire, on 127.0.0.1 and ephemeral ports.
//!
//! Every test of this crate runs in this one process, so none may change what the others
//! see: no `std::env::set_var`, no current-directory change, no fixed port; directories come
//! from `streamctl_testkit::TempDir` (unique per test), and the one tracing subscriber is
//! installed by `streamctl_testkit::cluster` for all.
//!
//! Run one module with `cargo test -p streamctl-devcluster --test it groups::`.

// Tests state their expectations by unwrapping and indexing; a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod admin_plane;
mod bad_input;
mod compaction;
mod durability;
mod groups;
mod handlers;
mod idempotence;
mod interop;
mod interop_security;
mod limits;
mod replication;
mod schema_registry;
mod security;
