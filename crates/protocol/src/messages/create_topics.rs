//! CreateTopics (API key 19): v2–v7, flexible from v5.
//!
//! Sent to any broker (forwarded to the controller). v5 returns each new topic's configs,
//! partition count and replication factor (KIP-525); v7 returns the topic id. -1 partitions
//! or replication factor means "use the broker default" (KIP-464).

use uuid::Uuid;

kafka_struct! {
    /// A manual replica assignment for one partition of a new topic.
    pub struct CreatableReplicaAssignment {
        /// The partition index.
        partition_index: i32 [0..],
        /// The brokers to place the partition's replicas on, preferred leader first.
        broker_ids: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// A config override for a new topic.
    pub struct CreatableTopicConfig {
        /// The config name.
        name: String [0..],
        /// The config value, or null.
        value: Option<String> [0.., nullable 0..],
    }
}

kafka_struct! {
    /// A topic to create.
    pub struct CreatableTopic {
        /// The topic name.
        name: String [0..],
        /// The partition count, or -1 for the broker default or when `assignments` is given.
        num_partitions: i32 [0..],
        /// The replication factor, or -1 for the broker default or when `assignments` is given.
        replication_factor: i16 [0..],
        /// A manual assignment of replicas, or empty to let the controller place them.
        assignments: Vec<CreatableReplicaAssignment> [0..],
        /// Config overrides for the topic.
        configs: Vec<CreatableTopicConfig> [0..],
    }
}

kafka_message! {
    /// Asks the controller to create topics.
    pub struct CreateTopicsRequest: CreateTopics, versions 2..=7, flexible 5 {
        /// The topics to create.
        topics: Vec<CreatableTopic> [0..],
        /// How long to wait for the topics to be created, in ms.
        timeout_ms: i32 [0.., default 60000],
        /// If true, only validate the request; create nothing.
        validate_only: bool [1.., default false],
    }
}

kafka_struct! {
    /// A config of a newly created topic.
    pub struct CreatableTopicConfigs {
        /// The config name.
        name: String [5..],
        /// The config value, or null (e.g. when sensitive).
        value: Option<String> [5.., nullable 5..],
        /// Whether the config is read-only.
        read_only: bool [5..],
        /// Where the value comes from (a `ConfigSource` code), or -1 if unknown.
        config_source: i8 [5.., default -1],
        /// Whether the config is sensitive (its value is then null).
        is_sensitive: bool [5..],
    }
}

kafka_struct! {
    /// The outcome for one topic.
    pub struct CreatableTopicResult {
        /// The topic name.
        name: String [0..],
        /// The new topic's id.
        topic_id: Uuid [7..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [1.., nullable 0..],
        /// Why `configs` is missing (e.g. not authorized to describe them), or 0.
        topic_config_error_code: i16 [5.., tag 0],
        /// The topic's partition count, or -1.
        num_partitions: i32 [5.., default -1],
        /// The topic's replication factor, or -1.
        replication_factor: i16 [5.., default -1],
        /// The topic's configs, or null if they could not be described.
        configs: Option<Vec<CreatableTopicConfigs>> [5.., nullable 5.., default Some(Vec::new())],
    }
}

kafka_message! {
    /// The controller's answer to a CreateTopics request.
    pub struct CreateTopicsResponse: CreateTopics, versions 2..=7, flexible 5 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [2..],
        /// One result per requested topic.
        topics: Vec<CreatableTopicResult> [0..],
    }
}
