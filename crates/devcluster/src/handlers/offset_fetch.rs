//! OffsetFetch: v1–v8 — placeholder until the group coordinator lands.
//!
//! Answers COORDINATOR_NOT_AVAILABLE where Kafka's error answer puts it: v1 has no
//! group-level error, so each requested partition carries it (offset -1, metadata "");
//! v2–v7 set the top-level `error_code` with no topics; v8 sets each group's `error_code`.
//! Not implemented: the group coordinator (committed offsets), `require_stable`.

use streamctl_protocol::messages::offset_fetch::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use streamctl_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 8);

/// Answers an OffsetFetch request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let error = ErrorCode::CoordinatorNotAvailable.code();
    match ctx.version() {
        1 => OffsetFetchResponse {
            topics: req
                .topics
                .iter()
                .flatten()
                .map(|t| OffsetFetchResponseTopic {
                    name: t.name.clone(),
                    partitions: t
                        .partition_indexes
                        .iter()
                        .map(|&partition_index| OffsetFetchResponsePartition {
                            partition_index,
                            committed_offset: -1,
                            metadata: Some(String::new()),
                            error_code: error,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        2..=7 => OffsetFetchResponse {
            error_code: error,
            ..Default::default()
        },
        _ => OffsetFetchResponse {
            groups: req
                .groups
                .iter()
                .map(|g| OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    topics: Vec::new(),
                    error_code: error,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
    }
}
