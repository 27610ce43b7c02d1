//! CreatePartitions (API key 37): v0–v3, flexible from v2.
//!
//! Raises a topic's partition count (it can never shrink). `assignments` is null to let the
//! controller place the new partitions' replicas; otherwise it has one entry per new partition.

kafka_struct! {
    /// The replicas of one new partition.
    pub struct CreatePartitionsAssignment {
        /// The brokers to place the partition's replicas on, preferred leader first.
        broker_ids: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// A topic to add partitions to.
    pub struct CreatePartitionsTopic {
        /// The topic name.
        name: String [0..],
        /// The new total partition count.
        count: i32 [0..],
        /// One assignment per new partition, or null for automatic placement.
        assignments: Option<Vec<CreatePartitionsAssignment>> [0.., nullable 0..],
    }
}

kafka_message! {
    /// Asks the controller to add partitions to topics.
    pub struct CreatePartitionsRequest: CreatePartitions, versions 0..=3, flexible 2 {
        /// The topics to grow.
        topics: Vec<CreatePartitionsTopic> [0..],
        /// How long to wait for the partitions to be created, in ms.
        timeout_ms: i32 [0..],
        /// If true, only validate the request; change nothing.
        validate_only: bool [0..],
    }
}

kafka_struct! {
    /// The outcome for one topic.
    pub struct CreatePartitionsTopicResult {
        /// The topic name.
        name: String [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0..],
    }
}

kafka_message! {
    /// The controller's answer to a CreatePartitions request.
    pub struct CreatePartitionsResponse: CreatePartitions, versions 0..=3, flexible 2 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// One result per requested topic.
        results: Vec<CreatePartitionsTopicResult> [0..],
    }
}
