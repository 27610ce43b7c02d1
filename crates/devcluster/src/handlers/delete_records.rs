//! DeleteRecords: v0–v2.
//!
//! Moves each partition's log start offset forward on its leader; offset -1 means the high
//! watermark (delete everything committed). The answer's `low_watermark` is the new log start
//! offset. As in Kafka: an offset beyond the high watermark (or below -1) answers
//! OFFSET_OUT_OF_RANGE, one at or below the current log start changes nothing and succeeds,
//! a topic whose `cleanup.policy` lacks `delete` answers POLICY_VIOLATION, and a broker that
//! does not lead the partition answers NOT_LEADER_OR_FOLLOWER; errors carry low watermark -1.
//! Not implemented: waiting for followers (`timeout_ms`): the low watermark is the leader's.

use streamctl_protocol::messages::delete_records::{
    DeleteRecordsResponsePartition, DeleteRecordsResponseTopic,
};
use streamctl_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;

use super::RequestContext;
use crate::controller::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// The offset that means "the high watermark".
const HIGH_WATERMARK: i64 = -1;

/// Answers a DeleteRecords request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    DeleteRecordsResponse {
        topics: req
            .topics
            .iter()
            .map(|t| DeleteRecordsResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let (low_watermark, error_code) =
                            match delete(ctx, &t.name, p.partition_index, p.offset) {
                                Ok(low) => (low, 0),
                                Err(e) => (-1, e.code.code()),
                            };
                        DeleteRecordsResponsePartition {
                            partition_index: p.partition_index,
                            low_watermark,
                            error_code,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn delete(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<i64, ApiError> {
    let leader = ctx.broker.leader_replica(topic, partition)?;
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
        Ok(low_watermark) => {
            info!(
                broker = ctx.broker.node_id,
                topic, partition, low_watermark, "deleted records"
            );
            Ok(low_watermark)
        }
        Err(e) => {
            // Kafka only ever moves the log start forward: an offset it has already passed is
            // a successful no-op, not an error.
            let (log_start, _, _) = leader.partition.offsets();
            if e.code == ErrorCode::OffsetOutOfRange
                && offset != HIGH_WATERMARK
                && offset <= log_start
            {
                Ok(log_start)
            } else {
                Err(e)
            }
        }
    }
}
