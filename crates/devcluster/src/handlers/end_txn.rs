//! EndTxn: v0–v4 (transactions v1).
//!
//! Commits or aborts the producer's open transaction on its coordinator (see
//! [`crate::txn_coordinator`]): answered once the PrepareCommit or PrepareAbort record is in
//! `__transaction_state` on the in-sync replicas; the markers follow in the background, and
//! requests for the same id meanwhile get CONCURRENT_TRANSACTIONS. A retried end that already
//! completed is answered NONE. PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below
//! v2. Not implemented: v5 (KIP-890 transactions v2, with an epoch bump per transaction).

use streamctl_protocol::messages::{EndTxnRequest, EndTxnResponse};
use streamctl_protocol::ErrorCode;

use super::add_partitions_to_txn::fenced_for_version;
use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// Answers an EndTxn request.
pub async fn handle(ctx: &RequestContext<'_>, req: EndTxnRequest) -> EndTxnResponse {
    let code = if req.transactional_id.is_empty() {
        ErrorCode::InvalidRequest
    } else {
        ctx.broker
            .transactions
            .end_txn(
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                req.committed,
            )
            .await
    };
    EndTxnResponse {
        error_code: fenced_for_version(code, ctx.version(), 2).code(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the top-level error. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &EndTxnRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        EndTxnResponse {
            error_code: code.code(),
            ..Default::default()
        }
        .into(),
    )
}
