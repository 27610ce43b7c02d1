//! The controller: the one owner of cluster metadata.
//!
//! ```text
//!  CreateTopics / DeleteTopics / broker stop ──▶ Controller (Mutex<ClusterMetadata>)
//!                                                     │ publish Arc snapshot
//!                                                     ▼
//!                                    watch::Receiver on every broker (reads are lock-free)
//! ```
//!
//! All changes go through methods that lock the state, mutate it, bump its version, write it
//! to the data directory and only then publish an immutable snapshot; brokers never mutate
//! metadata themselves. A dev cluster in one process needs no consensus quorum for this (see
//! the README's limits).
//!
//! What acknowledgements rely on here, and why it holds:
//! - **The ISR and leader epochs on disk before anyone acts on them.** A leader acknowledges
//!   acks=all records once every ISR member has them; after a crash only an ISR member may
//!   lead. `topics.json` is written (temporary file, fsync, rename) before a change is
//!   published, so a restart never elects a replica the published ISR had already dropped,
//!   and never reuses a leader epoch that fenced an old leader.
//! - **ISR changes are compare-and-set on the partition epoch** (KIP-497's AlterPartition): a
//!   leader proposes a new ISR against the partition epoch it last saw; a proposal built on
//!   an older state (a concurrent broker death, an election) is refused with
//!   INVALID_UPDATE_VERSION, so it can never re-add a replica the controller removed.
//! - **A replica joins the ISR only as the incarnation that proved it caught up** (KIP-841,
//!   KIP-903): each proposal names the broker epoch of the fetch that showed the new member
//!   caught up, and the controller refuses it unless that broker is alive at that epoch.
//! - **Producer ids are never reused** for the life of a data directory: ids are handed out
//!   from blocks whose end is written durably before the first id of the block is used
//!   (Kafka's ProducerIdsRecord), so a restart continues after the last block.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use streamctl_protocol::ErrorCode;
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::{self, TopicConfig};
use crate::error::ApiError;
use crate::metadata_store::{self, Stored};
use tracing::error;

/// A broker as the cluster sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMeta {
    /// The broker's node id.
    pub node_id: i32,
    /// Advertised host name.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// Rack, if configured.
    pub rack: Option<String>,
    /// Whether the broker is up (listening and serving).
    pub alive: bool,
    /// The loopback port of its replication listener, when the client listener is secured
    /// (followers fetch there; see `crate::security`).
    pub replication_port: Option<u16>,
}

/// One partition's placement and leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMeta {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id, or -1 when the partition is offline.
    pub leader: i32,
    /// Bumped on every leader change; fences stale leaders and followers.
    pub leader_epoch: i32,
    /// All replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// Replicas in sync with the leader.
    pub isr: Vec<i32>,
    /// Bumped on every change of the leader or the ISR (KIP-497's partition epoch): an ISR
    /// change is accepted only against the epoch its proposer last saw.
    pub partition_epoch: i32,
}

/// A topic as the cluster sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    /// The topic name.
    pub name: String,
    /// The topic id (Metadata v10+, Fetch v13+).
    pub topic_id: Uuid,
    /// Internal topics (`__consumer_offsets`) are hidden from some listings.
    pub is_internal: bool,
    /// Config overrides.
    pub config: TopicConfig,
    /// Partitions, indexed by partition number.
    pub partitions: Vec<PartitionMeta>,
}

/// An immutable snapshot of the whole cluster's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// The cluster id reported in Metadata and DescribeCluster.
    pub cluster_id: String,
    /// The node id reported as controller.
    pub controller_id: i32,
    /// Brokers by node id.
    pub brokers: BTreeMap<i32, BrokerMeta>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicMeta>,
    /// Incremented on every change.
    pub version: u64,
}

impl ClusterMetadata {
    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&TopicMeta> {
        self.topics.get(name)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: Uuid) -> Option<&TopicMeta> {
        self.topics.values().find(|t| t.topic_id == id)
    }

    /// A partition of a topic.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionMeta> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }

    /// Brokers that are up.
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerMeta> {
        self.brokers.values().filter(|b| b.alive)
    }

    /// Names the lowest live broker as controller, or -1 with none. Kafka (KRaft) answers
    /// Metadata with a live broker, which forwards controller requests: a client sends its
    /// CreateTopics and the like there, so a dead broker named here would stall them.
    fn elect_controller(&mut self) {
        let first = self.live_brokers().next().map_or(-1, |b| b.node_id);
        self.controller_id = first;
    }
}

/// How a topic should be created.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    /// The name.
    pub name: String,
    /// Partition count; -1 means the broker default.
    pub num_partitions: i32,
    /// Replication factor; -1 means the broker default.
    pub replication_factor: i16,
    /// Explicit replica assignment (partition → brokers), overriding the two counts.
    pub assignment: Vec<(i32, Vec<i32>)>,
    /// Config overrides.
    pub configs: BTreeMap<String, String>,
}

/// The controller (see the module docs).
#[derive(Debug)]
pub struct Controller {
    state: Mutex<ClusterMetadata>,
    tx: watch::Sender<Arc<ClusterMetadata>>,
    /// Defaults for -1 in CreateTopics.
    defaults: (i32, i16),
    /// Where metadata is persisted (`None`: an in-memory cluster), and the text last written,
    /// so a change that does not touch stored fields (a broker's port) writes nothing.
    store: Option<PathBuf>,
    persisted: Mutex<String>,
    /// Producer ids handed out so far and the end of the block reserved on disk.
    producer_ids: Mutex<ProducerIdBlock>,
    /// Each broker's incarnation (Kafka's broker epoch, KIP-841/KIP-903), bumped when it
    /// registers to start and when it goes down: a replica fetch sent by an earlier
    /// incarnation may still be parked in a leader's long poll, and must not vouch for the
    /// restarted (possibly empty) broker.
    broker_epochs: Mutex<HashMap<i32, u64>>,
}

/// Producer ids are reserved in blocks of this many (Kafka's `PRODUCER_ID_BLOCK_SIZE`), so
/// the block end is written once per thousand InitProducerId requests.
const PRODUCER_ID_BLOCK: i64 = 1000;

#[derive(Debug, Default)]
struct ProducerIdBlock {
    next: i64,
    /// First id not yet reserved on disk; `next` may not reach it without a new reservation.
    end: i64,
}

/// A leader's request to change a partition's ISR (Kafka's AlterPartition).
#[derive(Debug, Clone)]
pub struct AlterPartition<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The proposing leader.
    pub leader: i32,
    /// The leader epoch it leads at.
    pub leader_epoch: i32,
    /// The partition epoch of the ISR the proposal was built from.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub isr: Vec<i32>,
    /// For each member not in the current ISR: the broker epoch of the fetch that showed it
    /// caught up.
    pub added: Vec<(i32, u64)>,
}

/// Where a leader sends ISR changes: the controller, or a stand-in in unit tests.
pub trait IsrCommitter {
    /// Commits the change and returns the partition's new state, or refuses it.
    fn alter_partition(&self, change: AlterPartition<'_>) -> Result<PartitionMeta, ApiError>;
}

impl IsrCommitter for Controller {
    fn alter_partition(&self, change: AlterPartition<'_>) -> Result<PartitionMeta, ApiError> {
        Controller::alter_partition(self, change)
    }
}

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

/// Checks a topic name as Kafka does: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            ErrorCode::InvalidTopicException,
            format!("invalid topic name {name:?}: {why}"),
        )
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name == "." || name == ".." {
        return Err(invalid("'.' and '..' are not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME {
        return Err(invalid("longer than 249 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(
            "only ASCII letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    Ok(())
}

impl Controller {
    /// A controller for the given brokers, keeping metadata in memory only.
    pub fn new(
        cluster_id: String,
        brokers: Vec<BrokerMeta>,
        default_partitions: i32,
        default_replication_factor: i16,
    ) -> Self {
        let controller_id = brokers.first().map_or(-1, |b| b.node_id);
        let state = ClusterMetadata {
            cluster_id,
            controller_id,
            brokers: brokers.into_iter().map(|b| (b.node_id, b)).collect(),
            topics: BTreeMap::new(),
            version: 1,
        };
        let (tx, _) = watch::channel(Arc::new(state.clone()));
        Self {
            state: Mutex::new(state),
            tx,
            defaults: (default_partitions, default_replication_factor),
            store: None,
            persisted: Mutex::new(String::new()),
            producer_ids: Mutex::new(ProducerIdBlock::default()),
            broker_epochs: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps metadata in `dir` from now on, starting from what was stored there (before any
    /// broker starts). A restart is a leader change for every partition: leader and
    /// partition epochs are bumped, and the new state is written before it is published.
    pub fn with_store(mut self, dir: PathBuf, stored: Stored) -> Result<Self, ApiError> {
        self.store = Some(dir);
        {
            let mut ids = self.ids();
            ids.next = stored.next_producer_id_block;
            ids.end = stored.next_producer_id_block;
        }
        let mut s = self.lock();
        for t in stored.topics {
            s.topics.insert(t.name.clone(), t);
        }
        self.publish(&mut s)?;
        drop(s);
        Ok(self)
    }

    /// Registers a new incarnation of a broker that is about to start and returns its broker
    /// epoch; fetches it sends carry that epoch.
    pub fn register_broker(&self, node_id: i32) -> u64 {
        let mut epochs = self.epochs();
        let epoch = epochs.entry(node_id).or_default();
        *epoch += 1;
        *epoch
    }

    /// The broker's current incarnation (see `broker_epochs`).
    pub fn broker_epoch(&self, node_id: i32) -> u64 {
        self.epochs().get(&node_id).copied().unwrap_or(0)
    }

    fn epochs(&self) -> MutexGuard<'_, HashMap<i32, u64>> {
        self.broker_epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn ids(&self) -> MutexGuard<'_, ProducerIdBlock> {
        self.producer_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A producer id no producer of this cluster has been given, for the life of its data
    /// directory: a new block is reserved on disk before its first id is handed out.
    pub fn next_producer_id(&self) -> Result<i64, ApiError> {
        let mut ids = self.ids();
        if ids.next >= ids.end {
            let end = ids.next.saturating_add(PRODUCER_ID_BLOCK);
            if let Some(dir) = &self.store {
                metadata_store::write_producer_id_block(dir, end).map_err(|e| {
                    ApiError::new(
                        ErrorCode::KafkaStorageError,
                        format!("cannot reserve producer ids in {}: {e}", dir.display()),
                    )
                })?;
            }
            ids.end = end;
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    fn lock(&self) -> MutexGuard<'_, ClusterMetadata> {
        // A panic while holding the lock cannot leave metadata half-written (every method
        // builds the change before applying it), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the changed state to the data directory, then publishes it. When the write
    /// fails the change is undone (the state goes back to the last published snapshot) and
    /// refused: nothing may act on metadata a restart would not see.
    fn publish(&self, state: &mut ClusterMetadata) -> Result<(), ApiError> {
        if let Some(dir) = &self.store {
            let text = metadata_store::encode(state);
            let mut persisted = self
                .persisted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if *persisted != text {
                if let Err(e) = metadata_store::write_topics(dir, &text) {
                    *state = ClusterMetadata::clone(&self.tx.borrow());
                    return Err(ApiError::new(
                        ErrorCode::KafkaStorageError,
                        format!("cannot persist cluster metadata in {}: {e}", dir.display()),
                    ));
                }
                *persisted = text;
            }
        }
        state.version += 1;
        self.tx.send_replace(Arc::new(state.clone()));
        Ok(())
    }

    /// [`publish`](Self::publish) for changes that must go ahead whatever happens (a broker's
    /// death or start): a failed write is logged, and the change is not applied.
    fn publish_or_log(&self, state: &mut ClusterMetadata, what: &str) {
        if let Err(e) = self.publish(state) {
            error!(error = %e, change = what, "cluster metadata change not applied");
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ClusterMetadata> {
        self.tx.borrow().clone()
    }

    /// A receiver that sees every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>> {
        self.tx.subscribe()
    }

    /// Updates a broker's advertised port (known only after it binds).
    pub fn set_broker_endpoint(&self, node_id: i32, host: &str, port: u16) {
        let mut s = self.lock();
        if let Some(b) = s.brokers.get_mut(&node_id) {
            b.host = host.to_string();
            b.port = port;
        }
        self.publish_or_log(&mut s, "broker endpoint");
    }

    /// Records where a broker's replication listener is (`None`: followers use the client
    /// listener).
    pub fn set_replication_port(&self, node_id: i32, port: Option<u16>) {
        let mut s = self.lock();
        if let Some(b) = s.brokers.get_mut(&node_id) {
            b.replication_port = port;
        }
        self.publish_or_log(&mut s, "replication port");
    }

    /// Creates a topic (or only validates it when `validate_only`).
    pub fn create_topic(&self, new: &NewTopic, validate_only: bool) -> Result<TopicMeta, ApiError> {
        validate_topic_name(&new.name)?;
        for (k, v) in &new.configs {
            config::validate(k, v)?;
        }
        let mut s = self.lock();
        if s.topics.contains_key(&new.name) {
            return Err(ApiError::new(
                ErrorCode::TopicAlreadyExists,
                format!("topic {:?} already exists", new.name),
            ));
        }
        let partitions = if new.assignment.is_empty() {
            let count = if new.num_partitions == -1 {
                self.defaults.0
            } else {
                new.num_partitions
            };
            let rf = if new.replication_factor == -1 {
                self.defaults.1.min(s.brokers.len() as i16).max(1)
            } else {
                new.replication_factor
            };
            place_replicas(&s, &new.name, 0, count, rf)?
        } else {
            explicit_assignment(&s, &new.assignment)?
        };
        let topic = TopicMeta {
            name: new.name.clone(),
            topic_id: Uuid::new_v4(),
            is_internal: new.name.starts_with("__"),
            config: TopicConfig {
                overrides: new.configs.clone(),
            },
            partitions,
        };
        if !validate_only {
            s.topics.insert(topic.name.clone(), topic.clone());
            self.publish(&mut s)?;
        }
        Ok(topic)
    }

    /// Deletes a topic by name.
    pub fn delete_topic(&self, name: &str) -> Result<TopicMeta, ApiError> {
        let mut s = self.lock();
        let topic = s.topics.remove(name).ok_or_else(|| unknown_topic(name))?;
        self.publish(&mut s)?;
        Ok(topic)
    }

    /// Grows a topic to `count` partitions.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignment: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        let topic = s.topics.get(name).ok_or_else(|| unknown_topic(name))?;
        let current = topic.partitions.len() as i32;
        if count <= current {
            return Err(ApiError::new(
                ErrorCode::InvalidPartitions,
                format!("topic {name:?} has {current} partitions; the new count must be larger, got {count}"),
            ));
        }
        let rf = topic.partitions.first().map_or(1, |p| p.replicas.len()) as i16;
        let added = match assignment {
            Some(a) => {
                let pairs: Vec<(i32, Vec<i32>)> = a
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (current + i as i32, r.clone()))
                    .collect();
                if pairs.len() as i32 != count - current {
                    return Err(ApiError::new(
                        ErrorCode::InvalidReplicaAssignment,
                        "assignment count does not match the number of new partitions",
                    ));
                }
                explicit_assignment(&s, &pairs)?
            }
            None => place_replicas(&s, name, current, count - current, rf)?,
        };
        if !validate_only {
            if let Some(topic) = s.topics.get_mut(name) {
                topic.partitions.extend(added);
            }
            self.publish(&mut s)?;
        }
        Ok(())
    }

    /// Marks a broker as down and moves its leaderships (Kafka's broker fencing, or a
    /// controlled shutdown when the broker asks first). New leaders come from the ISR, in
    /// replica order; with none left the partition goes offline (leader -1), unless
    /// `unclean.leader.election.enable` lets an out-of-sync replica take over. Every leader
    /// change bumps the leader epoch, every leader or ISR change the partition epoch.
    /// Returns the partitions whose leader changed.
    pub fn broker_down(&self, node_id: i32) -> Vec<(String, i32)> {
        let mut s = self.lock();
        // Its parked fetches stop speaking for it at once (see `broker_epochs`).
        *self.epochs().entry(node_id).or_default() += 1;
        if let Some(b) = s.brokers.get_mut(&node_id) {
            b.alive = false;
        }
        s.elect_controller();
        let alive: Vec<i32> = s.live_brokers().map(|b| b.node_id).collect();
        let mut moved = Vec::new();
        for topic in s.topics.values_mut() {
            let unclean = topic.config.unclean_leader_election();
            for p in &mut topic.partitions {
                if !p.replicas.contains(&node_id) {
                    continue;
                }
                // The ISR keeps its last member even when it dies: it names who holds the
                // committed data, for a clean election when that broker returns.
                if p.isr.contains(&node_id) && (p.isr.len() > 1 || p.leader != node_id) {
                    p.isr.retain(|r| *r != node_id);
                    p.partition_epoch += 1;
                }
                if p.leader != node_id {
                    continue;
                }
                let in_sync = p
                    .replicas
                    .iter()
                    .find(|r| **r != node_id && p.isr.contains(r) && alive.contains(r))
                    .copied();
                let new_leader = in_sync.or_else(|| {
                    unclean
                        .then(|| {
                            p.replicas
                                .iter()
                                .find(|r| **r != node_id && alive.contains(r))
                                .copied()
                        })
                        .flatten()
                });
                match new_leader {
                    Some(l) => {
                        p.leader = l;
                        if !p.isr.contains(&l) {
                            p.isr = vec![l];
                        }
                        p.isr.retain(|r| *r != node_id);
                    }
                    None => p.leader = -1,
                }
                p.leader_epoch += 1;
                p.partition_epoch += 1;
                moved.push((topic.name.clone(), p.partition));
            }
        }
        self.publish_or_log(&mut s, "broker down");
        moved
    }

    /// Marks a broker as up again. Offline partitions whose last in-sync replica it is get it
    /// back as leader; elsewhere it returns as a follower and rejoins the ISR once caught up.
    pub fn broker_up(&self, node_id: i32) {
        let mut s = self.lock();
        if let Some(b) = s.brokers.get_mut(&node_id) {
            b.alive = true;
        }
        s.elect_controller();
        for topic in s.topics.values_mut() {
            for p in &mut topic.partitions {
                if p.leader == -1 && p.isr.contains(&node_id) {
                    p.leader = node_id;
                    p.leader_epoch += 1;
                    p.partition_epoch += 1;
                }
            }
        }
        self.publish_or_log(&mut s, "broker up");
    }

    /// A leader's request to change the ISR (Kafka's AlterPartition, see the module docs).
    /// Refused when the caller no longer leads at its epoch (FENCED_LEADER_EPOCH), when the
    /// ISR changed since the caller last saw it (INVALID_UPDATE_VERSION), or when a new member
    /// is not alive as the incarnation that caught up (INELIGIBLE_REPLICA,
    /// STALE_BROKER_EPOCH). When the preferred replica (the first) is back in sync and alive,
    /// leadership returns to it (automatic preferred-leader election, done at once in a dev
    /// cluster). Returns the partition as committed.
    pub fn alter_partition(&self, change: AlterPartition<'_>) -> Result<PartitionMeta, ApiError> {
        let mut s = self.lock();
        let alive: Vec<i32> = s.live_brokers().map(|b| b.node_id).collect();
        let (topic, partition) = (change.topic, change.partition);
        let index = usize::try_from(partition).unwrap_or(usize::MAX);
        let p = s
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(index))
            .ok_or_else(|| unknown_topic(topic))?;
        if p.leader != change.leader || p.leader_epoch != change.leader_epoch {
            return Err(ApiError::new(
                ErrorCode::FencedLeaderEpoch,
                format!(
                    "{topic}-{partition}: broker {} epoch {} is not the current leader",
                    change.leader, change.leader_epoch
                ),
            ));
        }
        if p.partition_epoch != change.partition_epoch {
            return Err(ApiError::new(
                ErrorCode::InvalidUpdateVersion,
                format!(
                    "{topic}-{partition}: partition epoch {} is stale (now {})",
                    change.partition_epoch, p.partition_epoch
                ),
            ));
        }
        if change.isr.is_empty() || !change.isr.contains(&change.leader) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "the ISR must contain the leader",
            ));
        }
        for r in change.isr.iter().filter(|r| !p.isr.contains(r)) {
            if !p.replicas.contains(r) || !alive.contains(r) {
                // KIP-841: a broker that is down may not join the ISR, even if a fetch it
                // sent before dying completes afterwards.
                return Err(ApiError::new(
                    ErrorCode::IneligibleReplica,
                    format!("broker {r} is not a live replica and cannot join the ISR of {topic}-{partition}"),
                ));
            }
            let vouched = change.added.iter().find(|(id, _)| id == r).map(|(_, e)| *e);
            if vouched != Some(self.broker_epoch(*r)) {
                return Err(stale_broker(*r));
            }
        }
        p.isr = change.isr;
        p.partition_epoch += 1;
        if let Some(pref) = p.replicas.first().copied() {
            if pref != p.leader && p.isr.contains(&pref) && alive.contains(&pref) {
                p.leader = pref;
                p.leader_epoch += 1;
            }
        }
        let committed = p.clone();
        self.publish(&mut s)?;
        Ok(committed)
    }

    /// Replaces a topic's config overrides (already validated by the caller).
    pub fn set_topic_config(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        let topic = s.topics.get_mut(name).ok_or_else(|| unknown_topic(name))?;
        topic.config.overrides = overrides;
        self.publish(&mut s)
    }
}

fn stale_broker(node_id: i32) -> ApiError {
    ApiError::new(
        ErrorCode::StaleBrokerEpoch,
        format!("broker {node_id} restarted since its fetch arrived: that fetch speaks for an earlier incarnation"),
    )
}

fn unknown_topic(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownTopicOrPartition,
        format!("topic {name:?} does not exist"),
    )
}

/// Spreads `count` partitions (numbered from `first`) over the brokers, Kafka style: leaders
/// round-robin from a per-topic starting broker, followers on the next brokers.
fn place_replicas(
    s: &ClusterMetadata,
    topic: &str,
    first: i32,
    count: i32,
    rf: i16,
) -> Result<Vec<PartitionMeta>, ApiError> {
    let brokers: Vec<i32> = s.brokers.keys().copied().collect();
    if count <= 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidPartitions,
            format!("number of partitions must be positive, got {count}"),
        ));
    }
    if rf <= 0 || rf as usize > brokers.len() {
        return Err(ApiError::new(
            ErrorCode::InvalidReplicationFactor,
            format!(
                "replication factor {rf} must be between 1 and the number of brokers ({})",
                brokers.len()
            ),
        ));
    }
    let n = brokers.len();
    // A stable per-topic start so topics do not all lead on the first broker.
    let start = topic
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    Ok((first..first + count)
        .map(|p| {
            let replicas: Vec<i32> = (0..rf as usize)
                .filter_map(|i| brokers.get((start + p as usize + i) % n).copied())
                .collect();
            PartitionMeta {
                partition: p,
                leader: replicas.first().copied().unwrap_or(-1),
                leader_epoch: 0,
                isr: replicas.clone(),
                replicas,
                partition_epoch: 0,
            }
        })
        .collect())
}

fn explicit_assignment(
    s: &ClusterMetadata,
    assignment: &[(i32, Vec<i32>)],
) -> Result<Vec<PartitionMeta>, ApiError> {
    let mut out = Vec::with_capacity(assignment.len());
    for (p, replicas) in assignment {
        let unknown = replicas.iter().find(|r| !s.brokers.contains_key(r));
        let duplicate = replicas
            .iter()
            .enumerate()
            .any(|(i, r)| replicas.iter().skip(i + 1).any(|o| o == r));
        if replicas.is_empty() || unknown.is_some() || duplicate {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!("invalid replica assignment {replicas:?} for partition {p}"),
            ));
        }
        out.push(PartitionMeta {
            partition: *p,
            leader: replicas.first().copied().unwrap_or(-1),
            leader_epoch: 0,
            isr: replicas.clone(),
            replicas: replicas.clone(),
            partition_epoch: 0,
        });
    }
    out.sort_by_key(|p| p.partition);
    Ok(out)
}

#[cfg(test)]
mod tests;
