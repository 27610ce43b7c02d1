//! Finishing a transaction once its Prepare record is durable: a COMMIT or ABORT marker on
//! every partition of the transaction, then the Complete record (Kafka's
//! `TransactionMarkerChannelManager` and `TransactionMarkerRequestCompletionHandler`).
//!
//! ```text
//!  partitions left ─▶ group by current leader ─▶ WriteTxnMarkers v1 to each (over the wire,
//!      this broker included) ─▶ per partition: NONE → done; leader moved, not enough
//!      replicas, timeout, disconnect → retry after re-reading metadata; topic deleted →
//!      dropped; INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED → a newer actor owns
//!      the producer: stop
//!  none left ─▶ CompleteCommit|CompleteAbort logged (retried while the log is unavailable)
//! ```
//!
//! The task stops when this broker stops coordinating the partition (its epoch changed): the
//! new coordinator loads the Prepare record and runs the same task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::write_txn_markers::{WritableTxnMarker, WritableTxnMarkerTopic};
use streamctl_protocol::messages::{ResponseBody, WriteTxnMarkersRequest};
use streamctl_protocol::{ApiKey, ErrorCode};
use tracing::{debug, warn};

use super::metadata::TxnState;
use super::{TransactionCoordinator, Txn};
use crate::partition::now_ms;

/// The WriteTxnMarkers version sent (Kafka 4 removed v0).
const MARKERS_VERSION: i16 = 1;
/// Pause between rounds while some partition could not take its marker.
const RETRY_BACKOFF: Duration = Duration::from_millis(50);

/// What to do with a partition after its marker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Retry,
    /// A newer producer epoch or coordinator owns the producer: abandon the transaction.
    Fenced,
}

fn outcome(code: ErrorCode) -> Outcome {
    match code {
        ErrorCode::None => Outcome::Done,
        ErrorCode::InvalidProducerEpoch | ErrorCode::TransactionCoordinatorFenced => {
            Outcome::Fenced
        }
        // The partition cannot hold a marker (Kafka drops it too).
        ErrorCode::UnsupportedForMessageFormat | ErrorCode::UnsupportedVersion => Outcome::Done,
        _ => Outcome::Retry,
    }
}

impl TransactionCoordinator {
    /// Runs the end of `txn` (in PrepareCommit or PrepareAbort) in the background.
    pub(super) fn spawn_markers(self: &Arc<Self>, txn: Txn) {
        let coordinator = Arc::clone(self);
        tokio::spawn(async move {
            let stop = txn.stop.clone();
            tokio::select! {
                () = stop.cancelled() => {}
                () = coordinator.finish(txn) => {}
            }
        });
    }

    async fn finish(self: &Arc<Self>, txn: Txn) {
        let (producer_id, producer_epoch, commit, partitions) = {
            let m = txn.lock();
            let commit = match m.state {
                TxnState::PrepareCommit => true,
                TxnState::PrepareAbort => false,
                _ => return,
            };
            (
                m.producer_id,
                m.producer_epoch,
                commit,
                m.partitions.clone(),
            )
        };
        let mut left: BTreeSet<(String, i32)> = partitions;
        let mut rounds = 0u32;
        while !left.is_empty() {
            if !self.still_owns(&txn) {
                return;
            }
            if rounds > 0 {
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
            rounds += 1;
            let md = self.replicas.metadata();
            let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
            for (topic, p) in &left {
                match md.partition(topic, *p) {
                    // The topic was deleted: nothing to mark.
                    None => {
                        by_leader.entry(-2).or_default().push((topic.clone(), *p));
                    }
                    Some(pm) if pm.leader >= 0 => {
                        by_leader
                            .entry(pm.leader)
                            .or_default()
                            .push((topic.clone(), *p));
                    }
                    Some(_) => {}
                }
            }
            if let Some(gone) = by_leader.remove(&-2) {
                for tp in gone {
                    debug!(transactional_id = %txn.id, topic = %tp.0, partition = tp.1, "partition gone; no marker needed");
                    left.remove(&tp);
                }
            }
            for (leader, parts) in by_leader {
                let request = WriteTxnMarkersRequest {
                    markers: vec![WritableTxnMarker {
                        producer_id,
                        producer_epoch,
                        transaction_result: commit,
                        topics: group_by_topic(&parts),
                        coordinator_epoch: txn.coordinator_epoch,
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                let answer = self
                    .peers
                    .call(
                        &md,
                        leader,
                        ApiKey::WriteTxnMarkers,
                        MARKERS_VERSION,
                        request.into(),
                    )
                    .await;
                let results = match answer {
                    Ok(ResponseBody::WriteTxnMarkers(r)) => r,
                    Ok(_) => continue,
                    Err(e) => {
                        debug!(transactional_id = %txn.id, leader, error = %e, "marker request failed; retrying");
                        continue;
                    }
                };
                for marker in results.markers {
                    for t in marker.topics {
                        for p in t.partitions {
                            let code = ErrorCode::from_code(p.error_code);
                            match outcome(code) {
                                Outcome::Done => {
                                    left.remove(&(t.name.clone(), p.partition_index));
                                }
                                Outcome::Retry => {
                                    if rounds % 100 == 1 {
                                        debug!(transactional_id = %txn.id, topic = %t.name, partition = p.partition_index, error = code.name(), "marker refused; retrying");
                                    }
                                }
                                Outcome::Fenced => {
                                    warn!(transactional_id = %txn.id, topic = %t.name, partition = p.partition_index, error = code.name(), "marker fenced; abandoning the transaction's completion");
                                    return;
                                }
                            }
                        }
                    }
                }
            }
        }
        self.complete(&txn).await;
    }

    /// Logs CompleteCommit/CompleteAbort, retrying while `__transaction_state` cannot take
    /// it, until this broker stops coordinating the partition.
    async fn complete(self: &Arc<Self>, txn: &Txn) {
        loop {
            let Some(value) = txn.lock().prepare_complete(now_ms()) else {
                return;
            };
            let state = value.state;
            match self.write(txn, value, false).await {
                Ok(()) => {
                    debug!(transactional_id = %txn.id, state = state.name(), "transaction complete");
                    return;
                }
                Err(ErrorCode::NotCoordinator) => return,
                Err(code) => {
                    debug!(transactional_id = %txn.id, error = code.name(), "cannot log the transaction's completion; retrying");
                    tokio::time::sleep(RETRY_BACKOFF).await;
                }
            }
        }
    }
}

fn group_by_topic(parts: &[(String, i32)]) -> Vec<WritableTxnMarkerTopic> {
    super::by_topic(parts)
        .into_iter()
        .map(|(name, partition_indexes)| WritableTxnMarkerTopic {
            name,
            partition_indexes,
            ..Default::default()
        })
        .collect()
}
