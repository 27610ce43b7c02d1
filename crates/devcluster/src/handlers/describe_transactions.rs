//! DescribeTransactions: v0.
//!
//! Each transactional id this broker coordinates, as its coordinator knows it: state, timeout,
//! start time, producer id and epoch, and the partitions of the open transaction. An empty id
//! is INVALID_REQUEST, an id of another coordinator NOT_COORDINATOR, one not loaded yet
//! COORDINATOR_LOAD_IN_PROGRESS, an unknown one TRANSACTIONAL_ID_NOT_FOUND (Kafka's rules).

use streamctl_protocol::messages::describe_transactions::{
    DescribeTransactionsResponseTopicData, DescribeTransactionsResponseTransactionState,
};
use streamctl_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::txn_coordinator::by_topic;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

/// Answers a DescribeTransactions request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let transaction_states = req
        .transactional_ids
        .iter()
        .map(|id| {
            let described = if id.is_empty() {
                Err(ErrorCode::InvalidRequest)
            } else {
                ctx.broker.transactions.describe(id)
            };
            match described {
                Ok(m) => {
                    let topics = by_topic(&m.partitions)
                        .into_iter()
                        .map(|(topic, partitions)| DescribeTransactionsResponseTopicData {
                            topic,
                            partitions,
                            ..Default::default()
                        })
                        .collect();
                    DescribeTransactionsResponseTransactionState {
                        error_code: 0,
                        transactional_id: id.clone(),
                        transaction_state: m.state.name().to_string(),
                        transaction_timeout_ms: m.timeout_ms,
                        transaction_start_time_ms: m.start_ms,
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                        topics,
                        ..Default::default()
                    }
                }
                Err(code) => refused(id, code),
            }
        })
        .collect();
    DescribeTransactionsResponse {
        transaction_states,
        ..Default::default()
    }
}

fn refused(id: &str, code: ErrorCode) -> DescribeTransactionsResponseTransactionState {
    DescribeTransactionsResponseTransactionState {
        error_code: code.code(),
        transactional_id: id.to_string(),
        transaction_start_time_ms: -1,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: every id gets it. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &DescribeTransactionsRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        DescribeTransactionsResponse {
            transaction_states: req
                .transactional_ids
                .iter()
                .map(|id| refused(id, code))
                .collect(),
            ..Default::default()
        }
        .into(),
    )
}
