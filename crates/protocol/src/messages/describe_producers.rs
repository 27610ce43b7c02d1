//! DescribeProducers (API key 61): v0, flexible from v0.
//!
//! Sent to partition leaders: the producers with state in each partition, with the start
//! offset of their open transaction, if any (KIP-664, to find the producer behind a hanging
//! transaction that holds back the last stable offset). Unlike everywhere else,
//! `producer_epoch` is an int32 here, as in Kafka's schema.

kafka_struct! {
    /// Partitions of one topic to describe.
    pub struct DescribeProducersRequestTopic {
        /// The topic name.
        name: String [0..],
        /// The partition indexes.
        partition_indexes: Vec<i32> [0..],
    }
}

kafka_message! {
    /// Asks partition leaders for their active producers.
    pub struct DescribeProducersRequest: DescribeProducers, versions 0..=0, flexible 0 {
        /// The topics.
        topics: Vec<DescribeProducersRequestTopic> [0..],
    }
}

kafka_struct! {
    /// One producer's state in a partition.
    pub struct DescribeProducersResponseProducerState {
        /// The producer id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i32 [0..],
        /// The sequence of the producer's last appended record, or -1.
        last_sequence: i32 [0.., default -1],
        /// The timestamp of the producer's last appended batch, or -1.
        last_timestamp: i64 [0.., default -1],
        /// The coordinator epoch of the producer's last transaction marker.
        coordinator_epoch: i32 [0..],
        /// The first offset of the producer's open transaction, or -1 when it has none.
        current_txn_start_offset: i64 [0.., default -1],
    }
}

kafka_struct! {
    /// The producers of one partition.
    pub struct DescribeProducersResponsePartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0.., default None],
        /// The producers with state in the partition.
        active_producers: Vec<DescribeProducersResponseProducerState> [0..],
    }
}

kafka_struct! {
    /// The partitions of one topic.
    pub struct DescribeProducersResponseTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions.
        partitions: Vec<DescribeProducersResponsePartition> [0..],
    }
}

kafka_message! {
    /// The active producers of each partition.
    pub struct DescribeProducersResponse: DescribeProducers, versions 0..=0, flexible 0 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The topics.
        topics: Vec<DescribeProducersResponseTopic> [0..],
    }
}
