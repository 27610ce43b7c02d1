//! ListTransactions: v0–v1.
//!
//! The transactional ids this broker coordinates (clients ask every broker), filtered by state
//! names (unknown names are echoed in `unknown_state_filters`), producer ids and, from v1, a
//! running time (`duration_filter` ms: started longer ago than that).
//! While a `__transaction_state` partition is loading the answer is
//! COORDINATOR_LOAD_IN_PROGRESS with no transactions, as in Kafka.

use streamctl_protocol::messages::list_transactions::ListTransactionsResponseTransactionState;
use streamctl_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::partition::now_ms;
use crate::txn_coordinator::metadata::TxnState;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

/// Every state name a filter may use.
const STATES: &[TxnState] = &[
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

/// Answers a ListTransactions request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let unknown_state_filters: Vec<String> = req
        .state_filters
        .iter()
        .filter(|f| !STATES.iter().any(|s| s.name() == f.as_str()))
        .cloned()
        .collect();
    let all = match ctx.broker.transactions.list() {
        Ok(all) => all,
        Err(code) => {
            return ListTransactionsResponse {
                error_code: code.code(),
                unknown_state_filters,
                ..Default::default()
            }
        }
    };
    let now = now_ms();
    let transaction_states = all
        .into_iter()
        .filter(|(_, _, state, _)| *state != TxnState::Dead)
        .filter(|(_, _, state, _)| {
            req.state_filters.is_empty() || req.state_filters.iter().any(|f| f == state.name())
        })
        .filter(|(_, pid, _, _)| {
            req.producer_id_filters.is_empty() || req.producer_id_filters.contains(pid)
        })
        // Kafka's test, whatever the state: running (since its start time) longer than it.
        .filter(|(_, _, _, start)| req.duration_filter < 0 || now - *start > req.duration_filter)
        .map(|(id, pid, state, _)| ListTransactionsResponseTransactionState {
            transactional_id: id,
            producer_id: pid,
            transaction_state: state.name().to_string(),
            ..Default::default()
        })
        .collect();
    ListTransactionsResponse {
        unknown_state_filters,
        transaction_states,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the top-level error. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &ListTransactionsRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        ListTransactionsResponse {
            error_code: code.code(),
            ..Default::default()
        }
        .into(),
    )
}
