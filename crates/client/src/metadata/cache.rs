//! The metadata cache: what one Metadata answer (or several, merged) says about the cluster.
//!
//! A [`MetadataSnapshot`] is immutable once published; the [`Cluster`](super::Cluster)
//! replaces it copy-on-write, so readers hold a consistent view without locks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::MetadataResponse;
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::Error;

/// A broker as the cluster metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    /// The broker's node id.
    pub node_id: i32,
    /// The host it advertises.
    pub host: String,
    /// The port it advertises.
    pub port: i32,
    /// Its rack, if it has one.
    pub rack: Option<String>,
}

impl BrokerMetadata {
    /// `host:port`, with an IPv6 host in brackets.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id; `None` while the partition has no leader.
    pub leader_id: Option<i32>,
    /// The leader epoch (-1 when the broker does not report it, before Metadata v7).
    pub leader_epoch: i32,
    /// Every replica.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas that are offline.
    pub offline_replicas: Vec<i32>,
    /// The partition's error in the last Metadata answer (`NONE` normally;
    /// `LEADER_NOT_AVAILABLE` during an election).
    pub error: ErrorCode,
}

/// One topic and its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic name.
    pub name: String,
    /// The topic id (KIP-516); nil when the broker predates Metadata v10.
    pub topic_id: Uuid,
    /// Whether it is an internal topic like `__consumer_offsets`.
    pub is_internal: bool,
    /// Every partition, sorted by index.
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    /// The number of partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// One partition by index.
    pub fn partition(&self, partition: i32) -> Option<&PartitionMetadata> {
        self.partitions
            .binary_search_by_key(&partition, |p| p.partition)
            .ok()
            .and_then(|i| self.partitions.get(i))
    }
}

/// The leader of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leader {
    /// The leader's node id.
    pub node_id: i32,
    /// Its leader epoch; requests carry it so a stale leader refuses them
    /// (`FENCED_LEADER_EPOCH`), -1 when unknown.
    pub leader_epoch: i32,
}

/// A topic in the cache, with its age.
#[derive(Debug, Clone)]
pub(super) struct CachedTopic {
    pub(super) metadata: Arc<TopicMetadata>,
    /// When a Metadata answer last described it.
    pub(super) fetched_at: Instant,
    /// Set by the invalidation hooks: refresh before the next use.
    pub(super) stale: bool,
}

/// A consistent view of the cluster metadata at one moment.
#[derive(Debug, Clone, Default)]
pub struct MetadataSnapshot {
    cluster_id: Option<String>,
    controller_id: Option<i32>,
    pub(super) brokers: BTreeMap<i32, BrokerMetadata>,
    pub(super) topics: HashMap<String, CachedTopic>,
    /// Topic ids to names, for Fetch v13+ responses that name topics by id only.
    topic_names: HashMap<Uuid, String>,
    /// The error of the last refresh of a topic that is not in the cache.
    topic_errors: HashMap<String, ErrorCode>,
}

impl MetadataSnapshot {
    /// The cluster id, when the brokers report one.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// The controller's node id, when known.
    pub fn controller_id(&self) -> Option<i32> {
        self.controller_id
    }

    /// Every known broker, by node id.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerMetadata> {
        self.brokers.values()
    }

    /// One broker by node id.
    pub fn broker(&self, node_id: i32) -> Option<&BrokerMetadata> {
        self.brokers.get(&node_id)
    }

    /// A cached topic (fresh or not).
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicMetadata>> {
        self.topics.get(name).map(|t| &t.metadata)
    }

    /// Every cached topic.
    pub fn topics(&self) -> impl Iterator<Item = &Arc<TopicMetadata>> {
        self.topics.values().map(|t| &t.metadata)
    }

    /// The name of a cached topic by its id.
    pub fn topic_name(&self, topic_id: Uuid) -> Option<&str> {
        self.topic_names.get(&topic_id).map(String::as_str)
    }

    /// The cached topic if it may be used without a refresh.
    pub(super) fn fresh_topic(&self, name: &str, max_age: Duration) -> Option<&Arc<TopicMetadata>> {
        self.topics
            .get(name)
            .filter(|t| !t.stale && t.fetched_at.elapsed() < max_age)
            .map(|t| &t.metadata)
    }

    /// The error a lookup of `topic` that is not cached should report.
    pub(super) fn missing_topic_error(&self, topic: &str) -> Error {
        let code = self
            .topic_errors
            .get(topic)
            .copied()
            .unwrap_or(ErrorCode::UnknownTopicOrPartition);
        Error::broker_for(code, None, topic, None)
    }

    /// Replaces a topic, keeping any partition whose cached leader epoch is newer than the
    /// answer's (the answering broker has not heard of the leader change yet).
    fn merge_topic(&mut self, mut topic: TopicMetadata, now: Instant) {
        if let Some(cached) = self.topics.get(&topic.name) {
            for partition in &mut topic.partitions {
                if let Some(old) = cached.metadata.partition(partition.partition) {
                    if partition.leader_epoch >= 0 && old.leader_epoch > partition.leader_epoch {
                        *partition = old.clone();
                    }
                }
            }
            if cached.metadata.topic_id != topic.topic_id {
                self.topic_names.remove(&cached.metadata.topic_id);
            }
        }
        if !topic.topic_id.is_nil() {
            self.topic_names.insert(topic.topic_id, topic.name.clone());
        }
        self.topic_errors.remove(&topic.name);
        self.topics.insert(
            topic.name.clone(),
            CachedTopic {
                metadata: Arc::new(topic),
                fetched_at: now,
                stale: false,
            },
        );
    }

    fn remove_topic(&mut self, name: &str, error: ErrorCode) {
        if let Some(old) = self.topics.remove(name) {
            // Only if the id still maps to this name (a buggy answer could give two topics
            // one id; the other keeps it).
            if self.topic_names.get(&old.metadata.topic_id) == Some(&old.metadata.name) {
                self.topic_names.remove(&old.metadata.topic_id);
            }
        }
        self.topic_errors.insert(name.to_string(), error);
    }

    /// Applies a Metadata answer for `requested` topics (`None`: all topics).
    pub(crate) fn apply(
        &mut self,
        response: MetadataResponse,
        requested: Option<&[String]>,
        now: Instant,
    ) {
        self.brokers = response
            .brokers
            .into_iter()
            .map(|b| {
                let broker = BrokerMetadata {
                    node_id: b.node_id,
                    host: b.host,
                    port: b.port,
                    rack: b.rack,
                };
                (b.node_id, broker)
            })
            .collect();
        if response.cluster_id.is_some() {
            self.cluster_id = response.cluster_id;
        }
        self.controller_id = (response.controller_id >= 0).then_some(response.controller_id);

        let mut answered = HashSet::new();
        for topic in response.topics {
            let Some(name) = topic.name else {
                // Only answers to lookups by id lack a name; we look up by name.
                continue;
            };
            answered.insert(name.clone());
            let error = ErrorCode::from_code(topic.error_code);
            if !error.is_ok() {
                self.remove_topic(&name, error);
                continue;
            }
            let mut partitions: Vec<PartitionMetadata> = topic
                .partitions
                .into_iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader_id: (p.leader_id >= 0).then_some(p.leader_id),
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes,
                    isr: p.isr_nodes,
                    offline_replicas: p.offline_replicas,
                    error: ErrorCode::from_code(p.error_code),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            partitions.dedup_by_key(|p| p.partition);
            self.merge_topic(
                TopicMetadata {
                    name,
                    topic_id: topic.topic_id,
                    is_internal: topic.is_internal,
                    partitions,
                },
                now,
            );
        }
        match requested {
            Some(requested) => {
                for name in requested {
                    if !answered.contains(name) {
                        self.remove_topic(name, ErrorCode::UnknownTopicOrPartition);
                    }
                }
            }
            None => {
                // An answer for all topics: whatever it does not mention was deleted.
                let gone: Vec<String> = self
                    .topics
                    .keys()
                    .filter(|name| !answered.contains(*name))
                    .cloned()
                    .collect();
                for name in gone {
                    self.remove_topic(&name, ErrorCode::UnknownTopicOrPartition);
                }
            }
        }
    }

    pub(super) fn mark_stale(&mut self, topic: &str) -> bool {
        match self.topics.get_mut(topic) {
            Some(t) if !t.stale => {
                t.stale = true;
                true
            }
            _ => false,
        }
    }
}

/// Metadata answers for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use streamctl_protocol::messages::metadata::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    /// An answer with broker 1 and `topic` whose partition `i` has leader and epoch `leaders[i]`.
    pub(crate) fn response(topic: &str, leaders: &[(i32, i32)]) -> MetadataResponse {
        MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: 1,
                host: "::1".into(),
                port: 9092,
                ..Default::default()
            }],
            controller_id: 1,
            topics: vec![MetadataResponseTopic {
                name: Some(topic.into()),
                topic_id: Uuid::from_u128(7),
                partitions: leaders
                    .iter()
                    .enumerate()
                    .map(
                        |(i, &(leader_id, leader_epoch))| MetadataResponsePartition {
                            partition_index: i as i32,
                            leader_id,
                            leader_epoch,
                            ..Default::default()
                        },
                    )
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::response;
    use super::*;

    #[test]
    fn apply_caches_topics_brokers_and_ids() {
        let mut s = MetadataSnapshot::default();
        let now = Instant::now();
        s.apply(
            response("t", &[(1, 3), (-1, 4)]),
            Some(&["t".into(), "gone".into()]),
            now,
        );
        assert_eq!(s.broker(1).unwrap().address(), "[::1]:9092");
        assert_eq!(s.controller_id(), Some(1));
        let t = s.topic("t").unwrap();
        assert_eq!(t.partition_count(), 2);
        assert_eq!(t.partition(0).unwrap().leader_id, Some(1));
        assert_eq!(t.partition(1).unwrap().leader_id, None);
        assert_eq!(s.topic_name(Uuid::from_u128(7)), Some("t"));
        assert!(s.topic("gone").is_none());
        assert!(matches!(
            s.missing_topic_error("gone"),
            Error::Broker {
                code: ErrorCode::UnknownTopicOrPartition,
                ..
            }
        ));
        assert!(s.fresh_topic("t", Duration::from_secs(60)).is_some());
        assert!(s.fresh_topic("t", Duration::ZERO).is_none());
        assert!(s.mark_stale("t"));
        assert!(!s.mark_stale("t"));
        assert!(s.fresh_topic("t", Duration::from_secs(60)).is_none());
    }

    #[test]
    fn leader_epochs_never_go_backwards() {
        let mut s = MetadataSnapshot::default();
        let now = Instant::now();
        s.apply(response("t", &[(1, 5), (1, 5)]), None, now);
        // A lagging broker reports an older leader for partition 0 and a newer for 1.
        s.apply(response("t", &[(2, 4), (3, 6)]), None, now);
        let t = s.topic("t").unwrap();
        assert_eq!(t.partition(0).unwrap().leader_id, Some(1));
        assert_eq!(t.partition(0).unwrap().leader_epoch, 5);
        assert_eq!(t.partition(1).unwrap().leader_id, Some(3));
        // A refresh of all topics drops the ones not mentioned.
        let mut other = response("u", &[(1, 0)]);
        other.topics.extend(response("t", &[(1, 5)]).topics);
        s.apply(other, None, now);
        assert!(s.topic("u").is_some());
        s.apply(response("u", &[(1, 0)]), None, now);
        assert!(s.topic("t").is_none());
        assert_eq!(s.topic_name(Uuid::from_u128(7)), Some("u"));
    }

    #[test]
    fn topic_errors_drop_the_cached_topic() {
        let mut s = MetadataSnapshot::default();
        let now = Instant::now();
        s.apply(response("t", &[(1, 0)]), None, now);
        let mut failed = response("t", &[]);
        failed.topics[0].error_code = ErrorCode::LeaderNotAvailable.code();
        s.apply(failed, Some(&["t".into()]), now);
        assert!(s.topic("t").is_none());
        assert!(matches!(
            s.missing_topic_error("t"),
            Error::Broker {
                code: ErrorCode::LeaderNotAvailable,
                ..
            }
        ));
    }
}
