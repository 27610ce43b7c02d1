//! EndTxn (API key 26): v0–v5, flexible from v3.
//!
//! Commits or aborts a producer's transaction at its transaction coordinator, which then
//! writes the markers to every partition in the transaction. v2 and v4 only add error codes
//! (PRODUCER_FENCED, TRANSACTION_ABORTABLE). v5 (KIP-890 part 2, transaction version 2) bumps
//! the epoch at the end of every transaction, so the response carries the producer id and
//! epoch to use next.

kafka_message! {
    /// Commits or aborts a transaction.
    pub struct EndTxnRequest: EndTxn, versions 0..=5, flexible 3 {
        /// The transactional id.
        transactional_id: String [0..],
        /// The producer id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i16 [0..],
        /// True to commit, false to abort.
        committed: bool [0..],
    }
}

kafka_message! {
    /// The outcome of ending a transaction.
    pub struct EndTxnResponse: EndTxn, versions 0..=5, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The producer id to use from now on, or -1.
        producer_id: i64 [5.., default -1],
        /// The producer epoch to use from now on, or -1.
        producer_epoch: i16 [5.., default -1],
    }
}
