//! DeleteTopics: v1–v6.
//!
//! Deletes topics by name (`topic_names`, v1–v5) or by name or topic id (`topics`, v6), as
//! Kafka's controller does: an unknown name answers UNKNOWN_TOPIC_OR_PARTITION, an unknown id
//! UNKNOWN_TOPIC_ID; a topic named twice, an entry with both a name and an id, or with neither,
//! answers INVALID_REQUEST. Internal topics (`__consumer_offsets`) are deleted like any other:
//! Kafka's broker allows it for a caller with DELETE permission (only `kafka-topics.sh` refuses
//! client-side), and with no ACLs here every caller has it.
//! Deletion is synchronous in the metadata; each broker's maintenance loop then drops its local
//! replicas and their files. Results come back in request order (Kafka shuffles them).
//! Not implemented: `delete.topic.enable=false`, controller mutation quotas (v5
//! THROTTLING_QUOTA_EXCEEDED); `timeout_ms` is not needed since nothing is waited for.

use std::collections::HashMap;

use streamctl_protocol::messages::delete_topics::DeletableTopicResult;
use streamctl_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;
use uuid::Uuid;

use super::RequestContext;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 6);

/// One entry of the request, whichever list it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Name(String),
    Id(Uuid),
    /// An entry Kafka refuses before looking anything up (name and id both or neither set).
    Invalid {
        name: Option<String>,
        topic_id: Uuid,
        why: &'static str,
    },
}

/// Answers a DeleteTopics request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let targets: Vec<Target> = req
        .topic_names
        .iter()
        .map(|n| Target::Name(n.clone()))
        .chain(
            req.topics
                .iter()
                .map(|t| match (&t.name, t.topic_id.is_nil()) {
                    (Some(name), true) => Target::Name(name.clone()),
                    (None, false) => Target::Id(t.topic_id),
                    (None, true) => Target::Invalid {
                        name: None,
                        topic_id: t.topic_id,
                        why: "neither topic name nor topic id was given",
                    },
                    (Some(name), false) => Target::Invalid {
                        name: Some(name.clone()),
                        topic_id: t.topic_id,
                        why: "a topic may be named by name or by id, not both",
                    },
                }),
        )
        .collect();
    // Kafka refuses a topic named twice rather than deleting it once: the request is ambiguous.
    let mut counts: HashMap<&Target, usize> = HashMap::new();
    for t in &targets {
        *counts.entry(t).or_default() += 1;
    }
    let mut answered: Vec<&Target> = Vec::new();
    let mut responses = Vec::with_capacity(targets.len());
    for target in &targets {
        let duplicate = !matches!(target, Target::Invalid { .. })
            && counts.get(target).copied().unwrap_or(0) > 1;
        if duplicate && answered.contains(&target) {
            continue;
        }
        answered.push(target);
        responses.push(delete(ctx, target, duplicate));
    }
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

fn delete(ctx: &RequestContext<'_>, target: &Target, duplicate: bool) -> DeletableTopicResult {
    let error = |name: Option<String>, topic_id: Uuid, e: ApiError| DeletableTopicResult {
        name,
        topic_id,
        error_code: e.code.code(),
        error_message: Some(e.message),
        ..Default::default()
    };
    let name = match target {
        Target::Invalid {
            name,
            topic_id,
            why,
        } => {
            return error(
                name.clone(),
                *topic_id,
                ApiError::new(ErrorCode::InvalidRequest, *why),
            )
        }
        Target::Name(name) if duplicate => {
            return error(
                Some(name.clone()),
                Uuid::nil(),
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("topic {name:?} is listed more than once"),
                ),
            )
        }
        Target::Id(id) if duplicate => {
            return error(
                None,
                *id,
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("topic id {id} is listed more than once"),
                ),
            )
        }
        Target::Name(name) => name.clone(),
        Target::Id(id) => match ctx.broker.metadata().topic_by_id(*id) {
            Some(t) => t.name.clone(),
            None => return error(None, *id, unknown_id(*id)),
        },
    };
    match ctx.broker.controller.delete_topic(&name) {
        Ok(deleted) => {
            info!(broker = ctx.broker.node_id, topic = %name, topic_id = %deleted.topic_id, "deleted topic");
            DeletableTopicResult {
                name: Some(name),
                topic_id: deleted.topic_id,
                error_code: 0,
                error_message: None,
                ..Default::default()
            }
        }
        Err(e) => match target {
            // Deleted by another request between the lookup and now: still an unknown id.
            Target::Id(id) => error(None, *id, unknown_id(*id)),
            _ => error(Some(name), Uuid::nil(), e),
        },
    }
}

fn unknown_id(id: Uuid) -> ApiError {
    ApiError::new(ErrorCode::UnknownTopicId, format!("no topic has id {id}"))
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DeleteTopicsRequest,
    version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::delete_topics::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = DeleteTopicsResponse {
        responses: if version >= 6 {
            req.topics
                .iter()
                .map(|t| DeletableTopicResult {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    error_code,
                    error_message: message(),
                    ..Default::default()
                })
                .collect()
        } else {
            req.topic_names
                .iter()
                .map(|name| DeletableTopicResult {
                    name: Some(name.clone()),
                    error_code,
                    error_message: message(),
                    ..Default::default()
                })
                .collect()
        },
        ..Default::default()
    }
    .into();
    Some(response)
}
