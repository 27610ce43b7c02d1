//! OffsetCommit: v2–v9.
//!
//! Stores committed offsets as records in `__consumer_offsets` and answers once the in-sync
//! replicas have them, so a commit that succeeded survives the coordinator's death. Checks as
//! Kafka: a member of the current generation commits (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
//! REBALANCE_IN_PROGRESS while the assignment is pending, FENCED_INSTANCE_ID); generation -1
//! with an empty member id is a commit without group management, allowed only while the
//! group has no members. Partitions of unknown topics answer UNKNOWN_TOPIC_OR_PARTITION,
//! metadata over `offset.metadata.max.bytes` OFFSET_METADATA_TOO_LARGE. There is no
//! group-level error field, so group errors are repeated on every partition.
//! Not implemented: retention (`retention_time_ms`, v2–v4, is ignored; the commit timestamp
//! is stored).

use streamctl_protocol::messages::offset_commit::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use streamctl_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::coordinator::actor::{CommitArgs, OffsetCommit};

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 9);

/// Answers an OffsetCommit request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let md = ctx.broker.metadata();
    // (topic index, partition index) of each offset sent to the coordinator.
    let mut sent = Vec::new();
    let mut offsets = Vec::new();
    let mut errors: Vec<Vec<ErrorCode>> = Vec::with_capacity(req.topics.len());
    for (t, topic) in req.topics.iter().enumerate() {
        let mut topic_errors = Vec::with_capacity(topic.partitions.len());
        for (p, partition) in topic.partitions.iter().enumerate() {
            if md.partition(&topic.name, partition.partition_index).is_none() {
                topic_errors.push(ErrorCode::UnknownTopicOrPartition);
                continue;
            }
            topic_errors.push(ErrorCode::None);
            sent.push((t, p));
            offsets.push(OffsetCommit {
                topic: topic.name.clone(),
                partition: partition.partition_index,
                offset: partition.committed_offset,
                leader_epoch: partition.committed_leader_epoch,
                metadata: partition.committed_metadata.clone(),
            });
        }
        errors.push(topic_errors);
    }
    if !offsets.is_empty() {
        let args = CommitArgs {
            generation_id: req.generation_id_or_member_epoch,
            member_id: req.member_id.clone(),
            group_instance_id: req.group_instance_id.clone(),
            transaction: None,
            api_version: ctx.version(),
        };
        let results = ctx
            .broker
            .coordinator.commit(&req.group_id, args, offsets)
            .await;
        for ((t, p), code) in sent.into_iter().zip(results) {
            if let Some(slot) = errors.get_mut(t).and_then(|e| e.get_mut(p)) {
                *slot = code;
            }
        }
    }
    OffsetCommitResponse {
        topics: req
            .topics
            .iter()
            .zip(errors)
            .map(|(topic, codes)| OffsetCommitResponseTopic {
                name: topic.name.clone(),
                partitions: topic
                    .partitions
                    .iter()
                    .zip(codes)
                    .map(|(p, code)| OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code: code.code(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::OffsetCommitRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::offset_commit::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = OffsetCommitResponse {
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
