//! Produce: v3–v11 (advertised from v0; older versions are refused by the codec).
//!
//! Validates each batch by header and CRC-32C (magic 2, record count, `max.message.bytes`),
//! assigns offsets by rewriting the base offset, stamps LogAppendTime when the topic asks for
//! it, and appends. Idempotent batches are checked by producer id, epoch and sequence
//! (duplicates are answered with their original offset). acks=0 sends no response; acks=1
//! answers after the leader's append; acks=-1 first requires `min.insync.replicas` in the
//! ISR (NOT_ENOUGH_REPLICAS, nothing written), then waits — on the partition's progress
//! watch, never blocking a thread — until every ISR member has the batch while the replica
//! still leads at the epoch it appended under, and checks `min.insync.replicas` again then
//! (NOT_ENOUGH_REPLICAS_AFTER_APPEND), or answers REQUEST_TIMED_OUT after `timeout_ms`
//! (`partition.rs` says why such an answer is true).
//! Transactional batches need the request's `transactional_id` (else every partition is
//! answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka answers an unauthorized one); a
//! non-transactional batch of a producer inside a transaction is INVALID_TXN_STATE, a control
//! batch INVALID_RECORD (only the coordinator writes markers, through WriteTxnMarkers).
//! Not implemented: KIP-890 verification that the partition was added to the transaction
//! (as Kafka with `transaction.partition.verification.enable=false`).

use streamctl_protocol::messages::produce::{ProduceResponsePartition, ProduceResponseTopic};
use streamctl_protocol::messages::{ProduceRequest, ProduceResponse};
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::ErrorCode;
use tracing::debug;

use super::RequestContext;
use std::sync::Arc;

use crate::error::ApiError;
use crate::partition::Partition;

/// Versions served.
pub const VERSIONS: (i16, i16) = (3, 11);

/// Answers a Produce request; `None` for acks=0.
pub async fn handle(ctx: &RequestContext<'_>, req: ProduceRequest) -> Option<ProduceResponse> {
    let broker = ctx.broker;
    let refusal = refusal(&req);
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let mut appended = false;
    // acks=all: (topic index, partition index, replica, last offset, epoch, min ISR).
    let mut pending = Vec::new();
    for topic in &req.topic_data {
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for pd in &topic.partition_data {
            let result = if let Some(e) = &refusal {
                Err(e.clone())
            } else {
                append(
                    ctx,
                    &topic.name,
                    pd.index,
                    pd.records.as_ref(),
                    req.acks == -1,
                )
            };
            partitions.push(match result {
                Ok((info, replica, min_isr)) => {
                    appended = true;
                    let bytes = pd.records.as_ref().map_or(0, bytes::Bytes::len);
                    broker.metrics.record_produce(bytes, info.last_offset - info.base_offset + 1);
                    if req.acks == -1 {
                        pending.push((responses.len(), partitions.len(), replica, info.last_offset, info.leader_epoch, min_isr));
                    }
                    ProduceResponsePartition {
                        index: pd.index,
                        base_offset: info.base_offset,
                        log_append_time_ms: info.log_append_time,
                        log_start_offset: info.log_start_offset,
                        ..Default::default()
                    }
                }
                Err(e) => {
                    debug!(broker = broker.node_id, topic = %topic.name, partition = pd.index, error = %e, "produce refused");
                    ProduceResponsePartition {
                        index: pd.index,
                        error_code: e.code.code(),
                        base_offset: -1,
                        error_message: Some(e.message),
                        ..Default::default()
                    }
                }
            });
        }
        responses.push(ProduceResponseTopic {
            name: topic.name.clone(),
            partition_responses: partitions,
            ..Default::default()
        });
    }
    if appended {
        broker.replicas.data_arrived.notify_waiters();
    }
    let timeout = std::time::Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    for (t, p, replica, last_offset, epoch, min_isr) in pending {
        if let Err(e) = replica
            .wait_for_commit(last_offset, epoch, min_isr, deadline)
            .await
        {
            if let Some(part) = responses
                .get_mut(t)
                .and_then(|t: &mut ProduceResponseTopic| t.partition_responses.get_mut(p))
            {
                part.error_code = e.code.code();
                part.error_message = Some(e.message);
            }
        }
    }
    (req.acks != 0).then(|| ProduceResponse {
        responses,
        ..Default::default()
    })
}

/// Why the whole request is refused, if it is.
fn refusal(req: &ProduceRequest) -> Option<ApiError> {
    if !(-1..=1).contains(&req.acks) {
        return Some(ApiError::new(
            ErrorCode::InvalidRequiredAcks,
            format!("acks must be -1, 0 or 1, got {}", req.acks),
        ));
    }
    let transactional = req.topic_data.iter().any(|t| {
        t.partition_data.iter().any(|p| {
            p.records.as_ref().is_some_and(|r| {
                RecordBatches::new(r.clone())
                    .flatten()
                    .any(|b| b.is_transactional())
            })
        })
    });
    (transactional && req.transactional_id.is_none()).then(|| {
        ApiError::new(
            ErrorCode::TransactionalIdAuthorizationFailed,
            "transactional batches need the request's transactional_id",
        )
    })
}

/// Appends to the local leader replica; returns what was appended, the replica, and the
/// `min.insync.replicas` an acks=all request must see.
fn append(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    records: Option<&bytes::Bytes>,
    acks_all: bool,
) -> Result<(crate::partition::AppendInfo, Arc<Partition>, usize), ApiError> {
    let leader = ctx.broker.replicas.leader_replica(topic, partition)?;
    let records =
        records.ok_or_else(|| ApiError::new(ErrorCode::CorruptMessage, "null records"))?;
    let min_isr = if acks_all {
        leader.config.min_insync_replicas()
    } else {
        0
    };
    let info = leader
        .partition
        .append_as_leader(records, &leader.config, min_isr)?;
    Ok((info, leader.partition, min_isr))
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::ProduceRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::produce::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = {
        if req.acks == 0 {
            return None;
        }
        ProduceResponse {
            responses: req
                .topic_data
                .iter()
                .map(|t| ProduceResponseTopic {
                    name: t.name.clone(),
                    partition_responses: t
                        .partition_data
                        .iter()
                        .map(|p| ProduceResponsePartition {
                            index: p.index,
                            error_code,
                            base_offset: -1,
                            error_message: message(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into()
    };
    Some(response)
}
