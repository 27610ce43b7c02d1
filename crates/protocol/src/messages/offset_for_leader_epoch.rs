//! OffsetForLeaderEpoch (API key 23): v2–v4, flexible from v4.
//!
//! For each partition, the end offset of a leader epoch: consumers use it to detect log
//! truncation after an unclean leader change (KIP-320). v3 added `replica_id` so followers and
//! consumers can be told apart; `current_leader_epoch` fences requests from stale leaders.

kafka_struct! {
    /// A partition whose epoch end offset is asked for.
    pub struct OffsetForLeaderEpochRequestPartition {
        /// The partition index.
        partition: i32 [2..],
        /// The leader epoch the sender believes current, or -1 to skip fencing.
        current_leader_epoch: i32 [2.., default -1],
        /// The epoch whose end offset is wanted.
        leader_epoch: i32 [2..],
    }
}

kafka_struct! {
    /// A topic whose partitions' epoch end offsets are asked for.
    pub struct OffsetForLeaderEpochRequestTopic {
        /// The topic name.
        topic: String [2..],
        /// The partitions.
        partitions: Vec<OffsetForLeaderEpochRequestPartition> [2..],
    }
}

kafka_message! {
    /// Asks a leader where given leader epochs end.
    pub struct OffsetForLeaderEpochRequest: OffsetForLeaderEpoch, versions 2..=4, flexible 4 {
        /// The follower's broker id, -1 for a debugging tool, or -2 for a consumer (v3+).
        replica_id: i32 [3.., default -2],
        /// The topics.
        topics: Vec<OffsetForLeaderEpochRequestTopic> [2..],
    }
}

kafka_struct! {
    /// The end offset of an epoch in one partition.
    pub struct OffsetForLeaderEpochResponseEpochEndOffset {
        /// The error code, or 0.
        error_code: i16 [2..],
        /// The partition index.
        partition: i32 [2..],
        /// The largest epoch not above the requested one, or -1 if unknown.
        leader_epoch: i32 [2.., default -1],
        /// The end offset of that epoch, or -1 if unknown.
        end_offset: i64 [2.., default -1],
    }
}

kafka_struct! {
    /// The epoch end offsets of one topic's partitions.
    pub struct OffsetForLeaderEpochResponseTopic {
        /// The topic name.
        topic: String [2..],
        /// The partitions.
        partitions: Vec<OffsetForLeaderEpochResponseEpochEndOffset> [2..],
    }
}

kafka_message! {
    /// The leader's epoch end offsets.
    pub struct OffsetForLeaderEpochResponse: OffsetForLeaderEpoch, versions 2..=4, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [2..],
        /// The topics.
        topics: Vec<OffsetForLeaderEpochResponseTopic> [2..],
    }
}
