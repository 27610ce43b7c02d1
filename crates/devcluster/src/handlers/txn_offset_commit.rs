//! TxnOffsetCommit: v0–v5.
//!
//! Offsets committed inside a transaction, sent to the group's coordinator (after
//! AddOffsetsToTxn put the group's partition in the transaction). They are written to
//! `__consumer_offsets` in a transactional batch of the producer and stay invisible to
//! OffsetFetch until the producer's marker lands there: COMMIT makes them the group's
//! offsets, ABORT drops them (see `coordinator/group/txn_offsets.rs`). Member checks from v3
//! (generation, member id, instance id) follow Kafka: an empty member id or a negative
//! generation skips them, and a negative generation creates an unknown group. Unknown
//! partitions answer UNKNOWN_TOPIC_OR_PARTITION; below v2 COORDINATOR_LOAD_IN_PROGRESS is
//! answered as COORDINATOR_NOT_AVAILABLE. From v5 (KIP-890 part 2, transactions v2, where
//! clients skip AddOffsetsToTxn) the group coordinator first has the transaction coordinator
//! add the group's `__consumer_offsets` partition to the transaction, with Kafka's mapping of
//! that call's errors. Not implemented: verification that the partition is in the
//! transaction below v5.

use streamctl_protocol::messages::txn_offset_commit::{
    TxnOffsetCommitRequestTopic, TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use streamctl_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::coordinator::actor::{CommitArgs, OffsetCommit};
use crate::coordinator::records::OFFSETS_TOPIC;
use crate::txn_coordinator::Ask;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a TxnOffsetCommit request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let md = ctx.broker.metadata();
    let mut codes: Vec<Vec<ErrorCode>> = Vec::with_capacity(req.topics.len());
    let mut sent = Vec::new();
    let mut offsets = Vec::new();
    for (t, topic) in req.topics.iter().enumerate() {
        let mut topic_codes = Vec::with_capacity(topic.partitions.len());
        for (p, part) in topic.partitions.iter().enumerate() {
            if md.partition(&topic.name, part.partition_index).is_none() {
                topic_codes.push(ErrorCode::UnknownTopicOrPartition);
                continue;
            }
            topic_codes.push(ErrorCode::None);
            sent.push((t, p));
            offsets.push(OffsetCommit {
                topic: topic.name.clone(),
                partition: part.partition_index,
                offset: part.committed_offset,
                leader_epoch: part.committed_leader_epoch,
                metadata: part.committed_metadata.clone(),
            });
        }
        codes.push(topic_codes);
    }
    if !offsets.is_empty() {
        let added = if ctx.version() >= 5 && !req.group_id.is_empty() {
            add_offsets_partition(ctx, &req).await
        } else {
            ErrorCode::None
        };
        let results = if req.group_id.is_empty() {
            vec![ErrorCode::InvalidGroupId; offsets.len()]
        } else if !added.is_ok() {
            vec![added; offsets.len()]
        } else {
            let args = CommitArgs {
                generation_id: req.generation_id,
                member_id: req.member_id.clone(),
                group_instance_id: req.group_instance_id.clone(),
                transaction: Some((req.producer_id, req.producer_epoch)),
                api_version: ctx.version(),
            };
            ctx.broker
                .coordinator
                .txn_commit(&req.group_id, args, offsets)
                .await
        };
        for ((t, p), code) in sent.into_iter().zip(results) {
            let code = if code == ErrorCode::CoordinatorLoadInProgress && ctx.version() < 2 {
                ErrorCode::CoordinatorNotAvailable
            } else {
                code
            };
            if let Some(slot) = codes.get_mut(t).and_then(|c| c.get_mut(p)) {
                *slot = code;
            }
        }
    }
    TxnOffsetCommitResponse {
        topics: answer(&req.topics, |t, p| {
            codes
                .get(t)
                .and_then(|c| c.get(p))
                .copied()
                .unwrap_or(ErrorCode::None)
        }),
        ..Default::default()
    }
}

/// Transactions v2: the transaction coordinator adds the group's offsets partition to the
/// producer's transaction (what AddOffsetsToTxn did under v1). Its errors as the group
/// coordinator reports them (Kafka's `CoordinatorOperationExceptionHelper`).
async fn add_offsets_partition(ctx: &RequestContext<'_>, req: &TxnOffsetCommitRequest) -> ErrorCode {
    let partition = match ctx.broker.coordinator.offsets_partition(&req.group_id) {
        Ok(p) => p,
        Err(e) => return e.code,
    };
    let codes = ctx
        .broker
        .transactions
        .ask_coordinator(
            Ask::Add,
            &req.transactional_id,
            req.producer_id,
            req.producer_epoch,
            &[(OFFSETS_TOPIC.to_string(), partition)],
        )
        .await;
    match codes.first().copied().unwrap_or(ErrorCode::UnknownServerError) {
        ErrorCode::NetworkException => ErrorCode::CoordinatorLoadInProgress,
        ErrorCode::NotEnoughReplicas
        | ErrorCode::UnknownTopicOrPartition
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
        other => other,
    }
}

fn answer(
    topics: &[TxnOffsetCommitRequestTopic],
    code: impl Fn(usize, usize) -> ErrorCode,
) -> Vec<TxnOffsetCommitResponseTopic> {
    topics
        .iter()
        .enumerate()
        .map(|(t, topic)| TxnOffsetCommitResponseTopic {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .enumerate()
                .map(|(p, part)| TxnOffsetCommitResponsePartition {
                    partition_index: part.partition_index,
                    error_code: code(t, p).code(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: every partition gets it. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &TxnOffsetCommitRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        TxnOffsetCommitResponse {
            topics: answer(&req.topics, |_, _| code),
            ..Default::default()
        }
        .into(),
    )
}
