//! Every Kafka message this crate implements, one module per API (request and response).
//!
//! [`SUPPORTED`] is the single list of (API, version range) pairs: the dev cluster builds its
//! ApiVersions answer from its handlers, the client negotiates against it, and the tests cover
//! each pair with round-trip and differential checks.

use bytes::{Bytes, BytesMut};

use crate::{ApiKey, DecodeError, EncodeError, Message};

pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod sync_group;

pub use api_versions::{ApiVersionsRequest, ApiVersionsResponse};
pub use create_partitions::{CreatePartitionsRequest, CreatePartitionsResponse};
pub use create_topics::{CreateTopicsRequest, CreateTopicsResponse};
pub use delete_groups::{DeleteGroupsRequest, DeleteGroupsResponse};
pub use delete_records::{DeleteRecordsRequest, DeleteRecordsResponse};
pub use delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse};
pub use describe_cluster::{DescribeClusterRequest, DescribeClusterResponse};
pub use describe_configs::{DescribeConfigsRequest, DescribeConfigsResponse};
pub use describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse};
pub use fetch::{FetchRequest, FetchResponse};
pub use find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
pub use heartbeat::{HeartbeatRequest, HeartbeatResponse};
pub use incremental_alter_configs::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
pub use init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
pub use join_group::{JoinGroupRequest, JoinGroupResponse};
pub use leave_group::{LeaveGroupRequest, LeaveGroupResponse};
pub use list_groups::{ListGroupsRequest, ListGroupsResponse};
pub use list_offsets::{ListOffsetsRequest, ListOffsetsResponse};
pub use metadata::{MetadataRequest, MetadataResponse};
pub use offset_commit::{OffsetCommitRequest, OffsetCommitResponse};
pub use offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse};
pub use offset_fetch::{OffsetFetchRequest, OffsetFetchResponse};
pub use offset_for_leader_epoch::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
pub use produce::{ProduceRequest, ProduceResponse};
pub use sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
pub use sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
pub use sync_group::{SyncGroupRequest, SyncGroupResponse};

macro_rules! registry {
    ($($api:ident => $req:ident, $resp:ident;)*) => {
        /// The decoded body of any supported request.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum RequestBody {
            $(
                #[doc = concat!("A ", stringify!($req), ".")]
                $api($req),
            )*
        }

        /// The decoded body of any supported response.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum ResponseBody {
            $(
                #[doc = concat!("A ", stringify!($resp), ".")]
                $api($resp),
            )*
        }

        /// Every implemented API with its (min, max) version.
        pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
            $((ApiKey::$api, <$req as Message>::MIN_VERSION, <$req as Message>::MAX_VERSION),)*
        ];

        /// The first flexible version of an implemented API (`i16::MAX` if it has none).
        pub fn flexible_from(api_key: ApiKey) -> Option<i16> {
            match api_key {
                $(ApiKey::$api => Some(<$req as Message>::FLEXIBLE_FROM),)*
                _ => None,
            }
        }

        impl RequestBody {
            /// Decodes a request body of `api_key` at `version`.
            pub fn decode(api_key: ApiKey, version: i16, buf: &mut Bytes) -> Result<Self, DecodeError> {
                match api_key {
                    $(ApiKey::$api => $req::decode_from(buf, version).map(RequestBody::$api),)*
                    _ => Err(DecodeError::UnsupportedVersion { api_key: api_key.code(), version }),
                }
            }

            /// Appends the body at `version` to `buf`.
            pub fn encode_to(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
                match self {
                    $(RequestBody::$api(m) => m.encode_to(buf, version),)*
                }
            }

            /// The API of this request.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(RequestBody::$api(_) => ApiKey::$api,)*
                }
            }
        }

        impl ResponseBody {
            /// Decodes a response body of `api_key` at `version`.
            pub fn decode(api_key: ApiKey, version: i16, buf: &mut Bytes) -> Result<Self, DecodeError> {
                match api_key {
                    $(ApiKey::$api => $resp::decode_from(buf, version).map(ResponseBody::$api),)*
                    _ => Err(DecodeError::UnsupportedVersion { api_key: api_key.code(), version }),
                }
            }

            /// Appends the body at `version` to `buf`.
            pub fn encode_to(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
                match self {
                    $(ResponseBody::$api(m) => m.encode_to(buf, version),)*
                }
            }

            /// The API of this response.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(ResponseBody::$api(_) => ApiKey::$api,)*
                }
            }
        }

        #[cfg(test)]
        impl RequestBody {
            /// A random request of `api_key` (tests only).
            pub(crate) fn gen(
                api_key: ApiKey,
                u: &mut arbitrary::Unstructured<'_>,
            ) -> arbitrary::Result<Self> {
                match api_key {
                    $(ApiKey::$api => <$req as crate::testing::Gen>::gen(u).map(RequestBody::$api),)*
                    _ => Err(arbitrary::Error::IncorrectFormat),
                }
            }
        }

        $(
            impl From<$req> for RequestBody {
                fn from(m: $req) -> Self {
                    RequestBody::$api(m)
                }
            }
            impl From<$resp> for ResponseBody {
                fn from(m: $resp) -> Self {
                    ResponseBody::$api(m)
                }
            }
        )*
    };
}

registry! {
    ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
    Metadata => MetadataRequest, MetadataResponse;
    Produce => ProduceRequest, ProduceResponse;
    Fetch => FetchRequest, FetchResponse;
    ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
    FindCoordinator => FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup => JoinGroupRequest, JoinGroupResponse;
    SyncGroup => SyncGroupRequest, SyncGroupResponse;
    Heartbeat => HeartbeatRequest, HeartbeatResponse;
    LeaveGroup => LeaveGroupRequest, LeaveGroupResponse;
    OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch => OffsetFetchRequest, OffsetFetchResponse;
    OffsetForLeaderEpoch => OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
    InitProducerId => InitProducerIdRequest, InitProducerIdResponse;
    CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => DeleteTopicsRequest, DeleteTopicsResponse;
    CreatePartitions => CreatePartitionsRequest, CreatePartitionsResponse;
    DescribeGroups => DescribeGroupsRequest, DescribeGroupsResponse;
    ListGroups => ListGroupsRequest, ListGroupsResponse;
    DeleteGroups => DeleteGroupsRequest, DeleteGroupsResponse;
    DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
    IncrementalAlterConfigs => IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    DescribeCluster => DescribeClusterRequest, DescribeClusterResponse;
    DeleteRecords => DeleteRecordsRequest, DeleteRecordsResponse;
    SaslHandshake => SaslHandshakeRequest, SaslHandshakeResponse;
    SaslAuthenticate => SaslAuthenticateRequest, SaslAuthenticateResponse;
    OffsetDelete => OffsetDeleteRequest, OffsetDeleteResponse;
}
