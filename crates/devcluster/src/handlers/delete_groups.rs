//! DeleteGroups: v0–v2.
//!
//! Deletes empty groups: the group's metadata and every committed offset get tombstones in
//! `__consumer_offsets` (answered once the in-sync replicas have them), and the group is
//! gone. A group with members answers NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND, one
//! coordinated elsewhere NOT_COORDINATOR.

use streamctl_protocol::messages::delete_groups::DeletableGroupResult;
use streamctl_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// Answers a DeleteGroups request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for group_id in req.groups_names {
        let error = ctx.broker.coordinator.delete(&group_id).await;
        results.push(DeletableGroupResult {
            group_id,
            error_code: error.code(),
            ..Default::default()
        });
    }
    DeleteGroupsResponse {
        results,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DeleteGroupsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::delete_groups::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = DeleteGroupsResponse {
        results: req
            .groups_names
            .iter()
            .map(|g| DeletableGroupResult {
                group_id: g.clone(),
                error_code,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
