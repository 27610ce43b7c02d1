//! DeleteRecords (API key 21): v0–v2, flexible from v2.
//!
//! Moves a partition's log start offset forward, deleting everything before it; sent to each
//! partition's leader. An offset of -1 means the high watermark (delete everything).

kafka_struct! {
    /// A partition to delete records from.
    pub struct DeleteRecordsRequestPartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// Delete records before this offset; -1 means the high watermark.
        offset: i64 [0..],
    }
}

kafka_struct! {
    /// A topic to delete records from.
    pub struct DeleteRecordsRequestTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions.
        partitions: Vec<DeleteRecordsRequestPartition> [0..],
    }
}

kafka_message! {
    /// Deletes records before given offsets.
    pub struct DeleteRecordsRequest: DeleteRecords, versions 0..=2, flexible 2 {
        /// The topics.
        topics: Vec<DeleteRecordsRequestTopic> [0..],
        /// How long to wait for the deletion to reach all replicas, in ms.
        timeout_ms: i32 [0..],
    }
}

kafka_struct! {
    /// The outcome for one partition.
    pub struct DeleteRecordsResponsePartition {
        /// The partition index.
        partition_index: i32 [0..],
        /// The partition's new log start offset.
        low_watermark: i64 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}

kafka_struct! {
    /// The outcome for one topic.
    pub struct DeleteRecordsResponseTopic {
        /// The topic name.
        name: String [0..],
        /// The partitions.
        partitions: Vec<DeleteRecordsResponsePartition> [0..],
    }
}

kafka_message! {
    /// The new log start offsets.
    pub struct DeleteRecordsResponse: DeleteRecords, versions 0..=2, flexible 2 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The topics.
        topics: Vec<DeleteRecordsResponseTopic> [0..],
    }
}
