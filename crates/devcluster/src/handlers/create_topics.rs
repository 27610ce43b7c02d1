//! CreateTopics: v2–v7.
//!
//! Validates names, partition counts, replication factors, explicit assignments and configs
//! (Kafka's names and value types), then creates through the controller. `validate_only`
//! checks without creating. v5+ answers with the resulting partition count, replication
//! factor and every config with its source.
//! Not implemented: create policies.

use std::collections::BTreeMap;

use streamctl_protocol::messages::create_topics::{CreatableTopicConfigs, CreatableTopicResult};
use streamctl_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use streamctl_protocol::ErrorCode;
use tracing::info;

use super::RequestContext;
use crate::config::TOPIC_CONFIGS;
use crate::controller::NewTopic;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 7);

/// DescribeConfigs' config source for a topic override.
const SOURCE_TOPIC: i8 = 1;
/// DescribeConfigs' config source for a default.
const SOURCE_DEFAULT: i8 = 5;

/// Answers a CreateTopics request.
pub async fn handle(ctx: &RequestContext<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut seen = std::collections::HashSet::new();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let result = if !seen.insert(t.name.clone()) {
                Err(ApiError::new(ErrorCode::InvalidRequest, format!("topic {:?} is listed twice", t.name)))
            } else {
                create(ctx, t, req.validate_only)
            };
            match result {
                Ok(r) => r,
                Err(e) => CreatableTopicResult {
                    name: t.name.clone(),
                    error_code: e.code.code(),
                    error_message: Some(e.message),
                    configs: None,
                    ..Default::default()
                },
            }
        })
        .collect();
    CreateTopicsResponse {
        topics,
        ..Default::default()
    }
}

fn create(
    ctx: &RequestContext<'_>,
    t: &streamctl_protocol::messages::create_topics::CreatableTopic,
    validate_only: bool,
) -> Result<CreatableTopicResult, ApiError> {
    let mut configs = BTreeMap::new();
    for c in &t.configs {
        let value = c.value.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidConfig, format!("config {} has a null value", c.name))
        })?;
        configs.insert(c.name.clone(), value);
    }
    let explicit = !t.assignments.is_empty();
    if explicit && (t.num_partitions != -1 || t.replication_factor != -1) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "with a replica assignment, num_partitions and replication_factor must be -1",
        ));
    }
    let new = NewTopic {
        name: t.name.clone(),
        num_partitions: t.num_partitions,
        replication_factor: t.replication_factor,
        assignment: t
            .assignments
            .iter()
            .map(|a| (a.partition_index, a.broker_ids.clone()))
            .collect(),
        configs,
    };
    let created = ctx.broker.controller.create_topic(&new, validate_only)?;
    if !validate_only {
        info!(broker = ctx.broker.node_id, topic = %t.name, partitions = created.partitions.len(), "created topic");
    }
    let rf = created.partitions.first().map_or(0, |p| p.replicas.len());
    Ok(CreatableTopicResult {
        name: created.name.clone(),
        topic_id: created.topic_id,
        error_code: 0,
        error_message: None,
        num_partitions: created.partitions.len() as i32,
        replication_factor: rf as i16,
        configs: Some(
            TOPIC_CONFIGS
                .iter()
                .map(|d| {
                    let overridden = created.config.overrides.get(d.name);
                    CreatableTopicConfigs {
                        name: d.name.to_string(),
                        value: Some(overridden.map_or(d.default, String::as_str).to_string()),
                        read_only: false,
                        config_source: if overridden.is_some() { SOURCE_TOPIC } else { SOURCE_DEFAULT },
                        is_sensitive: false,
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        ..Default::default()
    })
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::CreateTopicsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::create_topics::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = CreateTopicsResponse {
        topics: req
            .topics
            .iter()
            .map(|t| CreatableTopicResult {
                name: t.name.clone(),
                error_code,
                error_message: message(),
                configs: None,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
