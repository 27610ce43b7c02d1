//! Produce (API key 0): v3–v12, flexible from v9.
//!
//! With `acks = 0` the broker sends no response at all. v3 is the first version with record
//! batches (magic 2) and transactions; v8 added per-batch errors (KIP-467) and v10 the new
//! leader and its endpoint on `NOT_LEADER_OR_FOLLOWER` (KIP-951), as tagged fields. v12 has
//! v11's fields; sending it says the producer runs transactions v2 (KIP-890 part 2), so the
//! leader adds a transaction's partitions itself.

use bytes::Bytes;

kafka_struct! {
    /// The records for one partition.
    pub struct ProduceRequestPartitionData {
        /// The partition index.
        index: i32 [0..],
        /// The record batches to append.
        records: Option<Bytes> [0.., nullable 0.., default Some(Bytes::new())],
    }
}

kafka_struct! {
    /// The records for one topic.
    pub struct ProduceRequestTopicData {
        /// The topic name.
        name: String [0..],
        /// Each partition's records.
        partition_data: Vec<ProduceRequestPartitionData> [0..],
    }
}

kafka_message! {
    /// Appends record batches to partitions.
    pub struct ProduceRequest: Produce, versions 3..=12, flexible 9 {
        /// The transactional id, or null outside a transaction.
        transactional_id: Option<String> [3.., nullable 3.., default None],
        /// How many replicas must acknowledge: 0 none, 1 the leader, -1 all in-sync replicas.
        acks: i16 [0..],
        /// How long to wait for the acknowledgements, in ms.
        timeout_ms: i32 [0..],
        /// Each topic's records.
        topic_data: Vec<ProduceRequestTopicData> [0..],
    }
}

kafka_struct! {
    /// A batch the broker rejected, and why.
    pub struct ProduceResponseBatchIndexAndErrorMessage {
        /// The index of the rejected batch in the request.
        batch_index: i32 [8..],
        /// The reason the batch was rejected, or null.
        batch_index_error_message: Option<String> [8.., nullable 8.., default None],
    }
}

kafka_struct! {
    /// The leader a partition moved to.
    pub struct ProduceResponseLeaderIdAndEpoch {
        /// The new leader's node id, or -1 when unknown.
        leader_id: i32 [10.., default -1],
        /// The new leader's epoch, or -1 when unknown.
        leader_epoch: i32 [10.., default -1],
    }
}

kafka_struct! {
    /// The answer for one partition.
    pub struct ProduceResponsePartition {
        /// The partition index.
        index: i32 [0..],
        /// The partition error code, or 0.
        error_code: i16 [0..],
        /// The offset of the first appended record.
        base_offset: i64 [0..],
        /// The broker's append time when the topic uses LogAppendTime, else -1.
        log_append_time_ms: i64 [2.., default -1],
        /// The partition's log start offset.
        log_start_offset: i64 [5.., default -1],
        /// The batches that were rejected, and why.
        record_errors: Vec<ProduceResponseBatchIndexAndErrorMessage> [8..],
        /// The partition error message, or null.
        error_message: Option<String> [8.., nullable 8.., default None],
        /// The new leader, when the error is `NOT_LEADER_OR_FOLLOWER`.
        current_leader: ProduceResponseLeaderIdAndEpoch [10.., tag 0],
    }
}

kafka_struct! {
    /// The answers for one topic.
    pub struct ProduceResponseTopic {
        /// The topic name.
        name: String [0..],
        /// Each partition's answer.
        partition_responses: Vec<ProduceResponsePartition> [0..],
    }
}

kafka_struct! {
    /// The endpoint of a broker named as a new leader.
    pub struct ProduceResponseNodeEndpoint {
        /// The broker's node id.
        node_id: i32 [10..],
        /// The broker's host name.
        host: String [10..],
        /// The broker's port.
        port: i32 [10..],
        /// The broker's rack, or null when it has none.
        rack: Option<String> [10.., nullable 10.., default None],
    }
}

kafka_message! {
    /// The result of appending to each partition.
    pub struct ProduceResponse: Produce, versions 3..=12, flexible 9 {
        /// Each topic's answers.
        responses: Vec<ProduceResponseTopic> [0..],
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The endpoints of the new leaders named in `current_leader`.
        node_endpoints: Vec<ProduceResponseNodeEndpoint> [10.., tag 0],
    }
}
