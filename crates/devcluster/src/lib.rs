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
//! real Kafka protocol. Modules: [`cluster`] (builder and handles), [`controller`] (metadata),
//! [`broker`] (listeners and connections), [`handlers`] (one module per API), [`partition`] and
//! [`log`] (storage), [`config`] (Kafka's config names and defaults).

pub mod broker;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod handlers;
pub mod log;
mod metadata_store;
pub mod partition;
pub mod replication;

pub use cluster::{BrokerInfo, ClusterError, DevCluster, DevClusterBuilder};
pub use controller::ApiError;
