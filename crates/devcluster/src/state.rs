//! What the dev cluster reports about itself (`GET /v1/cluster`, [`crate::DevCluster::state`]):
//! brokers, topics, partitions with leaders, ISRs and watermarks. Plain serialisable data,
//! built by the cluster and served by the admin plane.

use serde::{Deserialize, Serialize};

/// `GET /v1/cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// The cluster id.
    pub cluster_id: String,
    /// The node id reported as controller.
    pub controller: i32,
    /// Every broker, running or not.
    pub brokers: Vec<BrokerState>,
    /// Every topic, by name.
    pub topics: Vec<TopicState>,
}

/// One broker in [`ClusterState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerState {
    /// The broker's node id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Port (kept while the broker is down: it restarts there).
    pub port: u16,
    /// Whether it is up.
    pub running: bool,
}

/// One topic in [`ClusterState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicState {
    /// The topic name.
    pub name: String,
    /// The topic id (UUID).
    pub topic_id: String,
    /// Whether it is internal (`__consumer_offsets`).
    pub internal: bool,
    /// Partitions in order.
    pub partitions: Vec<PartitionState>,
}

/// One partition in [`ClusterState`]. The offsets come from the leader's local replica and
/// are `null` while the partition has no leader or the leader has not opened it yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id, -1 when offline.
    pub leader: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// Every replica, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// The high watermark (consumers read below it).
    pub high_watermark: Option<i64>,
    /// The leader's log end offset.
    pub log_end_offset: Option<i64>,
    /// The leader's log start offset.
    pub log_start_offset: Option<i64>,
    /// The log cleaner's view of the leader's replica; `null` unless the topic is compacted.
    #[serde(default)]
    pub cleaner: Option<CleanerView>,
}

/// What the log cleaner has done to a compacted partition's replica, and how dirty it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanerView {
    /// Where the last cleaning stopped: offsets from here on are dirty.
    pub cleaned_to: i64,
    /// Bytes of closed, committed segments cleaned before and written since.
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// Cleanings since the replica opened.
    pub runs: u64,
    /// Bytes those cleanings read, and how many fewer they left.
    pub bytes_read: u64,
    pub bytes_reclaimed: u64,
    /// When the last cleaning ended (ms since the epoch), and how long it took.
    pub last_run_ms: Option<i64>,
    pub last_duration_ms: u64,
}

impl CleanerView {
    /// Dirty bytes over cleanable bytes (Kafka's cleanable ratio), 0 when there are none.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}

impl From<crate::partition::CleanerState> for CleanerView {
    fn from(s: crate::partition::CleanerState) -> Self {
        CleanerView {
            cleaned_to: s.cleaned_to,
            clean_bytes: s.clean_bytes,
            dirty_bytes: s.dirty_bytes,
            runs: s.runs,
            bytes_read: s.bytes_read,
            bytes_reclaimed: s.bytes_read.saturating_sub(s.bytes_left),
            last_run_ms: s.last_run_ms,
            last_duration_ms: s.last_duration_ms,
        }
    }
}
