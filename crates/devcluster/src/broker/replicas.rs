//! The broker's replica manager: the partition replicas it hosts, opened once each from their
//! directories, given their roles from metadata, and kept in line with it (ISR shrinks,
//! producer expiry, deleted topics). The network side (listeners, connections, dispatch) is
//! in `broker.rs`; what the replicas promise is in `partition.rs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use streamctl_protocol::ErrorCode;
use tracing::{debug, info, warn};

use super::partition_marker;
use crate::config::{BrokerConfig, TopicConfig};
use crate::controller::{ClusterMetadata, Controller, PartitionMeta, TopicMeta};
use crate::error::ApiError;
use crate::log::Storage;
use crate::partition::Partition;

/// The local replica of a partition this broker leads, with what requests need of its topic.
///
/// Looked up for every partition of every Produce and Fetch, so it copies only the topic's
/// id and config (no allocation without overrides), not the whole topic with every
/// partition's replica lists.
#[derive(Debug, Clone)]
pub struct LeaderReplica {
    /// The replica.
    pub partition: Arc<Partition>,
    /// The topic's id.
    pub topic_id: uuid::Uuid,
    /// The topic's config.
    pub config: TopicConfig,
    /// The partition's current leader epoch.
    pub leader_epoch: i32,
}

/// The replicas one broker incarnation hosts (Kafka's `ReplicaManager`): what handlers, the
/// follower fetch loops and the group coordinator read and write through, without the
/// network side.
#[derive(Debug)]
pub struct ReplicaManager {
    /// This broker's node id.
    pub node_id: i32,
    /// This incarnation's broker epoch (KIP-903), given by the controller when it was
    /// created; its replica fetches carry it so a leader can tell runs of this node apart.
    pub broker_epoch: u64,
    /// The cluster's controller (metadata owner; ISR changes go there).
    pub controller: Arc<Controller>,
    /// Where replica logs live; `None` keeps them in memory.
    data_dir: Option<PathBuf>,
    /// `replica.lag.time.max.ms` and `producer.id.expiration.ms`.
    replica_lag_time_max: Duration,
    producer_id_expiration: Duration,
    /// Replicas hosted here by (topic id, partition), opened on first use. Keyed by id so a
    /// topic deleted and re-created under the same name never sees the old data.
    replicas: Mutex<HashMap<(uuid::Uuid, i32), Arc<Partition>>>,
    /// Held while a replica is opened, so a partition directory is opened (and its marker
    /// checked) by one task at a time: two logs over the same files would each append at
    /// their own end, and one open could remove files the other just wrote.
    opening: Mutex<()>,
    /// Signalled whenever a local log grows or a watermark moves, to wake long polls.
    pub data_arrived: Notify,
}

impl ReplicaManager {
    /// A new incarnation of broker `node_id` (registered with the controller, which gives it
    /// its broker epoch), keeping logs under `data_dir`.
    pub fn new(
        node_id: i32,
        controller: Arc<Controller>,
        config: &BrokerConfig,
        data_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            node_id,
            broker_epoch: controller.register_broker(node_id),
            controller,
            data_dir,
            replica_lag_time_max: config.replica_lag_time_max,
            producer_id_expiration: config.producer_id_expiration,
            replicas: Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
            data_arrived: Notify::new(),
        }
    }

    /// The current metadata snapshot.
    pub fn metadata(&self) -> Arc<ClusterMetadata> {
        self.controller.snapshot()
    }

    fn replicas(&self) -> MutexGuard<'_, HashMap<(uuid::Uuid, i32), Arc<Partition>>> {
        self.replicas.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where a replica's log lives, checking (or writing) the directory's
    /// `partition.metadata` marker. Called only under `opening`.
    ///
    /// The marker remembers the topic id, like Kafka's, so files of a deleted topic are never
    /// served as a re-created topic of the same name. Only a well-formed marker naming
    /// another topic id removes files: a missing, empty or unreadable marker (a crash while
    /// an older version wrote it) never does, since the data is far more likely ours than a
    /// deleted topic's. The marker is written only when it is not already right, atomically.
    fn storage_for(&self, topic: &TopicMeta, partition: i32) -> Result<Storage, ApiError> {
        let Some(dir) = &self.data_dir else {
            return Ok(Storage::Memory);
        };
        let path = dir.join(format!("{}-{partition}", topic.name));
        let io = |e: std::io::Error| {
            ApiError::new(
                ErrorCode::KafkaStorageError,
                format!("{}: {e}", path.display()),
            )
        };
        match partition_marker::read(&path) {
            partition_marker::Marker::Topic(id) if id == topic.topic_id => {}
            partition_marker::Marker::Topic(other) => {
                warn!(broker = self.node_id, dir = %path.display(), old_topic_id = %other, topic_id = %topic.topic_id, "removing files of a deleted topic with the same name");
                std::fs::remove_dir_all(&path).map_err(io)?;
                partition_marker::write(&path, topic.topic_id).map_err(io)?;
            }
            partition_marker::Marker::Missing => {
                partition_marker::write(&path, topic.topic_id).map_err(io)?;
            }
            partition_marker::Marker::Unreadable(why) => {
                warn!(broker = self.node_id, dir = %path.display(), reason = %why, "partition.metadata is unreadable; keeping the files and rewriting it");
                partition_marker::write(&path, topic.topic_id).map_err(io)?;
            }
        }
        Ok(Storage::Disk(path))
    }

    /// The local replica of a partition this broker leads, opening its log on first use.
    pub fn leader_replica(&self, topic: &str, partition: i32) -> Result<LeaderReplica, ApiError> {
        let md = self.metadata();
        let t = md.topic(topic).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("topic {topic:?} does not exist"),
            )
        })?;
        let p = md.partition(topic, partition).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("topic {topic:?} has no partition {partition}"),
            )
        })?;
        if p.leader != self.node_id {
            return Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "broker {} is not the leader of {topic}-{partition} (leader is {})",
                    self.node_id, p.leader
                ),
            ));
        }
        let replica = self.ensure_role(t, p)?;
        Ok(LeaderReplica {
            partition: replica,
            topic_id: t.topic_id,
            config: t.config.clone(),
            leader_epoch: p.leader_epoch,
        })
    }

    /// Opens the local replica and brings its role in line with metadata.
    pub fn ensure_role(
        &self,
        topic: &TopicMeta,
        p: &PartitionMeta,
    ) -> Result<Arc<Partition>, ApiError> {
        let replica = self.open_replica(topic, p.partition)?;
        if p.leader == self.node_id {
            replica.make_leader(p);
        } else if p.leader >= 0 {
            replica.make_follower(p.leader_epoch, p.leader);
        }
        Ok(replica)
    }

    /// Opens (or returns) the local replica of a partition.
    pub fn open_replica(
        &self,
        topic: &TopicMeta,
        partition: i32,
    ) -> Result<Arc<Partition>, ApiError> {
        let key = (topic.topic_id, partition);
        if let Some(p) = self.replicas().get(&key) {
            return Ok(p.clone());
        }
        // Opening may recover a log from disk: it happens outside the map lock (other
        // partitions stay served) but under `opening`, and only if no one opened it while we
        // waited, so each directory has exactly one open log.
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = self.replicas().get(&key) {
            return Ok(p.clone());
        }
        let opened = Arc::new(Partition::open(
            &topic.name,
            topic.topic_id,
            partition,
            self.node_id,
            self.storage_for(topic, partition)?,
            &topic.config,
        )?);
        self.replicas().insert(key, opened.clone());
        Ok(opened)
    }

    /// The local replica of a partition, if open.
    pub fn replica(&self, topic_id: uuid::Uuid, partition: i32) -> Option<Arc<Partition>> {
        self.replicas().get(&(topic_id, partition)).cloned()
    }

    /// Every local replica (for retention and admin views).
    pub fn local_replicas(&self) -> Vec<Arc<Partition>> {
        self.replicas().values().cloned().collect()
    }

    /// Applies a metadata snapshot: every partition this broker hosts gets its role, and
    /// replicas of deleted topics (or of partitions moved away) are dropped.
    pub fn reconcile(&self) {
        let md = self.metadata();
        for t in md.topics.values() {
            for p in t
                .partitions
                .iter()
                .filter(|p| p.replicas.contains(&self.node_id))
            {
                // The topic's current log settings too, so altered retention/segment/flush
                // configs take effect at once.
                if let Err(e) = self.ensure_role(t, p).map(|r| r.set_config(&t.config)) {
                    warn!(broker = self.node_id, topic = %t.name, partition = p.partition, error = %e, "cannot open replica");
                }
            }
        }
        self.remove_deleted_topics(&md);
    }

    /// Leaders drop followers that have not caught up within `replica.lag.time.max.ms`;
    /// returns how many ISRs shrank.
    pub fn shrink_lagging_isrs(&self) -> u64 {
        let mut shrinks = 0;
        let lag = i64::try_from(self.replica_lag_time_max.as_millis()).unwrap_or(i64::MAX);
        for replica in self.local_replicas() {
            match replica.shrink_isr(self.controller.as_ref(), lag) {
                Ok(None) => {}
                Ok(Some(dropped)) => {
                    info!(broker = self.node_id, topic = %replica.topic, partition = replica.partition, dropped = ?dropped, "shrank ISR");
                    shrinks += 1;
                    // Waiters re-check: the high watermark may have moved, or acks=all
                    // requests may now fail min.insync.replicas.
                    self.data_arrived.notify_waiters();
                }
                Err(e) => {
                    debug!(broker = self.node_id, topic = %replica.topic, partition = replica.partition, error = %e, "ISR shrink refused")
                }
            }
        }
        shrinks
    }

    /// Expires idempotent producers idle for `producer.id.expiration.ms`.
    pub fn expire_producers(&self, now_ms: i64) {
        let expiration = i64::try_from(self.producer_id_expiration.as_millis()).unwrap_or(i64::MAX);
        for replica in self.local_replicas() {
            replica.expire_producers(now_ms, expiration);
        }
    }

    /// Drops replicas of topics that no longer exist (by id) and deletes their files.
    fn remove_deleted_topics(&self, md: &ClusterMetadata) {
        let removed: Vec<Arc<Partition>> = {
            let mut replicas = self.replicas();
            let gone: Vec<(uuid::Uuid, i32)> = replicas
                .keys()
                .filter(|(id, p)| {
                    md.topic_by_id(*id)
                        .and_then(|t| md.partition(&t.name, *p))
                        .is_none_or(|pm| !pm.replicas.contains(&self.node_id))
                })
                .copied()
                .collect();
            gone.iter().filter_map(|k| replicas.remove(k)).collect()
        };
        for replica in removed {
            // A cleaning still running on it (it holds a reference) swaps nothing in now.
            replica.close();
            let name = format!("{}-{}", replica.topic, replica.partition);
            match Arc::try_unwrap(replica) {
                Ok(p) => {
                    if let Err(e) = p.delete() {
                        warn!(broker = self.node_id, partition = %name, error = %e, "deleting replica files failed");
                    }
                }
                Err(_) => {
                    debug!(broker = self.node_id, partition = %name, "replica still in use; files kept until restart")
                }
            }
        }
    }
}
