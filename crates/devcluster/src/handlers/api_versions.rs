//! ApiVersions: v0–v4.
//!
//! Lists every API this broker serves (built from the handler registry). A request with a
//! version newer than v4 is answered by the connection layer with a v0 response carrying
//! UNSUPPORTED_VERSION and the list, so the client can retry with a version we share.
//! From v3 it carries the one feature flag clients read, `transaction.version` (supported
//! 0–2, finalized at the configured level, 2 by default as in a new Kafka 4 cluster): at 2
//! clients may run transactions v2 (KIP-890 part 2). As Kafka does, a supported feature
//! whose minimum is 0 is left out below v4 (KAFKA-17492), and a finalized level 0 is not
//! listed.

use streamctl_protocol::messages::api_versions::{
    ApiVersionsResponseApiVersion, ApiVersionsResponseFinalizedFeatureKey,
    ApiVersionsResponseSupportedFeatureKey,
};
use streamctl_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use streamctl_protocol::ApiKey;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// The answer listing `served` (the listener's ranges), without error.
pub fn supported(served: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: served
            .iter()
            .map(|&(key, min, max)| ApiVersionsResponseApiVersion {
                api_key: key.code(),
                // Old librdkafka only compresses when the broker advertises Produce from v0;
                // requests below v3 are still refused by the codec. Kafka 4 does the same
                // (KAFKA-18659), so this holds whatever release the cluster poses as.
                min_version: if key == ApiKey::Produce { 0 } else { min },
                max_version: max,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The feature flag's name.
pub const TRANSACTION_VERSION: &str = "transaction.version";
/// The highest `transaction.version` served.
pub const MAX_TRANSACTION_VERSION: i16 = 2;
/// The epoch of the finalized features: they never change while a cluster runs.
const FEATURES_EPOCH: i64 = 1;

/// Answers an ApiVersions request.
pub async fn handle(ctx: &RequestContext<'_>, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    let mut response = supported(ctx.broker.served(ctx.sasl));
    let max_level = ctx
        .broker
        .config
        .kafka_version
        .map_or(MAX_TRANSACTION_VERSION, |r| r.max_transaction_version());
    let level = ctx.broker.config.transaction_version.min(max_level);
    if ctx.version() >= 4 && max_level > 0 {
        response.supported_features = vec![ApiVersionsResponseSupportedFeatureKey {
            name: TRANSACTION_VERSION.to_string(),
            min_version: 0,
            max_version: max_level,
            ..Default::default()
        }];
    }
    if ctx.version() >= 3 {
        response.finalized_features_epoch = FEATURES_EPOCH;
        if level > 0 {
            response.finalized_features = vec![ApiVersionsResponseFinalizedFeatureKey {
                name: TRANSACTION_VERSION.to_string(),
                max_version_level: level,
                min_version_level: level,
                ..Default::default()
            }];
        }
    }
    response
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    _req: &streamctl_protocol::messages::ApiVersionsRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::api_versions::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = ApiVersionsResponse {
        error_code,
        ..Default::default()
    }
    .into();
    Some(response)
}
