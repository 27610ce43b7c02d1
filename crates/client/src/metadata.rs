//! The cluster as the client sees it: brokers, topics, partition leaders, and a connection pool.
//!
//! ```text
//!   bootstrap.servers ──▶ any_connection() ──Metadata──▶ MetadataSnapshot (watch channel)
//!                                                          │ brokers: node id → host:port
//!                                                          │ topics:  name → partitions, leaders,
//!                                                          │          leader epochs, topic id
//!   producer / consumer ── leader_for(topic, p) ───────────┘
//!                       ── connection(node id) ──▶ pool: node id → Connection (reconnect with
//!                                                        backoff + jitter)
//!                       ── on_partition_error / on_connection_lost ──▶ mark stale → refresh
//! ```
//!
//! [`Cluster`] is a cheap handle (an `Arc` inside) shared by the producer's per-broker senders,
//! the consumer's fetchers and the admin client. It owns no background task: metadata is
//! refreshed when a lookup finds it missing, older than `metadata.max.age.ms`, or marked stale
//! by one of the invalidation hooks that the request paths call when a broker answers
//! `NOT_LEADER_OR_FOLLOWER`, `UNKNOWN_TOPIC_OR_PARTITION`, `FENCED_LEADER_EPOCH` and the like,
//! or when a connection is lost. Concurrent refreshes are coalesced into one request.
//!
//! Leader epochs only move forward: a Metadata answer from a broker that has not yet heard of
//! a leader change is not allowed to undo a newer leader learned elsewhere (KIP-320), and
//! [`Cluster::update_leader`] applies the new leader a Produce or Fetch error names (KIP-951)
//! without waiting for a refresh.
//!
//! Connections are keyed by node id; the bootstrap addresses get the negative ids Kafka's Java
//! client uses for them (-1 for the first address, -2 for the second, …) until the real
//! brokers are known.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand::seq::SliceRandom;
use streamctl_protocol::messages::metadata::MetadataRequestTopic;
use streamctl_protocol::messages::{MetadataRequest, MetadataResponse};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};
use uuid::Uuid;

use crate::backoff::{Attempts, Backoff};
use crate::config::ClientConfig;
use crate::connection::Connection;
use crate::error::{Error, Result};

mod cache;

pub use cache::{BrokerMetadata, Leader, MetadataSnapshot, PartitionMetadata, TopicMetadata};

/// A pooled connection slot for one node (or bootstrap address).
#[derive(Debug)]
struct NodeSlot {
    /// The address the connection is (to be) opened to.
    address: String,
    connection: Option<Connection>,
    /// Consecutive failed connects, for the reconnect backoff.
    reconnects: Attempts,
    /// No new connect before this instant (reconnect backoff).
    retry_at: Option<Instant>,
}

type Slot = Arc<tokio::sync::Mutex<NodeSlot>>;

#[derive(Debug)]
struct ClusterInner {
    config: ClientConfig,
    /// The current metadata; receivers get notified of every change.
    metadata: watch::Sender<Arc<MetadataSnapshot>>,
    /// Connection slots by node id (negative ids for bootstrap addresses). The std mutex
    /// guards the map only; each slot has an async mutex held while connecting, so concurrent
    /// users of one node share one connect attempt.
    nodes: Mutex<HashMap<i32, Slot>>,
    /// Serialises metadata refreshes so that concurrent callers share one request.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// A handle to a Kafka cluster: metadata cache and connection pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<ClusterInner>,
}

/// The error codes that mean the cached metadata of a topic is wrong (Kafka's
/// `InvalidMetadataException` family).
const STALE_METADATA_ERRORS: &[ErrorCode] = &[
    ErrorCode::NotLeaderOrFollower,
    ErrorCode::LeaderNotAvailable,
    ErrorCode::UnknownTopicOrPartition,
    ErrorCode::FencedLeaderEpoch,
    ErrorCode::UnknownLeaderEpoch,
    ErrorCode::KafkaStorageError,
    ErrorCode::ReplicaNotAvailable,
    ErrorCode::UnknownTopicId,
    ErrorCode::InconsistentTopicId,
];

impl Cluster {
    /// A handle that connects on first use.
    pub fn new(config: ClientConfig) -> Cluster {
        let (metadata, _) = watch::channel(Arc::new(MetadataSnapshot::default()));
        Cluster {
            inner: Arc::new(ClusterInner {
                config,
                metadata,
                nodes: Mutex::new(HashMap::new()),
                refresh_gate: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// A handle that has already learned the brokers from one of `bootstrap.servers`.
    pub async fn connect(config: ClientConfig) -> Result<Cluster> {
        let cluster = Cluster::new(config);
        cluster.refresh(std::iter::empty::<&str>()).await?;
        Ok(cluster)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The current metadata.
    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        self.inner.metadata.borrow().clone()
    }

    /// A receiver notified whenever the metadata changes (new answer, new leader, stale mark).
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataSnapshot>> {
        self.inner.metadata.subscribe()
    }

    /// Fetches metadata for `topics` (and the broker list) and updates the cache.
    ///
    /// Topics the broker does not know are dropped from the cache; their error is what
    /// [`Cluster::partitions_for`] then reports. With `allow.auto.create.topics` the broker may
    /// create them (and answer `LEADER_NOT_AVAILABLE` until they have leaders).
    pub async fn refresh<I, S>(&self, topics: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names: Vec<String> = topics.into_iter().map(|t| t.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        self.refresh_inner(Some(names)).await
    }

    /// Fetches metadata for every topic in the cluster.
    pub async fn refresh_all(&self) -> Result<()> {
        self.refresh_inner(None).await
    }

    /// A topic's metadata, refreshed first if it is not cached, older than
    /// `metadata.max.age.ms` or marked stale.
    pub async fn partitions_for(&self, topic: &str) -> Result<Arc<TopicMetadata>> {
        if let Some(t) = self.fresh_topic(topic) {
            return Ok(t);
        }
        self.refresh([topic]).await?;
        let snapshot = self.snapshot();
        snapshot
            .topic(topic)
            .cloned()
            .ok_or_else(|| snapshot.missing_topic_error(topic))
    }

    /// The leader of a partition and its epoch, refreshing metadata when needed.
    ///
    /// A partition without a leader (an election in progress) is `LEADER_NOT_AVAILABLE`, which
    /// is retriable; the topic is marked stale so the next lookup asks again.
    pub async fn leader_for(&self, topic: &str, partition: i32) -> Result<Leader> {
        let metadata = match self.fresh_topic(topic) {
            Some(cached) if cached.partition(partition).is_some() => cached,
            // Not cached, too old, stale, or without this partition (the topic may have
            // grown since): ask.
            _ => {
                self.refresh([topic]).await?;
                let snapshot = self.snapshot();
                snapshot
                    .topic(topic)
                    .cloned()
                    .ok_or_else(|| snapshot.missing_topic_error(topic))?
            }
        };
        let Some(p) = metadata.partition(partition) else {
            return Err(Error::broker_for(
                ErrorCode::UnknownTopicOrPartition,
                Some(format!(
                    "topic {topic} has {} partitions",
                    metadata.partition_count()
                )),
                topic,
                Some(partition),
            ));
        };
        match p.leader_id {
            Some(node_id) => Ok(Leader {
                node_id,
                leader_epoch: p.leader_epoch,
            }),
            None => {
                self.invalidate_topic(topic);
                Err(Error::broker_for(
                    ErrorCode::LeaderNotAvailable,
                    None,
                    topic,
                    Some(partition),
                ))
            }
        }
    }

    /// The name of a topic by id, from the cache.
    pub fn topic_name(&self, topic_id: Uuid) -> Option<String> {
        self.snapshot().topic_name(topic_id).map(str::to_string)
    }

    /// The pooled connection to a broker, (re)connecting if there is none or it closed.
    ///
    /// A broker that failed recently is retried only after the reconnect backoff
    /// (`reconnect.backoff.ms` doubling up to `reconnect.backoff.max.ms`, with jitter); this
    /// waits for it.
    pub async fn connection(&self, node_id: i32) -> Result<Connection> {
        let address = self.address_of(node_id)?;
        self.connect_node(node_id, &address).await
    }

    /// A connection to any broker, for requests any broker can answer (Metadata, ListGroups,
    /// FindCoordinator, …).
    ///
    /// Prefers an open connection with the fewest requests in flight, then known brokers in
    /// random order, then the bootstrap addresses; brokers in reconnect backoff come last.
    pub async fn any_connection(&self) -> Result<Connection> {
        let candidates = self.candidates();
        if candidates.is_empty() {
            return Err(Error::invalid_config(
                "bootstrap.servers",
                "",
                "no bootstrap servers configured",
            ));
        }
        let live = candidates
            .iter()
            .filter_map(|(id, _)| self.live_connection(*id))
            .min_by_key(Connection::in_flight);
        if let Some(connection) = live {
            return Ok(connection);
        }
        let mut tried = Vec::new();
        let mut last = None;
        for (node_id, address) in self.order_by_backoff(candidates) {
            match self.connect_node(node_id, &address).await {
                Ok(connection) => return Ok(connection),
                // A refused certificate or password, or a bad TLS setting: every broker
                // would answer the same, and retrying would hide the reason.
                Err(e @ (Error::Authentication { .. } | Error::InvalidConfig { .. })) => {
                    return Err(e)
                }
                Err(e) => {
                    debug!(broker = %address, node_id, error = %e, "broker unreachable");
                    tried.push(address);
                    last = Some(e);
                }
            }
        }
        Err(Error::NoBrokerAvailable {
            tried: tried.join(", "),
            last: Box::new(last.unwrap_or(Error::UnknownNode { node_id: -1 })),
        })
    }

    /// Marks a topic's metadata stale so the next lookup refreshes it. Returns whether it was
    /// cached and fresh before.
    pub fn invalidate_topic(&self, topic: &str) -> bool {
        self.inner
            .metadata
            .send_if_modified(|snapshot| Arc::make_mut(snapshot).mark_stale(topic))
    }

    /// The hook for a partition-level error code in a Produce, Fetch, ListOffsets or
    /// OffsetForLeaderEpoch answer: errors that mean the metadata is wrong
    /// (`NOT_LEADER_OR_FOLLOWER`, `UNKNOWN_TOPIC_OR_PARTITION`, `FENCED_LEADER_EPOCH`,
    /// `LEADER_NOT_AVAILABLE`, `UNKNOWN_LEADER_EPOCH`, `KAFKA_STORAGE_ERROR`, …) mark the topic
    /// stale. Returns whether the code is one of those.
    pub fn on_partition_error(&self, topic: &str, partition: i32, error: ErrorCode) -> bool {
        if !STALE_METADATA_ERRORS.contains(&error) {
            return false;
        }
        debug!(topic, partition, error = %error, "metadata marked stale");
        self.invalidate_topic(topic);
        true
    }

    /// The hook for a lost connection (or a request to it that failed with a connection
    /// error): drops the pooled connection to `node_id` and marks stale every topic with a
    /// partition it led, since leadership may have moved.
    pub fn on_connection_lost(&self, node_id: i32) {
        let slot = self.nodes().get(&node_id).cloned();
        if let Some(slot) = slot {
            // If someone is connecting right now, their new connection is fine to keep.
            if let Ok(mut slot) = slot.try_lock() {
                if let Some(connection) = slot.connection.take() {
                    connection.close();
                }
            }
        }
        self.mark_led_topics_stale(node_id);
    }

    /// Marks stale every cached topic with a partition `node_id` leads.
    fn mark_led_topics_stale(&self, node_id: i32) {
        self.inner.metadata.send_if_modified(|snapshot| {
            let led: Vec<String> = snapshot
                .topics
                .values()
                .filter(|t| {
                    t.metadata
                        .partitions
                        .iter()
                        .any(|p| p.leader_id == Some(node_id))
                })
                .map(|t| t.metadata.name.clone())
                .collect();
            let snapshot = Arc::make_mut(snapshot);
            // Mark every one (no short-circuit), report whether any changed.
            let mut changed = false;
            for topic in &led {
                changed |= snapshot.mark_stale(topic);
            }
            changed
        });
    }

    /// Records a new leader learned from a Produce or Fetch answer (KIP-951's
    /// `current_leader`), if its epoch is newer than the cached one. Returns whether the cache
    /// changed. A leader the broker list does not know also marks the topic stale.
    pub fn update_leader(&self, topic: &str, partition: i32, leader: Leader) -> bool {
        self.inner.metadata.send_if_modified(|snapshot| {
            let Some(cached) = snapshot.topics.get(topic) else {
                return false;
            };
            let Some(current) = cached.metadata.partition(partition) else {
                return false;
            };
            if leader.node_id < 0 || leader.leader_epoch <= current.leader_epoch {
                return false;
            }
            let known_broker = snapshot.brokers.contains_key(&leader.node_id);
            let snapshot = Arc::make_mut(snapshot);
            let Some(cached) = snapshot.topics.get_mut(topic) else {
                return false;
            };
            let metadata = Arc::make_mut(&mut cached.metadata);
            if let Ok(i) = metadata
                .partitions
                .binary_search_by_key(&partition, |p| p.partition)
            {
                if let Some(p) = metadata.partitions.get_mut(i) {
                    p.leader_id = Some(leader.node_id);
                    p.leader_epoch = leader.leader_epoch;
                    p.error = ErrorCode::None;
                }
            }
            if !known_broker {
                cached.stale = true;
            }
            true
        })
    }

    /// A topic's metadata if the cache holds it fresh (not older than `metadata.max.age.ms`,
    /// not marked stale); never asks a broker. The producer's per-record fast path.
    pub fn cached_topic(&self, topic: &str) -> Option<Arc<TopicMetadata>> {
        self.fresh_topic(topic)
    }

    fn fresh_topic(&self, topic: &str) -> Option<Arc<TopicMetadata>> {
        self.snapshot()
            .fresh_topic(topic, self.inner.config.metadata_max_age)
            .cloned()
    }

    fn nodes(&self) -> MutexGuard<'_, HashMap<i32, Slot>> {
        self.inner
            .nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The address of a node: a broker from metadata, or a bootstrap address (negative id).
    fn address_of(&self, node_id: i32) -> Result<String> {
        if node_id < 0 {
            let index = usize::try_from(-(i64::from(node_id) + 1)).ok();
            return index
                .and_then(|i| self.inner.config.bootstrap_servers.get(i))
                .cloned()
                .ok_or(Error::UnknownNode { node_id });
        }
        self.snapshot()
            .broker(node_id)
            .map(BrokerMetadata::address)
            .ok_or(Error::UnknownNode { node_id })
    }

    /// Known brokers in random order (spreading load), then the bootstrap addresses in the
    /// configured order (as a last resort once brokers are known: KIP-899's re-bootstrap).
    fn candidates(&self) -> Vec<(i32, String)> {
        let mut brokers: Vec<(i32, String)> = self
            .snapshot()
            .brokers()
            .map(|b| (b.node_id, b.address()))
            .collect();
        brokers.shuffle(&mut rand::rng());
        let bootstrap = self
            .inner
            .config
            .bootstrap_servers
            .iter()
            .enumerate()
            .filter_map(|(i, address)| {
                let id = i32::try_from(i).ok()?.checked_add(1)?.checked_neg()?;
                Some((id, address.clone()))
            });
        brokers.extend(bootstrap);
        brokers
    }

    /// Stable-sorts candidates so that those in reconnect backoff come last, soonest first.
    fn order_by_backoff(&self, mut candidates: Vec<(i32, String)>) -> Vec<(i32, String)> {
        let retry_at: HashMap<i32, Instant> = {
            let nodes = self.nodes();
            candidates
                .iter()
                .filter_map(|(id, _)| {
                    let slot = nodes.get(id)?.try_lock().ok()?;
                    Some((*id, slot.retry_at?))
                })
                .collect()
        };
        let now = Instant::now();
        candidates.sort_by_key(|(id, _)| retry_at.get(id).copied().filter(|at| *at > now));
        candidates
    }

    fn live_connection(&self, node_id: i32) -> Option<Connection> {
        let slot = self.nodes().get(&node_id).cloned()?;
        let slot = slot.try_lock().ok()?;
        slot.connection.clone().filter(|c| !c.is_closed())
    }

    async fn connect_node(&self, node_id: i32, address: &str) -> Result<Connection> {
        let slot = {
            let mut nodes = self.nodes();
            nodes
                .entry(node_id)
                .or_insert_with(|| {
                    let config = &self.inner.config;
                    let backoff =
                        Backoff::new(config.reconnect_backoff, config.reconnect_backoff_max);
                    Arc::new(tokio::sync::Mutex::new(NodeSlot {
                        address: address.to_string(),
                        connection: None,
                        reconnects: backoff.attempts(),
                        retry_at: None,
                    }))
                })
                .clone()
        };
        // Held across the connect on purpose: concurrent callers wait for this attempt instead
        // of opening their own connections. It is a tokio mutex, so that is allowed.
        let mut slot = slot.lock().await;
        if slot.address != address {
            // The broker moved: the old connection (if any) goes to the wrong place.
            slot.address = address.to_string();
            slot.connection = None;
            slot.reconnects.reset();
            slot.retry_at = None;
        }
        match &slot.connection {
            Some(connection) if !connection.is_closed() => return Ok(connection.clone()),
            Some(lost) => {
                // Found dead: whatever the broker led may have moved (the same as
                // `on_connection_lost`, for callers that did not report it).
                debug!(broker = %lost.broker(), node_id, reason = %lost.close_reason().map_or_else(String::new, |r| r.to_string()), "replacing a closed connection");
                if node_id >= 0 {
                    self.mark_led_topics_stale(node_id);
                }
            }
            None => {}
        }
        if let Some(at) = slot.retry_at {
            tokio::time::sleep_until(at).await;
        }
        match Connection::connect(address, &self.inner.config).await {
            Ok(connection) => {
                slot.reconnects.reset();
                slot.retry_at = None;
                slot.connection = Some(connection.clone());
                Ok(connection)
            }
            Err(e) => {
                let delay = slot.reconnects.next_delay();
                slot.retry_at = Some(crate::backoff::deadline_after(delay));
                slot.connection = None;
                Err(e)
            }
        }
    }

    async fn refresh_inner(&self, topics: Option<Vec<String>>) -> Result<()> {
        let asked_at = Instant::now();
        let _gate = self.inner.refresh_gate.lock().await;
        if let Some(names) = &topics {
            // Someone refreshed these topics while we waited for the gate: reuse their answer.
            let snapshot = self.snapshot();
            let served = !names.is_empty()
                && names.iter().all(|name| {
                    snapshot
                        .topics
                        .get(name)
                        .is_some_and(|t| !t.stale && t.fetched_at >= asked_at)
                });
            if served {
                return Ok(());
            }
        }
        // Each failed attempt closes (or skips) one broker, so this tries each at most once.
        let attempts = self.candidates().len().max(1);
        let mut last = None;
        for _ in 0..attempts {
            let connection = self.any_connection().await?;
            let request = self.metadata_request(&connection, topics.as_deref());
            match connection.call(request).await {
                Ok(response) => {
                    self.apply(response, topics.as_deref());
                    return Ok(());
                }
                Err(e @ (Error::ConnectionLost { .. } | Error::Timeout { .. })) => {
                    warn!(broker = %connection.broker(), error = %e, "metadata request failed; trying another broker");
                    connection.close();
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::UnknownNode { node_id: -1 }))
    }

    fn metadata_request(
        &self,
        connection: &Connection,
        topics: Option<&[String]>,
    ) -> MetadataRequest {
        let version = connection.negotiated_version(ApiKey::Metadata).unwrap_or(0);
        let topics = match topics {
            Some(names) => Some(
                names
                    .iter()
                    .map(|name| MetadataRequestTopic {
                        topic_id: Uuid::nil(),
                        name: Some(name.clone()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            // v0 has no null: an empty list means all topics there.
            None if version == 0 => Some(Vec::new()),
            None => None,
        };
        MetadataRequest {
            topics,
            allow_auto_topic_creation: self.inner.config.allow_auto_create_topics,
            ..Default::default()
        }
    }

    fn apply(&self, response: MetadataResponse, requested: Option<&[String]>) {
        let now = Instant::now();
        self.inner.metadata.send_modify(|snapshot| {
            Arc::make_mut(snapshot).apply(response, requested, now);
        });
        let snapshot = self.snapshot();
        // Forget slots of brokers that left, and the bootstrap connections once real brokers
        // are known (their node ids are unknown, so they could only duplicate a broker's).
        let removed: Vec<Slot> = {
            let mut nodes = self.nodes();
            let gone: Vec<i32> = nodes
                .keys()
                .copied()
                .filter(|&id| {
                    if id < 0 {
                        snapshot.brokers.values().next().is_some()
                    } else {
                        snapshot.broker(id).is_none()
                    }
                })
                .collect();
            gone.into_iter()
                .filter_map(|id| nodes.remove(&id))
                .collect()
        };
        for slot in removed {
            if let Ok(mut slot) = slot.try_lock() {
                // Dropping our handle is enough; callers still holding a clone keep using it
                // until they drop it.
                slot.connection = None;
            }
        }
        debug!(
            brokers = snapshot.brokers.len(),
            topics = snapshot.topics.len(),
            "metadata updated"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::cache::testing::response;
    use super::*;

    #[tokio::test]
    async fn hooks_mark_stale_and_update_leaders() {
        let cluster = Cluster::new(ClientConfig::new("127.0.0.1:1"));
        cluster.apply(response("t", &[(1, 5), (1, 5)]), None);
        let changes = cluster.subscribe();
        assert!(cluster.fresh_topic("t").is_some());
        assert!(!cluster.on_partition_error("t", 0, ErrorCode::MessageTooLarge));
        assert!(cluster.fresh_topic("t").is_some());
        assert!(cluster.on_partition_error("t", 0, ErrorCode::NotLeaderOrFollower));
        assert!(cluster.fresh_topic("t").is_none());
        assert!(changes.has_changed().unwrap());

        cluster.apply(response("t", &[(1, 5), (1, 5)]), None);
        assert!(!cluster.update_leader(
            "t",
            0,
            Leader {
                node_id: 1,
                leader_epoch: 4
            }
        ));
        assert!(cluster.update_leader(
            "t",
            0,
            Leader {
                node_id: 1,
                leader_epoch: 6
            }
        ));
        let snapshot = cluster.snapshot();
        assert_eq!(
            snapshot
                .topic("t")
                .unwrap()
                .partition(0)
                .unwrap()
                .leader_epoch,
            6
        );
        assert!(cluster.fresh_topic("t").is_some());
        // A leader on a broker we do not know: applied, and the topic is refreshed next time.
        assert!(cluster.update_leader(
            "t",
            1,
            Leader {
                node_id: 9,
                leader_epoch: 6
            }
        ));
        assert!(cluster.fresh_topic("t").is_none());

        cluster.apply(response("t", &[(1, 7), (2, 7)]), None);
        assert!(cluster.fresh_topic("t").is_some());
        cluster.on_connection_lost(1);
        assert!(cluster.fresh_topic("t").is_none());
        cluster.apply(response("t", &[(1, 7), (2, 7)]), None);
        cluster.on_connection_lost(3);
        assert!(cluster.fresh_topic("t").is_some());
        cluster.on_connection_lost(2);
        assert!(cluster.fresh_topic("t").is_none());

        assert_eq!(cluster.address_of(-1).unwrap(), "127.0.0.1:1");
        assert!(matches!(
            cluster.address_of(-2),
            Err(Error::UnknownNode { node_id: -2 })
        ));
        assert!(matches!(
            cluster.address_of(5),
            Err(Error::UnknownNode { node_id: 5 })
        ));
    }
}
