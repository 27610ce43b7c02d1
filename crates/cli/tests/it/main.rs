//! The `streamctl` binary's integration tests: one test binary (one link, one process), a
//! module per subject. They run the binary (`CARGO_BIN_EXE_streamctl`) against in-process dev
//! clusters or `streamctl dev up` children, on 127.0.0.1 and ephemeral ports.
//!
//! Every test of this crate runs in this one process, so none may change what the others
//! see: no `std::env::set_var` (a child gets its environment from `support::command`), no
//! current-directory change, no fixed port. `support::test_config()` is one config file for
//! the whole process: `dev up` writes its dev profile there, so every command names its
//! cluster (`-b`, `--admin-url`); a test about profiles uses a config file of its own.
//!
//! `tests/fault_schedule.rs` stays a binary of its own: a seeded fault-schedule soak (about
//! two minutes in CI, hours under `scripts/soak`) that the scripts and the README run by
//! itself with `--test fault_schedule`.
//!
//! Run one module with `cargo test -p streamctl --test it ui_tmux:: -- --nocapture`.

// Tests state their expectations by unwrapping and indexing; a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod bad_input;
mod chaos;
mod chaos_compaction;
mod cli;
mod foreign;
mod groups_and_dev;
mod perf;
mod records;
mod schemas;
mod security;
mod ui_tmux;
