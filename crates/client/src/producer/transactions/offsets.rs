//! TxnOffsetCommit, the group coordinator's half of `send_offsets_to_transaction`: the
//! consumer's offsets written in the producer's transaction (at v5 under transactions v2,
//! which has the group's partition added to the transaction on the way).

use streamctl_protocol::messages::txn_offset_commit::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use streamctl_protocol::messages::TxnOffsetCommitRequest;
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;

use super::super::idempotence::ProducerIdentity;
use super::super::ProducerInner;
use super::{abortable, fatal, V2_TXN_OFFSET_COMMIT};
use crate::consumer::offsets::find_coordinator;
use crate::consumer::{ConsumerGroupMetadata, TopicPartition};
use crate::error::{Error, Result};

/// TxnOffsetCommit to the group's coordinator, retried while it moves or loads.
pub(super) async fn txn_offset_commit(
    inner: &ProducerInner,
    transactional_id: &str,
    identity: ProducerIdentity,
    offsets: &[(TopicPartition, i64)],
    group: &ConsumerGroupMetadata,
    v2: bool,
) -> Result<()> {
    let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
    for (tp, offset) in offsets {
        let p = TxnOffsetCommitRequestPartition {
            partition_index: tp.partition,
            committed_offset: *offset,
            committed_leader_epoch: -1,
            committed_metadata: Some(String::new()),
            ..Default::default()
        };
        match topics.iter_mut().find(|t| t.name == tp.topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(TxnOffsetCommitRequestTopic {
                name: tp.topic.clone(),
                partitions: vec![p],
                ..Default::default()
            }),
        }
    }
    let request = TxnOffsetCommitRequest {
        transactional_id: transactional_id.to_string(),
        group_id: group.group_id.clone(),
        producer_id: identity.id,
        producer_epoch: identity.epoch,
        generation_id: group.generation_id,
        member_id: group.member_id.clone(),
        group_instance_id: group.group_instance_id.clone(),
        topics,
        ..Default::default()
    };
    let config = inner.cluster.config();
    let deadline = Instant::now() + inner.config.max_block;
    let mut pause = config.retry_backoff;
    loop {
        let result = match find_coordinator(&inner.cluster, &group.group_id).await {
            Ok(conn) if v2 => {
                conn.call_at(
                    request.clone(),
                    V2_TXN_OFFSET_COMMIT,
                    config.request_timeout,
                )
                .await
            }
            Ok(conn) => conn.call(request.clone()).await,
            Err(e) => Err(e),
        };
        let code = match result {
            Ok(resp) => resp
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter())
                .map(|p| ErrorCode::from_code(p.error_code))
                .find(|c| !c.is_ok())
                .unwrap_or(ErrorCode::None),
            Err(e) if e.is_retriable() => ErrorCode::CoordinatorNotAvailable,
            Err(e) => return Err(e),
        };
        match code {
            ErrorCode::None => return Ok(()),
            // CONCURRENT_TRANSACTIONS (v5): the previous transaction is still ending.
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::RequestTimedOut
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::ConcurrentTransactions => {}
            ErrorCode::ProducerFenced
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::TransactionalIdAuthorizationFailed => {
                return Err(fatal(format!("TxnOffsetCommit: {}", code.name())))
            }
            other => return Err(abortable(format!("TxnOffsetCommit: {}", other.name()))),
        }
        if Instant::now() + pause > deadline {
            return Err(Error::Timeout {
                what: format!("TxnOffsetCommit (last error: {})", code.name()),
                timeout: inner.config.max_block,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(config.retry_backoff_max);
    }
}
