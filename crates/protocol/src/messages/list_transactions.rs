//! ListTransactions (API key 66): v0–v1, flexible from v0.
//!
//! Sent to every broker: each lists the transactional ids it coordinates (KIP-664), filtered
//! by state and producer id; v1 adds a filter on how long the transaction has been running
//! (KIP-994). v2 (Kafka 4.1, a transactional id pattern) is not implemented.

kafka_message! {
    /// Asks a broker for the transactions it coordinates.
    pub struct ListTransactionsRequest: ListTransactions, versions 0..=1, flexible 0 {
        /// Only list transactions in these states; empty for all.
        state_filters: Vec<String> [0..],
        /// Only list transactions of these producer ids; empty for all.
        producer_id_filters: Vec<i64> [0..],
        /// Only list transactions running longer than this, in ms; negative for all.
        duration_filter: i64 [1.., default -1],
    }
}

kafka_struct! {
    /// One listed transaction.
    pub struct ListTransactionsResponseTransactionState {
        /// The transactional id.
        transactional_id: String [0..],
        /// The producer id.
        producer_id: i64 [0..],
        /// The coordinator's state name (`Empty`, `Ongoing`, `PrepareCommit`, ...).
        transaction_state: String [0..],
    }
}

kafka_message! {
    /// The transactions a broker coordinates.
    pub struct ListTransactionsResponse: ListTransactions, versions 0..=1, flexible 0 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The state filters of the request the coordinator did not recognise.
        unknown_state_filters: Vec<String> [0..],
        /// The transactions.
        transaction_states: Vec<ListTransactionsResponseTransactionState> [0..],
    }
}
