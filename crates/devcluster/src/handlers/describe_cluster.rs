//! DescribeCluster: v0–v1.
//!
//! The cluster id, the controller id (the same one Metadata reports) and the brokers that are
//! up. v1's `endpoint_type` must be 1 (brokers): these are broker endpoints, so asking for
//! controllers (2) answers MISMATCHED_ENDPOINT_TYPE and an unknown type
//! UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker does. `cluster_authorized_operations` is
//! `i32::MIN` unless asked for; when asked, every cluster operation is reported, as Kafka does
//! without an authorizer.
//! Not implemented: controller endpoints (the controller is not a separate node here).

use streamctl_protocol::messages::describe_cluster::DescribeClusterBroker;
use streamctl_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};
use streamctl_protocol::ErrorCode;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

/// `endpoint_type` for brokers.
const ENDPOINT_BROKERS: i8 = 1;
/// `endpoint_type` for controllers.
const ENDPOINT_CONTROLLERS: i8 = 2;

/// Cluster operations Kafka reports when there are no ACLs: CREATE, ALTER, DESCRIBE,
/// CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
pub const ALL_CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// Answers a DescribeCluster request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    if req.endpoint_type != ENDPOINT_BROKERS {
        // v0 has no endpoint-type errors; Kafka answers INVALID_REQUEST there (unreachable in
        // practice: v0 always decodes to brokers).
        let code = match (ctx.version(), req.endpoint_type) {
            (0, _) => ErrorCode::InvalidRequest,
            (_, ENDPOINT_CONTROLLERS) => ErrorCode::MismatchedEndpointType,
            _ => ErrorCode::UnsupportedEndpointType,
        };
        return DescribeClusterResponse {
            error_code: code.code(),
            error_message: Some(format!(
                "endpoint type {} was asked of a broker endpoint; only brokers ({ENDPOINT_BROKERS}) are served",
                req.endpoint_type
            )),
            endpoint_type: req.endpoint_type,
            ..Default::default()
        };
    }
    let md = ctx.broker.metadata();
    DescribeClusterResponse {
        error_code: 0,
        error_message: None,
        endpoint_type: ENDPOINT_BROKERS,
        cluster_id: md.cluster_id.clone(),
        controller_id: md.controller_id,
        brokers: md
            .live_brokers()
            .map(|b| DescribeClusterBroker {
                broker_id: b.node_id,
                host: b.host.clone(),
                port: i32::from(b.port),
                rack: b.rack.clone(),
                ..Default::default()
            })
            .collect(),
        cluster_authorized_operations: if req.include_cluster_authorized_operations {
            ALL_CLUSTER_OPERATIONS
        } else {
            i32::MIN
        },
        ..Default::default()
    }
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::DescribeClusterRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::describe_cluster::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let message = || Some(format!("injected fault: {}", code.name()));
    let response: ResponseBody = DescribeClusterResponse {
        error_code,
        error_message: message(),
        endpoint_type: req.endpoint_type,
        cluster_id: md.cluster_id.clone(),
        ..Default::default()
    }
    .into();
    Some(response)
}
