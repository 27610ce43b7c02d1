//! Heartbeat: v0–v4.
//!
//! Keeps the member's session alive. Answers REBALANCE_IN_PROGRESS while the group prepares a
//! rebalance (the member must rejoin), ILLEGAL_GENERATION for a stale generation,
//! UNKNOWN_MEMBER_ID for a member the group does not know (expired, or the group is empty),
//! FENCED_INSTANCE_ID for a replaced static member (v3+). While the coordinator is loading the
//! group it answers NONE, so members keep their sessions, as Kafka does.

use streamctl_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::RequestContext;
use crate::coordinator::group::MemberIdentity;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers a Heartbeat request.
pub async fn handle(ctx: &RequestContext<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    let member = MemberIdentity {
        member_id: req.member_id,
        group_instance_id: req.group_instance_id,
    };
    let error = ctx
        .broker
        .coordinator
        .heartbeat(ctx.broker, &req.group_id, member, req.generation_id)
        .await;
    HeartbeatResponse {
        error_code: error.code(),
        ..Default::default()
    }
}
