//! Dev clusters for tests: in memory, on 127.0.0.1 and ephemeral ports, so tests running at
//! once in one process never share a port or a directory.

use streamctl_devcluster::{DevCluster, DevClusterBuilder};

/// Starts an in-memory dev cluster of `brokers` brokers; panics if it cannot start.
pub async fn cluster(brokers: usize) -> DevCluster {
    cluster_with(brokers, |b| b).await
}

/// As [`cluster`], with `settings` applied to the builder last (`|b| b.admin_http(true)`;
/// `|b| b.data_dir(dir)` keeps the logs on disk instead).
pub async fn cluster_with(
    brokers: usize,
    settings: impl FnOnce(DevClusterBuilder) -> DevClusterBuilder,
) -> DevCluster {
    init_tracing();
    settings(DevCluster::builder().brokers(brokers).in_memory())
        .start()
        .await
        .unwrap_or_else(|e| panic!("the dev cluster did not start: {e}"))
}

/// Installs a `tracing` subscriber filtered by `RUST_LOG` (errors only without it) that
/// writes through the test harness, so a failing test shows the logs of its own cluster.
/// The subscriber is global to the test process: the first call installs it, later calls do
/// nothing.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
