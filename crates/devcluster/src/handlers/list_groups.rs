//! ListGroups: v0–v4 — placeholder until the group coordinator lands.
//!
//! No group exists yet: answers an empty list without error (whatever `states_filter` asks).
//! Not implemented: the group coordinator (the groups this broker coordinates).

use streamctl_protocol::messages::{ListGroupsRequest, ListGroupsResponse};

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers a ListGroups request.
pub async fn handle(_ctx: &RequestContext<'_>, _req: ListGroupsRequest) -> ListGroupsResponse {
    ListGroupsResponse {
        error_code: 0,
        groups: Vec::new(),
        ..Default::default()
    }
}
