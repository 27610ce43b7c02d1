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
        .coordinator.heartbeat(&req.group_id, member, req.generation_id)
        .await;
    HeartbeatResponse {
        error_code: error.code(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &streamctl_protocol::messages::HeartbeatRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::heartbeat::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = HeartbeatResponse {
        error_code,
        ..Default::default()
    }
    .into();
    Some(response)
}
