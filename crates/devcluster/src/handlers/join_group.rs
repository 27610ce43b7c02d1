//! JoinGroup: v0–v9 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE (generation -1, no leader, the caller's member id echoed,
//! protocol name "" before v7 and null from v7, as Kafka's error answer), so a client that
//! reached this broker without FindCoordinator retries instead of failing.
//! Not implemented: the group coordinator (membership, rebalances, KIP-394 member ids).

use streamctl_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 9);

/// Answers a JoinGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: ErrorCode::CoordinatorNotAvailable.code(),
        generation_id: -1,
        protocol_type: None,
        // Non-nullable before v7.
        protocol_name: (ctx.version() < 7).then(String::new),
        leader: String::new(),
        member_id: req.member_id,
        members: Vec::new(),
        ..Default::default()
    }
}
