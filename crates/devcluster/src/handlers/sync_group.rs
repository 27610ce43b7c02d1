//! SyncGroup: v0–v5 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE with an empty assignment.
//! Not implemented: the group coordinator (assignment distribution).

use streamctl_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers a SyncGroup request.
pub async fn handle(_ctx: &RequestContext<'_>, _req: SyncGroupRequest) -> SyncGroupResponse {
    SyncGroupResponse {
        error_code: ErrorCode::CoordinatorNotAvailable.code(),
        protocol_type: None,
        protocol_name: None,
        ..Default::default()
    }
}
