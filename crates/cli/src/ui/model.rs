//! The view model: what the screens show, as plain data.
//!
//! The data layer ([`super::data`]) maps the client's answers into these structs, and tests
//! build them by hand as fixtures. They hold no handles and do no I/O, so a frame can be drawn
//! from them alone.

use std::time::Instant;

/// One poll of the cluster, as the data layer posts it to the app.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// When the poll finished; rates are watermark deltas over these instants.
    pub at: Option<Instant>,
    /// The cluster id, when the brokers report one.
    pub cluster_id: Option<String>,
    /// The controller's node id.
    pub controller: Option<i32>,
    /// Every broker known (up or down), by node id.
    pub brokers: Vec<BrokerView>,
    /// Every topic, internal ones included, by name.
    pub topics: Vec<TopicView>,
    /// Every consumer group, by id; `None` while groups could not be listed.
    pub groups: Option<Vec<GroupView>>,
    /// The group the group-detail screen shows, described this poll.
    pub group_detail: Option<GroupDetail>,
    /// Every transactional id, by id; `None` while they could not be listed.
    pub transactions: Option<Vec<TxnView>>,
    /// Whether the devcluster admin plane answered this poll (`None`: none configured).
    pub admin_plane: Option<bool>,
    /// What failed during the poll, one line each (shown in the status line).
    pub errors: Vec<String>,
}

/// A broker on the brokers screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerView {
    /// The node id.
    pub id: i32,
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: i32,
    /// Its rack, if any.
    pub rack: Option<String>,
    /// Whether it is up: in the brokers' metadata, or `running` on the admin plane.
    pub up: bool,
}

/// A topic with its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicView {
    /// The topic name.
    pub name: String,
    /// Whether it is internal, like `__consumer_offsets`.
    pub internal: bool,
    /// Every partition, by index.
    pub partitions: Vec<PartitionView>,
    /// When its watermarks were fetched (`None`: never; only visible topics are fetched
    /// every tick, the rest in a rotating slice).
    pub watermarks_at: Option<Instant>,
}

/// One partition of a [`TopicView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    /// The partition index.
    pub partition: i32,
    /// The leader, `None` while offline.
    pub leader: Option<i32>,
    /// Every replica, preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// The offline replicas.
    pub offline: Vec<i32>,
    /// The log start offset, when fetched.
    pub low_watermark: Option<i64>,
    /// The high watermark, when fetched.
    pub high_watermark: Option<i64>,
    /// The last stable offset (what read_committed consumers read up to), when fetched:
    /// below the high watermark while a transaction is open on the partition.
    pub last_stable_offset: Option<i64>,
    /// A compacted partition's dirty ratio in millionths, from a dev cluster's admin plane
    /// (Kafka itself reports it only as a metric).
    pub dirty_ppm: Option<u32>,
}

impl PartitionView {
    /// Fewer in-sync replicas than replicas.
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// Records held back from read_committed consumers by open transactions.
    pub fn unstable(&self) -> Option<i64> {
        Some((self.high_watermark? - self.last_stable_offset?).max(0))
    }

    /// Records between the watermarks.
    pub fn messages(&self) -> Option<i64> {
        Some((self.high_watermark? - self.low_watermark?).max(0))
    }
}

impl TopicView {
    /// Replicas of the first partition (Kafka's "replication factor").
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }

    /// Partitions with fewer in-sync replicas than replicas.
    pub fn under_replicated(&self) -> usize {
        self.partitions
            .iter()
            .filter(|p| p.under_replicated())
            .count()
    }

    /// Partitions without a leader.
    pub fn offline(&self) -> usize {
        self.partitions
            .iter()
            .filter(|p| p.leader.is_none())
            .count()
    }

    /// Records in the topic, when every partition's watermarks are known.
    pub fn messages(&self) -> Option<i64> {
        self.partitions.iter().map(PartitionView::messages).sum()
    }

    /// The sum of the high watermarks, when every one is known: its delta is the produce rate.
    pub fn high_watermark_sum(&self) -> Option<i64> {
        self.partitions.iter().map(|p| p.high_watermark).sum()
    }
}

/// A consumer group on the groups screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// The group id.
    pub group_id: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, ….
    pub state: String,
    /// `consumer` for Kafka consumers.
    pub protocol_type: String,
    /// `classic` or `consumer` (KIP-848), when the broker reports it (ListGroups v5+).
    pub group_type: Option<String>,
    /// Members, when the group was described this poll.
    pub members: Option<usize>,
    /// Per-partition lag, when it was fetched this poll.
    pub lag: Option<Vec<LagView>>,
}

impl GroupView {
    /// The sum of the lags known.
    pub fn total_lag(&self) -> Option<i64> {
        let lag = self.lag.as_ref()?;
        Some(lag.iter().filter_map(|l| l.lag).sum())
    }

    /// The group's lag on one topic, when it consumes it.
    pub fn lag_on(&self, topic: &str) -> Option<i64> {
        let rows: Vec<&LagView> = self
            .lag
            .as_ref()?
            .iter()
            .filter(|l| l.topic == topic)
            .collect();
        if rows.is_empty() {
            return None;
        }
        Some(rows.iter().filter_map(|l| l.lag).sum())
    }
}

/// The lag of a group on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagView {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset (`None`: nothing committed).
    pub committed: Option<i64>,
    /// The partition's end offset (high watermark).
    pub end_offset: Option<i64>,
    /// `end_offset - committed`, when both are known.
    pub lag: Option<i64>,
    /// The member the partition is assigned to.
    pub member_id: Option<String>,
}

/// A described group, for the group-detail screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDetail {
    /// The group id.
    pub group_id: String,
    /// The group state.
    pub state: String,
    /// The assignor in use (`range`, `cooperative-sticky`, …).
    pub protocol: String,
    /// (group epoch, target assignment epoch) of a consumer-protocol group (KIP-848).
    pub epochs: Option<(i32, i32)>,
    /// The members.
    pub members: Vec<MemberView>,
}

/// A member of a [`GroupDetail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// The member id the coordinator gave.
    pub member_id: String,
    /// The client's `client.id`.
    pub client_id: String,
    /// The host the member connected from.
    pub client_host: String,
    /// Its epoch (consumer-protocol groups).
    pub epoch: Option<i32>,
    /// What it owns, as `topic[0,1]`.
    pub owns: String,
    /// What the coordinator will give it once other members release it (consumer-protocol
    /// groups), as `topic[2]`; empty when nothing.
    pub next: String,
}

/// A transactional id on the transactions screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnView {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// `Ongoing`, `PrepareCommit`, `CompleteAbort`, ….
    pub state: String,
    /// The producer id.
    pub producer_id: i64,
    /// The coordinator's node id.
    pub coordinator: i32,
    /// When its open transaction started (ms since the epoch), when described.
    pub started_ms: Option<i64>,
    /// Its `transaction.timeout.ms`, when described.
    pub timeout_ms: Option<i32>,
    /// The partitions of its open transaction (`topic-partition`), when described.
    pub partitions: Vec<String>,
}

impl TxnView {
    /// Whether a transaction is open (begun, or ending): it holds last stable offsets back.
    pub fn open(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Ongoing" | "PrepareCommit" | "PrepareAbort" | "PrepareEpochFence"
        )
    }
}

/// A record in the live tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp, ms since the epoch.
    pub timestamp: i64,
    /// The key (`None`: null).
    pub key: Option<Vec<u8>>,
    /// The value (`None`: null).
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The value decoded from Confluent's schema framing, when a registry knew its schema.
    pub decoded: Option<DecodedValue>,
}

/// A schema-encoded value as the tail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedValue {
    /// The value as JSON text.
    pub json: String,
    /// The schema: its id, and the subject and version holding it (when the registry says).
    pub schema: String,
}

impl MessageView {
    /// The record as one JSON object, exactly as `streamctl consume -J` prints it (so a copy
    /// can be fed back with `produce --input jsonl`).
    pub fn to_json(&self) -> serde_json::Value {
        let bytes = |b: &Option<Vec<u8>>| b.as_deref().map(bytes::Bytes::copy_from_slice);
        crate::jsonl::to_json(&streamctl_client::ConsumerRecord {
            topic: self.topic.as_str().into(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: bytes(&self.key),
            value: bytes(&self.value),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), bytes(v)))
                .collect(),
        })
    }

    /// Whether the key or the value contains `needle` (case-insensitive; empty matches all).
    pub fn matches(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return true;
        }
        let needle = needle.to_lowercase();
        let decoded = self.decoded.as_ref().map(|d| d.json.as_bytes());
        [self.key.as_deref(), self.value.as_deref(), decoded]
            .into_iter()
            .flatten()
            .any(|b| lossy(b).to_lowercase().contains(&needle))
    }
}

/// Bytes as text, invalid UTF-8 replaced (the tail is for people, not for byte-exact copies).
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
