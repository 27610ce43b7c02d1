//! OffsetDelete: v0 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE in the group-level `error_code` with no topics, as
//! Kafka's error answer does.
//! Not implemented: the group coordinator (deleting committed offsets, KIP-496).

use streamctl_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

/// Answers an OffsetDelete request.
pub async fn handle(_ctx: &RequestContext<'_>, _req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    OffsetDeleteResponse {
        error_code: ErrorCode::CoordinatorNotAvailable.code(),
        topics: Vec::new(),
        ..Default::default()
    }
}
