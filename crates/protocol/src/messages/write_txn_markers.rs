//! WriteTxnMarkers (API key 27): v1 only, flexible from v1.
//!
//! Sent by a transaction coordinator to the leaders of a transaction's partitions: each
//! leader appends a control batch (a COMMIT or ABORT marker) for the producer, which ends the
//! transaction in that partition. Broker to broker only. v0 is the same body without flexible
//! encoding; Kafka 4.0 removed it and `kafka-protocol` (our differential oracle) does not have
//! it, so it is not implemented: a v0 request fails to decode as an unsupported version.

kafka_struct! {
    /// Partitions of one topic to write a marker to.
    pub struct WritableTxnMarkerTopic {
        /// The topic name.
        name: String [0..],
        /// The partition indexes.
        partition_indexes: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// One marker to write, for one producer.
    pub struct WritableTxnMarker {
        /// The producer id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i16 [0..],
        /// The transaction's result: true to commit, false to abort.
        transaction_result: bool [0..],
        /// The partitions to write the marker to.
        topics: Vec<WritableTxnMarkerTopic> [0..],
        /// The epoch of the coordinator's `__transaction_state` partition, so a leader can
        /// refuse markers from a coordinator that was replaced.
        coordinator_epoch: i32 [0..],
    }
}

kafka_message! {
    /// Asks partition leaders to write transaction markers.
    pub struct WriteTxnMarkersRequest: WriteTxnMarkers, versions 1..=1, flexible 1 {
        /// The markers to write.
        markers: Vec<WritableTxnMarker> [0..],
    }
}

kafka_struct! {
    /// The outcome for one partition.
    pub struct WritableTxnMarkerPartitionResult {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}

kafka_struct! {
    /// The outcomes for one topic.
    pub struct WritableTxnMarkerTopicResult {
        /// The topic name.
        name: String [0..],
        /// Each partition's outcome.
        partitions: Vec<WritableTxnMarkerPartitionResult> [0..],
    }
}

kafka_struct! {
    /// The outcomes of one producer's marker.
    pub struct WritableTxnMarkerResult {
        /// The producer id.
        producer_id: i64 [0..],
        /// Each topic's outcomes.
        topics: Vec<WritableTxnMarkerTopicResult> [0..],
    }
}

kafka_message! {
    /// Whether each marker was written.
    pub struct WriteTxnMarkersResponse: WriteTxnMarkers, versions 1..=1, flexible 1 {
        /// Each marker's outcomes.
        markers: Vec<WritableTxnMarkerResult> [0..],
    }
}
