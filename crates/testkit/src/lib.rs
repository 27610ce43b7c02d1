//! Test-only helpers shared by the crates' integration tests, so each suite writes only what
//! it tests:
//!
//! - [`cluster`] / [`cluster_with`]: an in-process [`DevCluster`](streamctl_devcluster::DevCluster)
//!   on 127.0.0.1, with a `RUST_LOG` tracing subscriber ([`init_tracing`]);
//! - [`read_partition`] / [`read_batches`]: a partition read back with the raw Fetch API,
//!   every batch's CRC checked, independent of the consumer under test;
//! - [`seed`], [`TempDir`]: reproducible randomness and private directories;
//! - [`kcat`], [`python`], [`run`], [`kcat_consume`]: the third-party Kafka tools the
//!   interop tests drive.
//!
//! A missing tool fails the test under `CI=true` (CI installs them with
//! `scripts/install-test-deps`) and is a loud skip elsewhere ([`require`]), so a developer
//! without them can still run the rest of the suite.

// Test support: a helper that cannot do its job fails the test, saying why.
#![allow(clippy::panic)]

mod cluster;
mod fetch;
mod http;
mod scratch;
mod tools;

pub use cluster::{cluster, cluster_with, init_tracing};
pub use fetch::{read_batches, read_partition, FetchedRecord};
pub use http::{http, HttpResponse};
pub use scratch::{seed, TempDir};
pub use tools::{kcat, kcat_consume, python, require, run, workspace_root, TOOL_TIMEOUT};
