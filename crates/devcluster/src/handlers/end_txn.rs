//! EndTxn: v0–v5 (v5: transactions v2).
//!
//! Commits or aborts the producer's open transaction on its coordinator (see
//! [`crate::txn_coordinator`]): answered once the PrepareCommit or PrepareAbort record is in
//! `__transaction_state` on the in-sync replicas; the markers follow in the background, and
//! requests for the same id meanwhile get CONCURRENT_TRANSACTIONS. A retried end that already
//! completed is answered NONE. PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below
//! v2. From v5 (KIP-890 part 2) the Prepare record bumps the producer epoch and the answer
//! carries the producer id and epoch to continue with (-1/-1 on an error).

use streamctl_protocol::messages::{EndTxnRequest, EndTxnResponse};
use streamctl_protocol::ErrorCode;

use super::add_partitions_to_txn::fenced_for_version;
use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// Answers an EndTxn request.
pub async fn handle(ctx: &RequestContext<'_>, req: EndTxnRequest) -> EndTxnResponse {
    let txns = &ctx.broker.transactions;
    let id = &req.transactional_id;
    let (code, next) = if id.is_empty() {
        (ErrorCode::InvalidRequest, None)
    } else if ctx.version() >= 5 {
        match txns
            .end_txn_v2(id, req.producer_id, req.producer_epoch, req.committed)
            .await
        {
            Ok(next) => (ErrorCode::None, Some(next)),
            Err(code) => (code, None),
        }
    } else {
        let code = txns
            .end_txn(id, req.producer_id, req.producer_epoch, req.committed)
            .await;
        (code, None)
    };
    let (producer_id, producer_epoch) = next.unwrap_or((-1, -1));
    EndTxnResponse {
        error_code: fenced_for_version(code, ctx.version(), 2).code(),
        producer_id,
        producer_epoch,
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
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }
        .into(),
    )
}
