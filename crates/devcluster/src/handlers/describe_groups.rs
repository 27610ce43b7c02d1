//! DescribeGroups: v0–v5.
//!
//! Each group from its coordinator: state, protocol type, the selected protocol (only when
//! Stable, as Kafka) and the members with client id and host; member metadata and
//! assignments are filled in for a Stable group only. An unknown group is described as Dead
//! without error; a group this broker does not coordinate answers NOT_COORDINATOR (with an
//! empty state), one still loading COORDINATOR_LOAD_IN_PROGRESS. A consumer-protocol group
//! (KIP-848) is reported Dead, as Kafka answers these versions for it. Authorized operations are
//! `i32::MIN` unless asked for (v3+); then every group operation (READ, DELETE, DESCRIBE), as
//! Kafka reports without ACLs.

use streamctl_protocol::messages::describe_groups::{DescribedGroup, DescribedGroupMember};
use streamctl_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Group operations Kafka reports when asked and there are no ACLs: READ, DELETE, DESCRIBE.
pub const ALL_GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// Answers a DescribeGroups request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let authorized_operations = if req.include_authorized_operations {
        ALL_GROUP_OPERATIONS
    } else {
        i32::MIN
    };
    let mut groups = Vec::with_capacity(req.groups.len());
    for group_id in req.groups {
        let described = ctx.broker.coordinator.describe(&group_id).await;
        groups.push(match described {
            // A consumer-protocol group is described by ConsumerGroupDescribe; before v6
            // DescribeGroups has no error for it and reports it Dead, as Kafka.
            Ok(None) => DescribedGroup {
                group_id,
                group_state: "Dead".to_string(),
                authorized_operations,
                ..Default::default()
            },
            Ok(Some(d)) => DescribedGroup {
                error_code: 0,
                group_id,
                group_state: d.state.name().to_string(),
                protocol_type: d.protocol_type,
                protocol_data: d.protocol,
                members: d
                    .members
                    .into_iter()
                    .map(|m| DescribedGroupMember {
                        member_id: m.member_id,
                        group_instance_id: m.group_instance_id,
                        client_id: m.client_id,
                        client_host: m.client_host,
                        member_metadata: m.metadata,
                        member_assignment: m.assignment,
                        ..Default::default()
                    })
                    .collect(),
                authorized_operations,
                ..Default::default()
            },
            Err(code) => DescribedGroup {
                error_code: code.code(),
                group_id,
                authorized_operations,
                ..Default::default()
            },
        });
    }
    DescribeGroupsResponse {
        groups,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DescribeGroupsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::describe_groups::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = DescribeGroupsResponse {
        groups: req
            .groups
            .iter()
            .map(|g| DescribedGroup {
                error_code,
                group_id: g.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
