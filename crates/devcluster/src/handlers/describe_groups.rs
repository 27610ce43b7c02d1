//! DescribeGroups: v0–v5 — placeholder until the group coordinator lands.
//!
//! No group exists yet, so each requested group is described as Kafka describes an unknown
//! one: no error, state "Dead", empty protocol and no members. Authorized operations are
//! `i32::MIN` unless asked for; then every group operation (READ, DELETE, DESCRIBE), as Kafka
//! reports without ACLs.
//! Not implemented: the group coordinator (real group state and members).

use streamctl_protocol::messages::describe_groups::DescribedGroup;
use streamctl_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Group operations Kafka reports when asked and there are no ACLs: READ, DELETE, DESCRIBE.
pub const ALL_GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// Answers a DescribeGroups request.
pub async fn handle(
    _ctx: &RequestContext<'_>,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    DescribeGroupsResponse {
        groups: req
            .groups
            .iter()
            .map(|group_id| DescribedGroup {
                error_code: 0,
                group_id: group_id.clone(),
                group_state: "Dead".to_string(),
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
                authorized_operations: if req.include_authorized_operations {
                    ALL_GROUP_OPERATIONS
                } else {
                    i32::MIN
                },
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
