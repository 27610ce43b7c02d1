//! SyncGroup (API key 14): v0–v5, flexible from v4.
//!
//! The second half of a rebalance: the leader sends every member's assignment, followers send
//! none, and each gets its own back. v3 added static membership; v5 carries the protocol type
//! and name so the broker can check them.

use bytes::Bytes;

kafka_message! {
    /// Sends the leader's assignments (or waits for them, as a follower).
    pub struct SyncGroupRequest: SyncGroup, versions 0..=5, flexible 4 {
        /// The group id.
        group_id: String [0..],
        /// The generation the member joined.
        generation_id: i32 [0..],
        /// The member id assigned by the coordinator.
        member_id: String [0..],
        /// The static member's instance id, or null for a dynamic member.
        group_instance_id: Option<String> [3.., nullable 3.., default None],
        /// The group's protocol type, or null.
        protocol_type: Option<String> [5.., nullable 5.., default None],
        /// The assignment protocol chosen in the join, or null.
        protocol_name: Option<String> [5.., nullable 5.., default None],
        /// Each member's assignment; empty unless sent by the leader.
        assignments: Vec<SyncGroupRequestAssignment> [0..],
    }
}

kafka_struct! {
    /// The assignment the leader computed for one member.
    pub struct SyncGroupRequestAssignment {
        /// The member the assignment is for.
        member_id: String [0..],
        /// The assignment, in the protocol's own format.
        assignment: Bytes [0..],
    }
}

kafka_message! {
    /// This member's assignment for the new generation.
    pub struct SyncGroupResponse: SyncGroup, versions 0..=5, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The group's protocol type, or null.
        protocol_type: Option<String> [5.., nullable 5.., default None],
        /// The group's assignment protocol, or null.
        protocol_name: Option<String> [5.., nullable 5.., default None],
        /// This member's assignment.
        assignment: Bytes [0..],
    }
}
