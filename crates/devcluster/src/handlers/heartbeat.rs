//! Heartbeat: v0–v4 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE.
//! Not implemented: the group coordinator (session timeouts, rebalance notification).

use streamctl_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers a Heartbeat request.
pub async fn handle(_ctx: &RequestContext<'_>, _req: HeartbeatRequest) -> HeartbeatResponse {
    HeartbeatResponse {
        error_code: ErrorCode::CoordinatorNotAvailable.code(),
        ..Default::default()
    }
}
