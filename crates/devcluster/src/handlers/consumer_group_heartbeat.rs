//! ConsumerGroupHeartbeat: v0–v1 (KIP-848).
//!
//! A consumer-protocol member joins (epoch 0), heartbeats with its epoch, acknowledges
//! revocations by reporting what it owns, and leaves (-1, or -2 for a static member going
//! for a while). The coordinator (`coordinator/consumer.rs`) answers the member's epoch and,
//! when it changed or the request was full, every partition it may own now. Request checks
//! answer INVALID_REQUEST (blank ids, a join without its rebalance timeout or
//! subscription) and UNSUPPORTED_ASSIGNOR before the group is touched; a v0 member may join
//! without an id and is given one.

use std::collections::BTreeSet;

use streamctl_protocol::messages::consumer_group_heartbeat::{
    ConsumerGroupHeartbeatAssignment, ConsumerGroupHeartbeatTopicPartitions,
};
use streamctl_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};

use super::RequestContext;
use crate::coordinator::consumer::{Assignment, HeartbeatArgs};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

/// Answers a ConsumerGroupHeartbeat request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let owned = req.topic_partitions.map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            let ps: BTreeSet<i32> = tp.partitions.into_iter().collect();
            a.entry(tp.topic_id).or_default().extend(ps);
        }
        a.retain(|_, ps| !ps.is_empty());
        a
    });
    let args = HeartbeatArgs {
        api_version: ctx.version(),
        member_id: req.member_id.clone(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id,
        rack_id: req.rack_id,
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req.subscribed_topic_names,
        subscribed_topic_regex: req.subscribed_topic_regex,
        server_assignor: req.server_assignor,
        owned,
        client_id: ctx.client_id().to_string(),
        client_host: ctx.client_host(),
    };
    let interval = i32::try_from(ctx.broker.coordinator.consumer_config().heartbeat_interval.as_millis())
        .unwrap_or(i32::MAX);
    match ctx.broker.coordinator.consumer_heartbeat(&req.group_id, args).await {
        Ok(a) => ConsumerGroupHeartbeatResponse {
            member_id: Some(a.member_id),
            member_epoch: a.member_epoch,
            heartbeat_interval_ms: a.heartbeat_interval_ms,
            assignment: a.assignment.map(|a| ConsumerGroupHeartbeatAssignment {
                topic_partitions: a
                    .into_iter()
                    .map(|(topic_id, ps)| ConsumerGroupHeartbeatTopicPartitions {
                        topic_id,
                        partitions: ps.into_iter().collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Err((code, message)) => ConsumerGroupHeartbeatResponse {
            error_code: code.code(),
            error_message: Some(message).filter(|m| !m.is_empty()),
            member_id: Some(req.member_id).filter(|m| !m.is_empty()),
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: interval,
            ..Default::default()
        },
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &ConsumerGroupHeartbeatRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        ConsumerGroupHeartbeatResponse {
            error_code: code.code(),
            ..Default::default()
        }
        .into(),
    )
}
