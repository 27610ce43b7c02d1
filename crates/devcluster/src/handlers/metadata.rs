//! Metadata: v0–v12.
//!
//! Brokers that are up, the controller, and topics with their partitions (leader, leader
//! epoch, replicas, ISR, offline replicas) and topic ids. A null topic list (v1+) or an empty
//! one at v0 means every topic. Unknown topics are created when the client allows it
//! (`allow_auto_topic_creation`, v4+; always at v0–v3) and the broker has
//! `auto.create.topics.enable`; creation is synchronous, so the answer already describes them.
//! Not implemented: ACL-based authorized operations (everything is reported as allowed).

use streamctl_protocol::messages::metadata::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use streamctl_protocol::messages::{MetadataRequest, MetadataResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;
use uuid::Uuid;

use super::RequestContext;
use crate::controller::{validate_topic_name, ClusterMetadata, NewTopic, TopicMeta};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 12);

/// Topic operations Kafka reports when asked for authorized operations and ACLs are off:
/// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
const ALL_TOPIC_OPERATIONS: i32 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

/// Answers a Metadata request.
pub async fn handle(ctx: &RequestContext<'_>, req: MetadataRequest) -> MetadataResponse {
    let broker = ctx.broker;
    let version = ctx.version();
    let all_topics = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let may_create = broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);

    let mut topics = Vec::new();
    if all_topics {
        let md = broker.metadata();
        topics.extend(md.topics.values().map(|t| describe(&md, t, req.include_topic_authorized_operations)));
    } else {
        for wanted in req.topics.iter().flatten() {
            topics.push(lookup(ctx, wanted.name.as_deref(), wanted.topic_id, may_create, req.include_topic_authorized_operations));
        }
    }

    let md = broker.metadata();
    MetadataResponse {
        brokers: md
            .live_brokers()
            .map(|b| MetadataResponseBroker {
                node_id: b.node_id,
                host: b.host.clone(),
                port: i32::from(b.port),
                rack: b.rack.clone(),
                ..Default::default()
            })
            .collect(),
        cluster_id: Some(md.cluster_id.clone()),
        controller_id: md.controller_id,
        topics,
        ..Default::default()
    }
}

fn lookup(
    ctx: &RequestContext<'_>,
    name: Option<&str>,
    topic_id: Uuid,
    may_create: bool,
    with_ops: bool,
) -> MetadataResponseTopic {
    let broker = ctx.broker;
    let md = broker.metadata();
    let by_name = name.filter(|n| !n.is_empty());
    let found = match by_name {
        Some(n) => md.topic(n),
        None => md.topic_by_id(topic_id),
    };
    if let Some(t) = found {
        return describe(&md, t, with_ops);
    }
    let error = |code: ErrorCode| MetadataResponseTopic {
        error_code: code.code(),
        name: by_name.map(str::to_string),
        topic_id,
        ..Default::default()
    };
    let Some(n) = by_name else {
        return error(ErrorCode::UnknownTopicId);
    };
    if validate_topic_name(n).is_err() {
        return error(ErrorCode::InvalidTopicException);
    }
    if !may_create {
        return error(ErrorCode::UnknownTopicOrPartition);
    }
    let new = NewTopic {
        name: n.to_string(),
        num_partitions: broker.config.num_partitions,
        replication_factor: -1,
        ..NewTopic::default()
    };
    match broker.controller.create_topic(&new, false) {
        Ok(t) => {
            info!(broker = broker.node_id, topic = n, partitions = t.partitions.len(), "auto-created topic");
            describe(&broker.metadata(), &t, with_ops)
        }
        // Another request created it first: describe what exists now.
        Err(_) => match broker.metadata().topic(n) {
            Some(t) => describe(&broker.metadata(), t, with_ops),
            None => error(ErrorCode::UnknownTopicOrPartition),
        },
    }
}

/// The Metadata entry of a topic.
pub fn describe(md: &ClusterMetadata, t: &TopicMeta, with_ops: bool) -> MetadataResponseTopic {
    let alive = |id: &i32| md.brokers.get(id).is_some_and(|b| b.alive);
    MetadataResponseTopic {
        error_code: 0,
        name: Some(t.name.clone()),
        topic_id: t.topic_id,
        is_internal: t.is_internal,
        partitions: t
            .partitions
            .iter()
            .map(|p| MetadataResponsePartition {
                error_code: if p.leader < 0 {
                    ErrorCode::LeaderNotAvailable.code()
                } else {
                    0
                },
                partition_index: p.partition,
                leader_id: p.leader,
                leader_epoch: p.leader_epoch,
                replica_nodes: p.replicas.clone(),
                isr_nodes: p.isr.clone(),
                offline_replicas: p.replicas.iter().filter(|r| !alive(r)).copied().collect(),
                ..Default::default()
            })
            .collect(),
        topic_authorized_operations: if with_ops { ALL_TOPIC_OPERATIONS } else { i32::MIN },
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::MetadataRequest,
    version: i16,
    code: streamctl_protocol::ErrorCode,
    md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::metadata::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = {
        let all = match &req.topics {
            None => true,
            Some(t) => t.is_empty() && version == 0,
        };
        let topics = if all {
            md.topics
                .values()
                .map(|t| MetadataResponseTopic {
                    error_code,
                    name: Some(t.name.clone()),
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    ..Default::default()
                })
                .collect()
        } else {
            req.topics
                .iter()
                .flatten()
                .map(|t| MetadataResponseTopic {
                    error_code,
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    ..Default::default()
                })
                .collect()
        };
        MetadataResponse {
            brokers: md
                .live_brokers()
                .map(|b| MetadataResponseBroker {
                    node_id: b.node_id,
                    host: b.host.clone(),
                    port: i32::from(b.port),
                    rack: b.rack.clone(),
                    ..Default::default()
                })
                .collect(),
            cluster_id: Some(md.cluster_id.clone()),
            controller_id: md.controller_id,
            topics,
            ..Default::default()
        }
        .into()
    };
    Some(response)
}
