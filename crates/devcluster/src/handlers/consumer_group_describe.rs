//! ConsumerGroupDescribe: v0–v1 (KIP-848).
//!
//! Each consumer-protocol group from its coordinator: state (Empty, Assigning, Reconciling,
//! Stable), group epoch, target assignment epoch, the assignor in use and every member with
//! its epoch, subscription, what it owns now and its target. Topics no longer in metadata
//! are left out of the assignments. A group that does not exist or is a classic group
//! answers GROUP_ID_NOT_FOUND; an empty id INVALID_GROUP_ID; a group this broker does not
//! coordinate NOT_COORDINATOR. v1 adds each member's type (1: consumer protocol, 0: classic).

use streamctl_protocol::messages::consumer_group_describe::{
    ConsumerGroupDescribeAssignment, ConsumerGroupDescribeGroup, ConsumerGroupDescribeMember,
    ConsumerGroupDescribeTopicPartitions,
};
use streamctl_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse};
use streamctl_protocol::ErrorCode;

use super::describe_groups::ALL_GROUP_OPERATIONS;
use super::RequestContext;
use crate::controller::ClusterMetadata;
use crate::coordinator::consumer::Assignment;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

fn assignment(a: Option<&Assignment>, md: &ClusterMetadata) -> ConsumerGroupDescribeAssignment {
    ConsumerGroupDescribeAssignment {
        topic_partitions: a
            .into_iter()
            .flatten()
            .filter_map(|(id, ps)| {
                let t = md.topic_by_id(*id)?;
                Some(ConsumerGroupDescribeTopicPartitions {
                    topic_id: *id,
                    topic_name: t.name.clone(),
                    partitions: ps.iter().copied().collect(),
                    ..Default::default()
                })
            })
            .collect(),
        ..Default::default()
    }
}

/// Answers a ConsumerGroupDescribe request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let authorized_operations = if req.include_authorized_operations {
        ALL_GROUP_OPERATIONS
    } else {
        i32::MIN
    };
    let md = ctx.broker.metadata();
    let coordinator = &ctx.broker.coordinator;
    let mut groups = Vec::with_capacity(req.group_ids.len());
    for group_id in req.group_ids {
        let failed = |code: ErrorCode, message: String, group_id: String| ConsumerGroupDescribeGroup {
            error_code: code.code(),
            error_message: Some(message).filter(|m| !m.is_empty()),
            group_id,
            authorized_operations,
            ..Default::default()
        };
        if group_id.is_empty() {
            groups.push(failed(ErrorCode::InvalidGroupId, String::new(), group_id));
            continue;
        }
        let found = coordinator.consumer_describe(&group_id).await;
        groups.push(match found {
            Ok(Some(g)) => {
                let members = g
                    .members()
                    .values()
                    .map(|m| {
                        let mut topics: Vec<String> = m.subscribed_topic_names.iter().cloned().collect();
                        topics.sort();
                        ConsumerGroupDescribeMember {
                            member_id: m.member_id.clone(),
                            instance_id: m.instance_id.clone(),
                            rack_id: m.rack_id.clone(),
                            member_epoch: m.epoch,
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            subscribed_topic_names: topics,
                            subscribed_topic_regex: Some(m.subscribed_topic_regex.clone())
                                .filter(|r| !r.is_empty()),
                            assignment: assignment(Some(&m.assigned), &md),
                            target_assignment: assignment(g.target_of(&m.member_id), &md),
                            member_type: if m.classic.is_some() { 0 } else { 1 },
                            ..Default::default()
                        }
                    })
                    .collect();
                ConsumerGroupDescribeGroup {
                    group_id,
                    group_state: g.state().name().to_string(),
                    group_epoch: g.epoch(),
                    assignment_epoch: g.target_epoch().max(0),
                    assignor_name: g.assignor_name(coordinator.consumer_config()),
                    members,
                    authorized_operations,
                    ..Default::default()
                }
            }
            Ok(None) => {
                let message = format!("Group {group_id} not found.");
                failed(ErrorCode::GroupIdNotFound, message, group_id)
            }
            Err(code) => failed(code, String::new(), group_id),
        });
    }
    ConsumerGroupDescribeResponse {
        groups,
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &ConsumerGroupDescribeRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        ConsumerGroupDescribeResponse {
            groups: req
                .group_ids
                .iter()
                .map(|g| ConsumerGroupDescribeGroup {
                    error_code: code.code(),
                    group_id: g.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
    )
}
