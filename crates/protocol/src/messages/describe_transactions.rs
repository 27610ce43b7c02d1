//! DescribeTransactions (API key 65): v0, flexible from v0.
//!
//! Asks a transaction coordinator for the state of transactional ids it owns (KIP-664, the
//! admin tools for finding and aborting hanging transactions). Errors are per id, in its
//! own entry (NOT_COORDINATOR for an id another broker coordinates, TRANSACTIONAL_ID_NOT_FOUND).

kafka_message! {
    /// Asks for the state of transactional ids.
    pub struct DescribeTransactionsRequest: DescribeTransactions, versions 0..=0, flexible 0 {
        /// The transactional ids to describe; empty describes none.
        transactional_ids: Vec<String> [0..],
    }
}

kafka_struct! {
    /// Partitions of one topic in a transaction.
    pub struct DescribeTransactionsResponseTopicData {
        /// The topic name.
        topic: String [0..],
        /// The partition indexes.
        partitions: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// The state of one transactional id.
    pub struct DescribeTransactionsResponseTransactionState {
        /// The error code for this id, or 0.
        error_code: i16 [0..],
        /// The transactional id.
        transactional_id: String [0..],
        /// The coordinator's state name (`Empty`, `Ongoing`, `PrepareCommit`, ...).
        transaction_state: String [0..],
        /// The transaction timeout the producer asked for, in ms.
        transaction_timeout_ms: i32 [0..],
        /// When the current transaction started (ms since the epoch), or -1.
        transaction_start_time_ms: i64 [0..],
        /// The producer id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i16 [0..],
        /// The partitions in the current transaction; while it is being completed, only those
        /// still waiting for their marker.
        topics: Vec<DescribeTransactionsResponseTopicData> [0..],
    }
}

kafka_message! {
    /// The state of each transactional id asked about.
    pub struct DescribeTransactionsResponse: DescribeTransactions, versions 0..=0, flexible 0 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// One entry per transactional id asked about.
        transaction_states: Vec<DescribeTransactionsResponseTransactionState> [0..],
    }
}
