//! ApiVersions: v0–v4.
//!
//! Lists every API this broker serves (built from the handler registry). A request with a
//! version newer than v4 is answered by the connection layer with a v0 response carrying
//! UNSUPPORTED_VERSION and the list, so the client can retry with a version we share.
//! Not implemented: feature flags (the supported/finalized feature lists are empty).

use streamctl_protocol::messages::api_versions::ApiVersionsResponseApiVersion;
use streamctl_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use streamctl_protocol::ApiKey;

use super::RequestContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

/// The full answer, without error; the SASL APIs are listed only on a SASL listener.
pub fn supported(sasl: bool) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: super::served_on(sasl)
            .into_iter()
            .map(|(key, min, max)| ApiVersionsResponseApiVersion {
                api_key: key.code(),
                // Old librdkafka only compresses when the broker advertises Produce from v0;
                // requests below v3 are still refused by the codec.
                min_version: if key == ApiKey::Produce { 0 } else { min },
                max_version: max,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Answers an ApiVersions request.
pub async fn handle(ctx: &RequestContext<'_>, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    supported(ctx.sasl)
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
