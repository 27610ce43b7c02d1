//! DeleteRecords: v0–v2.
//!
//! Moves each partition's log start offset forward on its leader; offset -1 means the high
//! watermark (delete everything committed). The answer's `low_watermark` is the new log start
//! offset. As in Kafka: an offset beyond the high watermark (or below -1) answers
//! OFFSET_OUT_OF_RANGE, one at or below the current log start changes nothing and succeeds,
//! a topic whose `cleanup.policy` lacks `delete` answers POLICY_VIOLATION, and a broker that
//! does not lead the partition answers NOT_LEADER_OR_FOLLOWER; errors carry low watermark -1.
//! The answer waits (up to `timeout_ms`, else REQUEST_TIMED_OUT) until every ISR member has
//! moved its log start, as Kafka's DelayedDeleteRecords does: followers adopt the leader's
//! log start from their next fetch, and only then can no failover bring the records back.

use streamctl_protocol::messages::delete_records::{
    DeleteRecordsResponsePartition, DeleteRecordsResponseTopic,
};
use streamctl_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;

use super::RequestContext;
use crate::error::ApiError;
use crate::partition::Partition;
use std::sync::Arc;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// The offset that means "the high watermark".
const HIGH_WATERMARK: i64 = -1;

/// Answers a DeleteRecords request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let timeout = std::time::Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let deleted = match delete(ctx, &t.name, p.partition_index, p.offset) {
                Ok((replica, start, epoch)) => {
                    // Parked follower fetches answer now, carrying the new log start.
                    ctx.broker.replicas.data_arrived.notify_waiters();
                    replica
                    .wait_for_low_watermark(start, epoch, deadline)
                        .await
                        .map(|low| low.max(start))
                }
                Err(e) => Err(e),
            };
            let (low_watermark, error_code) = match deleted {
                Ok(low) => (low, 0),
                Err(e) => (-1, e.code.code()),
            };
            partitions.push(DeleteRecordsResponsePartition {
                partition_index: p.partition_index,
                low_watermark,
                error_code,
                ..Default::default()
            });
        }
        topics.push(DeleteRecordsResponseTopic {
            name: t.name.clone(),
            partitions,
            ..Default::default()
        });
    }
    DeleteRecordsResponse {
        topics,
        ..Default::default()
    }
}

/// Moves the leader's log start; returns the replica, the new log start and the epoch.
fn delete(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<(Arc<Partition>, i64, i32), ApiError> {
    let leader = ctx.broker.replicas.leader_replica(topic, partition)?;
    let deletable = leader
        .config
        .get("cleanup.policy")
        .is_some_and(|p| p.split(',').any(|w| w.trim() == "delete"));
    if !deletable {
        return Err(ApiError::new(
            ErrorCode::PolicyViolation,
            format!(
                "records of {topic}-{partition} cannot be deleted: cleanup.policy has no delete"
            ),
        ));
    }
    if offset < HIGH_WATERMARK {
        return Err(ApiError::new(
            ErrorCode::OffsetOutOfRange,
            format!("offset {offset} is not valid"),
        ));
    }
    match leader.partition.delete_records_before(offset) {
        Ok((log_start, epoch)) => {
            info!(
                broker = ctx.broker.node_id,
                topic, partition, log_start, "deleted records"
            );
            Ok((leader.partition, log_start, epoch))
        }
        Err(e) => {
            // Kafka only ever moves the log start forward: an offset it has already passed is
            // a successful no-op, not an error.
            let (log_start, _, _) = leader.partition.offsets();
            if e.code == ErrorCode::OffsetOutOfRange
                && offset != HIGH_WATERMARK
                && offset <= log_start
            {
                Ok((leader.partition, log_start, leader.leader_epoch))
            } else {
                Err(e)
            }
        }
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DeleteRecordsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::delete_records::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = DeleteRecordsResponse {
        topics: req
            .topics
            .iter()
            .map(|t| DeleteRecordsResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| DeleteRecordsResponsePartition {
                        partition_index: p.partition_index,
                        low_watermark: -1,
                        error_code,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
