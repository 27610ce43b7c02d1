//! A Kafka-compatible dev cluster that starts in milliseconds, in-process or via
//! `streamctl dev up`: no Docker, no JVM.
//!
//! ```no_run
//! # async fn demo() -> Result<(), streamctl_devcluster::ClusterError> {
//! let cluster = streamctl_devcluster::DevCluster::builder().brokers(3).in_memory().start().await?;
//! println!("bootstrap.servers={}", cluster.bootstrap_servers());
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Third-party clients (librdkafka/kcat, kafka-python, the Java client) talk to it over the
//! real Kafka protocol. Public modules: [`cluster`] (builder and handles), [`controller`]
//! (metadata), [`coordinator`] (consumer groups and committed offsets in
//! `__consumer_offsets`), [`partition`] and [`log`] (storage), [`config`] (Kafka's config
//! names and defaults), [`faults`] (latency, dropped connections and error codes injected per
//! broker), [`metrics`] (Prometheus counters and histograms per broker), [`security`] (TLS
//! with generated certificates, SASL users and mechanisms, the replication listener),
//! [`state`] (what the cluster reports about itself). Internal: `broker` (listeners,
//! connections, the replica manager), `handlers` (one module per API), `replication`
//! (follower fetch loops), `http` (the loopback admin plane), `limits`.
//!
//! Tests drive faults through the handle; people and the CLI through the admin plane:
//!
//! ```no_run
//! # async fn demo() -> Result<(), streamctl_devcluster::ClusterError> {
//! use std::time::Duration;
//! use streamctl_protocol::{ApiKey, ErrorCode};
//!
//! let cluster = streamctl_devcluster::DevCluster::builder().admin_http(true).start().await?;
//! cluster.inject_latency(1, Duration::from_millis(200))?;
//! cluster.inject_errors(2, ApiKey::Produce, ErrorCode::NotLeaderOrFollower, 3)?;
//! println!("admin plane at {}", cluster.admin_url().unwrap_or_default()); // GET /v1/cluster, /metrics
//! cluster.clear_faults(1)?;
//! # Ok(())
//! # }
//! ```

mod broker;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod coordinator;
mod error;
pub mod faults;
mod handlers;
mod http;
mod inter_broker;
mod internal_topic;
pub mod kafka_version;
mod limits;
pub mod log;
mod metadata_store;
pub mod metrics;
pub mod partition;
mod replication;
pub mod security;
pub mod state;
#[cfg(test)]
mod test_support;
pub mod txn_coordinator;

pub use cluster::{BrokerInfo, ClusterError, DevCluster, DevClusterBuilder};
pub use error::ApiError;
pub use faults::{FaultState, InjectedError};
pub use kafka_version::KafkaVersion;
pub use state::ClusterState;
