//! OffsetCommit: v2–v9 — placeholder until the group coordinator lands.
//!
//! The response has no group-level error field, so every requested partition answers
//! COORDINATOR_NOT_AVAILABLE, as Kafka's error answer does.
//! Not implemented: the group coordinator (offsets stored in `__consumer_offsets`).

use streamctl_protocol::messages::offset_commit::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use streamctl_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 9);

/// Answers an OffsetCommit request.
pub async fn handle(_ctx: &RequestContext<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    OffsetCommitResponse {
        topics: req
            .topics
            .iter()
            .map(|t| OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code: ErrorCode::CoordinatorNotAvailable.code(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
