//! DescribeProducers: v0.
//!
//! The producers a partition's leader keeps state for: epoch, last sequence and timestamp,
//! the coordinator epoch of their last marker and the first offset of their open
//! transaction, which is what holds the last stable offset back (Kafka's tool for finding
//! hanging transactions). Only the leader answers; a follower or a stale broker says
//! NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.

use streamctl_protocol::messages::describe_producers::{
    DescribeProducersResponsePartition, DescribeProducersResponseProducerState,
    DescribeProducersResponseTopic,
};
use streamctl_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

/// Answers a DescribeProducers request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    answer(&req, |topic, p| match ctx.broker.replicas.leader_replica(topic, p) {
        Ok(leader) => DescribeProducersResponsePartition {
            partition_index: p,
            active_producers: leader
                .partition
                .producers()
                .into_iter()
                .map(|s| DescribeProducersResponseProducerState {
                    producer_id: s.producer_id,
                    producer_epoch: i32::from(s.epoch),
                    last_sequence: s.last_sequence,
                    last_timestamp: s.last_timestamp,
                    coordinator_epoch: s.coordinator_epoch,
                    current_txn_start_offset: s.txn_first_offset.unwrap_or(-1),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        Err(e) => refused(p, e.code),
    })
}

/// The response with `partition`'s answer for every partition asked about.
fn answer(
    req: &DescribeProducersRequest,
    partition: impl Fn(&str, i32) -> DescribeProducersResponsePartition,
) -> DescribeProducersResponse {
    DescribeProducersResponse {
        topics: req
            .topics
            .iter()
            .map(|t| DescribeProducersResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partition_indexes
                    .iter()
                    .map(|&p| partition(&t.name, p))
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn refused(partition: i32, code: ErrorCode) -> DescribeProducersResponsePartition {
    DescribeProducersResponsePartition {
        partition_index: partition,
        error_code: code.code(),
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: every partition gets it. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &DescribeProducersRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(answer(req, |_, p| refused(p, code)).into())
}
