//! The typed request → response pairing, and API version negotiation.
//!
//! [`Request`] ties each request type of the protocol crate to its response type, so
//! [`Connection::call`](super::Connection::call) returns the right one. [`Versions`] keeps what
//! a broker's ApiVersions answer listed and, per API, the highest version both sides implement.

use std::collections::HashMap;

use bytes::Bytes;
use streamctl_protocol::messages::api_versions::ApiVersionsResponseApiVersion;
use streamctl_protocol::messages::*;
use streamctl_protocol::{ApiKey, DecodeError, ErrorCode, Message};

/// A request whose response type is known, so [`Connection::call`](super::Connection::call)
/// can return it typed.
///
/// Implemented for every request of the protocol crate's
/// [`SUPPORTED`] list.
pub trait Request: Message + Send + Sync + 'static {
    /// The response the broker sends to this request.
    type Response: Message + Send + 'static;

    /// Decodes the response body of a request sent at `version`.
    fn decode_response(body: &mut Bytes, version: i16) -> Result<Self::Response, DecodeError> {
        Self::Response::decode_from(body, version)
    }
}

macro_rules! requests {
    ($($req:ident => $resp:ident,)*) => {
        $(impl Request for $req {
            type Response = $resp;
        })*

        /// Every API with a [`Request`] impl (checked against `SUPPORTED` in the tests).
        #[cfg(test)]
        const IMPLEMENTED: &[ApiKey] = &[$(<$req as Message>::API_KEY,)*];
    };
}

requests! {
    MetadataRequest => MetadataResponse,
    ProduceRequest => ProduceResponse,
    FetchRequest => FetchResponse,
    ListOffsetsRequest => ListOffsetsResponse,
    FindCoordinatorRequest => FindCoordinatorResponse,
    JoinGroupRequest => JoinGroupResponse,
    SyncGroupRequest => SyncGroupResponse,
    HeartbeatRequest => HeartbeatResponse,
    LeaveGroupRequest => LeaveGroupResponse,
    OffsetCommitRequest => OffsetCommitResponse,
    OffsetFetchRequest => OffsetFetchResponse,
    OffsetForLeaderEpochRequest => OffsetForLeaderEpochResponse,
    InitProducerIdRequest => InitProducerIdResponse,
    CreateTopicsRequest => CreateTopicsResponse,
    DeleteTopicsRequest => DeleteTopicsResponse,
    CreatePartitionsRequest => CreatePartitionsResponse,
    DescribeGroupsRequest => DescribeGroupsResponse,
    ListGroupsRequest => ListGroupsResponse,
    DeleteGroupsRequest => DeleteGroupsResponse,
    DescribeConfigsRequest => DescribeConfigsResponse,
    IncrementalAlterConfigsRequest => IncrementalAlterConfigsResponse,
    DescribeClusterRequest => DescribeClusterResponse,
    DeleteRecordsRequest => DeleteRecordsResponse,
    SaslHandshakeRequest => SaslHandshakeResponse,
    SaslAuthenticateRequest => SaslAuthenticateResponse,
    OffsetDeleteRequest => OffsetDeleteResponse,
}

// Written out because its response needs Kafka's fallback, see `decode_response`.
#[cfg(test)]
const IMPLEMENTED_BY_HAND: &[ApiKey] = &[ApiKey::ApiVersions];

impl Request for ApiVersionsRequest {
    type Response = ApiVersionsResponse;

    /// A broker that does not know our ApiVersions version answers `UNSUPPORTED_VERSION` in a
    /// *v0* body (KIP-511). The error code is the first field at every version, so it tells
    /// which version to decode at.
    fn decode_response(body: &mut Bytes, version: i16) -> Result<ApiVersionsResponse, DecodeError> {
        let code = body
            .get(..2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(i16::from_be_bytes);
        let version = if code == Some(ErrorCode::UnsupportedVersion.code()) {
            0
        } else {
            version
        };
        ApiVersionsResponse::decode_from(body, version)
    }
}

/// The API versions a broker supports, and the ones this connection uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Versions {
    /// The broker's (min, max) per API key code, as it listed them.
    pub(crate) broker: HashMap<i16, (i16, i16)>,
    /// The highest version both sides implement, per API.
    pub(crate) negotiated: HashMap<ApiKey, i16>,
}

impl Versions {
    pub(crate) fn negotiate(broker_list: &[ApiVersionsResponseApiVersion]) -> Self {
        let broker: HashMap<i16, (i16, i16)> = broker_list
            .iter()
            .map(|v| (v.api_key, (v.min_version, v.max_version)))
            .collect();
        let negotiated = SUPPORTED
            .iter()
            .filter_map(|&(api, our_min, our_max)| {
                let &(their_min, their_max) = broker.get(&api.code())?;
                let version = our_max.min(their_max);
                (version >= our_min.max(their_min)).then_some((api, version))
            })
            .collect();
        Self { broker, negotiated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_api_has_a_typed_response() {
        for (api, _, _) in SUPPORTED {
            assert!(
                IMPLEMENTED.contains(api) || IMPLEMENTED_BY_HAND.contains(api),
                "{api} has no Request impl"
            );
        }
    }

    #[test]
    fn negotiation_picks_the_highest_shared_version() {
        let v = |api_key: ApiKey, min_version, max_version| ApiVersionsResponseApiVersion {
            api_key: api_key.code(),
            min_version,
            max_version,
            ..Default::default()
        };
        let versions = Versions::negotiate(&[
            v(ApiKey::Metadata, 0, 99),
            v(ApiKey::Fetch, 0, 7),
            v(ApiKey::Produce, 12, 13),
            v(ApiKey::Heartbeat, 2, 2),
        ]);
        assert_eq!(versions.negotiated.get(&ApiKey::Metadata), Some(&12));
        assert_eq!(versions.negotiated.get(&ApiKey::Fetch), Some(&7));
        assert_eq!(versions.negotiated.get(&ApiKey::Produce), None);
        assert_eq!(versions.negotiated.get(&ApiKey::Heartbeat), Some(&2));
        assert_eq!(versions.negotiated.get(&ApiKey::JoinGroup), None);
    }
}
