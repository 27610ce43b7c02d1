//! AddPartitionsToTxn (API key 24): v0–v5, flexible from v3.
//!
//! A transactional producer registers each partition with its transaction coordinator before
//! writing to it, so the coordinator knows where to send the commit or abort markers. v0–v3
//! carry one transaction and are what clients send. v4 (KIP-890 part 1) batches many
//! transactions and adds `verify_only`: partition leaders use it to ask the coordinator whether
//! a partition is already in a producer's transaction before appending its batch, so v4+ is
//! broker-to-broker only. The response follows: per-topic results for v0–v3, results per
//! transaction and a top-level error code from v4. v2 and v5 only add error codes
//! (PRODUCER_FENCED, TRANSACTION_ABORTABLE).

kafka_struct! {
    /// Partitions of one topic to add to a transaction.
    pub struct AddPartitionsToTxnTopic {
        /// The topic name.
        name: String [0..],
        /// The partition indexes to add.
        partitions: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// One transaction to add partitions to, or to check them against (batched form).
    pub struct AddPartitionsToTxnTransaction {
        /// The transactional id.
        transactional_id: String [4..],
        /// The producer id in use by the transactional id.
        producer_id: i64 [4..],
        /// The producer epoch.
        producer_epoch: i16 [4..],
        /// Only check that the partitions are already in the transaction, without adding them.
        verify_only: bool [4.., default false],
        /// The partitions.
        topics: Vec<AddPartitionsToTxnTopic> [4..],
    }
}

kafka_message! {
    /// Adds partitions to one transaction (v0–v3) or to many, or verifies them (v4+).
    pub struct AddPartitionsToTxnRequest: AddPartitionsToTxn, versions 0..=5, flexible 3 {
        /// The transactions (batched form, brokers only).
        transactions: Vec<AddPartitionsToTxnTransaction> [4..],
        /// The transactional id (single-transaction form).
        v3_and_below_transactional_id: String [0..=3],
        /// The producer id in use by the transactional id (single-transaction form).
        v3_and_below_producer_id: i64 [0..=3],
        /// The producer epoch (single-transaction form).
        v3_and_below_producer_epoch: i16 [0..=3],
        /// The partitions to add (single-transaction form).
        v3_and_below_topics: Vec<AddPartitionsToTxnTopic> [0..=3],
    }
}

kafka_struct! {
    /// The outcome for one partition.
    pub struct AddPartitionsToTxnPartitionResult {
        /// The partition index.
        partition_index: i32 [0..],
        /// The error code, or 0.
        partition_error_code: i16 [0..],
    }
}

kafka_struct! {
    /// The outcomes for one topic.
    pub struct AddPartitionsToTxnTopicResult {
        /// The topic name.
        name: String [0..],
        /// Each partition's outcome.
        results_by_partition: Vec<AddPartitionsToTxnPartitionResult> [0..],
    }
}

kafka_struct! {
    /// The outcomes for one transaction (batched form).
    pub struct AddPartitionsToTxnResult {
        /// The transactional id.
        transactional_id: String [4..],
        /// Each topic's outcomes.
        topic_results: Vec<AddPartitionsToTxnTopicResult> [4..],
    }
}

kafka_message! {
    /// Whether each partition was added to (or is in) its transaction.
    pub struct AddPartitionsToTxnResponse: AddPartitionsToTxn, versions 0..=5, flexible 3 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// An error for the whole request, or 0 (batched form).
        error_code: i16 [4..],
        /// Each transaction's outcomes (batched form).
        results_by_transaction: Vec<AddPartitionsToTxnResult> [4..],
        /// Each topic's outcomes (single-transaction form).
        results_by_topic_v3_and_below: Vec<AddPartitionsToTxnTopicResult> [0..=3],
    }
}
