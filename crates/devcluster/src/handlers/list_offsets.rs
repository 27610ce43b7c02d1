//! ListOffsets: v1–v8.
//!
//! Special timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the last
//! stable offset under read_committed), -3 the
//! record with the largest timestamp (v7+, KIP-734). Any other timestamp finds the first
//! offset whose batch has a timestamp at or after it; none → offset -1 with no error, as Kafka.
//! Only offsets the consumer could fetch (below the high watermark, or the last stable offset
//! under read_committed) are revealed, and a new leader whose
//! high watermark has not reached its epoch start answers OFFSET_NOT_AVAILABLE for all but
//! earliest (KIP-207), so "latest" never goes backwards across a leader change.
//! Not implemented: -4 earliest-local and -5 tiered-storage timestamps (v8+ answer -1).

use streamctl_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use streamctl_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::partition::{check_leader_epoch, Isolation};
use super::RequestContext;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 8);

/// Earliest offset.
pub const EARLIEST: i64 = -2;
/// Latest offset.
pub const LATEST: i64 = -1;
/// Offset of the largest timestamp.
pub const MAX_TIMESTAMP: i64 = -3;

/// Answers a ListOffsets request.
pub async fn handle(ctx: &RequestContext<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    ListOffsetsResponse {
        topics: req
            .topics
            .iter()
            .map(|t| ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        lookup(ctx, &t.name, p, Isolation::from_level(req.isolation_level))
                            .unwrap_or_else(|e| ListOffsetsPartitionResponse {
                                partition_index: p.partition_index,
                                error_code: e.code.code(),
                                ..Default::default()
                            })
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn lookup(
    ctx: &RequestContext<'_>,
    topic: &str,
    p: &ListOffsetsPartition,
    isolation: Isolation,
) -> Result<ListOffsetsPartitionResponse, ApiError> {
    let partition = p.partition_index;
    let leader = ctx.broker.replicas.leader_replica(topic, partition)?;
    check_leader_epoch(p.current_leader_epoch, leader.leader_epoch)?;
    let (offset, ts) = match p.timestamp {
        EARLIEST => (leader.partition.offsets().0, -1),
        LATEST => (leader.partition.latest_offset(isolation)?, -1),
        MAX_TIMESTAMP => leader
            .partition
            .max_timestamp(isolation)?
            .map_or((-1, -1), |(ts, off)| (off, ts)),
        ts if ts >= 0 => leader
            .partition
            .offset_for_timestamp(ts, isolation)?
            .unwrap_or((-1, -1)),
        _ => (-1, -1),
    };
    Ok(ListOffsetsPartitionResponse {
        partition_index: partition,
        error_code: 0,
        timestamp: ts,
        offset,
        leader_epoch: leader.leader_epoch,
        ..Default::default()
    })
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::ListOffsetsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::list_offsets::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = ListOffsetsResponse {
        topics: req
            .topics
            .iter()
            .map(|t| ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
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
