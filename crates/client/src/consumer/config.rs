//! Consumer settings: [`ConsumerConfig`] (typed fields, Kafka property names through
//! [`ConsumerConfig::set`]) and the [`ConsumerBuilder`]'s typed setters.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::assignor::{Assignor, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor};
use super::group::RebalanceListener;
use crate::config::{parse_bool, parse_ms, ClientConfig};
use crate::error::{Error, Result};

/// What to do when there is no committed offset, or the position is out of range
/// (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// `earliest`: the log start offset.
    Earliest,
    /// `latest` (Kafka's default): the log end offset, only new records.
    Latest,
    /// `none`: an error from `poll`; the application must `seek`.
    None,
}

/// Which records a consumer reads (`isolation.level`, KIP-98).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `read_uncommitted` (Kafka's default): everything up to the high watermark, records of
    /// open and aborted transactions included.
    #[default]
    ReadUncommitted,
    /// `read_committed`: up to the last stable offset, without the records of aborted
    /// transactions.
    ReadCommitted,
}

impl IsolationLevel {
    /// The level by its Kafka name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "read_uncommitted" => Some(Self::ReadUncommitted),
            "read_committed" => Some(Self::ReadCommitted),
            _ => None,
        }
    }

    /// The Kafka name (`read_uncommitted`, `read_committed`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadUncommitted => "read_uncommitted",
            Self::ReadCommitted => "read_committed",
        }
    }

    /// Whether this is `read_committed`.
    pub fn read_committed(self) -> bool {
        self == Self::ReadCommitted
    }

    /// The `isolation_level` field of Fetch and ListOffsets: 0 or 1.
    pub(crate) fn as_i8(self) -> i8 {
        i8::from(self.read_committed())
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which group protocol a consumer speaks (`group.protocol`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupProtocol {
    /// `classic` (the default for now): JoinGroup/SyncGroup, assignments computed by the
    /// group's leader with `partition.assignment.strategy`.
    #[default]
    Classic,
    /// `consumer` (KIP-848): ConsumerGroupHeartbeat, assignments computed by the
    /// coordinator (`group.remote.assignor`) and reconciled partition by partition.
    Consumer,
    /// `auto`: `consumer` when the group's coordinator serves ConsumerGroupHeartbeat, else
    /// `classic`; the same code works against old and new clusters.
    Auto,
}

impl GroupProtocol {
    /// The protocol by its property value (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "classic" => Some(Self::Classic),
            "consumer" => Some(Self::Consumer),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }
}

/// Consumer settings. Typed setters on [`ConsumerBuilder`], or Kafka property names via
/// [`ConsumerConfig::set`].
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Connection and metadata settings.
    pub client: ClientConfig,
    /// `group.id`: the consumer group; needed for `subscribe` and commits.
    pub group_id: Option<String>,
    /// `group.instance.id`: a static member id (KIP-345); a restart within the session timeout
    /// gets the same partitions back without a rebalance.
    pub group_instance_id: Option<String>,
    /// `enable.auto.commit` (default true).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (default 5 s).
    pub auto_commit_interval: Duration,
    /// `auto.offset.reset` (default latest).
    pub auto_offset_reset: OffsetReset,
    /// `fetch.min.bytes` (default 1): the broker waits for this much data, up to
    /// `fetch.max.wait.ms`.
    pub fetch_min_bytes: i32,
    /// `fetch.max.wait.ms` (default 500 ms).
    pub fetch_max_wait: Duration,
    /// `max.partition.fetch.bytes` (default 1 MiB): per partition and Fetch.
    pub max_partition_fetch_bytes: i32,
    /// `fetch.max.bytes` (default 50 MiB): per Fetch.
    pub fetch_max_bytes: i32,
    /// `max.poll.records` (default 500): the most records one `poll` returns.
    pub max_poll_records: usize,
    /// `session.timeout.ms` (default 45 s).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (default 3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (default 5 min): sent as the rebalance timeout.
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` (default `range,cooperative-sticky`, as Kafka 3).
    pub assignors: Vec<Arc<dyn Assignor>>,
    /// `group.protocol` (default `classic`).
    pub group_protocol: GroupProtocol,
    /// `group.remote.assignor`: the coordinator's assignor the consumer protocol asks for
    /// (`uniform` or `range`); `None` lets the coordinator choose.
    pub group_remote_assignor: Option<String>,
    /// `isolation.level` (default `read_uncommitted`). Under `read_committed` Fetch stops at
    /// the last stable offset, records of aborted transactions are skipped, and ListOffsets
    /// `latest` (`end_offsets`, `seek_to_end`, `auto.offset.reset=latest`) answers the last
    /// stable offset.
    pub isolation_level: IsolationLevel,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            group_id: None,
            group_instance_id: None,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            auto_offset_reset: OffsetReset::Latest,
            fetch_min_bytes: 1,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1 << 20,
            fetch_max_bytes: 50 << 20,
            max_poll_records: 500,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            assignors: vec![Arc::new(RangeAssignor), Arc::new(CooperativeStickyAssignor)],
            isolation_level: IsolationLevel::ReadUncommitted,
            group_protocol: GroupProtocol::Classic,
            group_remote_assignor: None,
        }
    }
}

fn parse_i32(property: &str, value: &str, min: i32) -> Result<i32> {
    match value.parse::<i32>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(Error::invalid_config(
            property,
            value,
            format!("expected a whole number of at least {min}"),
        )),
    }
}

/// An assignor by its protocol name.
pub fn assignor_by_name(name: &str) -> Option<Arc<dyn Assignor>> {
    match name {
        "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => {
            Some(Arc::new(RangeAssignor))
        }
        "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
            Some(Arc::new(RoundRobinAssignor))
        }
        "cooperative-sticky" | "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" => {
            Some(Arc::new(CooperativeStickyAssignor))
        }
        _ => None,
    }
}

impl ConsumerConfig {
    /// Sets a Kafka consumer or client property by name; unknown names and bad values are
    /// errors naming the property.
    pub fn set(&mut self, property: &str, value: &str) -> Result<&mut Self> {
        let v = value.trim();
        let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match property {
            "group.id" => self.group_id = non_empty(v),
            "group.instance.id" => self.group_instance_id = non_empty(v),
            "group.protocol" => {
                self.group_protocol = GroupProtocol::from_name(v).ok_or_else(|| {
                    Error::invalid_config(property, value, "expected classic, consumer or auto")
                })?;
            }
            "group.remote.assignor" => self.group_remote_assignor = non_empty(v),
            "enable.auto.commit" => self.enable_auto_commit = parse_bool(property, v)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(property, v, 1)?,
            "auto.offset.reset" => {
                self.auto_offset_reset = match v {
                    "earliest" | "smallest" | "beginning" => OffsetReset::Earliest,
                    "latest" | "largest" | "end" => OffsetReset::Latest,
                    "none" | "error" => OffsetReset::None,
                    _ => {
                        return Err(Error::invalid_config(
                            property,
                            value,
                            "expected earliest, latest or none",
                        ))
                    }
                }
            }
            "fetch.min.bytes" => self.fetch_min_bytes = parse_i32(property, v, 0)?,
            "fetch.max.wait.ms" => {
                let wait = parse_ms(property, v, 0)?;
                if wait.as_millis() > i32::MAX as u128 {
                    return Err(Error::invalid_config(property, value, "too large"));
                }
                self.fetch_max_wait = wait;
            }
            "max.partition.fetch.bytes" => {
                self.max_partition_fetch_bytes = parse_i32(property, v, 1)?
            }
            "fetch.max.bytes" => self.fetch_max_bytes = parse_i32(property, v, 1)?,
            "max.poll.records" => {
                self.max_poll_records = parse_i32(property, v, 1)? as usize;
            }
            "session.timeout.ms" => self.session_timeout = parse_ms(property, v, 1)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(property, v, 1)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(property, v, 1)?,
            "partition.assignment.strategy" => {
                let mut assignors = Vec::new();
                for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    assignors.push(assignor_by_name(name).ok_or_else(|| {
                        Error::invalid_config(
                            property,
                            value,
                            format!(
                                "unknown assignor {name} (expected range, roundrobin or cooperative-sticky)"
                            ),
                        )
                    })?);
                }
                if assignors.is_empty() {
                    return Err(Error::invalid_config(
                        property,
                        value,
                        "expected at least one assignor",
                    ));
                }
                self.assignors = assignors;
            }
            "isolation.level" => {
                self.isolation_level = IsolationLevel::from_name(v).ok_or_else(|| {
                    Error::invalid_config(
                        property,
                        value,
                        "expected read_uncommitted or read_committed",
                    )
                })?;
            }
            // Kafka's consumer has no other choice for these; accepted so configs paste as-is.
            "key.deserializer" | "value.deserializer" | "check.crcs" => {}
            other => {
                if !self.client.try_set(other, value)? {
                    return Err(Error::UnknownProperty {
                        property: other.to_string(),
                    });
                }
            }
        }
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.heartbeat_interval >= self.session_timeout {
            return Err(Error::invalid_config(
                "heartbeat.interval.ms",
                &self.heartbeat_interval.as_millis().to_string(),
                "must be lower than session.timeout.ms",
            ));
        }
        if self.group_instance_id.is_some() && self.group_id.is_none() {
            return Err(Error::invalid_config(
                "group.instance.id",
                self.group_instance_id.as_deref().unwrap_or_default(),
                "needs group.id",
            ));
        }
        Ok(())
    }

    /// Whether every configured assignor supports the cooperative protocol (KIP-429); as in
    /// Kafka, one eager assignor makes the whole member eager.
    pub(crate) fn cooperative(&self) -> bool {
        self.assignors.iter().all(|a| a.cooperative())
    }
}

/// Builds a [`Consumer`](super::Consumer).
#[derive(Clone)]
pub struct ConsumerBuilder {
    pub(crate) config: ConsumerConfig,
    pub(crate) listener: Option<Arc<dyn RebalanceListener>>,
}

impl fmt::Debug for ConsumerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ConsumerBuilder {
    /// Sets a Kafka property by name (see [`ConsumerConfig::set`]).
    pub fn set(mut self, property: &str, value: &str) -> Result<Self> {
        self.config.set(property, value)?;
        Ok(self)
    }

    /// `group.id`.
    pub fn group_id(mut self, group_id: impl Into<String>) -> Self {
        self.config.group_id = Some(group_id.into());
        self
    }

    /// `group.instance.id` (static membership).
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.group_instance_id = Some(id.into());
        self
    }

    /// `client.id`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.config.client.client_id = client_id.into();
        self
    }

    /// `enable.auto.commit`.
    pub fn enable_auto_commit(mut self, enabled: bool) -> Self {
        self.config.enable_auto_commit = enabled;
        self
    }

    /// `auto.commit.interval.ms`.
    pub fn auto_commit_interval(mut self, interval: Duration) -> Self {
        self.config.auto_commit_interval = interval;
        self
    }

    /// `auto.offset.reset`.
    pub fn auto_offset_reset(mut self, reset: OffsetReset) -> Self {
        self.config.auto_offset_reset = reset;
        self
    }

    /// `fetch.min.bytes`.
    pub fn fetch_min_bytes(mut self, bytes: i32) -> Self {
        self.config.fetch_min_bytes = bytes.max(0);
        self
    }

    /// `fetch.max.wait.ms`.
    pub fn fetch_max_wait(mut self, wait: Duration) -> Self {
        self.config.fetch_max_wait = wait.min(Duration::from_millis(i32::MAX as u64));
        self
    }

    /// `max.partition.fetch.bytes`.
    pub fn max_partition_fetch_bytes(mut self, bytes: i32) -> Self {
        self.config.max_partition_fetch_bytes = bytes.max(1);
        self
    }

    /// `fetch.max.bytes`.
    pub fn fetch_max_bytes(mut self, bytes: i32) -> Self {
        self.config.fetch_max_bytes = bytes.max(1);
        self
    }

    /// `max.poll.records`.
    pub fn max_poll_records(mut self, n: usize) -> Self {
        self.config.max_poll_records = n.max(1);
        self
    }

    /// `session.timeout.ms`.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.config.session_timeout = timeout;
        self
    }

    /// `heartbeat.interval.ms`.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.heartbeat_interval = interval;
        self
    }

    /// `max.poll.interval.ms` (the rebalance timeout).
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.config.max_poll_interval = interval;
        self
    }

    /// `group.protocol`: classic, consumer (KIP-848) or auto.
    pub fn group_protocol(mut self, protocol: GroupProtocol) -> Self {
        self.config.group_protocol = protocol;
        self
    }

    /// `group.remote.assignor`: the coordinator's assignor under the consumer protocol.
    pub fn group_remote_assignor(mut self, assignor: impl Into<String>) -> Self {
        self.config.group_remote_assignor = Some(assignor.into());
        self
    }

    /// `isolation.level`.
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.config.isolation_level = level;
        self
    }

    /// `partition.assignment.strategy`, in order of preference.
    pub fn assignors(mut self, assignors: Vec<Arc<dyn Assignor>>) -> Self {
        if !assignors.is_empty() {
            self.config.assignors = assignors;
        }
        self
    }

    /// The listener told about partitions assigned, revoked and lost in rebalances.
    pub fn rebalance_listener(mut self, listener: impl RebalanceListener + 'static) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }
}
