//! CreatePartitions: v0–v3.
//!
//! Grows topics to a new total partition count through the controller; a count that is not
//! larger than the current one answers INVALID_PARTITIONS (a topic never shrinks). Without
//! `assignments` the controller places the new replicas; with them there must be one per new
//! partition, each on known, distinct brokers and with as many replicas as the topic's existing
//! partitions (INVALID_REPLICA_ASSIGNMENT otherwise), as in Kafka. `validate_only` checks
//! without changing anything. A topic listed twice answers INVALID_REQUEST.
//! Not implemented: controller mutation quotas (v3 THROTTLING_QUOTA_EXCEEDED); `timeout_ms` is
//! not needed since the change is synchronous.

use std::collections::HashMap;

use streamctl_protocol::messages::create_partitions::{
    CreatePartitionsTopic, CreatePartitionsTopicResult,
};
use streamctl_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;

use super::RequestContext;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 3);

/// Answers a CreatePartitions request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.as_str()).or_default() += 1;
    }
    let mut answered: Vec<&str> = Vec::new();
    let mut results = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let duplicate = counts.get(t.name.as_str()).copied().unwrap_or(0) > 1;
        if answered.contains(&t.name.as_str()) {
            continue;
        }
        answered.push(&t.name);
        let result = if duplicate {
            Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("topic {:?} is listed more than once", t.name),
            ))
        } else {
            grow(ctx, t, req.validate_only)
        };
        results.push(match result {
            Ok(()) => CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: 0,
                error_message: None,
                ..Default::default()
            },
            Err(e) => CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: e.code.code(),
                error_message: Some(e.message),
                ..Default::default()
            },
        });
    }
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

fn grow(
    ctx: &RequestContext<'_>,
    t: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), ApiError> {
    let assignment: Option<Vec<Vec<i32>>> = t
        .assignments
        .as_ref()
        .map(|a| a.iter().map(|p| p.broker_ids.clone()).collect());
    if let (Some(assignment), Some(topic)) = (&assignment, ctx.broker.metadata().topic(&t.name)) {
        // Kafka keeps a topic's replication factor uniform; the controller checks the rest
        // (count, known and distinct brokers). A shrinking count is reported first, as Kafka.
        let current = topic.partitions.len();
        let rf = topic.partitions.first().map_or(0, |p| p.replicas.len());
        let grows = usize::try_from(t.count).is_ok_and(|c| c > current);
        if let Some(bad) = assignment.iter().find(|r| grows && r.len() != rf) {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!(
                    "assignment {bad:?} has {} replicas but the partitions of {:?} have {rf}",
                    bad.len(),
                    t.name
                ),
            ));
        }
    }
    ctx.broker.controller.create_partitions(
        &t.name,
        t.count,
        assignment.as_deref(),
        validate_only,
    )?;
    if !validate_only {
        info!(broker = ctx.broker.node_id, topic = %t.name, partitions = t.count, "added partitions");
    }
    Ok(())
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::CreatePartitionsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::create_partitions::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = CreatePartitionsResponse {
        results: req
            .topics
            .iter()
            .map(|t| CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code,
                error_message: message(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
