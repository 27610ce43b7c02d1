//! FindCoordinator: v0–v4 — placeholder until the group coordinator lands.
//!
//! Every key (v0–v3: `key`; v4: each of `coordinator_keys`, KIP-699) answers
//! COORDINATOR_NOT_AVAILABLE with no node (-1, "", -1) and a message saying why. Clients treat
//! the error as retriable, so a consumer group waits (and reports the message) instead of
//! failing on an unknown API. An unknown `key_type` answers INVALID_REQUEST.
//! Not implemented: the group coordinator (groups live in `__consumer_offsets`, DESIGN
//! decision 5) and the transaction coordinator.

use streamctl_protocol::messages::find_coordinator::FindCoordinatorResponseCoordinator;
use streamctl_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Why there is no group coordinator to point at.
pub const GROUP_COORDINATOR_MISSING: &str =
    "the group coordinator is not implemented yet in this dev cluster";

/// Why there is no transaction coordinator to point at.
const TRANSACTION_COORDINATOR_MISSING: &str =
    "the transaction coordinator is not implemented yet in this dev cluster";

/// Answers a FindCoordinator request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let (code, message) = match req.key_type {
        0 => (
            ErrorCode::CoordinatorNotAvailable,
            GROUP_COORDINATOR_MISSING.to_string(),
        ),
        1 => (
            ErrorCode::CoordinatorNotAvailable,
            TRANSACTION_COORDINATOR_MISSING.to_string(),
        ),
        other => (
            ErrorCode::InvalidRequest,
            format!("unknown coordinator key type {other}"),
        ),
    };
    if ctx.version() >= 4 {
        return FindCoordinatorResponse {
            coordinators: req
                .coordinator_keys
                .iter()
                .map(|key| FindCoordinatorResponseCoordinator {
                    key: key.clone(),
                    node_id: -1,
                    host: String::new(),
                    port: -1,
                    error_code: code.code(),
                    error_message: Some(message.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
    }
    FindCoordinatorResponse {
        error_code: code.code(),
        error_message: Some(message),
        node_id: -1,
        host: String::new(),
        port: -1,
        ..Default::default()
    }
}
