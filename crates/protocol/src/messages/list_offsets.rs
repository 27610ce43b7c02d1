//! ListOffsets (API key 2): v1–v8, flexible from v6.
//!
//! Looks up an offset by timestamp; -1 asks for the latest offset, -2 the earliest, -3 the
//! largest timestamp (v7, KIP-734) and -4 the local log start (v8, KIP-405). v2 added the
//! isolation level, so read-committed consumers get the last stable offset.

kafka_struct! {
    /// A partition to look up.
    pub struct ListOffsetsPartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The leader epoch the client knows, for fencing, or -1.
        current_leader_epoch: i32 [4.., default -1],
        /// The timestamp to look up, or a special value (-1 latest, -2 earliest, ...).
        timestamp: i64 [0..],
    }
}

kafka_struct! {
    /// A topic to look up.
    pub struct ListOffsetsTopic {
        /// The topic name.
        name: String [0..],
        /// Each partition to look up.
        partitions: Vec<ListOffsetsPartition> [0..],
    }
}

kafka_message! {
    /// Asks partition leaders for the offset at a timestamp.
    pub struct ListOffsetsRequest: ListOffsets, versions 1..=8, flexible 6 {
        /// The requesting broker's node id, or -1 for a client.
        replica_id: i32 [0..],
        /// 0 for read uncommitted, 1 for read committed.
        isolation_level: i8 [2..],
        /// Each topic to look up.
        topics: Vec<ListOffsetsTopic> [0..],
    }
}

kafka_struct! {
    /// The answer for one partition.
    pub struct ListOffsetsPartitionResponse {
        /// The partition index.
        partition_index: i32 [0..],
        /// The partition error code, or 0.
        error_code: i16 [0..],
        /// The timestamp of the offset found, or -1.
        timestamp: i64 [1.., default -1],
        /// The offset found, or -1.
        offset: i64 [1.., default -1],
        /// The leader epoch of the offset found, or -1.
        leader_epoch: i32 [4.., default -1],
    }
}

kafka_struct! {
    /// The answers for one topic.
    pub struct ListOffsetsTopicResponse {
        /// The topic name.
        name: String [0..],
        /// Each partition's answer.
        partitions: Vec<ListOffsetsPartitionResponse> [0..],
    }
}

kafka_message! {
    /// The offsets found for each partition.
    pub struct ListOffsetsResponse: ListOffsets, versions 1..=8, flexible 6 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [2..],
        /// Each topic's answers.
        topics: Vec<ListOffsetsTopicResponse> [0..],
    }
}
