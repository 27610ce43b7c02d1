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
        .coordinator.sync(&req.group_id, args)
        .await;
    SyncGroupResponse {
        error_code: result.error.code(),
        protocol_type: result.protocol_type,
        protocol_name: result.protocol_name,
        assignment: result.assignment,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &streamctl_protocol::messages::SyncGroupRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::sync_group::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = SyncGroupResponse {
        error_code,
        protocol_type: None,
        protocol_name: None,
        ..Default::default()
    }
    .into();
    Some(response)
}
