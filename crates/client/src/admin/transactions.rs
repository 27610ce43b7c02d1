//! Transactions in the admin client: list them, describe one, and describe the producers
//! a partition knows (kafka-transactions.sh's `list`, `describe` and `describe-producers`).
//!
//! ```text
//!   list_transactions ──ListTransactions──▶ every broker (each answers for the
//!                                            transactional ids it coordinates)
//!   describe_transaction ──FindCoordinator(key type 1)──▶ coordinator ──DescribeTransactions
//!   describe_producers ──DescribeProducers──▶ the partition's leader
//! ```
//!
//! A transaction that stays `Ongoing` for long, or a producer whose `current_txn_start_offset`
//! holds a partition's last stable offset back, is what these are for: read_committed
//! consumers of that partition stop there until the transaction ends.

use std::collections::BTreeMap;

use streamctl_protocol::messages::describe_producers::DescribeProducersRequestTopic;
use streamctl_protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest,
};
use streamctl_protocol::ErrorCode;

use super::groups::{check_named, retry_coordinator};
use super::Admin;
use crate::consumer::offsets::{find_coordinator_node, TRANSACTION_KEY};
use crate::error::{Error, Result};

/// A transaction as [`Admin::list_transactions`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionListing {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// The producer id the coordinator gave it.
    pub producer_id: i64,
    /// `Empty`, `Ongoing`, `PrepareCommit`, `PrepareAbort`, `CompleteCommit`,
    /// `CompleteAbort` or `PrepareEpochFence`.
    pub state: String,
    /// The node id of the broker coordinating it.
    pub coordinator: i32,
}

/// Which transactions [`Admin::list_transactions`] returns; the default is all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionFilter {
    /// Only these states (by name, as in [`TransactionListing::state`]); empty: any.
    pub states: Vec<String>,
    /// Only these producer ids; empty: any.
    pub producer_ids: Vec<i64>,
    /// Only transactions running longer than this many milliseconds (ListTransactions v1,
    /// Kafka 3.8+; older brokers refuse the filter with UNSUPPORTED_VERSION).
    pub running_longer_than_ms: Option<i64>,
}

/// A transaction as [`Admin::describe_transaction`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionDescription {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// The state, as in [`TransactionListing::state`].
    pub state: String,
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// The producer's `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// When its latest transaction started (ms since the epoch), kept as Kafka keeps it once
    /// the transaction completed; `None` before its first transaction.
    pub start_time_ms: Option<i64>,
    /// The partitions in the open transaction, by topic.
    pub partitions: BTreeMap<String, Vec<i32>>,
    /// The node id of the broker coordinating it.
    pub coordinator: i32,
}

/// A producer a partition knows, from [`Admin::describe_producers`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerState {
    /// The producer id.
    pub producer_id: i64,
    /// Its latest epoch on this partition.
    pub producer_epoch: i32,
    /// The sequence number of its last record here, `-1` when unknown.
    pub last_sequence: i32,
    /// The timestamp of its last batch here (ms since the epoch), `-1` when unknown.
    pub last_timestamp: i64,
    /// The coordinator epoch of its last transaction marker here.
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction on this partition, `None` when it has none.
    pub current_txn_start_offset: Option<i64>,
}

impl Admin {
    /// The transactions of the cluster matching `filter`, sorted by transactional id. Each
    /// broker is asked for the ids it coordinates; one that cannot be reached fails the call
    /// (a partial list would silently hide transactions).
    pub async fn list_transactions(
        &self,
        filter: &TransactionFilter,
    ) -> Result<Vec<TransactionListing>> {
        let mut listed = Vec::new();
        for node in self.brokers().await? {
            let response = retry_coordinator(self, "ListTransactions", || async move {
                let response = self
                    .cluster
                    .connection(node)
                    .await?
                    .call(ListTransactionsRequest {
                        state_filters: filter.states.clone(),
                        producer_id_filters: filter.producer_ids.clone(),
                        duration_filter: filter.running_longer_than_ms.unwrap_or(-1),
                        ..Default::default()
                    })
                    .await?;
                check_named(response.error_code, None, "ListTransactions")?;
                Ok(response)
            })
            .await?;
            if let Some(unknown) = response.unknown_state_filters.first() {
                return Err(Error::InvalidRequest(format!(
                    "unknown transaction state '{unknown}' (the states are Empty, Ongoing, \
                     PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, \
                     PrepareEpochFence)"
                )));
            }
            listed.extend(
                response
                    .transaction_states
                    .into_iter()
                    .map(|t| TransactionListing {
                        transactional_id: t.transactional_id,
                        producer_id: t.producer_id,
                        state: t.transaction_state,
                        coordinator: node,
                    }),
            );
        }
        listed.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        listed.dedup_by(|a, b| a.transactional_id == b.transactional_id);
        Ok(listed)
    }

    /// A transactional id's state, producer, timeout and the partitions of its open
    /// transaction. An id the coordinator does not know is `TRANSACTIONAL_ID_NOT_FOUND`.
    pub async fn describe_transaction(
        &self,
        transactional_id: &str,
    ) -> Result<TransactionDescription> {
        let subject = format!("transactional id {transactional_id}");
        let (node, described) = retry_coordinator(self, "DescribeTransactions", || async {
            let (node, connection) =
                find_coordinator_node(&self.cluster, TRANSACTION_KEY, transactional_id).await?;
            let response = connection
                .call(DescribeTransactionsRequest {
                    transactional_ids: vec![transactional_id.to_string()],
                    ..Default::default()
                })
                .await?;
            let described = response
                .transaction_states
                .into_iter()
                .find(|t| t.transactional_id == transactional_id)
                .ok_or_else(|| {
                    Error::InvalidResponse(format!(
                        "the DescribeTransactions response has no result for {subject}"
                    ))
                })?;
            check_named(described.error_code, None, &subject)?;
            Ok((node, described))
        })
        .await?;
        let mut partitions: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for t in described.topics {
            partitions.entry(t.topic).or_default().extend(t.partitions);
        }
        for p in partitions.values_mut() {
            p.sort_unstable();
            p.dedup();
        }
        Ok(TransactionDescription {
            transactional_id: described.transactional_id,
            state: described.transaction_state,
            producer_id: described.producer_id,
            producer_epoch: described.producer_epoch,
            timeout_ms: described.transaction_timeout_ms,
            start_time_ms: Some(described.transaction_start_time_ms).filter(|t| *t >= 0),
            partitions,
            coordinator: node,
        })
    }

    /// The producers `topic`/`partition`'s leader keeps state for, by producer id: their
    /// epochs, last sequences and the start of their open transactions.
    pub async fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<ProducerState>> {
        let leader = self.cluster.leader_for(topic, partition).await?;
        let connection = self.cluster.connection(leader.node_id).await?;
        let response = connection
            .call(DescribeProducersRequest {
                topics: vec![DescribeProducersRequestTopic {
                    name: topic.to_string(),
                    partition_indexes: vec![partition],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await?;
        let found = response
            .topics
            .into_iter()
            .filter(|t| t.name == topic)
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| {
                Error::InvalidResponse(format!(
                    "the DescribeProducers response has no result for {topic}-{partition}"
                ))
            })?;
        let code = ErrorCode::from_code(found.error_code);
        if !code.is_ok() {
            return Err(Error::broker_for(
                code,
                found.error_message,
                topic,
                Some(partition),
            ));
        }
        let mut producers: Vec<ProducerState> = found
            .active_producers
            .into_iter()
            .map(|p| ProducerState {
                producer_id: p.producer_id,
                producer_epoch: p.producer_epoch,
                last_sequence: p.last_sequence,
                last_timestamp: p.last_timestamp,
                coordinator_epoch: p.coordinator_epoch,
                current_txn_start_offset: Some(p.current_txn_start_offset).filter(|o| *o >= 0),
            })
            .collect();
        producers.sort_by_key(|p| p.producer_id);
        Ok(producers)
    }
}
