//! LeaveGroup (API key 13): v0–v5, flexible from v4.
//!
//! Until v2 a request removes one member (`member_id`); from v3 it removes a batch of members,
//! static ones by instance id (KIP-345), and the response reports each. v5 adds a `reason`.

kafka_message! {
    /// Removes one or more members from a group so it rebalances at once.
    pub struct LeaveGroupRequest: LeaveGroup, versions 0..=5, flexible 4 {
        /// The group id.
        group_id: String [0..],
        /// The member leaving (single-member form).
        member_id: String [0..=2],
        /// The members leaving (batched form).
        members: Vec<LeaveGroupRequestMember> [3..],
    }
}

kafka_struct! {
    /// A member to remove.
    pub struct LeaveGroupRequestMember {
        /// The member id.
        member_id: String [3..],
        /// The static member's instance id, or null.
        group_instance_id: Option<String> [3.., nullable 3.., default None],
        /// Why the member is leaving, for the broker's log.
        reason: Option<String> [5.., nullable 5.., default None],
    }
}

kafka_message! {
    /// The outcome of a leave, for the group and for each member.
    pub struct LeaveGroupResponse: LeaveGroup, versions 0..=5, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The result for each member removed (batched form).
        members: Vec<LeaveGroupResponseMember> [3..],
    }
}

kafka_struct! {
    /// The result of removing one member.
    pub struct LeaveGroupResponseMember {
        /// The member id.
        member_id: String [3..],
        /// The static member's instance id, or null.
        group_instance_id: Option<String> [3.., nullable 3.., default Some(String::new())],
        /// The error code for this member, or 0.
        error_code: i16 [3..],
    }
}
