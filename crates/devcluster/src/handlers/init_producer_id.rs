//! InitProducerId: v0–v4.
//!
//! An idempotent producer (null `transactional_id`) gets a fresh producer id from the
//! cluster-wide counter and epoch 0. As in Kafka, a current id and epoch passed at v3+
//! (KIP-360) are not bumped for a non-transactional producer: it just gets a new id.
//! An empty `transactional_id` answers INVALID_REQUEST; any other transactional id answers
//! COORDINATOR_NOT_AVAILABLE, since there is no transaction coordinator.
//! Not implemented: the broker does not yet validate producer sequences or epochs on Produce
//! (idempotence lands with the producer), so duplicates are not detected; producer ids are not
//! persisted across restarts; transactions.

use streamctl_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
use streamctl_protocol::ErrorCode;
use tracing::debug;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers an InitProducerId request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let refused = |code: ErrorCode| InitProducerIdResponse {
        error_code: code.code(),
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    };
    match req.transactional_id.as_deref() {
        None => {}
        Some("") => return refused(ErrorCode::InvalidRequest),
        Some(_) => return refused(ErrorCode::CoordinatorNotAvailable),
    }
    let producer_id = ctx.broker.controller.next_producer_id();
    debug!(
        broker = ctx.broker.node_id,
        producer_id, "assigned producer id"
    );
    InitProducerIdResponse {
        error_code: 0,
        producer_id,
        producer_epoch: 0,
        ..Default::default()
    }
}
