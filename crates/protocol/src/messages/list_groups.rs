//! ListGroups (API key 16): v0–v5, flexible from v3.
//!
//! Sent to every broker: each lists only the groups it coordinates. v4 can filter by
//! state and returns each group's state (KIP-518); v5 can filter by type and returns each
//! group's type (`classic`, `consumer`; KIP-848); an empty filter lists all groups.

kafka_message! {
    /// Asks a broker for the groups it coordinates.
    pub struct ListGroupsRequest: ListGroups, versions 0..=5, flexible 3 {
        /// Only list groups in these states; empty for all.
        states_filter: Vec<String> [4..],
        /// Only list groups of these types; empty for all.
        types_filter: Vec<String> [5..],
    }
}

kafka_struct! {
    /// One listed group.
    pub struct ListedGroup {
        /// The group id.
        group_id: String [0..],
        /// The protocol type (e.g. `consumer`), empty for simple groups.
        protocol_type: String [0..],
        /// The group state.
        group_state: String [4..],
        /// The group type.
        group_type: String [5..],
    }
}

kafka_message! {
    /// The groups a broker coordinates.
    pub struct ListGroupsResponse: ListGroups, versions 0..=5, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The groups.
        groups: Vec<ListedGroup> [0..],
    }
}
