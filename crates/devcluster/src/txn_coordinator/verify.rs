//! What a partition leader asks the transaction coordinator before a producer's first
//! transactional batch on a partition (KIP-890): under transactions v1 (Produce ≤ v11)
//! whether the producer's client already added the partition (`verify_only`, part 1);
//! under v2 (Produce v12+) to add it (part 2), which starts the transaction when none is
//! open. The coordinator is this broker or another one, asked over AddPartitionsToTxn v5.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::add_partitions_to_txn::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use streamctl_protocol::messages::{AddPartitionsToTxnRequest, ResponseBody};
use streamctl_protocol::{ApiKey, ErrorCode};

use super::records::TRANSACTION_TOPIC;
use super::TransactionCoordinator;
use crate::internal_topic::partition_of;

/// The AddPartitionsToTxn version between brokers (v5 knows TRANSACTION_ABORTABLE).
const BROKER_VERSION: i16 = 5;
/// An implicit add refused with CONCURRENT_TRANSACTIONS (the previous transaction's
/// markers are still being written, usually for a few milliseconds) is retried here, first
/// after [`ADD_RETRY_FIRST`], doubling up to [`ADD_RETRY_MAX`], for up to [`ADD_RETRY_FOR`]
/// (Kafka retries every 20 ms for up to 100 ms: `add.partitions.to.txn.retry.backoff.ms` and
/// `…backoff.max.ms`; starting shorter saves most of those 20 ms on every transaction).
const ADD_RETRY_FIRST: Duration = Duration::from_millis(1);
/// See [`ADD_RETRY_FIRST`].
const ADD_RETRY_MAX: Duration = Duration::from_millis(20);
/// See [`ADD_RETRY_FIRST`].
const ADD_RETRY_FOR: Duration = Duration::from_millis(100);

/// What the leader asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Transactions v1: is the partition in the open transaction?
    Verify,
    /// Transactions v2: add it (starting the transaction if needed).
    Add,
}

impl TransactionCoordinator {
    /// AddPartitionsToTxn v4+ with `verify_only`: per partition, whether it is in the open
    /// transaction; or one error for all of them.
    pub fn verify_partitions(
        self: &Arc<Self>,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        let txn = self
            .lookup(id, None)?
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        let meta = txn.lock();
        Ok(partitions
            .iter()
            .map(|p| meta.verify(producer_id, producer_epoch, p))
            .collect())
    }

    /// On a partition leader: asks the coordinator of `id` about each partition (see the
    /// module docs). One code per partition: NONE, TRANSACTION_ABORTABLE (v1: not in the
    /// transaction), or the coordinator's error. An add refused because the previous
    /// transaction is still ending is retried briefly here, as Kafka's leaders do.
    pub async fn ask_coordinator(
        self: &Arc<Self>,
        ask: Ask,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
    ) -> Vec<ErrorCode> {
        let deadline = tokio::time::Instant::now() + ADD_RETRY_FOR;
        let mut pause = ADD_RETRY_FIRST;
        loop {
            let codes = self
                .ask_once(ask, id, producer_id, producer_epoch, partitions)
                .await;
            let busy = codes.contains(&ErrorCode::ConcurrentTransactions);
            if ask == Ask::Verify || !busy || tokio::time::Instant::now() + pause > deadline {
                return codes;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(ADD_RETRY_MAX);
        }
    }

    async fn ask_once(
        self: &Arc<Self>,
        ask: Ask,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
    ) -> Vec<ErrorCode> {
        let all = |code: ErrorCode| vec![code; partitions.len()];
        let md = self.replicas.metadata();
        let Some((_, leader, _)) = partition_of(&md, TRANSACTION_TOPIC, id) else {
            return all(ErrorCode::CoordinatorNotAvailable);
        };
        if leader == self.node_id {
            return match ask {
                Ask::Verify => self
                    .verify_partitions(id, producer_id, producer_epoch, partitions)
                    .unwrap_or_else(all),
                Ask::Add => all(self
                    .add_partitions(id, producer_id, producer_epoch, partitions, 2)
                    .await),
            };
        }
        if leader < 0 {
            return all(ErrorCode::CoordinatorNotAvailable);
        }
        let topics = super::by_topic(partitions)
            .into_iter()
            .map(|(name, partitions)| AddPartitionsToTxnTopic {
                name,
                partitions,
                ..Default::default()
            })
            .collect();
        let request = AddPartitionsToTxnRequest {
            transactions: vec![AddPartitionsToTxnTransaction {
                transactional_id: id.to_string(),
                producer_id,
                producer_epoch,
                verify_only: ask == Ask::Verify,
                topics,
                ..Default::default()
            }],
            ..Default::default()
        };
        let answer = self
            .peers
            .call(
                &md,
                leader,
                ApiKey::AddPartitionsToTxn,
                BROKER_VERSION,
                request.into(),
            )
            .await;
        let resp = match answer {
            Ok(ResponseBody::AddPartitionsToTxn(r)) => r,
            Ok(_) | Err(_) => return all(ErrorCode::NetworkException),
        };
        if resp.error_code != 0 {
            return all(ErrorCode::from_code(resp.error_code));
        }
        let results = resp
            .results_by_transaction
            .into_iter()
            .flat_map(|t| t.topic_results)
            .flat_map(|t| {
                t.results_by_partition
                    .into_iter()
                    .map(move |p| ((t.name.clone(), p.partition_index), p.partition_error_code))
            })
            .collect::<HashMap<_, _>>();
        partitions
            .iter()
            .map(|p| {
                results
                    .get(p)
                    .map_or(ErrorCode::NetworkException, |c| ErrorCode::from_code(*c))
            })
            .collect()
    }
}
