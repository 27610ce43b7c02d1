//! FindCoordinator: v0–v4.
//!
//! Key type 0 (group): the coordinator is the leader of the group's `__consumer_offsets`
//! partition (`abs(java_hash(group)) % partitions`); the topic is created on the first
//! request, as Kafka does (see [`crate::coordinator`]). A partition without a live leader
//! answers COORDINATOR_NOT_AVAILABLE, which clients retry. v0–v3 carry one `key`; v4 batches
//! `coordinator_keys` (KIP-699), each answered on its own. The group id is not validated
//! here (an empty one maps to partition 0), as in Kafka.
//! Key type 1 (transaction): the leader of the id's `__transaction_state` partition, the
//! topic created on first use in the same way (see [`crate::txn_coordinator`]). Other key
//! types are INVALID_REQUEST.

use streamctl_protocol::messages::find_coordinator::FindCoordinatorResponseCoordinator;
use streamctl_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers a FindCoordinator request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if ctx.version() >= 4 {
        return FindCoordinatorResponse {
            coordinators: req
                .coordinator_keys
                .iter()
                .map(|key| {
                    let (node_id, host, port, error_code, error_message) =
                        answer(find(ctx, req.key_type, key));
                    FindCoordinatorResponseCoordinator {
                        key: key.clone(),
                        node_id,
                        host,
                        port,
                        error_code,
                        error_message,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        };
    }
    let (node_id, host, port, error_code, error_message) =
        answer(find(ctx, req.key_type, &req.key));
    FindCoordinatorResponse {
        error_code,
        error_message,
        node_id,
        host,
        port,
        ..Default::default()
    }
}

fn find(ctx: &RequestContext<'_>, key_type: i8, key: &str) -> Result<(i32, String, i32), ApiError> {
    match key_type {
        0 => ctx.broker.coordinator.find_coordinator(key),
        1 => ctx.broker.transactions.find_coordinator(key),
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("unknown coordinator key type {other}"),
        )),
    }
}

/// (node id, host, port, error code, error message); an error names no node (-1, "", -1).
fn answer(found: Result<(i32, String, i32), ApiError>) -> (i32, String, i32, i16, Option<String>) {
    match found {
        Ok((node, host, port)) => (node, host, port, 0, None),
        Err(e) => (-1, String::new(), -1, e.code.code(), Some(e.message)),
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::FindCoordinatorRequest,
    version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::find_coordinator::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = if version >= 4 {
        FindCoordinatorResponse {
            coordinators: req
                .coordinator_keys
                .iter()
                .map(|key| FindCoordinatorResponseCoordinator {
                    key: key.clone(),
                    node_id: -1,
                    host: String::new(),
                    port: -1,
                    error_code,
                    error_message: message(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    } else {
        FindCoordinatorResponse {
            error_code,
            error_message: message(),
            node_id: -1,
            host: String::new(),
            port: -1,
            ..Default::default()
        }
    }
    .into();
    Some(response)
}
