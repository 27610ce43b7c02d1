//! AddPartitionsToTxn: v0–v5.
//!
//! v0–v3 (producers): the partitions join the producer's open transaction on its
//! coordinator (see [`crate::txn_coordinator`]); one error for the whole request, repeated
//! per partition. A partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION and every
//! other one OPERATION_NOT_ATTEMPTED, with nothing added. v4+ (brokers, KIP-890) batches
//! transactions: `verify_only` answers per partition whether it is in the transaction
//! (NONE or TRANSACTION_ABORTABLE) without changing anything; otherwise it adds, as v0–v3,
//! for a Produce v12 of transactions v2 (KIP-890 part 2).
//! PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v2, which older clients know.

use streamctl_protocol::messages::add_partitions_to_txn::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopic,
    AddPartitionsToTxnTopicResult,
};
use streamctl_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers an AddPartitionsToTxn request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    if ctx.version() <= 3 {
        let codes = add(
            ctx,
            &req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id,
            req.v3_and_below_producer_epoch,
            false,
            &req.v3_and_below_topics,
        )
        .await;
        return AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: results(&req.v3_and_below_topics, codes),
            ..Default::default()
        };
    }
    let mut results_by_transaction = Vec::with_capacity(req.transactions.len());
    for t in &req.transactions {
        let codes = add(
            ctx,
            &t.transactional_id,
            t.producer_id,
            t.producer_epoch,
            t.verify_only,
            &t.topics,
        )
        .await;
        results_by_transaction.push(AddPartitionsToTxnResult {
            transactional_id: t.transactional_id.clone(),
            topic_results: results(&t.topics, codes),
            ..Default::default()
        });
    }
    AddPartitionsToTxnResponse {
        results_by_transaction,
        ..Default::default()
    }
}

/// One transaction's partitions, flattened in request order, and each one's error code.
async fn add(
    ctx: &RequestContext<'_>,
    id: &str,
    producer_id: i64,
    producer_epoch: i16,
    verify_only: bool,
    topics: &[AddPartitionsToTxnTopic],
) -> Vec<ErrorCode> {
    let partitions: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), *p)))
        .collect();
    let all = |code: ErrorCode| vec![code; partitions.len()];
    if id.is_empty() {
        return all(ErrorCode::InvalidRequest);
    }
    let md = ctx.broker.metadata();
    let unknown: Vec<bool> = partitions
        .iter()
        .map(|(t, p)| md.partition(t, *p).is_none())
        .collect();
    if unknown.iter().any(|u| *u) {
        return unknown
            .into_iter()
            .map(|u| {
                if u {
                    ErrorCode::UnknownTopicOrPartition
                } else {
                    ErrorCode::OperationNotAttempted
                }
            })
            .collect();
    }
    let txns = &ctx.broker.transactions;
    let codes = if verify_only {
        match txns.verify_partitions(id, producer_id, producer_epoch, &partitions) {
            Ok(codes) => codes,
            Err(code) => all(code),
        }
    } else {
        // From a partition leader (v4+), an add is transactions v2's implicit add.
        let client_version = if ctx.version() >= 4 { 2 } else { 0 };
        all(txns
            .add_partitions(id, producer_id, producer_epoch, &partitions, client_version)
            .await)
    };
    codes
        .into_iter()
        .map(|c| fenced_for_version(c, ctx.version(), 2))
        .collect()
}

/// PRODUCER_FENCED (KIP-588) as older versions know it: INVALID_PRODUCER_EPOCH below
/// `since`.
pub(crate) fn fenced_for_version(code: ErrorCode, version: i16, since: i16) -> ErrorCode {
    if code == ErrorCode::ProducerFenced && version < since {
        ErrorCode::InvalidProducerEpoch
    } else {
        code
    }
}

fn results(
    topics: &[AddPartitionsToTxnTopic],
    codes: Vec<ErrorCode>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut codes = codes.into_iter();
    topics
        .iter()
        .map(|t| AddPartitionsToTxnTopicResult {
            name: t.name.clone(),
            results_by_partition: t
                .partitions
                .iter()
                .map(|p| AddPartitionsToTxnPartitionResult {
                    partition_index: *p,
                    partition_error_code: codes.next().unwrap_or(ErrorCode::None).code(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: every partition of every transaction gets it (v4+ keeps the top-level code for errors
/// of the whole request). `None`: no answer can be built.
pub(crate) fn error_response(
    req: &AddPartitionsToTxnRequest,
    version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    let all = |topics: &[AddPartitionsToTxnTopic]| {
        let n = topics.iter().map(|t| t.partitions.len()).sum();
        results(topics, vec![code; n])
    };
    let response = if version <= 3 {
        AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: all(&req.v3_and_below_topics),
            ..Default::default()
        }
    } else {
        AddPartitionsToTxnResponse {
            results_by_transaction: req
                .transactions
                .iter()
                .map(|t| AddPartitionsToTxnResult {
                    transactional_id: t.transactional_id.clone(),
                    topic_results: all(&t.topics),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    };
    Some(response.into())
}
