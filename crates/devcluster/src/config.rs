//! Topic and broker configuration, with Kafka's property names and defaults.
//!
//! Topics store only their overrides; every lookup falls back to the broker default, so
//! DescribeConfigs can say which values are defaults and where the others came from.

use std::collections::BTreeMap;

use streamctl_protocol::ErrorCode;

use crate::error::ApiError;

mod catalogue;

pub use catalogue::{Bounds, ConfigDef, ConfigType, TOPIC_CONFIGS};

/// Looks up a topic config definition by name.
pub fn topic_config_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks a value against its definition; the error names the property and says what a
/// valid value looks like.
pub fn validate(name: &str, value: &str) -> Result<(), ApiError> {
    let def = topic_config_def(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidConfig,
            format!("unknown topic config {name}"),
        )
    })?;
    if catalogue::valid(def.kind, value) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidConfig,
            format!(
                "invalid value {value:?} for {name}: expected {}",
                catalogue::expected(def.kind)
            ),
        ))
    }
}

/// A topic's config: only the overrides are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    /// Values set explicitly for this topic.
    pub overrides: BTreeMap<String, String>,
}

impl TopicConfig {
    /// The effective value of a known property (override, else Kafka's default).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.overrides
            .get(name)
            .map(String::as_str)
            .or_else(|| topic_config_def(name).map(|d| d.default))
    }

    fn long(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| topic_config_def(name).and_then(|d| d.default.parse().ok()))
            .unwrap_or(0)
    }

    /// `retention.ms`, `None` when unlimited.
    pub fn retention_ms(&self) -> Option<i64> {
        Some(self.long("retention.ms")).filter(|v| *v >= 0)
    }

    /// `retention.bytes`, `None` when unlimited.
    pub fn retention_bytes(&self) -> Option<u64> {
        u64::try_from(self.long("retention.bytes")).ok()
    }

    /// `segment.bytes`.
    pub fn segment_bytes(&self) -> u64 {
        u64::try_from(self.long("segment.bytes")).unwrap_or(1 << 30)
    }

    /// `segment.ms`.
    pub fn segment_ms(&self) -> Option<i64> {
        Some(self.long("segment.ms")).filter(|v| *v > 0)
    }

    /// `max.message.bytes`.
    pub fn max_message_bytes(&self) -> usize {
        usize::try_from(self.long("max.message.bytes")).unwrap_or(1_048_588)
    }

    /// `min.insync.replicas`.
    pub fn min_insync_replicas(&self) -> usize {
        usize::try_from(self.long("min.insync.replicas")).unwrap_or(1)
    }

    /// `message.timestamp.type` is `LogAppendTime`.
    pub fn log_append_time(&self) -> bool {
        self.get("message.timestamp.type").map(str::trim) == Some("LogAppendTime")
    }

    /// `cleanup.policy` includes `compact`.
    pub fn compacted(&self) -> bool {
        self.get("cleanup.policy")
            .is_some_and(|v| v.split(',').any(|w| w.trim() == "compact"))
    }

    /// `min.cleanable.dirty.ratio`, in millionths.
    pub fn min_cleanable_dirty_ratio_ppm(&self) -> u32 {
        let ratio = self
            .get("min.cleanable.dirty.ratio")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(0.5);
        // In [0, 1], so in range of u32 once scaled.
        (ratio * 1_000_000.0).round() as u32
    }

    /// `delete.retention.ms`.
    pub fn delete_retention_ms(&self) -> i64 {
        self.long("delete.retention.ms")
    }

    /// `min.compaction.lag.ms`.
    pub fn min_compaction_lag_ms(&self) -> i64 {
        self.long("min.compaction.lag.ms")
    }

    /// `max.compaction.lag.ms`; `None` at Kafka's default (`Long.MAX_VALUE`: no bound).
    pub fn max_compaction_lag_ms(&self) -> Option<i64> {
        Some(self.long("max.compaction.lag.ms")).filter(|ms| *ms < i64::MAX)
    }

    /// `message.timestamp.before.max.ms`.
    pub fn timestamp_before_max_ms(&self) -> i64 {
        self.long("message.timestamp.before.max.ms")
    }

    /// `message.timestamp.after.max.ms`.
    pub fn timestamp_after_max_ms(&self) -> i64 {
        self.long("message.timestamp.after.max.ms")
    }

    /// `unclean.leader.election.enable`.
    pub fn unclean_leader_election(&self) -> bool {
        self.get("unclean.leader.election.enable")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// `flush.messages`, `None` when never.
    pub fn flush_messages(&self) -> Option<u64> {
        u64::try_from(self.long("flush.messages"))
            .ok()
            .filter(|v| *v < i64::MAX as u64)
    }

    /// `flush.ms`, `None` when never.
    pub fn flush_ms(&self) -> Option<i64> {
        Some(self.long("flush.ms")).filter(|v| *v < i64::MAX)
    }
}

/// Broker-wide settings that shape topic creation and requests.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `auto.create.topics.enable`: Metadata may create unknown topics when the client asks.
    pub auto_create_topics: bool,
    /// `num.partitions`: partitions of auto-created topics and of CreateTopics with -1.
    pub num_partitions: i32,
    /// `default.replication.factor` (capped at the number of brokers).
    pub default_replication_factor: i16,
    /// `socket.request.max.bytes`: larger frames close the connection.
    pub max_frame_size: usize,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets`. 10 in a dev
    /// cluster (Kafka's default is 50): fewer partitions to create, replicate and load.
    pub offsets_topic_partitions: i32,
    /// `offsets.topic.replication.factor` (Kafka's default 3), capped at the live brokers
    /// when the topic is created.
    pub offsets_topic_replication_factor: i16,
    /// `offsets.commit.timeout.ms`: how long an offset commit (or a group's assignment)
    /// waits for the in-sync replicas before failing.
    pub offsets_commit_timeout: std::time::Duration,
    /// `offset.metadata.max.bytes`: longer commit metadata is refused.
    pub offset_metadata_max_bytes: usize,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group
    /// waits for more members. 100 ms in a dev cluster (Kafka's default is 3 s).
    pub group_initial_rebalance_delay: std::time::Duration,
    /// `group.min.session.timeout.ms` (Kafka's 6 s).
    pub group_min_session_timeout: std::time::Duration,
    /// `group.max.session.timeout.ms` (Kafka's 30 min).
    pub group_max_session_timeout: std::time::Duration,
    /// `group.consumer.session.timeout.ms`: a consumer-protocol member that does not
    /// heartbeat for this long is fenced (Kafka's 45 s).
    pub group_consumer_session_timeout: std::time::Duration,
    /// `group.consumer.heartbeat.interval.ms`: how often consumer-protocol members
    /// heartbeat. 1 s in a dev cluster (Kafka's 5 s): members learn a new assignment, and
    /// hand over revoked partitions, within a second.
    pub group_consumer_heartbeat_interval: std::time::Duration,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    pub replica_lag_time_max: std::time::Duration,
    /// `replica.fetch.wait.max.ms`: how long a follower's fetch long-polls the leader.
    pub replica_fetch_wait_max: std::time::Duration,
    /// `producer.id.expiration.ms`: an idempotent producer that wrote nothing to a partition
    /// for this long is forgotten there (its next batch is accepted as from a new producer).
    pub producer_id_expiration: std::time::Duration,
    /// `transaction.state.log.num.partitions`: partitions of `__transaction_state`. 10 in a
    /// dev cluster (Kafka's default is 50).
    pub transaction_state_partitions: i32,
    /// `transaction.state.log.replication.factor` (Kafka's default 3), capped at the live
    /// brokers when the topic is created.
    pub transaction_state_replication_factor: i16,
    /// `transaction.state.log.min.isr` (Kafka's default 2), capped at the replication factor.
    pub transaction_state_min_isr: i16,
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask
    /// for (Kafka's 15 min).
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: a transactional id with no transaction in flight
    /// whose state has not changed for this long is removed (Kafka's 7 days), with a
    /// tombstone in `__transaction_state`; its next InitProducerId gets a new producer id.
    pub transactional_id_expiration: std::time::Duration,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often the
    /// coordinator aborts transactions past their timeout (Kafka's 10 s; 1 s in a dev cluster
    /// so a crashed producer's transaction stops holding consumers back sooner).
    pub transaction_abort_interval: std::time::Duration,
    /// The finalized `transaction.version` feature advertised in ApiVersions: 2 (default,
    /// as a new Kafka 4 cluster) lets clients use transactions v2 (KIP-890 part 2); 0 or 1
    /// makes them use v1. The broker serves both whatever the level, as Kafka's does.
    pub transaction_version: i16,
    /// The Kafka release the cluster poses as to clients (`--kafka-version`): only the API
    /// versions it had are advertised and served. `None`: every version the dev cluster
    /// implements (a Kafka 4 broker's, by and large).
    pub kafka_version: Option<crate::kafka_version::KafkaVersion>,
    /// `offsets.topic.segment.bytes`: the segment size of `__consumer_offsets` (Kafka's
    /// 100 MiB, smaller than other topics' so the cleaner can reach more of it), applied
    /// when the topic is created.
    pub offsets_topic_segment_bytes: u64,
    /// `log.cleaner.backoff.ms`: how long the log cleaner sleeps when no compacted
    /// partition is due (Kafka's 15 s).
    pub log_cleaner_backoff: std::time::Duration,
    /// `max.connections`, `connections.max.idle.ms` and the per-connection in-flight limit.
    pub limits: crate::limits::ConnectionLimits,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            auto_create_topics: true,
            num_partitions: 1,
            default_replication_factor: 1,
            max_frame_size: 100 * 1024 * 1024,
            offsets_topic_partitions: 10,
            offsets_topic_replication_factor: 3,
            offsets_commit_timeout: std::time::Duration::from_secs(5),
            offset_metadata_max_bytes: 4096,
            group_initial_rebalance_delay: std::time::Duration::from_millis(100),
            group_min_session_timeout: std::time::Duration::from_secs(6),
            group_max_session_timeout: std::time::Duration::from_secs(1800),
            group_consumer_session_timeout: std::time::Duration::from_secs(45),
            group_consumer_heartbeat_interval: std::time::Duration::from_secs(1),
            replica_lag_time_max: std::time::Duration::from_secs(30),
            replica_fetch_wait_max: std::time::Duration::from_millis(500),
            producer_id_expiration: std::time::Duration::from_secs(24 * 60 * 60),
            transaction_state_partitions: 10,
            transaction_state_replication_factor: 3,
            transaction_state_min_isr: 2,
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration: std::time::Duration::from_secs(7 * 24 * 60 * 60),
            transaction_abort_interval: std::time::Duration::from_secs(1),
            transaction_version: 2,
            kafka_version: None,
            offsets_topic_segment_bytes: 100 * 1024 * 1024,
            log_cleaner_backoff: crate::broker::log_cleaner::DEFAULT_BACKOFF,
            limits: crate::limits::ConnectionLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut c = TopicConfig::default();
        assert_eq!(c.retention_ms(), Some(604_800_000));
        assert_eq!(c.retention_bytes(), None);
        assert_eq!(c.max_message_bytes(), 1_048_588);
        c.overrides.insert("retention.ms".into(), "-1".into());
        c.overrides
            .insert("message.timestamp.type".into(), "LogAppendTime".into());
        assert_eq!(c.retention_ms(), None);
        assert!(c.log_append_time());
    }

    #[test]
    fn validation_names_the_property() {
        assert!(validate("retention.ms", "1000").is_ok());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        let e = validate("retention.ms", "soon").unwrap_err();
        assert!(e.message.contains("retention.ms"));
        assert_eq!(
            validate("no.such", "1").unwrap_err().code,
            ErrorCode::InvalidConfig
        );
    }
}
