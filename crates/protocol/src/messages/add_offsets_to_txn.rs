//! AddOffsetsToTxn (API key 25): v0–v4, flexible from v3.
//!
//! Sent by a transactional producer to its transaction coordinator before committing consumed
//! offsets inside the transaction (TxnOffsetCommit): the coordinator adds the group's
//! `__consumer_offsets` partition to the transaction, so the offsets are committed or dropped
//! with it. v2 and v4 only add error codes (PRODUCER_FENCED, TRANSACTION_ABORTABLE). From
//! transaction version 2 (KIP-890 part 2) TxnOffsetCommit v5 does this implicitly.

kafka_message! {
    /// Adds a group's offsets partition to a transaction.
    pub struct AddOffsetsToTxnRequest: AddOffsetsToTxn, versions 0..=4, flexible 3 {
        /// The transactional id.
        transactional_id: String [0..],
        /// The producer id in use by the transactional id.
        producer_id: i64 [0..],
        /// The producer epoch.
        producer_epoch: i16 [0..],
        /// The group whose offsets will be committed in the transaction.
        group_id: String [0..],
    }
}

kafka_message! {
    /// Whether the group's offsets partition was added.
    pub struct AddOffsetsToTxnResponse: AddOffsetsToTxn, versions 0..=4, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
    }
}
