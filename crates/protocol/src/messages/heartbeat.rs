//! Heartbeat (API key 12): v0–v4, flexible from v4.
//!
//! A group member's keep-alive; the coordinator answers `REBALANCE_IN_PROGRESS` when the
//! member must rejoin. v3 added static membership (`group_instance_id`, KIP-345).

kafka_message! {
    /// Tells the group coordinator a member is alive.
    pub struct HeartbeatRequest: Heartbeat, versions 0..=4, flexible 4 {
        /// The group id.
        group_id: String [0..],
        /// The generation of the group the member belongs to.
        generation_id: i32 [0..],
        /// The member id assigned by the coordinator.
        member_id: String [0..],
        /// The static member's instance id, or null for a dynamic member.
        group_instance_id: Option<String> [3.., nullable 3..],
    }
}

kafka_message! {
    /// The coordinator's answer to a heartbeat.
    pub struct HeartbeatResponse: Heartbeat, versions 0..=4, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}
