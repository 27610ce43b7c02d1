//! DescribeGroups (API key 15): v0–v5, flexible from v5.
//!
//! Sent to each group's coordinator. v3 can return the caller's authorized operations
//! (KIP-430), v4 each member's `group_instance_id` (KIP-345). Member metadata and
//! assignment are only filled in while the group is `Stable`. (v6 adds an error message.)

use bytes::Bytes;

kafka_message! {
    /// Asks a coordinator to describe groups.
    pub struct DescribeGroupsRequest: DescribeGroups, versions 0..=5, flexible 5 {
        /// The ids of the groups to describe.
        groups: Vec<String> [0..],
        /// Whether to return the caller's authorized operations on each group.
        include_authorized_operations: bool [3.., default false],
    }
}

kafka_struct! {
    /// A member of a described group.
    pub struct DescribedGroupMember {
        /// The member id assigned by the coordinator.
        member_id: String [0..],
        /// The static member's instance id, or null for a dynamic member.
        group_instance_id: Option<String> [4.., nullable 4..],
        /// The client id from the member's latest JoinGroup.
        client_id: String [0..],
        /// The host the member connected from.
        client_host: String [0..],
        /// The member's metadata for the group's current protocol.
        member_metadata: Bytes [0..],
        /// The member's assignment from the group leader.
        member_assignment: Bytes [0..],
    }
}

kafka_struct! {
    /// One described group.
    pub struct DescribedGroup {
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The group id.
        group_id: String [0..],
        /// The group state (e.g. `Stable`, `Dead`), or empty.
        group_state: String [0..],
        /// The protocol type (e.g. `consumer`), or empty.
        protocol_type: String [0..],
        /// The chosen protocol (e.g. the assignor name), or empty.
        protocol_data: String [0..],
        /// The members; always empty for a `Dead` group.
        members: Vec<DescribedGroupMember> [0..],
        /// A bitfield of the caller's authorized operations, or `i32::MIN` if not requested.
        authorized_operations: i32 [3.., default i32::MIN],
    }
}

kafka_message! {
    /// The coordinator's description of groups.
    pub struct DescribeGroupsResponse: DescribeGroups, versions 0..=5, flexible 5 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// One description per requested group.
        groups: Vec<DescribedGroup> [0..],
    }
}
