//! OffsetFetch: v1–v9.
//!
//! The committed offsets of a group, from its coordinator's cache (rebuilt from
//! `__consumer_offsets` on load). A partition without a commit answers offset -1 and empty
//! metadata without error, as does every partition of an unknown group. v2+ accept null topics
//! (every committed offset of the group) and carry group errors at the top level (v1 on each
//! partition); v5+ return the committed leader epoch; v8 batches groups, each with its own
//! error (KIP-709); v9 names the fetching member, whose epoch a consumer-protocol group
//! (KIP-848) checks (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; none for an admin's fetch).
//! `require_stable` (v7+): a partition whose offset an open transaction has committed
//! (TxnOffsetCommit, not yet ended by a marker) answers UNSTABLE_OFFSET_COMMIT, which clients
//! retry; without it, the last offset committed outside or by a committed transaction.

use streamctl_protocol::messages::offset_fetch::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use streamctl_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::coordinator::actor::FetchedOffsets;
use crate::coordinator::offsets::CommittedOffset;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 9);

/// Answers an OffsetFetch request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let coordinator = &ctx.broker.coordinator;
    if ctx.version() >= 8 {
        let mut groups = Vec::with_capacity(req.groups.len());
        for g in req.groups {
            let topics = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name, t.partition_indexes))
                    .collect::<Vec<_>>()
            });
            let fetched = coordinator
                .fetch_offsets(
                    &g.group_id,
                    topics,
                    req.require_stable,
                    Some((g.member_id, g.member_epoch)),
                )
                .await;
            let (error, found) = split(fetched);
            groups.push(OffsetFetchResponseGroup {
                group_id: g.group_id,
                error_code: error.code(),
                topics: found
                    .into_iter()
                    .map(|(name, partitions)| OffsetFetchResponseTopics {
                        name,
                        partitions: partitions
                            .into_iter()
                            .map(|(partition_index, c)| {
                                let (offset, epoch, metadata, error) = values(c);
                                OffsetFetchResponsePartitions {
                                    partition_index,
                                    committed_offset: offset,
                                    committed_leader_epoch: epoch,
                                    metadata: Some(metadata),
                                    error_code: error.code(),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            });
        }
        return OffsetFetchResponse {
            groups,
            ..Default::default()
        };
    }
    let requested: Option<Vec<(String, Vec<i32>)>> = req.topics.clone().map(|ts| {
        ts.into_iter()
            .map(|t| (t.name, t.partition_indexes))
            .collect()
    });
    let fetched = coordinator
        .fetch_offsets(&req.group_id, requested.clone(), req.require_stable, None)
        .await;
    let (error, found) = split(fetched);
    if ctx.version() >= 2 {
        return OffsetFetchResponse {
            error_code: error.code(),
            topics: topics_v1_to_v7(found, ErrorCode::None),
            ..Default::default()
        };
    }
    // v1: no group-level error; each requested partition carries it.
    let found = if error.is_ok() {
        found
    } else {
        requested
            .unwrap_or_default()
            .into_iter()
            .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, Ok(None))).collect()))
            .collect()
    };
    OffsetFetchResponse {
        topics: topics_v1_to_v7(found, error),
        ..Default::default()
    }
}

/// A group error (with nothing found) or the offsets found.
fn split(fetched: Result<FetchedOffsets, ErrorCode>) -> (ErrorCode, FetchedOffsets) {
    match fetched {
        Ok(found) => (ErrorCode::None, found),
        Err(code) => (code, Vec::new()),
    }
}

/// (offset, leader epoch, metadata, error) of a partition; -1, -1, "" without a commit or
/// with an error.
fn values(c: Result<Option<CommittedOffset>, ErrorCode>) -> (i64, i32, String, ErrorCode) {
    match c {
        Ok(Some(c)) => (c.offset, c.leader_epoch, c.metadata, ErrorCode::None),
        Ok(None) => (-1, -1, String::new(), ErrorCode::None),
        Err(e) => (-1, -1, String::new(), e),
    }
}

fn topics_v1_to_v7(found: FetchedOffsets, error: ErrorCode) -> Vec<OffsetFetchResponseTopic> {
    found
        .into_iter()
        .map(|(name, partitions)| OffsetFetchResponseTopic {
            name,
            partitions: partitions
                .into_iter()
                .map(|(partition_index, c)| {
                    let (offset, epoch, metadata, own) = values(c);
                    OffsetFetchResponsePartition {
                        partition_index,
                        committed_offset: offset,
                        committed_leader_epoch: epoch,
                        metadata: Some(metadata),
                        error_code: if own.is_ok() { error } else { own }.code(),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::OffsetFetchRequest,
    version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::offset_fetch::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = match version {
        // v1 has no group-level error: each partition carries it.
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
                            error_code,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        2..=7 => OffsetFetchResponse {
            error_code,
            ..Default::default()
        },
        _ => OffsetFetchResponse {
            groups: req
                .groups
                .iter()
                .map(|g| OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    error_code,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
    }
    .into();
    Some(response)
}
