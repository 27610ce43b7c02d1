//! OffsetCommit (API key 8): v2–v9, flexible from v8.
//!
//! `retention_time_ms` exists only in v2–v4; from v5 the broker's `offsets.retention.minutes`
//! applies. v6 adds the leader epoch of the committed offset, v7 static membership, and v9
//! reuses the generation field as the member epoch of the new consumer protocol (KIP-848).

kafka_message! {
    /// Commits consumed offsets for a group.
    pub struct OffsetCommitRequest: OffsetCommit, versions 2..=9, flexible 8 {
        /// The group id.
        group_id: String [0..],
        /// The group generation (classic protocol) or member epoch (KIP-848), or -1 when
        /// committing outside a group.
        generation_id_or_member_epoch: i32 [1.., default -1],
        /// The member id, or empty when committing outside a group.
        member_id: String [1..],
        /// The static member's instance id, or null.
        group_instance_id: Option<String> [7.., nullable 7.., default None],
        /// How long to keep the offsets, in ms, or -1 for the broker's default.
        retention_time_ms: i64 [2..=4, default -1],
        /// The topics to commit offsets for.
        topics: Vec<OffsetCommitRequestTopic> [0..],
    }
}

kafka_struct! {
    /// Offsets to commit in one topic.
    pub struct OffsetCommitRequestTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions to commit offsets for.
        partitions: Vec<OffsetCommitRequestPartition> [0..],
    }
}

kafka_struct! {
    /// The offset to commit for one partition.
    pub struct OffsetCommitRequestPartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The offset of the next record to consume.
        committed_offset: i64 [0..],
        /// The leader epoch of the last consumed record, or -1 if unknown.
        committed_leader_epoch: i32 [6.., default -1],
        /// Free-form metadata stored with the offset, or null.
        committed_metadata: Option<String> [0.., nullable 0.., default Some(String::new())],
    }
}

kafka_message! {
    /// The result of the commit for each partition.
    pub struct OffsetCommitResponse: OffsetCommit, versions 2..=9, flexible 8 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [3..],
        /// The result for each topic.
        topics: Vec<OffsetCommitResponseTopic> [0..],
    }
}

kafka_struct! {
    /// The commit results in one topic.
    pub struct OffsetCommitResponseTopic {
        /// The topic name.
        name: String [0..],
        /// The result for each partition.
        partitions: Vec<OffsetCommitResponsePartition> [0..],
    }
}

kafka_struct! {
    /// The commit result for one partition.
    pub struct OffsetCommitResponsePartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}
