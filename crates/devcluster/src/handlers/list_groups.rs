//! ListGroups: v0–v5.
//!
//! The groups this broker coordinates (clients ask every broker and merge), with their
//! protocol type, from v4 their state and from v5 their type (`classic` or `consumer`);
//! v4's `states_filter` and v5's `types_filter` keep the groups in one of the named states
//! or types (case-insensitive, as Kafka; an unknown name matches nothing). While one of its `__consumer_offsets`
//! partitions is still loading, the answer is COORDINATOR_LOAD_IN_PROGRESS with the groups
//! known so far, as in Kafka.

use streamctl_protocol::messages::list_groups::ListedGroup;
use streamctl_protocol::messages::{ListGroupsRequest, ListGroupsResponse};

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a ListGroups request.
pub async fn handle(ctx: &RequestContext<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req
        .states_filter
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let types: Vec<String> = req
        .types_filter
        .iter()
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let (error, groups) = ctx.broker.coordinator.list();
    ListGroupsResponse {
        error_code: error.code(),
        groups: groups
            .into_iter()
            .filter(|(_, s)| {
                (states.is_empty() || states.contains(&s.state.to_ascii_lowercase()))
                    && (types.is_empty() || types.iter().any(|t| t == s.group_type.name()))
            })
            .map(|(group_id, s)| ListedGroup {
                group_id,
                protocol_type: s.protocol_type,
                group_state: s.state.to_string(),
                group_type: s.group_type.name().to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &streamctl_protocol::messages::ListGroupsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::list_groups::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = ListGroupsResponse {
        error_code,
        ..Default::default()
    }
    .into();
    Some(response)
}
