//! SyncGroup: v0–v5.
//!
//! Followers wait here until the leader's assignment arrives and is stored in
//! `__consumer_offsets` (replicated to the in-sync replicas); then every member gets its own
//! part and the group is Stable. A stable group answers at once with the member's current
//! assignment. v3 adds static membership (FENCED_INSTANCE_ID for a replaced member); v5
//! checks the protocol type and name against the group's (INCONSISTENT_GROUP_PROTOCOL) and
//! echoes them. While the coordinator is still loading, the answer is REBALANCE_IN_PROGRESS
//! (the member rejoins), as in Kafka.

use streamctl_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::RequestContext;
use crate::coordinator::group::SyncArgs;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a SyncGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    let args = SyncArgs {
        generation_id: req.generation_id,
        member_id: req.member_id,
        group_instance_id: req.group_instance_id,
        protocol_type: req.protocol_type,
        protocol_name: req.protocol_name,
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect(),
    };
    let result = ctx
        .broker
        .coordinator
        .sync(ctx.broker, &req.group_id, args)
        .await;
    SyncGroupResponse {
        error_code: result.error.code(),
        protocol_type: result.protocol_type,
        protocol_name: result.protocol_name,
        assignment: result.assignment,
        ..Default::default()
    }
}
