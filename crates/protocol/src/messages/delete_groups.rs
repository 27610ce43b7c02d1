//! DeleteGroups (API key 42): v0–v2, flexible from v2.
//!
//! Sent to each group's coordinator; only empty groups can be deleted (otherwise
//! `NON_EMPTY_GROUP`). Deleting a group also deletes its committed offsets.

kafka_message! {
    /// Asks a coordinator to delete groups.
    pub struct DeleteGroupsRequest: DeleteGroups, versions 0..=2, flexible 2 {
        /// The ids of the groups to delete.
        groups_names: Vec<String> [0..],
    }
}

kafka_struct! {
    /// The outcome for one group.
    pub struct DeletableGroupResult {
        /// The group id.
        group_id: String [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}

kafka_message! {
    /// The coordinator's answer to a DeleteGroups request.
    pub struct DeleteGroupsResponse: DeleteGroups, versions 0..=2, flexible 2 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// One result per requested group.
        results: Vec<DeletableGroupResult> [0..],
    }
}
