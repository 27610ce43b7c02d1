//! LeaveGroup: v0–v5 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE at the top level with no per-member results, which is
//! how Kafka reports a group-level error for the batched form (v3+) too.
//! Not implemented: the group coordinator (member removal, static members).

use streamctl_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a LeaveGroup request.
pub async fn handle(_ctx: &RequestContext<'_>, _req: LeaveGroupRequest) -> LeaveGroupResponse {
    LeaveGroupResponse {
        error_code: ErrorCode::CoordinatorNotAvailable.code(),
        members: Vec::new(),
        ..Default::default()
    }
}
