//! AddOffsetsToTxn: v0–v4.
//!
//! Adds the group's `__consumer_offsets` partition to the producer's open transaction on its
//! transaction coordinator (same rules as AddPartitionsToTxn), so the transaction's markers
//! also end the offsets it commits with TxnOffsetCommit. The offsets topic is created first if
//! needed. PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v2.

use streamctl_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use streamctl_protocol::ErrorCode;

use super::add_partitions_to_txn::fenced_for_version;
use super::RequestContext;
use crate::coordinator::records::OFFSETS_TOPIC;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers an AddOffsetsToTxn request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let code = if req.transactional_id.is_empty() {
        ErrorCode::InvalidRequest
    } else {
        match ctx.broker.coordinator.offsets_partition(&req.group_id) {
            Ok(partition) => {
                ctx.broker
                    .transactions
                    .add_partitions(
                        &req.transactional_id,
                        req.producer_id,
                        req.producer_epoch,
                        &[(OFFSETS_TOPIC.to_string(), partition)],
                        0,
                    )
                    .await
            }
            Err(e) => e.code,
        }
    };
    AddOffsetsToTxnResponse {
        error_code: fenced_for_version(code, ctx.version(), 2).code(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the top-level error. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &AddOffsetsToTxnRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        AddOffsetsToTxnResponse {
            error_code: code.code(),
            ..Default::default()
        }
        .into(),
    )
}
