//! DescribeConfigs: v1–v4.
//!
//! Topics (resource type 2): every config of [`TOPIC_CONFIGS`] with its effective value,
//! source TOPIC_CONFIG for an override or DEFAULT_CONFIG, and (when asked) its synonyms — the
//! override, then the broker-level default under Kafka's broker name (`retention.ms` →
//! `log.retention.ms`) — its type (v3+) and documentation (v3+). Unknown topic →
//! UNKNOWN_TOPIC_OR_PARTITION; invalid name → INVALID_TOPIC_EXCEPTION.
//! Brokers (resource type 4): the broker's own settings (`broker.id`, `node.id`,
//! `auto.create.topics.enable`, `num.partitions`, `default.replication.factor`,
//! `socket.request.max.bytes`, the `offsets.*` and `group.*` settings of the group
//! coordinator) and the broker-level defaults
//! of the topic configs, all read-only (nothing can be changed at run time). As in Kafka the
//! request must go to the broker it names; an empty name describes the cluster-wide dynamic
//! defaults, of which there are none.
//! `configuration_keys` null or empty lists every config, otherwise only the named ones (names
//! the broker does not know are left out, as Kafka does).
//! Not implemented: other resource types (broker loggers, client metrics, groups) answer
//! INVALID_REQUEST; sensitive configs (there are none).

use streamctl_protocol::messages::describe_configs::{
    DescribeConfigsResource, DescribeConfigsResourceResult, DescribeConfigsResult,
    DescribeConfigsSynonym,
};
use streamctl_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;
use crate::config::{ConfigDef, ConfigType, TOPIC_CONFIGS};
use crate::controller::validate_topic_name;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 4);

/// Kafka's `ConfigResource.Type` for a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Kafka's `ConfigResource.Type` for a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// `ConfigSource`: set on the topic.
const SOURCE_TOPIC: i8 = 1;
/// `ConfigSource`: set in the broker's static configuration.
const SOURCE_STATIC_BROKER: i8 = 4;
/// `ConfigSource`: Kafka's default.
const SOURCE_DEFAULT: i8 = 5;

/// `ConfigType` codes (KIP-569).
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_SHORT: i8 = 4;
const TYPE_LONG: i8 = 5;
const TYPE_DOUBLE: i8 = 6;
const TYPE_LIST: i8 = 7;

/// Answers a DescribeConfigs request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let options = Options {
        synonyms: req.include_synonyms,
        documentation: req.include_documentation,
    };
    DescribeConfigsResponse {
        results: req
            .resources
            .iter()
            .map(|r| {
                let configs = match r.resource_type {
                    RESOURCE_TOPIC => describe_topic(ctx, r, options),
                    RESOURCE_BROKER => describe_broker(ctx, r, options),
                    other => Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            "resource type {other} is not supported; this dev cluster describes \
                             topics ({RESOURCE_TOPIC}) and brokers ({RESOURCE_BROKER})"
                        ),
                    )),
                };
                match configs {
                    Ok(configs) => DescribeConfigsResult {
                        error_code: 0,
                        error_message: None,
                        resource_type: r.resource_type,
                        resource_name: r.resource_name.clone(),
                        configs,
                        ..Default::default()
                    },
                    Err(e) => DescribeConfigsResult {
                        error_code: e.code.code(),
                        error_message: Some(e.message),
                        resource_type: r.resource_type,
                        resource_name: r.resource_name.clone(),
                        configs: Vec::new(),
                        ..Default::default()
                    },
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// What the client asked to have filled in.
#[derive(Debug, Clone, Copy)]
struct Options {
    synonyms: bool,
    documentation: bool,
}

/// Whether a config is among the requested keys (null or empty means all, as in Kafka).
fn wanted(r: &DescribeConfigsResource, name: &str) -> bool {
    r.configuration_keys
        .as_ref()
        .filter(|keys| !keys.is_empty())
        .is_none_or(|keys| keys.iter().any(|k| k == name))
}

fn describe_topic(
    ctx: &RequestContext<'_>,
    r: &DescribeConfigsResource,
    options: Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ApiError> {
    validate_topic_name(&r.resource_name)?;
    let md = ctx.broker.metadata();
    let topic = md.topic(&r.resource_name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("topic {:?} does not exist", r.resource_name),
        )
    })?;
    Ok(TOPIC_CONFIGS
        .iter()
        .filter(|def| wanted(r, def.name))
        .map(|def| {
            let overridden = topic.config.overrides.get(def.name);
            let mut synonyms = Vec::new();
            if let Some(value) = overridden {
                synonyms.push(synonym(def.name, value, SOURCE_TOPIC));
            }
            if let Some(broker) = def.synonym {
                synonyms.push(synonym(broker, def.default, SOURCE_DEFAULT));
            }
            entry(
                Entry {
                    name: def.name,
                    value: overridden.map_or(def.default, String::as_str),
                    source: if overridden.is_some() {
                        SOURCE_TOPIC
                    } else {
                        SOURCE_DEFAULT
                    },
                    // Topic configs can all be changed with IncrementalAlterConfigs.
                    read_only: false,
                    config_type: config_type(def),
                    doc: def.doc,
                    synonyms,
                },
                options,
            )
        })
        .collect())
}

fn describe_broker(
    ctx: &RequestContext<'_>,
    r: &DescribeConfigsResource,
    options: Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ApiError> {
    let node_id = ctx.broker.node_id;
    if r.resource_name.is_empty() {
        // The cluster-wide dynamic defaults: nothing can be set dynamically here.
        return Ok(Vec::new());
    }
    let asked: i32 = r.resource_name.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("broker id must be an integer, got {:?}", r.resource_name),
        )
    })?;
    if asked != node_id {
        // Kafka answers for itself only; clients send broker resources to that broker.
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("this is broker {node_id}; describe broker {asked} by asking it"),
        ));
    }
    let config = &ctx.broker.config;
    let id = node_id.to_string();
    // (name, value, Kafka's default if it has one, type, documentation)
    let ms = |d: std::time::Duration| d.as_millis().to_string();
    let own: [(&str, String, Option<&str>, i8, &str); 21] = [
        ("broker.id", id.clone(), None, TYPE_INT, "this broker's id"),
        (
            "node.id",
            id,
            None,
            TYPE_INT,
            "this node's id (KRaft name of broker.id)",
        ),
        (
            "auto.create.topics.enable",
            config.auto_create_topics.to_string(),
            Some("true"),
            TYPE_BOOLEAN,
            "whether Metadata requests may create unknown topics",
        ),
        (
            "num.partitions",
            config.num_partitions.to_string(),
            Some("1"),
            TYPE_INT,
            "partitions of auto-created topics and of CreateTopics with -1",
        ),
        (
            "default.replication.factor",
            config.default_replication_factor.to_string(),
            Some("1"),
            TYPE_INT,
            "replication factor of auto-created topics and of CreateTopics with -1",
        ),
        (
            "socket.request.max.bytes",
            config.max_frame_size.to_string(),
            Some("104857600"),
            TYPE_INT,
            "largest request the broker accepts; larger ones close the connection",
        ),
        (
            "offsets.topic.num.partitions",
            config.offsets_topic_partitions.to_string(),
            Some("50"),
            TYPE_INT,
            "partitions of __consumer_offsets",
        ),
        (
            "offsets.topic.replication.factor",
            config.offsets_topic_replication_factor.to_string(),
            Some("3"),
            TYPE_SHORT,
            "replication factor of __consumer_offsets (capped at the live brokers)",
        ),
        (
            "offsets.commit.timeout.ms",
            ms(config.offsets_commit_timeout),
            Some("5000"),
            TYPE_INT,
            "how long an offset commit waits for the in-sync replicas",
        ),
        (
            "transaction.state.log.num.partitions",
            config.transaction_state_partitions.to_string(),
            Some("50"),
            TYPE_INT,
            "partitions of __transaction_state",
        ),
        (
            "transaction.state.log.replication.factor",
            config.transaction_state_replication_factor.to_string(),
            Some("3"),
            TYPE_SHORT,
            "replication factor of __transaction_state (capped at the live brokers)",
        ),
        (
            "transaction.state.log.min.isr",
            config.transaction_state_min_isr.to_string(),
            Some("2"),
            TYPE_INT,
            "min.insync.replicas of __transaction_state (capped at its replication factor)",
        ),
        (
            "transaction.max.timeout.ms",
            config.transaction_max_timeout_ms.to_string(),
            Some("900000"),
            TYPE_INT,
            "longest transaction.timeout.ms a producer may ask for",
        ),
        (
            "transactional.id.expiration.ms",
            ms(config.transactional_id_expiration),
            Some("604800000"),
            TYPE_INT,
            "how long an idle transactional id is kept",
        ),
        (
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            ms(config.transaction_abort_interval),
            Some("10000"),
            TYPE_INT,
            "how often transactions past their timeout are aborted",
        ),
        (
            "offset.metadata.max.bytes",
            config.offset_metadata_max_bytes.to_string(),
            Some("4096"),
            TYPE_INT,
            "largest metadata string an offset commit may carry",
        ),
        (
            "group.initial.rebalance.delay.ms",
            ms(config.group_initial_rebalance_delay),
            Some("3000"),
            TYPE_INT,
            "how long the first rebalance of an empty group waits for more members",
        ),
        (
            "group.min.session.timeout.ms",
            ms(config.group_min_session_timeout),
            Some("6000"),
            TYPE_INT,
            "shortest session timeout a group member may ask for",
        ),
        (
            "group.max.session.timeout.ms",
            ms(config.group_max_session_timeout),
            Some("1800000"),
            TYPE_INT,
            "longest session timeout a group member may ask for",
        ),
        (
            "offsets.topic.segment.bytes",
            config.offsets_topic_segment_bytes.to_string(),
            Some("104857600"),
            TYPE_INT,
            "segment size of __consumer_offsets",
        ),
        (
            "log.cleaner.backoff.ms",
            ms(config.log_cleaner_backoff),
            Some("15000"),
            TYPE_LONG,
            "how long the log cleaner sleeps when no compacted partition is due",
        ),
    ];
    let mut entries: Vec<Entry<'_>> = own
        .iter()
        .map(|(name, value, default, config_type, doc)| {
            let source = if *default == Some(value.as_str()) {
                SOURCE_DEFAULT
            } else {
                SOURCE_STATIC_BROKER
            };
            Entry {
                name,
                value,
                source,
                read_only: true,
                config_type: *config_type,
                doc,
                synonyms: vec![synonym(name, value, source)],
            }
        })
        .collect();
    // The broker-level defaults behind every topic config.
    entries.extend(TOPIC_CONFIGS.iter().filter_map(|def| {
        let name = def.synonym?;
        Some(Entry {
            name,
            value: def.default,
            source: SOURCE_DEFAULT,
            read_only: true,
            config_type: config_type(def),
            doc: def.doc,
            synonyms: vec![synonym(name, def.default, SOURCE_DEFAULT)],
        })
    }));
    entries.sort_by(|a, b| a.name.cmp(b.name));
    Ok(entries
        .into_iter()
        .filter(|e| wanted(r, e.name))
        .map(|e| entry(e, options))
        .collect())
}

/// One config before it is shaped for the response.
#[derive(Debug)]
struct Entry<'a> {
    name: &'a str,
    value: &'a str,
    source: i8,
    read_only: bool,
    config_type: i8,
    doc: &'a str,
    synonyms: Vec<DescribeConfigsSynonym>,
}

fn entry(e: Entry<'_>, options: Options) -> DescribeConfigsResourceResult {
    DescribeConfigsResourceResult {
        name: e.name.to_string(),
        value: Some(e.value.to_string()),
        read_only: e.read_only,
        config_source: e.source,
        is_sensitive: false,
        synonyms: if options.synonyms {
            e.synonyms
        } else {
            Vec::new()
        },
        config_type: e.config_type,
        documentation: options.documentation.then(|| e.doc.to_string()),
        ..Default::default()
    }
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym {
        name: name.to_string(),
        value: Some(value.to_string()),
        source,
        ..Default::default()
    }
}

/// The `ConfigType` code of a topic config.
fn config_type(def: &ConfigDef) -> i8 {
    match def.kind {
        ConfigType::Long(_) => TYPE_LONG,
        ConfigType::Int(_) => TYPE_INT,
        ConfigType::Double(..) => TYPE_DOUBLE,
        ConfigType::Boolean => TYPE_BOOLEAN,
        ConfigType::Choice(_) => TYPE_STRING,
        ConfigType::List(_) | ConfigType::ReplicaList => TYPE_LIST,
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DescribeConfigsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::describe_configs::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = DescribeConfigsResponse {
        results: req
            .resources
            .iter()
            .map(|r| DescribeConfigsResult {
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
