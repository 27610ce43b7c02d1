//! InitProducerId: v0–v4.
//!
//! An idempotent producer (null `transactional_id`) gets a fresh producer id and epoch 0.
//! Ids come from the controller's blocks, reserved on disk before use, so no id is ever given
//! twice for the life of a data directory: a restarted cluster rebuilds producer state from
//! its logs, and a reused id would make a new producer's first batch look like a duplicate of
//! an old one (answered, never written). As in Kafka, a current id and epoch passed at v3+
//! (KIP-360) are not bumped for a non-transactional producer: it just gets a new id.
//! With a `transactional_id`, the id's transaction coordinator (see
//! [`crate::txn_coordinator`]) answers: a new id gets a producer id and epoch 0, a known one
//! the same id with its epoch bumped (fencing older incarnations), and an open transaction is
//! first aborted under a bumped epoch (answer CONCURRENT_TRANSACTIONS, which the producer
//! retries). An empty id answers INVALID_REQUEST, a timeout outside
//! (0, `transaction.max.timeout.ms`] INVALID_TRANSACTION_TIMEOUT, and only one of
//! `producer_id`/`producer_epoch` set INVALID_REQUEST. PRODUCER_FENCED is answered as
//! INVALID_PRODUCER_EPOCH below v4.

use streamctl_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
use streamctl_protocol::ErrorCode;
use tracing::debug;

use super::add_partitions_to_txn::fenced_for_version;
use super::RequestContext;
use crate::txn_coordinator::metadata::InitArgs;

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
        Some(id) => {
            if (req.producer_id == -1) != (req.producer_epoch == -1) {
                return refused(ErrorCode::InvalidRequest);
            }
            let args = InitArgs {
                timeout_ms: req.transaction_timeout_ms,
                producer_id: req.producer_id,
                producer_epoch: req.producer_epoch,
            };
            return match ctx.broker.transactions.init_producer_id(id, args).await {
                Ok((producer_id, producer_epoch)) => InitProducerIdResponse {
                    error_code: 0,
                    producer_id,
                    producer_epoch,
                    ..Default::default()
                },
                Err(code) => refused(fenced_for_version(code, ctx.version(), 4)),
            };
        }
    }
    let producer_id = match ctx.broker.controller.next_producer_id() {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(broker = ctx.broker.node_id, error = %e, "cannot reserve producer ids");
            return refused(e.code);
        }
    };
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

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &streamctl_protocol::messages::InitProducerIdRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::init_producer_id::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = InitProducerIdResponse {
        error_code,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
    .into();
    Some(response)
}
