//! IncrementalAlterConfigs: v0–v1.
//!
//! Topics (resource type 2): SET (0) sets an override, DELETE (1) removes it (back to the
//! default), APPEND (2) and SUBTRACT (3) add or remove words of a list config such as
//! `cleanup.policy` (INVALID_CONFIG for any other type, as Kafka). All changes of a resource
//! are applied to a copy of its overrides, each checked with Kafka's names and value types, and
//! stored at once through the controller — so one bad change leaves the topic untouched.
//! `validate_only` checks without storing. A config named twice in one resource, or a resource
//! listed twice, answers INVALID_REQUEST; unknown topic → UNKNOWN_TOPIC_OR_PARTITION.
//! Not implemented: broker resources (4) answer INVALID_REQUEST — broker settings are fixed
//! when the dev cluster starts; other resource types answer INVALID_REQUEST too.
//! `max.message.bytes`, `message.timestamp.type` and `min.insync.replicas` take effect at once
//! (read from the metadata on every produce).
//! `retention.*`, `segment.*` and `flush.*` reach open logs when each broker applies the new
//! metadata (`BrokerShared::reconcile` → `Partition::set_config`).

use std::collections::HashSet;

use streamctl_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterConfigsResourceResponse, AlterableConfig,
};
use streamctl_protocol::messages::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use streamctl_protocol::ErrorCode;
use tracing::info;

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::RequestContext;
use crate::config::{self, topic_config_def, ConfigType};
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

/// `AlterConfigOp.OpType` codes.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Answers an IncrementalAlterConfigs request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let key = |r: &AlterConfigsResource| (r.resource_type, r.resource_name.clone());
    let mut seen = HashSet::new();
    let duplicates: HashSet<(i8, String)> = req
        .resources
        .iter()
        .filter(|r| !seen.insert(key(r)))
        .map(key)
        .collect();
    let mut answered = HashSet::new();
    let responses = req
        .resources
        .iter()
        // A resource listed twice gets one answer.
        .filter(|r| answered.insert(key(r)))
        .map(|r| {
            let result = if duplicates.contains(&key(r)) {
                Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("resource {:?} is listed more than once", r.resource_name),
                ))
            } else {
                alter(ctx, r, req.validate_only)
            };
            let (error_code, error_message) = match result {
                Ok(()) => (0, None),
                Err(e) => (e.code.code(), Some(e.message)),
            };
            AlterConfigsResourceResponse {
                error_code,
                error_message,
                resource_type: r.resource_type,
                resource_name: r.resource_name.clone(),
                ..Default::default()
            }
        })
        .collect();
    IncrementalAlterConfigsResponse {
        responses,
        ..Default::default()
    }
}

fn alter(
    ctx: &RequestContext<'_>,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), ApiError> {
    match r.resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "altering broker configs is not supported: this dev cluster fixes broker \
                 settings when it starts",
            ))
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("resource type {other} is not supported; only topics ({RESOURCE_TOPIC}) can be altered"),
            ))
        }
    }
    let name = &r.resource_name;
    let md = ctx.broker.metadata();
    let topic = md.topic(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("topic {name:?} does not exist"),
        )
    })?;
    let mut overrides = topic.config.overrides.clone();
    let mut seen = HashSet::new();
    for change in &r.configs {
        if !seen.insert(change.name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("config {} is changed more than once", change.name),
            ));
        }
        let value = apply(change, overrides.get(&change.name).map(String::as_str))?;
        match value {
            Some(v) => overrides.insert(change.name.clone(), v),
            None => overrides.remove(&change.name),
        };
    }
    if !validate_only {
        // Computed from a snapshot: two concurrent alters of the same topic can lose one's
        // changes, where Kafka's controller applies each atomically. Rare in a dev cluster;
        // closing it needs a read-modify-write method on the controller.
        ctx.broker.controller.set_topic_config(name, overrides)?;
        info!(broker = ctx.broker.node_id, topic = %name, changes = r.configs.len(), "altered topic config");
    }
    Ok(())
}

/// The override a change leaves (`None`: no override), given the current override.
fn apply(change: &AlterableConfig, current: Option<&str>) -> Result<Option<String>, ApiError> {
    let name = change.name.as_str();
    let def = topic_config_def(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidConfig,
            format!("unknown topic config {name}"),
        )
    })?;
    let op = change.config_operation;
    if op == OP_DELETE {
        return Ok(None);
    }
    let value = change.value.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("null value not supported for {name}"),
        )
    })?;
    let words = |list: &str| -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let new = match op {
        OP_SET => value.to_string(),
        OP_APPEND | OP_SUBTRACT => {
            if !matches!(def.kind, ConfigType::List(_) | ConfigType::ReplicaList) {
                let verb = if op == OP_APPEND {
                    "append"
                } else {
                    "subtract"
                };
                return Err(ApiError::new(
                    ErrorCode::InvalidConfig,
                    format!("{verb} is only allowed for list configs, and {name} is not one"),
                ));
            }
            let mut list = words(current.unwrap_or(def.default));
            for w in words(value) {
                if op == OP_APPEND && !list.contains(&w) {
                    list.push(w);
                } else if op == OP_SUBTRACT {
                    list.retain(|x| *x != w);
                }
            }
            list.join(",")
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("unknown config operation {other} for {name}"),
            ))
        }
    };
    config::validate(name, &new)?;
    Ok(Some(new))
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::IncrementalAlterConfigsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::incremental_alter_configs::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = IncrementalAlterConfigsResponse {
        responses: req
            .resources
            .iter()
            .map(|r| AlterConfigsResourceResponse {
                error_code,
                error_message: message(),
                resource_type: r.resource_type,
                resource_name: r.resource_name.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
