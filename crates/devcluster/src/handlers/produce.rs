//! Produce: v3–v12 (advertised from v0; older versions are refused by the codec).
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
//! Before a producer's first transactional batch on a partition, the partition's inclusion in
//! the transaction is verified with its coordinator (KIP-890 part 1), or from v12 added by it
//! (part 2); see `verify`.

use streamctl_protocol::messages::produce::{ProduceResponsePartition, ProduceResponseTopic};
use streamctl_protocol::messages::{ProduceRequest, ProduceResponse};
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::ErrorCode;
use tracing::debug;

use super::RequestContext;
use std::sync::Arc;

use crate::error::ApiError;
use crate::partition::{Partition, Verification};
use crate::txn_coordinator::Ask;
use std::collections::HashMap;

/// Versions served.
pub const VERSIONS: (i16, i16) = (3, 12);

/// Answers a Produce request; `None` for acks=0.
pub async fn handle(ctx: &RequestContext<'_>, req: ProduceRequest) -> Option<ProduceResponse> {
    let broker = ctx.broker;
    let refusal = refusal(&req);
    let verified = match (&refusal, req.transactional_id.as_deref()) {
        (None, Some(id)) => verify(ctx, &req, id).await,
        _ => HashMap::new(),
    };
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
                match verified.get(&(topic.name.clone(), pd.index)) {
                    Some(Err(e)) => Err(e.clone()),
                    Some(Ok(v)) => append(
                        ctx,
                        &topic.name,
                        pd.index,
                        pd.records.as_ref(),
                        req.acks == -1,
                        Some(*v),
                    ),
                    None => append(
                        ctx,
                        &topic.name,
                        pd.index,
                        pd.records.as_ref(),
                        req.acks == -1,
                        None,
                    ),
                }
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

/// KIP-890 (`transaction.partition.verification.enable`, on as in Kafka): before a
/// producer's first transactional batch on a partition, its transaction coordinator must
/// confirm the partition is in the transaction (part 1, Produce ≤ v11: the client added it),
/// or add it (part 2, Produce v12+: transactions v2, where clients no longer add
/// partitions). Either way a batch arriving after its transaction ended (a delayed retry, a
/// zombie) cannot open a transaction nothing will end. One question per producer for every
/// partition of the request. Per partition: the verification to append with, or the
/// refusal: TRANSACTION_ABORTABLE (v11+) or INVALID_TXN_STATE (older) when the partition is
/// not in the transaction, INVALID_PRODUCER_EPOCH when the producer was fenced,
/// CONCURRENT_TRANSACTIONS (v12+, after a short retry here) while the previous transaction is
/// still ending, NOT_ENOUGH_REPLICAS (which every client retries) while the coordinator cannot
/// say.
async fn verify(
    ctx: &RequestContext<'_>,
    req: &ProduceRequest,
    id: &str,
) -> HashMap<(String, i32), Result<Verification, ApiError>> {
    let mut out = HashMap::new();
    let ask = if ctx.version() >= 12 {
        Ask::Add
    } else {
        Ask::Verify
    };
    // (producer id, epoch) → the partitions to ask about, with their guards.
    type Asks = HashMap<(i64, i16), Vec<((String, i32), u64)>>;
    let mut asks: Asks = HashMap::new();
    for t in &req.topic_data {
        for pd in &t.partition_data {
            let Some(batch) = pd.records.as_ref().and_then(|r| {
                RecordBatches::new(r.clone())
                    .flatten()
                    .find(|b| b.is_transactional())
            }) else {
                continue;
            };
            // A partition this broker does not lead is refused by the append itself.
            let Ok(leader) = ctx.broker.replicas.leader_replica(&t.name, pd.index) else {
                continue;
            };
            let (pid, epoch) = (batch.producer_id(), batch.producer_epoch());
            let key = (t.name.clone(), pd.index);
            match leader
                .partition
                .start_verification(pid, epoch, ask == Ask::Add)
            {
                Err(e) => {
                    out.insert(key, Err(e));
                }
                Ok(None) => {
                    let open = Verification {
                        producer_id: pid,
                        guard: None,
                    };
                    out.insert(key, Ok(open));
                }
                Ok(Some(guard)) => asks.entry((pid, epoch)).or_default().push((key, guard)),
            }
        }
    }
    for ((pid, epoch), parts) in asks {
        let keys: Vec<(String, i32)> = parts.iter().map(|(k, _)| k.clone()).collect();
        let codes = ctx
            .broker
            .transactions
            .ask_coordinator(ask, id, pid, epoch, &keys)
            .await;
        for ((key, guard), code) in parts.into_iter().zip(codes) {
            let result = match code {
                ErrorCode::None => Ok(Verification {
                    producer_id: pid,
                    guard: Some(guard),
                }),
                other => Err(verification_error(other, ctx.version(), &key)),
            };
            out.insert(key, result);
        }
    }
    out
}

/// The produce error for a failed verification (Kafka's `ReplicaManager` and
/// `AddPartitionsToTxnManager`).
fn verification_error(code: ErrorCode, version: i16, (topic, p): &(String, i32)) -> ApiError {
    let mapped = match code {
        ErrorCode::TransactionAbortable if version < 11 => ErrorCode::InvalidTxnState,
        ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
        // Produce v12 knows it (retriable); older clients hear what they retry.
        ErrorCode::ConcurrentTransactions if version >= 12 => ErrorCode::ConcurrentTransactions,
        ErrorCode::ConcurrentTransactions
        | ErrorCode::NetworkException
        | ErrorCode::CoordinatorNotAvailable
        | ErrorCode::CoordinatorLoadInProgress
        | ErrorCode::NotCoordinator => ErrorCode::NotEnoughReplicas,
        other => other,
    };
    ApiError::new(
        mapped,
        format!(
            "{topic}-{p}: the transaction coordinator did not confirm the partition is in the transaction ({})",
            code.name()
        ),
    )
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
    verification: Option<Verification>,
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
        .append_verified(records, &leader.config, min_isr, verification)?;
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
