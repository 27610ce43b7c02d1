//! DeleteGroups: v0–v2 — placeholder until the group coordinator lands.
//!
//! No group exists yet, so each requested group answers GROUP_ID_NOT_FOUND, as Kafka does for
//! an unknown group.
//! Not implemented: the group coordinator (deleting empty groups and their offsets).

use streamctl_protocol::messages::delete_groups::DeletableGroupResult;
use streamctl_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// Answers a DeleteGroups request.
pub async fn handle(_ctx: &RequestContext<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    DeleteGroupsResponse {
        results: req
            .groups_names
            .iter()
            .map(|group_id| DeletableGroupResult {
                group_id: group_id.clone(),
                error_code: ErrorCode::GroupIdNotFound.code(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
