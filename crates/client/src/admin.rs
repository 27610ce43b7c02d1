//! The admin client: create, delete, grow and describe topics, read and change their configs,
//! describe the cluster; consumer groups (list, describe, offsets and lag, offset resets,
//! deletion) and DeleteRecords (in `admin/groups.rs`).
//!
//! ```text
//!   create_topic / delete_topic / create_partitions ──▶ controller (from Metadata)
//!   list_topics / describe_topic ──Metadata──▶ any broker
//!                   └─ watermarks ──ListOffsets(-2, -1)──▶ each partition's leader, one
//!                                                          request per leader and timestamp
//!   describe_topic_configs / alter_topic_config ──DescribeConfigs / IncrementalAlterConfigs
//!                                                  (KIP-339)──▶ any broker
//!   describe_cluster ──DescribeCluster (KIP-700), or Metadata on older brokers──▶ any broker
//! ```
//!
//! Every call is one round of requests with no retry loop of its own: an admin operation that
//! failed is reported, with the broker's error code, its message and the topic, for the caller
//! (a person at `streamctl`, or a script) to decide. Metadata requests from the admin client
//! never auto-create topics, whatever `allow.auto.create.topics` says: describing a topic that
//! does not exist must say so, not create it.

use std::collections::BTreeMap;

use streamctl_protocol::messages::create_partitions::CreatePartitionsTopic;
use streamctl_protocol::messages::create_topics::{CreatableTopic, CreatableTopicConfig};
use streamctl_protocol::messages::delete_topics::DeleteTopicState;
use streamctl_protocol::messages::describe_configs::DescribeConfigsResource;
use streamctl_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterableConfig,
};
use streamctl_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use streamctl_protocol::messages::metadata::MetadataRequestTopic;
use streamctl_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, ListOffsetsRequest, MetadataRequest,
    MetadataResponse,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use uuid::Uuid;

use crate::config::ClientConfig;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::metadata::Cluster;

mod consumer_groups;
mod groups;
pub use groups::{
    GroupDescription, GroupListing, MemberDescription, OffsetResetPlan, OffsetResetSpec,
    PartitionLag,
};
mod transactions;
pub use transactions::{
    ProducerState, TransactionDescription, TransactionFilter, TransactionListing,
};

/// DescribeConfigs / IncrementalAlterConfigs resource type of a topic.
const RESOURCE_TOPIC: i8 = 2;
/// IncrementalAlterConfigs operation: set a value.
const OP_SET: i8 = 0;
/// IncrementalAlterConfigs operation: remove an override (back to the default).
const OP_DELETE: i8 = 1;
/// ListOffsets timestamp asking for the log start offset.
const EARLIEST: i64 = -2;
/// ListOffsets timestamp asking for the high watermark.
const LATEST: i64 = -1;

/// A client for administrative operations. Cheap to clone (it shares a [`Cluster`]).
#[derive(Debug, Clone)]
pub struct Admin {
    cluster: Cluster,
}

/// A topic as [`Admin::describe_topic`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicDescription {
    /// The topic name.
    pub name: String,
    /// The topic id (nil when the broker predates KIP-516).
    pub topic_id: Uuid,
    /// Whether the topic is internal, like `__consumer_offsets`.
    pub internal: bool,
    /// Every partition, by partition index.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition of a [`TopicDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionDescription {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id, or `None` while there is none (an election in progress).
    pub leader: Option<i32>,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// Every replica, preferred leader first.
    pub replicas: Vec<i32>,
    /// The replicas in sync with the leader.
    pub isr: Vec<i32>,
    /// The replicas that are offline.
    pub offline_replicas: Vec<i32>,
    /// The log start offset, or `None` if the leader could not be asked.
    pub low_watermark: Option<i64>,
    /// The high watermark (the offset the next record gets once replicated), or `None` if the
    /// leader could not be asked.
    pub high_watermark: Option<i64>,
}

/// The cluster as [`Admin::describe_cluster`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterDescription {
    /// The cluster id, when the brokers report one.
    pub cluster_id: Option<String>,
    /// The controller's node id, when known.
    pub controller_id: Option<i32>,
    /// Every broker, by node id.
    pub brokers: Vec<BrokerDescription>,
}

/// A broker of a [`ClusterDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerDescription {
    /// The broker's node id.
    pub node_id: i32,
    /// The host it advertises.
    pub host: String,
    /// The port it advertises.
    pub port: i32,
    /// Its rack, if it has one.
    pub rack: Option<String>,
}

/// Where a config's value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// An override set on the topic.
    DynamicTopicConfig,
    /// A dynamic setting of this broker.
    DynamicBrokerConfig,
    /// A dynamic default for every broker.
    DynamicDefaultBrokerConfig,
    /// The broker's configuration file.
    StaticBrokerConfig,
    /// The built-in default.
    DefaultConfig,
    /// A dynamic broker logger setting.
    DynamicBrokerLoggerConfig,
    /// A source this client does not know, or none given.
    Unknown,
}

impl ConfigSource {
    fn from_code(code: i8) -> Self {
        match code {
            1 => Self::DynamicTopicConfig,
            2 => Self::DynamicBrokerConfig,
            3 => Self::DynamicDefaultBrokerConfig,
            4 => Self::StaticBrokerConfig,
            5 => Self::DefaultConfig,
            6 => Self::DynamicBrokerLoggerConfig,
            _ => Self::Unknown,
        }
    }

    /// Kafka's name for the source, e.g. `DYNAMIC_TOPIC_CONFIG`.
    pub fn name(self) -> &'static str {
        match self {
            Self::DynamicTopicConfig => "DYNAMIC_TOPIC_CONFIG",
            Self::DynamicBrokerConfig => "DYNAMIC_BROKER_CONFIG",
            Self::DynamicDefaultBrokerConfig => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            Self::StaticBrokerConfig => "STATIC_BROKER_CONFIG",
            Self::DefaultConfig => "DEFAULT_CONFIG",
            Self::DynamicBrokerLoggerConfig => "DYNAMIC_BROKER_LOGGER_CONFIG",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One config of a topic, as [`Admin::describe_topic_configs`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEntry {
    /// The config name, e.g. `retention.ms`.
    pub name: String,
    /// The value in effect, or `None` when it is sensitive or unset.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether the value is the built-in default.
    pub is_default: bool,
    /// Whether the config cannot be changed.
    pub read_only: bool,
    /// Whether the value is secret (and therefore not sent).
    pub sensitive: bool,
}

impl Admin {
    /// An admin client connected to one of `bootstrap.servers`.
    pub async fn connect(config: ClientConfig) -> Result<Admin> {
        // Describing a topic must never create it (see the module docs).
        let config = config.allow_auto_create_topics(false);
        Ok(Admin {
            cluster: Cluster::connect(config).await?,
        })
    }

    /// The cluster handle underneath (metadata cache and connections).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Creates a topic with `partitions` partitions, each with `replication_factor` replicas
    /// (-1 for either takes the broker default) and the given config overrides.
    ///
    /// A topic that exists already is [`Error::Broker`] with `TOPIC_ALREADY_EXISTS`.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<()> {
        let request = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: name.to_string(),
                num_partitions: partitions,
                replication_factor,
                assignments: Vec::new(),
                configs: configs
                    .iter()
                    .map(|(k, v)| CreatableTopicConfig {
                        name: (*k).to_string(),
                        value: Some((*v).to_string()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            timeout_ms: self.timeout_ms(),
            validate_only: false,
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        let result = response
            .topics
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| missing_result(ApiKey::CreateTopics, name))?;
        check_topic(result.error_code, result.error_message, name)?;
        self.cluster.invalidate_topic(name);
        Ok(())
    }

    /// Deletes a topic and every record in it.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        // Both lists are filled: the version negotiated decides which one goes on the wire.
        let request = DeleteTopicsRequest {
            topics: vec![DeleteTopicState {
                name: Some(name.to_string()),
                topic_id: Uuid::nil(),
                ..Default::default()
            }],
            topic_names: vec![name.to_string()],
            timeout_ms: self.timeout_ms(),
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        let result = response
            .responses
            .into_iter()
            .find(|t| t.name.as_deref() == Some(name))
            .ok_or_else(|| missing_result(ApiKey::DeleteTopics, name))?;
        check_topic(result.error_code, result.error_message, name)?;
        self.cluster.invalidate_topic(name);
        Ok(())
    }

    /// Raises a topic's partition count to `new_total` (partitions can never be removed).
    pub async fn create_partitions(&self, name: &str, new_total: i32) -> Result<()> {
        let request = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: name.to_string(),
                count: new_total,
                assignments: None,
                ..Default::default()
            }],
            timeout_ms: self.timeout_ms(),
            validate_only: false,
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        let result = response
            .results
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| missing_result(ApiKey::CreatePartitions, name))?;
        check_topic(result.error_code, result.error_message, name)?;
        self.cluster.invalidate_topic(name);
        Ok(())
    }

    /// The names of every topic, sorted; internal topics only if `include_internal`.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>> {
        let response = self.metadata(None).await?;
        let mut names: Vec<String> = response
            .topics
            .into_iter()
            .filter(|t| include_internal || !t.is_internal)
            .filter_map(|t| t.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// A topic's partitions with their leaders, replicas, ISR and watermarks.
    ///
    /// Watermarks are asked of each partition's leader, in one ListOffsets request per leader
    /// and timestamp; a leader that cannot answer leaves them `None` rather than failing the
    /// whole description.
    pub async fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let response = self.metadata(Some(vec![name.to_string()])).await?;
        let topic = response
            .topics
            .into_iter()
            .find(|t| t.name.as_deref() == Some(name))
            .ok_or_else(|| missing_result(ApiKey::Metadata, name))?;
        check_topic(topic.error_code, None, name)?;
        let mut partitions: Vec<PartitionDescription> = topic
            .partitions
            .into_iter()
            .map(|p| PartitionDescription {
                partition: p.partition_index,
                leader: (p.leader_id >= 0).then_some(p.leader_id),
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes,
                isr: p.isr_nodes,
                offline_replicas: p.offline_replicas,
                low_watermark: None,
                high_watermark: None,
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        self.fill_watermarks(name, &mut partitions).await;
        Ok(TopicDescription {
            name: name.to_string(),
            topic_id: topic.topic_id,
            internal: topic.is_internal,
            partitions,
        })
    }

    /// The cluster id, the controller and the brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let connection = self.cluster.any_connection().await?;
        let mut brokers: Vec<BrokerDescription>;
        let (cluster_id, controller_id);
        if connection
            .negotiated_version(ApiKey::DescribeCluster)
            .is_some()
        {
            let response = connection
                .call(DescribeClusterRequest {
                    include_cluster_authorized_operations: false,
                    ..Default::default()
                })
                .await?;
            if !ErrorCode::from_code(response.error_code).is_ok() {
                return Err(Error::Broker {
                    code: ErrorCode::from_code(response.error_code),
                    message: response.error_message.filter(|m| !m.is_empty()),
                    topic: None,
                    partition: None,
                });
            }
            cluster_id = Some(response.cluster_id).filter(|c| !c.is_empty());
            controller_id = response.controller_id;
            brokers = response
                .brokers
                .into_iter()
                .map(|b| BrokerDescription {
                    node_id: b.broker_id,
                    host: b.host,
                    port: b.port,
                    rack: b.rack,
                })
                .collect();
        } else {
            // Brokers before Kafka 2.8 have no DescribeCluster; Metadata has the same facts.
            let response = self.metadata(Some(Vec::new())).await?;
            cluster_id = response.cluster_id;
            controller_id = response.controller_id;
            brokers = response
                .brokers
                .into_iter()
                .map(|b| BrokerDescription {
                    node_id: b.node_id,
                    host: b.host,
                    port: b.port,
                    rack: b.rack,
                })
                .collect();
        }
        brokers.sort_by_key(|b| b.node_id);
        Ok(ClusterDescription {
            cluster_id,
            controller_id: (controller_id >= 0).then_some(controller_id),
            brokers,
        })
    }

    /// Every config of a topic with its value in effect and where that value comes from.
    pub async fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>> {
        let response = self
            .cluster
            .any_connection()
            .await?
            .call(DescribeConfigsRequest {
                resources: vec![DescribeConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: name.to_string(),
                    configuration_keys: None,
                    ..Default::default()
                }],
                include_synonyms: false,
                include_documentation: false,
                ..Default::default()
            })
            .await?;
        let result = response
            .results
            .into_iter()
            .find(|r| r.resource_type == RESOURCE_TOPIC && r.resource_name == name)
            .ok_or_else(|| missing_result(ApiKey::DescribeConfigs, name))?;
        check_topic(result.error_code, result.error_message, name)?;
        let mut entries: Vec<ConfigEntry> = result
            .configs
            .into_iter()
            .map(|c| {
                let source = ConfigSource::from_code(c.config_source);
                ConfigEntry {
                    name: c.name,
                    value: c.value,
                    source,
                    is_default: source == ConfigSource::DefaultConfig,
                    read_only: c.read_only,
                    sensitive: c.is_sensitive,
                }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Sets the configs in `set` and removes the overrides named in `delete` (back to their
    /// defaults), leaving every other config alone (KIP-339). The change is all or nothing.
    pub async fn alter_topic_config(
        &self,
        name: &str,
        set: &[(&str, &str)],
        delete: &[&str],
    ) -> Result<()> {
        let configs = set
            .iter()
            .map(|(k, v)| AlterableConfig {
                name: (*k).to_string(),
                config_operation: OP_SET,
                value: Some((*v).to_string()),
                ..Default::default()
            })
            .chain(delete.iter().map(|k| AlterableConfig {
                name: (*k).to_string(),
                config_operation: OP_DELETE,
                value: None,
                ..Default::default()
            }))
            .collect();
        let response = self
            .cluster
            .any_connection()
            .await?
            .call(IncrementalAlterConfigsRequest {
                resources: vec![AlterConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: name.to_string(),
                    configs,
                    ..Default::default()
                }],
                validate_only: false,
                ..Default::default()
            })
            .await?;
        let result = response
            .responses
            .into_iter()
            .find(|r| r.resource_type == RESOURCE_TOPIC && r.resource_name == name)
            .ok_or_else(|| missing_result(ApiKey::IncrementalAlterConfigs, name))?;
        check_topic(result.error_code, result.error_message, name)
    }

    /// A Metadata request that never auto-creates; `None` asks for every topic.
    async fn metadata(&self, topics: Option<Vec<String>>) -> Result<MetadataResponse> {
        let topics = topics.map(|names| {
            names
                .into_iter()
                .map(|name| MetadataRequestTopic {
                    topic_id: Uuid::nil(),
                    name: Some(name),
                    ..Default::default()
                })
                .collect()
        });
        self.cluster
            .any_connection()
            .await?
            .call(MetadataRequest {
                topics,
                allow_auto_topic_creation: false,
                ..Default::default()
            })
            .await
    }

    /// A connection to the active controller, as a fresh Metadata answer names it.
    async fn controller(&self) -> Result<Connection> {
        self.cluster.refresh(std::iter::empty::<&str>()).await?;
        let snapshot = self.cluster.snapshot();
        // No controller known (an election), or one that is not among the brokers (KRaft
        // controllers are not; librdkafka's mock cluster names node 0): any broker forwards
        // to it (KIP-590).
        match snapshot
            .controller_id()
            .filter(|id| snapshot.brokers().any(|b| b.node_id == *id))
        {
            Some(node_id) => self.cluster.connection(node_id).await,
            None => self.cluster.any_connection().await,
        }
    }

    /// Fills in the watermarks of `partitions` from their leaders.
    async fn fill_watermarks(&self, topic: &str, partitions: &mut [PartitionDescription]) {
        let mut by_leader: BTreeMap<i32, Vec<(i32, i32)>> = BTreeMap::new();
        for p in partitions.iter() {
            if let Some(leader) = p.leader {
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((p.partition, p.leader_epoch));
            }
        }
        // Send every request first, then collect: the leaders answer concurrently. Kafka
        // rejects a partition named twice in one ListOffsets request, hence one request per
        // timestamp.
        let mut pending = Vec::new();
        for (leader, members) in by_leader {
            let connection = match self.cluster.connection(leader).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(topic, leader, error = %e, "no watermarks from leader");
                    continue;
                }
            };
            for timestamp in [EARLIEST, LATEST] {
                let request = ListOffsetsRequest {
                    replica_id: -1,
                    isolation_level: 0,
                    topics: vec![ListOffsetsTopic {
                        name: topic.to_string(),
                        partitions: members
                            .iter()
                            .map(|&(partition, epoch)| ListOffsetsPartition {
                                partition_index: partition,
                                current_leader_epoch: epoch,
                                timestamp,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                match connection.send(request).await {
                    Ok(p) => pending.push((leader, timestamp, p)),
                    Err(e) => tracing::debug!(topic, leader, error = %e, "ListOffsets not sent"),
                }
            }
        }
        for (leader, timestamp, response) in pending {
            let response = match response.response().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(topic, leader, error = %e, "ListOffsets failed");
                    continue;
                }
            };
            for answer in response.topics.iter().filter(|t| t.name == topic) {
                for p in &answer.partitions {
                    if p.error_code != 0 {
                        self.cluster.on_partition_error(
                            topic,
                            p.partition_index,
                            ErrorCode::from_code(p.error_code),
                        );
                        continue;
                    }
                    let Some(target) = partitions
                        .iter_mut()
                        .find(|d| d.partition == p.partition_index)
                    else {
                        continue;
                    };
                    if timestamp == EARLIEST {
                        target.low_watermark = Some(p.offset);
                    } else {
                        target.high_watermark = Some(p.offset);
                    }
                }
            }
        }
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }
}

/// `Ok(())` for error code 0, otherwise the broker error about `topic` with its message.
fn check_topic(code: i16, message: Option<String>, topic: &str) -> Result<()> {
    let code = ErrorCode::from_code(code);
    if code.is_ok() {
        Ok(())
    } else {
        Err(Error::broker_for(code, message, topic, None))
    }
}

/// The error for a response that left out the topic it was asked about.
fn missing_result(api: ApiKey, topic: &str) -> Error {
    Error::InvalidResponse(format!(
        "the {api} response has no result for topic {topic}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sources_use_kafka_names() {
        assert_eq!(ConfigSource::from_code(1).name(), "DYNAMIC_TOPIC_CONFIG");
        assert_eq!(ConfigSource::from_code(5), ConfigSource::DefaultConfig);
        assert_eq!(ConfigSource::from_code(-1), ConfigSource::Unknown);
        assert_eq!(
            ConfigSource::from_code(4).to_string(),
            "STATIC_BROKER_CONFIG"
        );
    }

    #[test]
    fn topic_errors_keep_code_message_and_topic() {
        assert!(check_topic(0, None, "t").is_ok());
        let e = check_topic(36, Some("topic 't' already exists".into()), "t").unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TopicAlreadyExists));
        assert_eq!(
            e.to_string(),
            "broker returned TOPIC_ALREADY_EXISTS (36) for topic t: topic 't' already exists"
        );
    }
}
