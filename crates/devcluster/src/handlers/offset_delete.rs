//! OffsetDelete: v0 (KIP-496).
//!
//! Deletes committed offsets of a group (tombstones in `__consumer_offsets`). An empty group
//! may delete any; an active consumer group only those of topics none of its members
//! subscribes to (read from the members' `ConsumerProtocolSubscription`), the others answer
//! GROUP_SUBSCRIBED_TO_TOPIC; an active group of another protocol type answers
//! NON_EMPTY_GROUP. Group errors (GROUP_ID_NOT_FOUND, NOT_COORDINATOR, ...) go in the
//! top-level `error_code` with no topics; partitions of unknown topics answer
//! UNKNOWN_TOPIC_OR_PARTITION.

use streamctl_protocol::messages::offset_delete::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use streamctl_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

/// Answers an OffsetDelete request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let md = ctx.broker.metadata();
    let mut errors: Vec<Vec<ErrorCode>> = Vec::with_capacity(req.topics.len());
    let mut sent = Vec::new();
    let mut partitions = Vec::new();
    for (t, topic) in req.topics.iter().enumerate() {
        let mut codes = Vec::with_capacity(topic.partitions.len());
        for (p, partition) in topic.partitions.iter().enumerate() {
            if md.partition(&topic.name, partition.partition_index).is_none() {
                codes.push(ErrorCode::UnknownTopicOrPartition);
            } else {
                codes.push(ErrorCode::None);
                sent.push((t, p));
                partitions.push((topic.name.clone(), partition.partition_index));
            }
        }
        errors.push(codes);
    }
    let result = ctx
        .broker
        .coordinator.delete_offsets(&req.group_id, partitions)
        .await;
    let results = match result {
        Ok(results) => results,
        Err(code) => {
            return OffsetDeleteResponse {
                error_code: code.code(),
                ..Default::default()
            }
        }
    };
    for ((t, p), code) in sent.into_iter().zip(results) {
        if let Some(slot) = errors.get_mut(t).and_then(|e| e.get_mut(p)) {
            *slot = code;
        }
    }
    OffsetDeleteResponse {
        error_code: 0,
        topics: req
            .topics
            .iter()
            .zip(errors)
            .map(|(topic, codes)| OffsetDeleteResponseTopic {
                name: topic.name.clone(),
                partitions: topic
                    .partitions
                    .iter()
                    .zip(codes)
                    .map(|(p, code)| OffsetDeleteResponsePartition {
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
    _req: &streamctl_protocol::messages::OffsetDeleteRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::offset_delete::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = OffsetDeleteResponse {
        error_code,
        ..Default::default()
    }
    .into();
    Some(response)
}
