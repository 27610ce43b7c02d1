//! OffsetDelete (API key 47): v0 only, never flexible.
//!
//! Deletes committed offsets of partitions the group no longer subscribes to (KIP-496); the
//! coordinator refuses with `GROUP_SUBSCRIBED_TO_TOPIC` while an active member still consumes
//! the topic. Note the response puts `error_code` before `throttle_time_ms`.

kafka_message! {
    /// Deletes a group's committed offsets for some partitions.
    pub struct OffsetDeleteRequest: OffsetDelete, versions 0..=0, flexible none {
        /// The group id.
        group_id: String [0..],
        /// The topics whose offsets to delete.
        topics: Vec<OffsetDeleteRequestTopic> [0..],
    }
}

kafka_struct! {
    /// The partitions of one topic whose offsets to delete.
    pub struct OffsetDeleteRequestTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions.
        partitions: Vec<OffsetDeleteRequestPartition> [0..],
    }
}

kafka_struct! {
    /// One partition whose offset to delete.
    pub struct OffsetDeleteRequestPartition {
        /// The partition index.
        partition_index: i32 [0..],
    }
}

kafka_message! {
    /// The outcome of the deletion, for the group and each partition.
    pub struct OffsetDeleteResponse: OffsetDelete, versions 0..=0, flexible none {
        /// The group-level error code, or 0.
        error_code: i16 [0..],
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The result for each topic.
        topics: Vec<OffsetDeleteResponseTopic> [0..],
    }
}

kafka_struct! {
    /// The deletion results in one topic.
    pub struct OffsetDeleteResponseTopic {
        /// The topic name.
        name: String [0..],
        /// The result for each partition.
        partitions: Vec<OffsetDeleteResponsePartition> [0..],
    }
}

kafka_struct! {
    /// The deletion result for one partition.
    pub struct OffsetDeleteResponsePartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}
