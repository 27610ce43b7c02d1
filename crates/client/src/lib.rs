//! Async Kafka client: connections, cluster metadata, partitioners — the foundation the
//! producer, the consumer and the admin client are built on.
//!
//! ```text
//!   producer.send(record)                         consumer.poll()
//!     partitioner → accumulator → sender            group → fetcher
//!     (per record)  (per partition) (per broker)            (per broker)
//!                                    │                        │
//!          leader_for(topic, p) / connection(node id) / invalidation hooks
//!                                    ▼                        ▼
//!   ┌─────────────────────────── metadata::Cluster ──────────────────────────┐
//!   │ cache: brokers, topics, partitions, leaders + epochs, topic ids        │
//!   │ pool:  node id → Connection, reconnect with backoff + jitter           │
//!   └───────────────────────────────────┬────────────────────────────────────┘
//!                                       ▼
//!   ┌──────────────────── connection::Connection (per broker) ───────────────┐
//!   │ writer task → socket → reader task, responses matched by correlation id│
//!   │ ApiVersions negotiation, request timeouts, cancel-safe calls           │
//!   └───────────────────────────────────┬────────────────────────────────────┘
//!                                       ▼
//!                      streamctl-protocol (sans-io codec)
//! ```
//!
//! Everything speaks the real Kafka protocol, so the same code works against Apache Kafka,
//! Redpanda or the in-process `streamctl-devcluster`.
//!
//! ```no_run
//! use streamctl_client::{ClientConfig, Cluster};
//!
//! # async fn example() -> streamctl_client::Result<()> {
//! let cluster = Cluster::connect(ClientConfig::new("localhost:9092")).await?;
//! let leader = cluster.leader_for("orders", 0).await?;
//! let connection = cluster.connection(leader.node_id).await?;
//! println!(
//!     "orders-0 is led by broker {} ({}), epoch {}; Fetch v{:?}",
//!     leader.node_id,
//!     connection.broker(),
//!     leader.leader_epoch,
//!     connection.negotiated_version(streamctl_client::protocol::ApiKey::Fetch),
//! );
//! # Ok(())
//! # }
//! ```
//!
//! Configuration takes typed values or Kafka's property names ([`ClientConfig::set`]). Logs
//! go through `tracing` with `broker`, `correlation_id`, `topic` and `partition` fields; the
//! library installs no subscriber.

pub mod backoff;
pub mod config;
pub mod connection;
pub mod error;
pub mod metadata;
pub mod producer;

pub use backoff::Backoff;
pub use config::ClientConfig;
pub use connection::{Connection, PendingResponse, Request};
pub use error::{Disconnect, Error, Result};
pub use metadata::{
    BrokerMetadata, Cluster, Leader, MetadataSnapshot, PartitionMetadata, TopicMetadata,
};
pub use producer::partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};

/// The wire protocol crate, for building requests and reading responses.
pub use streamctl_protocol as protocol;
