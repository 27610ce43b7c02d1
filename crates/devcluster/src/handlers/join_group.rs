//! JoinGroup: v0–v9.
//!
//! Adds the member to a rebalance of the group and answers when the join phase completes
//! (every known member rejoined, or the rebalance timeout expelled the rest): the
//! generation, the selected protocol, the leader, and for the leader every member's
//! metadata. From v4 a dynamic member's first join (empty member id) is answered
//! MEMBER_ID_REQUIRED with the id to rejoin with (KIP-394); v5 adds static membership
//! (`group.instance.id`, KIP-345); v0 has no rebalance timeout (the session timeout is used);
//! protocol type and name are nullable from v7. The state machine is
//! [`crate::coordinator::group`].
//! Not implemented: `group.max.size`; v8's `reason` is only logged; KIP-814's
//! `skip_assignment` is sent only to a static leader replacing itself in a stable group.

use streamctl_protocol::messages::join_group::JoinGroupResponseMember;
use streamctl_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use tracing::debug;

use super::RequestContext;
use crate::coordinator::group::JoinArgs;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 9);

/// Answers a JoinGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = ctx.version();
    if let Some(reason) = &req.reason {
        debug!(broker = ctx.broker.node_id, group = %req.group_id, member = %req.member_id, reason = %reason, "join");
    }
    let args = JoinArgs {
        member_id: req.member_id,
        group_instance_id: req.group_instance_id.clone(),
        client_id: ctx.client_id().to_string(),
        client_host: ctx.client_host(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version == 0 || req.rebalance_timeout_ms < 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type,
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        require_known_member_id: version >= 4 && req.group_instance_id.is_none(),
        supports_skip_assignment: version >= 9,
    };
    let result = ctx
        .broker
        .coordinator.join(&req.group_id, args)
        .await;
    JoinGroupResponse {
        error_code: result.error.code(),
        generation_id: result.generation_id,
        protocol_type: result.protocol_type,
        // Not nullable before v7: "" stands for none.
        protocol_name: if version >= 7 {
            result.protocol_name
        } else {
            Some(result.protocol_name.unwrap_or_default())
        },
        leader: result.leader,
        skip_assignment: result.skip_assignment,
        member_id: result.member_id,
        members: result
            .members
            .into_iter()
            .map(|m| JoinGroupResponseMember {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                metadata: m.metadata,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::JoinGroupRequest,
    version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::join_group::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = JoinGroupResponse {
        error_code,
        generation_id: -1,
        protocol_type: None,
        // Non-nullable before v7.
        protocol_name: (version < 7).then(String::new),
        leader: String::new(),
        member_id: req.member_id.clone(),
        ..Default::default()
    }
    .into();
    Some(response)
}
