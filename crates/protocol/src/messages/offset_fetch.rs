//! OffsetFetch (API key 9): v1–v9, flexible from v6.
//!
//! From v2 a null topic list fetches every committed offset of the group, and errors for the
//! whole group come back in the top-level `error_code`. v7 adds `require_stable` (wait out
//! pending transactional commits, KIP-447); v8 fetches for many groups at once (KIP-709), so
//! the single-group fields give way to `groups`; v9 names the member and its epoch, which a
//! consumer-protocol group (KIP-848) checks.

kafka_message! {
    /// Asks the group coordinator for committed offsets.
    pub struct OffsetFetchRequest: OffsetFetch, versions 1..=9, flexible 6 {
        /// The group id (single-group form).
        group_id: String [0..=7],
        /// The topics to fetch offsets for, or null for all (single-group form).
        topics: Option<Vec<OffsetFetchRequestTopic>> [0..=7, nullable 2..=7, default Some(Vec::new())],
        /// The groups to fetch offsets for (multi-group form).
        groups: Vec<OffsetFetchRequestGroup> [8..],
        /// Whether to answer `UNSTABLE_OFFSET_COMMIT` instead of returning offsets with
        /// transactional commits still pending.
        require_stable: bool [7.., default false],
    }
}

kafka_struct! {
    /// The partitions of one topic to fetch offsets for (single-group form).
    pub struct OffsetFetchRequestTopic {
        /// The topic name.
        name: String [0..=7],
        /// The partition indexes.
        partition_indexes: Vec<i32> [0..=7],
    }
}

kafka_struct! {
    /// One group to fetch offsets for (multi-group form).
    pub struct OffsetFetchRequestGroup {
        /// The group id.
        group_id: String [8..],
        /// The member fetching, or null for an admin's fetch.
        member_id: Option<String> [9.., nullable 9.., default None],
        /// The member's epoch, or -1.
        member_epoch: i32 [9.., default -1],
        /// The topics to fetch offsets for, or null for all.
        topics: Option<Vec<OffsetFetchRequestTopics>> [8.., nullable 8.., default Some(Vec::new())],
    }
}

kafka_struct! {
    /// The partitions of one topic to fetch offsets for (multi-group form).
    pub struct OffsetFetchRequestTopics {
        /// The topic name.
        name: String [8..],
        /// The partition indexes.
        partition_indexes: Vec<i32> [8..],
    }
}

kafka_message! {
    /// The committed offsets, per topic (single group) or per group.
    pub struct OffsetFetchResponse: OffsetFetch, versions 1..=9, flexible 6 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [3..],
        /// The offsets for each topic (single-group form).
        topics: Vec<OffsetFetchResponseTopic> [0..=7],
        /// The group-level error code, or 0 (single-group form).
        error_code: i16 [2..=7, default 0],
        /// The offsets for each group (multi-group form).
        groups: Vec<OffsetFetchResponseGroup> [8..],
    }
}

kafka_struct! {
    /// The committed offsets in one topic (single-group form).
    pub struct OffsetFetchResponseTopic {
        /// The topic name.
        name: String [0..=7],
        /// The offsets for each partition.
        partitions: Vec<OffsetFetchResponsePartition> [0..=7],
    }
}

kafka_struct! {
    /// The committed offset of one partition (single-group form).
    pub struct OffsetFetchResponsePartition {
        /// The partition index.
        partition_index: i32 [0..=7],
        /// The committed offset, or -1 if there is none.
        committed_offset: i64 [0..=7],
        /// The leader epoch stored with the offset, or -1.
        committed_leader_epoch: i32 [5..=7, default -1],
        /// The metadata stored with the offset, or null.
        metadata: Option<String> [0..=7, nullable 0..=7, default Some(String::new())],
        /// The error code, or 0.
        error_code: i16 [0..=7],
    }
}

kafka_struct! {
    /// The committed offsets of one group (multi-group form).
    pub struct OffsetFetchResponseGroup {
        /// The group id.
        group_id: String [8..],
        /// The offsets for each topic.
        topics: Vec<OffsetFetchResponseTopics> [8..],
        /// The group-level error code, or 0.
        error_code: i16 [8.., default 0],
    }
}

kafka_struct! {
    /// The committed offsets in one topic (multi-group form).
    pub struct OffsetFetchResponseTopics {
        /// The topic name.
        name: String [8..],
        /// The offsets for each partition.
        partitions: Vec<OffsetFetchResponsePartitions> [8..],
    }
}

kafka_struct! {
    /// The committed offset of one partition (multi-group form).
    pub struct OffsetFetchResponsePartitions {
        /// The partition index.
        partition_index: i32 [8..],
        /// The committed offset, or -1 if there is none.
        committed_offset: i64 [8..],
        /// The leader epoch stored with the offset, or -1.
        committed_leader_epoch: i32 [8.., default -1],
        /// The metadata stored with the offset, or null.
        metadata: Option<String> [8.., nullable 8.., default Some(String::new())],
        /// The error code, or 0.
        error_code: i16 [8..],
    }
}
