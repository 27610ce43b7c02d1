//! OffsetForLeaderEpoch: v2–v4.
//!
//! For each partition, the largest leader epoch at or below the one asked for and the offset
//! where it ended (the next epoch's first offset, or the log end for the current epoch).
//! Followers use it after a leader change to cut writes the old leader never committed
//! (KIP-101); consumers use it to detect log truncation after a leader change (KIP-320).
//! An epoch older than anything in the log answers UNDEFINED (-1, -1).

use streamctl_protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochResponseEpochEndOffset, OffsetForLeaderEpochResponseTopic,
};
use streamctl_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::partition::check_leader_epoch;
use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 4);

/// Answers an OffsetForLeaderEpoch request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    OffsetForLeaderEpochResponse {
        topics: req
            .topics
            .iter()
            .map(|t| OffsetForLeaderEpochResponseTopic {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let answer = ctx.broker.replicas.leader_replica(&t.topic, p.partition).and_then(|leader| {
                            check_leader_epoch(p.current_leader_epoch, leader.leader_epoch)?;
                            Ok(leader.partition.epoch_end_offset(p.leader_epoch))
                        });
                        match answer {
                            Ok((leader_epoch, end_offset)) => OffsetForLeaderEpochResponseEpochEndOffset {
                                partition: p.partition,
                                leader_epoch,
                                end_offset,
                                ..Default::default()
                            },
                            Err(e) => OffsetForLeaderEpochResponseEpochEndOffset {
                                error_code: e.code.code(),
                                partition: p.partition,
                                ..Default::default()
                            },
                        }
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
    req: &streamctl_protocol::messages::OffsetForLeaderEpochRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::offset_for_leader_epoch::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = OffsetForLeaderEpochResponse {
        topics: req
            .topics
            .iter()
            .map(|t| OffsetForLeaderEpochResponseTopic {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| OffsetForLeaderEpochResponseEpochEndOffset {
                        error_code,
                        partition: p.partition,
                        leader_epoch: -1,
                        end_offset: -1,
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
