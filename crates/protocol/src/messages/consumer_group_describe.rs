//! ConsumerGroupDescribe (API key 69): v0–v1, flexible from v0 (KIP-848).
//!
//! Consumer-protocol groups as their coordinator sees them: the group and assignment
//! epochs, and per member its epoch, subscription, and current and target assignment. v1
//! added each member's type (classic or consumer, KIP-1099).

use uuid::Uuid;

kafka_message! {
    /// Describes consumer-protocol groups.
    pub struct ConsumerGroupDescribeRequest: ConsumerGroupDescribe, versions 0..=1, flexible 0 {
        /// The groups.
        group_ids: Vec<String> [0..],
        /// Whether to include the operations the caller may perform on each group.
        include_authorized_operations: bool [0..],
    }
}

kafka_struct! {
    /// Partitions of one topic.
    pub struct ConsumerGroupDescribeTopicPartitions {
        /// The topic id.
        topic_id: Uuid [0..],
        /// The topic name.
        topic_name: String [0..],
        /// The partitions.
        partitions: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// An assignment: partitions by topic.
    pub struct ConsumerGroupDescribeAssignment {
        /// By topic.
        topic_partitions: Vec<ConsumerGroupDescribeTopicPartitions> [0..],
    }
}

kafka_struct! {
    /// A member of a described group.
    pub struct ConsumerGroupDescribeMember {
        /// The member id.
        member_id: String [0..],
        /// The static member's instance id, or null.
        instance_id: Option<String> [0.., nullable 0.., default None],
        /// The member's rack, or null.
        rack_id: Option<String> [0.., nullable 0.., default None],
        /// The member's epoch.
        member_epoch: i32 [0..],
        /// The client id.
        client_id: String [0..],
        /// The client's host.
        client_host: String [0..],
        /// The topics subscribed to.
        subscribed_topic_names: Vec<String> [0..],
        /// The subscription's regular expression, or null.
        subscribed_topic_regex: Option<String> [0.., nullable 0.., default None],
        /// The partitions it owns now.
        assignment: ConsumerGroupDescribeAssignment [0..],
        /// The partitions it is to own.
        target_assignment: ConsumerGroupDescribeAssignment [0..],
        /// -1 unknown, 0 classic, 1 consumer.
        member_type: i8 [1.., default -1],
    }
}

kafka_struct! {
    /// A described group.
    pub struct ConsumerGroupDescribeGroup {
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0.., default None],
        /// The group id.
        group_id: String [0..],
        /// Empty, Assigning, Reconciling, Stable or Dead.
        group_state: String [0..],
        /// The group epoch.
        group_epoch: i32 [0..],
        /// The target assignment's epoch.
        assignment_epoch: i32 [0..],
        /// The server-side assignor in use.
        assignor_name: String [0..],
        /// The members.
        members: Vec<ConsumerGroupDescribeMember> [0..],
        /// The operations the caller may perform, when asked (else i32::MIN).
        authorized_operations: i32 [0.., default i32::MIN],
    }
}

kafka_message! {
    /// Consumer-protocol groups described.
    pub struct ConsumerGroupDescribeResponse: ConsumerGroupDescribe, versions 0..=1, flexible 0 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The groups.
        groups: Vec<ConsumerGroupDescribeGroup> [0..],
    }
}
