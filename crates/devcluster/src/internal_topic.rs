//! What the two coordinators share about their internal topics (`__consumer_offsets` for
//! groups, `__transaction_state` for transactions): creating the topic on first use, finding
//! the broker that coordinates a key, appending records and waiting until the in-sync
//! replicas have them, and reading a partition back when this broker becomes its leader.
//!
//! ```text
//!  key ─▶ partition abs(java_hash(key)) % partitions ─▶ its leader = the coordinator
//!  write: records ─▶ v2 batch ─▶ Partition::append_as_leader ─▶ followers fetch ─▶ HW moves
//!                                                                  └─▶ Appended::durable
//!  load:  Partition::read (log start .. log end) ─▶ every (key, value, offset), in order
//! ```
//!
//! A new leader loads up to its log end, not only its high watermark: everything in the
//! leader's log becomes committed once the followers catch up, as in Kafka.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::{EndTxnMarker, RecordBatchBuilder, RecordBatches};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use tracing::info;
use uuid::Uuid;

use crate::broker::ReplicaManager;
use crate::controller::{ClusterMetadata, NewTopic};
use crate::coordinator::records::partition_for;
use crate::error::ApiError;
use crate::partition::{now_ms, Partition, Reader, MAX_DECOMPRESSED};

/// How an internal topic is created.
#[derive(Debug, Clone)]
pub struct InternalTopic {
    /// Its name.
    pub name: &'static str,
    /// Its partition count.
    pub partitions: i32,
    /// The replication factor asked for (capped at the live brokers).
    pub replication_factor: i16,
    /// Its topic configs.
    pub configs: BTreeMap<String, String>,
}

impl InternalTopic {
    /// Creates the topic if it does not exist yet (as Kafka does on the first
    /// FindCoordinator), its replicas placed on live brokers only.
    pub fn ensure(&self, replicas: &ReplicaManager) -> Result<(), ApiError> {
        let md = replicas.metadata();
        if md.topic(self.name).is_some() {
            return Ok(());
        }
        let live: Vec<i32> = md.live_brokers().map(|b| b.node_id).collect();
        if live.is_empty() {
            return Err(ApiError::new(
                ErrorCode::CoordinatorNotAvailable,
                format!("no live broker to host {}", self.name),
            ));
        }
        let rf = usize::try_from(self.replication_factor)
            .unwrap_or(1)
            .min(live.len());
        let assignment = (0..self.partitions)
            .map(|p| {
                let start = usize::try_from(p).unwrap_or(0);
                let replicas = (0..rf)
                    .filter_map(|i| live.get((start + i) % live.len()).copied())
                    .collect();
                (p, replicas)
            })
            .collect();
        let mut configs = self.configs.clone();
        // A 1- or 2-broker dev cluster must still be able to write its coordinators' state.
        if let Some(min_isr) = configs.get_mut("min.insync.replicas") {
            let capped = min_isr.parse::<usize>().unwrap_or(1).min(rf).max(1);
            *min_isr = capped.to_string();
        }
        let created = replicas.controller.create_topic(
            &NewTopic {
                name: self.name.to_string(),
                num_partitions: self.partitions,
                replication_factor: i16::try_from(rf).unwrap_or(1),
                assignment,
                configs,
            },
            false,
        );
        match created {
            Ok(_) => {
                info!(
                    broker = replicas.node_id,
                    partitions = self.partitions,
                    replication_factor = rf,
                    "created {}",
                    self.name
                );
                Ok(())
            }
            // Another broker created it first.
            Err(e) if e.code == ErrorCode::TopicAlreadyExists => Ok(()),
            Err(e) => Err(ApiError::new(
                ErrorCode::CoordinatorNotAvailable,
                format!("cannot create {}: {e}", self.name),
            )),
        }
    }
}

/// The partition of `topic` holding `key`, and that partition's leader epoch; `None` when the
/// topic does not exist.
pub fn partition_of(md: &ClusterMetadata, topic: &str, key: &str) -> Option<(i32, i32, i32)> {
    let t = md.topic(topic)?;
    let count = i32::try_from(t.partitions.len()).unwrap_or(i32::MAX);
    let p = partition_for(key, count);
    let pm = md.partition(topic, p)?;
    Some((p, pm.leader, pm.leader_epoch))
}

/// The partitions of `topic` that broker `node_id` leads: partition → (topic id, leader
/// epoch).
pub fn led_partitions(
    md: &ClusterMetadata,
    topic: &str,
    node_id: i32,
) -> HashMap<i32, (Uuid, i32)> {
    md.topic(topic)
        .map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.leader == node_id)
                .map(|p| (p.partition, (t.topic_id, p.leader_epoch)))
                .collect()
        })
        .unwrap_or_default()
}

/// A coordinator's side of a leadership change: drops each loaded partition no longer led
/// at the (topic id, leader epoch) it was loaded under (`unload` runs for it: leadership
/// moved, maybe away and back), and returns the led partitions that are not loaded, as
/// (partition, topic id, leader epoch), to load.
pub fn reconcile_loaded<T>(
    loaded: &mut HashMap<i32, T>,
    led: &HashMap<i32, (Uuid, i32)>,
    loaded_under: impl Fn(&T) -> (Uuid, i32),
    unload: impl Fn(i32, &T),
) -> Vec<(i32, Uuid, i32)> {
    loaded.retain(|p, owned| {
        let keep = led.get(p) == Some(&loaded_under(owned));
        if !keep {
            unload(*p, owned);
        }
        keep
    });
    led.iter()
        .filter(|(p, _)| !loaded.contains_key(p))
        .map(|(p, (id, epoch))| (*p, *id, *epoch))
        .collect()
}

/// The coordinator of `key`: the live leader of its partition of `topic`, as (node id, host,
/// port); COORDINATOR_NOT_AVAILABLE when there is none.
pub fn coordinator_of(
    md: &ClusterMetadata,
    topic: &str,
    key: &str,
) -> Result<(i32, String, i32), ApiError> {
    let unavailable = |why: String| ApiError::new(ErrorCode::CoordinatorNotAvailable, why);
    let (p, leader, _) = partition_of(md, topic, key)
        .ok_or_else(|| unavailable(format!("{topic} does not exist")))?;
    if leader < 0 {
        return Err(unavailable(format!("{topic}-{p} has no leader")));
    }
    let b = md
        .brokers
        .get(&leader)
        .filter(|b| b.alive)
        .ok_or_else(|| unavailable(format!("broker {leader} is not available")))?;
    Ok((b.node_id, b.host.clone(), i32::from(b.port)))
}

/// Where a coordinator's records go: one partition of an internal topic led by this broker.
#[derive(Debug, Clone)]
pub struct InternalLog {
    /// The broker's replicas, weakly: coordinator tasks must not keep a stopped broker's
    /// logs alive.
    replicas: Weak<ReplicaManager>,
    /// The internal topic.
    topic: &'static str,
    /// The partition.
    pub partition: i32,
    /// The leader epoch the coordinator loaded the partition under: a write is refused once
    /// the partition moved on, even if this broker leads it again (another load owns it).
    leader_epoch: i32,
    /// How long a write waits for the in-sync replicas.
    timeout: Duration,
}

/// Records appended to the leader's log, not yet acknowledged by the ISR.
#[derive(Debug, Clone)]
pub struct Appended {
    replica: Arc<Partition>,
    /// Offset of the first record.
    pub base_offset: i64,
    last_offset: i64,
    leader_epoch: i32,
    min_isr: usize,
    deadline: Instant,
}

impl Appended {
    /// Waits until every in-sync replica has the records (the high watermark passed them).
    pub async fn durable(&self) -> Result<(), ApiError> {
        self.replica
            .wait_for_commit(
                self.last_offset,
                self.leader_epoch,
                self.min_isr,
                self.deadline,
            )
            .await
    }
}

impl InternalLog {
    /// The log of `topic`-`partition` among `replicas`, loaded under `leader_epoch`; writes
    /// wait up to `timeout`.
    pub fn new(
        replicas: Weak<ReplicaManager>,
        topic: &'static str,
        partition: i32,
        leader_epoch: i32,
        timeout: Duration,
    ) -> Self {
        Self {
            replicas,
            topic,
            partition,
            leader_epoch,
            timeout,
        }
    }

    /// The cluster's metadata, unless the broker is shutting down.
    pub fn metadata(&self) -> Option<Arc<crate::controller::ClusterMetadata>> {
        self.replicas.upgrade().map(|r| r.metadata())
    }

    /// A wait for records already in the log, up to `last_offset`, to be committed.
    pub fn waiter(&self, last_offset: i64) -> Result<Appended, ApiError> {
        let replicas = self.replicas.upgrade().ok_or_else(|| {
            ApiError::new(ErrorCode::NotCoordinator, "the broker is shutting down")
        })?;
        let leader = replicas.leader_replica(self.topic, self.partition)?;
        if leader.leader_epoch != self.leader_epoch {
            return Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                "the partition has a new leader epoch",
            ));
        }
        Ok(Appended {
            min_isr: leader.config.min_insync_replicas(),
            replica: leader.partition,
            base_offset: last_offset,
            last_offset,
            leader_epoch: self.leader_epoch,
            deadline: Instant::now() + self.timeout,
        })
    }

    /// Appends one batch of (key, value) records; a `None` value is a tombstone.
    pub fn append(&self, records: &[(Bytes, Option<Bytes>)]) -> Result<Appended, ApiError> {
        self.append_batch(records, None)
    }

    /// Appends one transactional batch of records for producer `producer` (id, epoch), as a
    /// group's offsets committed inside a transaction are written (Kafka: sequence 0, no
    /// sequence check): they count once the producer's COMMIT marker follows.
    pub fn append_transactional(
        &self,
        records: &[(Bytes, Option<Bytes>)],
        producer: (i64, i16),
    ) -> Result<Appended, ApiError> {
        self.append_batch(records, Some(producer))
    }

    fn append_batch(
        &self,
        records: &[(Bytes, Option<Bytes>)],
        producer: Option<(i64, i16)>,
    ) -> Result<Appended, ApiError> {
        let replicas = self.replicas.upgrade().ok_or_else(|| {
            ApiError::new(ErrorCode::NotCoordinator, "the broker is shutting down")
        })?;
        let leader = replicas.leader_replica(self.topic, self.partition)?;
        let min_isr = leader.config.min_insync_replicas();
        let mut builder = RecordBatchBuilder::new(Compression::None);
        if let Some((id, epoch)) = producer {
            builder = builder.producer(id, epoch, 0).transactional(true);
        }
        let now = now_ms();
        for (key, value) in records {
            builder
                .push(now, Some(key), value.as_deref(), &[])
                .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        }
        let batch = builder
            .build()
            .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        let info = leader
            .partition
            .append_as_coordinator(&batch, min_isr, self.leader_epoch)?;
        // Followers long-poll for new data.
        replicas.data_arrived.notify_waiters();
        Ok(Appended {
            replica: leader.partition,
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            leader_epoch: info.leader_epoch,
            min_isr,
            deadline: Instant::now() + self.timeout,
        })
    }
}

/// What a coordinator finds in its partition, in log order.
#[derive(Debug, Clone)]
pub enum LogEntry {
    /// A record of a data batch.
    Record {
        /// Its key.
        key: Option<Bytes>,
        /// Its value (`None`: a tombstone).
        value: Option<Bytes>,
        /// Its offset.
        offset: i64,
        /// The producer whose transaction wrote it, for a transactional batch.
        transaction: Option<i64>,
    },
    /// A transaction marker: the producer's transaction ended here.
    Marker {
        /// The producer.
        producer_id: i64,
        /// COMMIT (true) or ABORT.
        commit: bool,
    },
}

/// Reads a whole partition, calling `each` for every record and marker in log order. Yields
/// between chunks so a large partition does not hold a worker thread. Returns the number of
/// records read.
pub async fn read_records(
    replica: &Partition,
    mut each: impl FnMut(LogEntry),
) -> Result<usize, ApiError> {
    let corrupt = |e: streamctl_protocol::DecodeError| {
        ApiError::new(ErrorCode::CorruptMessage, e.to_string())
    };
    let (start, _, end) = replica.offsets();
    let mut offset = start;
    let mut records = 0usize;
    while offset < end {
        let chunk = replica.read(offset, 1 << 20, true, Reader::Replica)?;
        let mut next = offset;
        for batch in RecordBatches::new(chunk.records) {
            let batch = batch.map_err(corrupt)?;
            next = batch.next_offset();
            if batch.is_control() {
                if let Some(m) = EndTxnMarker::parse(&batch).map_err(corrupt)? {
                    each(LogEntry::Marker {
                        producer_id: batch.producer_id(),
                        commit: m.commit,
                    });
                }
                continue;
            }
            let transaction = batch.is_transactional().then(|| batch.producer_id());
            for record in batch.records(MAX_DECOMPRESSED).map_err(corrupt)? {
                let record = record.map_err(corrupt)?;
                if record.offset < offset {
                    continue;
                }
                records += 1;
                each(LogEntry::Record {
                    key: record.key,
                    value: record.value,
                    offset: record.offset,
                    transaction,
                });
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
        tokio::task::yield_now().await;
    }
    Ok(records)
}
