//! InitProducerId (API key 22): v0–v4, flexible from v2.
//!
//! Gets a producer id and epoch for idempotence, or for transactions when `transactional_id`
//! is set (sent to the transaction coordinator, which also fences older instances). v3 lets a
//! producer pass its current id and epoch to bump the epoch instead of getting a new id (KIP-360).

kafka_message! {
    /// Asks for a producer id and epoch.
    pub struct InitProducerIdRequest: InitProducerId, versions 0..=4, flexible 2 {
        /// The transactional id, or null for an idempotent-only producer.
        transactional_id: Option<String> [0.., nullable 0.., default Some(String::new())],
        /// How long the coordinator waits before aborting an idle transaction, in ms.
        transaction_timeout_ms: i32 [0..],
        /// The current producer id, to bump its epoch, or -1 (v3+).
        producer_id: i64 [3.., default -1],
        /// The current producer epoch, or -1 (v3+).
        producer_epoch: i16 [3.., default -1],
    }
}

kafka_message! {
    /// The producer id and epoch to use.
    pub struct InitProducerIdResponse: InitProducerId, versions 0..=4, flexible 2 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The producer id, or -1 on error.
        producer_id: i64 [0.., default -1],
        /// The producer epoch.
        producer_epoch: i16 [0..],
    }
}
