//! TxnOffsetCommit (API key 28): v0–v5, flexible from v3.
//!
//! Sent by a transactional producer to the group coordinator: the offsets are written to
//! `__consumer_offsets` as part of the transaction and become visible only when it commits
//! (the consume-transform-produce loop of exactly-once processing). v2 adds the committed
//! leader epoch; v3 the member id, generation and instance id so the coordinator can fence
//! zombie group members (KIP-447); v4 only adds TRANSACTION_ABORTABLE. v5 is the same body:
//! under transaction version 2 (KIP-890 part 2) it also adds the offsets partition to the
//! transaction, replacing AddOffsetsToTxn.

kafka_message! {
    /// Commits offsets inside a transaction.
    pub struct TxnOffsetCommitRequest: TxnOffsetCommit, versions 0..=5, flexible 3 {
        /// The transactional id.
        transactional_id: String [0..],
        /// The group id.
        group_id: String [0..],
        /// The producer id in use by the transactional id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i16 [0..],
        /// The consumer's group generation, or -1.
        generation_id: i32 [3.., default -1],
        /// The consumer's member id, or empty.
        member_id: String [3..],
        /// The static member's instance id, or null.
        group_instance_id: Option<String> [3.., nullable 3.., default None],
        /// The topics to commit offsets for.
        topics: Vec<TxnOffsetCommitRequestTopic> [0..],
    }
}

kafka_struct! {
    /// Offsets to commit in one topic.
    pub struct TxnOffsetCommitRequestTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions to commit offsets for.
        partitions: Vec<TxnOffsetCommitRequestPartition> [0..],
    }
}

kafka_struct! {
    /// The offset to commit for one partition.
    pub struct TxnOffsetCommitRequestPartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The offset of the next record to consume.
        committed_offset: i64 [0..],
        /// The leader epoch of the last consumed record, or -1 if unknown.
        committed_leader_epoch: i32 [2.., default -1],
        /// Free-form metadata stored with the offset, or null.
        committed_metadata: Option<String> [0.., nullable 0.., default Some(String::new())],
    }
}

kafka_message! {
    /// The result of the commit for each partition.
    pub struct TxnOffsetCommitResponse: TxnOffsetCommit, versions 0..=5, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The result for each topic.
        topics: Vec<TxnOffsetCommitResponseTopic> [0..],
    }
}

kafka_struct! {
    /// The commit results in one topic.
    pub struct TxnOffsetCommitResponseTopic {
        /// The topic name.
        name: String [0..],
        /// The result for each partition.
        partitions: Vec<TxnOffsetCommitResponsePartition> [0..],
    }
}

kafka_struct! {
    /// The commit result for one partition.
    pub struct TxnOffsetCommitResponsePartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}
