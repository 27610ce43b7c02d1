//! FindCoordinator (API key 10): v0–v4, flexible from v3.
//!
//! Locates the group or transaction coordinator for a key. v1 added `key_type` (0 = group,
//! 1 = transaction); v4 batches many keys (KIP-699), so `key` and the single-coordinator
//! response fields give way to `coordinator_keys` and `coordinators`.

kafka_message! {
    /// Asks any broker which broker coordinates a group or transactional id.
    pub struct FindCoordinatorRequest: FindCoordinator, versions 0..=4, flexible 3 {
        /// The group id or transactional id to look up (before batching).
        key: String [0..=3],
        /// What kind of key this is: 0 for a group, 1 for a transaction.
        key_type: i8 [1..],
        /// The keys to look up, all of `key_type` (batched form).
        coordinator_keys: Vec<String> [4..],
    }
}

kafka_message! {
    /// Where the coordinator for the requested key(s) lives.
    pub struct FindCoordinatorResponse: FindCoordinator, versions 0..=4, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The error code, or 0 (before batching).
        error_code: i16 [0..=3],
        /// The error message, or null if there was no error (before batching).
        error_message: Option<String> [1..=3, nullable 1..=3, default Some(String::new())],
        /// The coordinator's broker id (before batching).
        node_id: i32 [0..=3],
        /// The coordinator's host name (before batching).
        host: String [0..=3],
        /// The coordinator's port (before batching).
        port: i32 [0..=3],
        /// One result per requested key (batched form).
        coordinators: Vec<FindCoordinatorResponseCoordinator> [4..],
    }
}

kafka_struct! {
    /// The coordinator found for one key.
    pub struct FindCoordinatorResponseCoordinator {
        /// The key this result is for.
        key: String [4..],
        /// The coordinator's broker id.
        node_id: i32 [4..],
        /// The coordinator's host name.
        host: String [4..],
        /// The coordinator's port.
        port: i32 [4..],
        /// The error code, or 0.
        error_code: i16 [4..],
        /// The error message, or null if there was no error.
        error_message: Option<String> [4.., nullable 4.., default Some(String::new())],
    }
}
