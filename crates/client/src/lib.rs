//! An async (tokio) Kafka client: a batching, idempotent producer, a consumer with groups and
//! commits, and an admin client. Everything speaks the real Kafka protocol, so the same code
//! works against Apache Kafka, Redpanda or the in-process `streamctl-devcluster`.
//!
//! ## Producing
//!
//! [`producer::Producer`] batches records per partition (`batch.size`, `linger.ms`), sends the
//! batches of many partitions to their leader in one request, keeps order per partition under
//! retries, and is idempotent by default: a batch retried after a lost answer is written once.
//! Keys pick partitions exactly as Java's client and librdkafka's `murmur2_random` do.
//!
//! ```no_run
//! use std::time::Duration;
//! use streamctl_client::producer::{Acks, HeaderRef, Producer, Record};
//! use streamctl_client::protocol::compression::Compression;
//!
//! # async fn example() -> streamctl_client::Result<()> {
//! let producer = Producer::builder("localhost:9092")
//!     .acks(Acks::All)
//!     .compression(Compression::Lz4)
//!     .linger(Duration::from_millis(10))
//!     .set("batch.size", "65536")? // Kafka property names work too
//!     .build()
//!     .await?;
//! let headers = [HeaderRef::new("trace-id", b"abc")];
//! let delivery = producer
//!     .send(Record::new("orders").key(b"customer-7").value(b"{}").headers(&headers))
//!     .await?; // waits only for buffer space (buffer.memory, max.block.ms)
//! let meta = delivery.await?; // the broker's acknowledgement
//! println!("{}-{} @ {}", meta.topic, meta.partition, meta.offset);
//! producer.close(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Consuming
//!
//! [`Consumer`] joins a group (range, roundrobin or cooperative-sticky assignment, static
//! membership), or reads partitions it is given with [`Consumer::assign`]; it fetches ahead
//! from every leader, and commits what you processed ([`Consumer::commit`]) or, by default,
//! every `auto.commit.interval.ms`.
//!
//! ```no_run
//! use std::time::Duration;
//! use streamctl_client::{Consumer, OffsetReset};
//!
//! # async fn example() -> streamctl_client::Result<()> {
//! let consumer = Consumer::builder("localhost:9092")
//!     .group_id("billing")
//!     .enable_auto_commit(false)
//!     .auto_offset_reset(OffsetReset::Earliest)
//!     .build()
//!     .await?;
//! consumer.subscribe(["orders"])?;
//! loop {
//!     let records = consumer.poll(Duration::from_millis(500)).await?;
//!     for r in &records {
//!         println!("{}-{} @ {}: {:?}", r.topic, r.partition, r.offset, r.value);
//!     }
//!     consumer.commit().await?; // everything this poll returned is processed
//! #   break;
//! }
//! # consumer.close(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Administering
//!
//! [`Admin`] creates, deletes, grows and describes topics (leaders, replicas, ISR and
//! watermarks), reads and changes their configs, and describes the cluster; broker errors
//! keep their code, the broker's message and the topic.
//!
//! Configuration takes typed values or Kafka's property names ([`ClientConfig::set`]). Logs
//! go through `tracing` with `broker`, `correlation_id`, `topic` and `partition` fields; the
//! library installs no subscriber.
//!
//! ## Underneath
//!
//! The producer, the consumer and the admin client share one layer of connections and
//! metadata, usable directly for requests of your own:
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

pub mod admin;
mod backoff;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod error;
/// Entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature); not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod metadata;
pub mod producer;
pub mod security;

pub use admin::Admin;
pub use backoff::Backoff;
pub use config::ClientConfig;
pub use connection::{Connection, PendingResponse, Request};
pub use consumer::{
    Consumer, ConsumerGroupMetadata, ConsumerRecord, GroupProtocol, OffsetReset, RebalanceListener,
    TopicPartition,
};
pub use error::{Disconnect, Error, Result, TransactionErrorKind};
pub use metadata::{
    BrokerMetadata, Cluster, Leader, MetadataSnapshot, PartitionMetadata, TopicMetadata,
};
pub use producer::partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};
pub use producer::{
    Acks, DeliveryFuture, HeaderRef, Producer, ProducerBuilder, Record, RecordMetadata,
};
pub use security::{
    OauthBearerToken, SaslConfig, SaslMechanism, Secret, SecurityProtocol, TlsConfig, TokenProvider,
};

/// The wire protocol crate, for building requests and reading responses.
pub use streamctl_protocol as protocol;
