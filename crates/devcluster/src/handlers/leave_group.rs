//! LeaveGroup: v0–v5.
//!
//! Removes members from the group, which rebalances (or becomes Empty). v0–v2 name one
//! `member_id` and report its error at the top level; v3+ batch `members` (KIP-345), a static
//! member may leave by `group.instance.id` alone, and each gets its own error, with the top
//! level reserved for group errors (NOT_COORDINATOR, ...).

use streamctl_protocol::messages::leave_group::LeaveGroupResponseMember;
use streamctl_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::coordinator::group::MemberIdentity;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a LeaveGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let batched = ctx.version() >= 3;
    let members: Vec<MemberIdentity> = if batched {
        req.members
            .iter()
            .map(|m| MemberIdentity {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
            })
            .collect()
    } else {
        vec![MemberIdentity {
            member_id: req.member_id.clone(),
            group_instance_id: None,
        }]
    };
    let (error, errors) = ctx
        .broker
        .coordinator.leave(&req.group_id, members.clone())
        .await;
    if !batched {
        let member_error = errors.first().copied().unwrap_or(ErrorCode::None);
        let top = if error.is_ok() { member_error } else { error };
        return LeaveGroupResponse {
            error_code: top.code(),
            ..Default::default()
        };
    }
    LeaveGroupResponse {
        error_code: error.code(),
        members: members
            .into_iter()
            .zip(errors)
            .map(|(m, e)| LeaveGroupResponseMember {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                error_code: e.code(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::LeaveGroupRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::leave_group::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = LeaveGroupResponse {
        error_code,
        members: req
            .members
            .iter()
            .map(|m| LeaveGroupResponseMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                error_code,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
