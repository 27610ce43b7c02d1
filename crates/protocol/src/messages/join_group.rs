//! JoinGroup (API key 11): v0–v9, flexible from v6.
//!
//! From v4 a new member's first join is answered with `MEMBER_ID_REQUIRED` and the member id
//! it must rejoin with (KIP-394). v5 added static membership (KIP-345), v7 echoes the protocol
//! type, v8 carries a `reason` (KIP-800) and v9 lets the coordinator tell the leader to skip
//! computing the assignment (`skip_assignment`, KIP-814).

use bytes::Bytes;

kafka_message! {
    /// Asks the group coordinator to add this member to a (re)balance.
    pub struct JoinGroupRequest: JoinGroup, versions 0..=9, flexible 6 {
        /// The group id.
        group_id: String [0..],
        /// The member is considered dead if no heartbeat arrives within this many ms.
        session_timeout_ms: i32 [0..],
        /// How long the coordinator waits for every member to rejoin during a rebalance, in ms
        /// (before v1 the session timeout is used instead).
        rebalance_timeout_ms: i32 [1.., default -1],
        /// The member id assigned by the coordinator, or empty on the first join.
        member_id: String [0..],
        /// The static member's instance id, or null for a dynamic member.
        group_instance_id: Option<String> [5.., nullable 5.., default None],
        /// The kind of group, e.g. "consumer".
        protocol_type: String [0..],
        /// The assignment protocols the member supports, most preferred first.
        protocols: Vec<JoinGroupRequestProtocol> [0..],
        /// Why the member is (re)joining, for the broker's log.
        reason: Option<String> [8.., nullable 8.., default None],
    }
}

kafka_struct! {
    /// One assignment protocol a joining member supports.
    pub struct JoinGroupRequestProtocol {
        /// The protocol name, e.g. "range".
        name: String [0..],
        /// The member's subscription metadata for this protocol.
        metadata: Bytes [0..],
    }
}

kafka_message! {
    /// The outcome of a join: the generation, the chosen protocol and, for the leader, the members.
    pub struct JoinGroupResponse: JoinGroup, versions 0..=9, flexible 6 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [2..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The generation of the group this join produced.
        generation_id: i32 [0.., default -1],
        /// The group's protocol type, or null.
        protocol_type: Option<String> [7.., nullable 7.., default None],
        /// The assignment protocol the coordinator chose.
        protocol_name: Option<String> [0.., nullable 7.., default Some(String::new())],
        /// The member id of the group leader.
        leader: String [0..],
        /// Whether the leader should skip computing an assignment (the broker does it).
        skip_assignment: bool [9..],
        /// The member id the coordinator assigned to this member.
        member_id: String [0..],
        /// Every member and its metadata; only filled in for the leader.
        members: Vec<JoinGroupResponseMember> [0..],
    }
}

kafka_struct! {
    /// A group member, as the leader sees it when computing the assignment.
    pub struct JoinGroupResponseMember {
        /// The member id.
        member_id: String [0..],
        /// The static member's instance id, or null.
        group_instance_id: Option<String> [5.., nullable 5.., default None],
        /// The member's subscription metadata for the chosen protocol.
        metadata: Bytes [0..],
    }
}
