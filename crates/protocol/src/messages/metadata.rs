//! Metadata (API key 3): v0–v12, flexible from v9.
//!
//! At v0 an empty topic list means "all topics"; from v1 null means all and empty means none.
//! v10 added topic ids (KIP-516), but brokers look a topic up by id alone only from v12, where a
//! response topic's name may be null. v11 dropped cluster authorized operations (DescribeCluster).

use uuid::Uuid;

kafka_struct! {
    /// A topic in a metadata request.
    pub struct MetadataRequestTopic {
        /// The topic id, or the zero uuid to look the topic up by name.
        topic_id: Uuid [10..],
        /// The topic name, or null to look the topic up by id.
        name: Option<String> [0.., nullable 10.., default Some(String::new())],
    }
}

kafka_message! {
    /// Asks for brokers, topics and partitions.
    pub struct MetadataRequest: Metadata, versions 0..=12, flexible 9 {
        /// The topics to describe; null (v1+) for all topics.
        topics: Option<Vec<MetadataRequestTopic>> [0.., nullable 1.., default Some(Vec::new())],
        /// Whether the broker may auto-create the requested topics that do not exist.
        allow_auto_topic_creation: bool [4.., default true],
        /// Whether to return the operations the caller may perform on the cluster.
        include_cluster_authorized_operations: bool [8..=10],
        /// Whether to return the operations the caller may perform on each topic.
        include_topic_authorized_operations: bool [8..],
    }
}

kafka_struct! {
    /// A broker in a metadata response.
    pub struct MetadataResponseBroker {
        /// The broker's node id.
        node_id: i32 [0..],
        /// The broker's host name.
        host: String [0..],
        /// The broker's port.
        port: i32 [0..],
        /// The broker's rack, or null when it has none.
        rack: Option<String> [1.., nullable 1.., default None],
    }
}

kafka_struct! {
    /// A partition in a metadata response.
    pub struct MetadataResponsePartition {
        /// The partition error code, or 0.
        error_code: i16 [0..],
        /// The partition index.
        partition_index: i32 [0..],
        /// The node id of the partition's leader.
        leader_id: i32 [0..],
        /// The leader epoch of the partition.
        leader_epoch: i32 [7.., default -1],
        /// Every replica that hosts the partition.
        replica_nodes: Vec<i32> [0..],
        /// The replicas in sync with the leader.
        isr_nodes: Vec<i32> [0..],
        /// The replicas that are offline.
        offline_replicas: Vec<i32> [5..],
    }
}

kafka_struct! {
    /// A topic in a metadata response.
    pub struct MetadataResponseTopic {
        /// The topic error code, or 0.
        error_code: i16 [0..],
        /// The topic name; null (v12+) when a topic asked for by id was not found.
        name: Option<String> [0.., nullable 12.., default Some(String::new())],
        /// The topic id.
        topic_id: Uuid [10..],
        /// Whether the topic is internal, like `__consumer_offsets`.
        is_internal: bool [1.., default false],
        /// Each partition of the topic.
        partitions: Vec<MetadataResponsePartition> [0..],
        /// A bit field of the operations the caller may perform on the topic.
        topic_authorized_operations: i32 [8.., default i32::MIN],
    }
}

kafka_message! {
    /// The brokers, the controller and the requested topics with their partitions.
    pub struct MetadataResponse: Metadata, versions 0..=12, flexible 9 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [3..],
        /// Each broker in the cluster.
        brokers: Vec<MetadataResponseBroker> [0..],
        /// The cluster id, or null.
        cluster_id: Option<String> [2.., nullable 2.., default None],
        /// The controller's node id, or -1 when unknown.
        controller_id: i32 [1.., default -1],
        /// Each requested topic.
        topics: Vec<MetadataResponseTopic> [0..],
        /// A bit field of the operations the caller may perform on the cluster.
        cluster_authorized_operations: i32 [8..=10, default i32::MIN],
    }
}
