//! Every Kafka message this crate implements, one module per API (request and response).
//!
//! The `registry!` list at the bottom is the one place that names every API: it pairs each
//! request type with its response type ([`Request`]) and generates [`RequestBody`],
//! [`ResponseBody`], [`SUPPORTED`] (the (API, version range) pairs: the dev cluster builds its
//! ApiVersions answer from its handlers, the client negotiates against it) and the
//! conformance tests' list (round-trip and differential checks of every pair). Adding an API
//! is a message file here, one line in that list, and the dev cluster's handler file.

use bytes::{Bytes, BytesMut};

use crate::{ApiKey, DecodeError, EncodeError, ErrorCode, Message};

/// A request type, tied to the response type it gets back (as rskafka pairs them), so a
/// typed call returns the right one.
pub trait Request: Message + Into<RequestBody> + Send + Sync + 'static {
    /// The response message.
    type Response: Message + Send + Sync + 'static;

    /// Decodes this request's response body at `version`. ApiVersions is special (KIP-511):
    /// a broker that does not support the version asked answers UNSUPPORTED_VERSION in a v0
    /// body, so such an answer is decoded at v0. Not every broker gets that body right
    /// (librdkafka's mock cluster writes it in the flexible encoding of the version asked, in
    /// part), so when neither v0 nor that version decodes, the answer is the error code alone:
    /// it is all the caller needs to retry at v0, as librdkafka itself does.
    fn decode_response(body: &mut Bytes, version: i16) -> Result<Self::Response, DecodeError> {
        let unsupported = Self::API_KEY == ApiKey::ApiVersions
            && body
                .get(..2)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map(i16::from_be_bytes)
                == Some(ErrorCode::UnsupportedVersion.code());
        if !unsupported {
            return Self::Response::decode_from(body, version);
        }
        let original = body.clone();
        let mut first_error = None;
        for attempt in [0, version] {
            let mut candidate = original.clone();
            match Self::Response::decode_from(&mut candidate, attempt) {
                Ok(response) => {
                    *body = candidate;
                    return Ok(response);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // The error code alone: an ApiVersions body of v0 with no API listed.
        let mut error_only = Bytes::from_static(&[0x00, 0x23, 0, 0, 0, 0]);
        Self::Response::decode_from(&mut error_only, 0).map_err(|e| first_error.unwrap_or(e))
    }

    /// This request's response, if `body` is one.
    fn response(body: ResponseBody) -> Option<Self::Response>;
}

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_producers;
pub mod describe_transactions;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod write_txn_markers;

pub use add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
pub use add_partitions_to_txn::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
pub use api_versions::{ApiVersionsRequest, ApiVersionsResponse};
pub use consumer_group_describe::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse};
pub use consumer_group_heartbeat::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
pub use create_partitions::{CreatePartitionsRequest, CreatePartitionsResponse};
pub use create_topics::{CreateTopicsRequest, CreateTopicsResponse};
pub use delete_groups::{DeleteGroupsRequest, DeleteGroupsResponse};
pub use delete_records::{DeleteRecordsRequest, DeleteRecordsResponse};
pub use delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse};
pub use describe_cluster::{DescribeClusterRequest, DescribeClusterResponse};
pub use describe_configs::{DescribeConfigsRequest, DescribeConfigsResponse};
pub use describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse};
pub use describe_producers::{DescribeProducersRequest, DescribeProducersResponse};
pub use describe_transactions::{DescribeTransactionsRequest, DescribeTransactionsResponse};
pub use end_txn::{EndTxnRequest, EndTxnResponse};
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
pub use list_transactions::{ListTransactionsRequest, ListTransactionsResponse};
pub use metadata::{MetadataRequest, MetadataResponse};
pub use offset_commit::{OffsetCommitRequest, OffsetCommitResponse};
pub use offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse};
pub use offset_fetch::{OffsetFetchRequest, OffsetFetchResponse};
pub use offset_for_leader_epoch::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
pub use produce::{ProduceRequest, ProduceResponse};
pub use sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
pub use sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
pub use sync_group::{SyncGroupRequest, SyncGroupResponse};
pub use txn_offset_commit::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
pub use write_txn_markers::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

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

        #[cfg(any(test, feature = "testing"))]
        impl RequestBody {
            /// A random request of `api_key` built from `u`'s bytes (tests; feature `testing`).
            pub fn generate(
                api_key: ApiKey,
                u: &mut arbitrary::Unstructured<'_>,
            ) -> arbitrary::Result<Self> {
                match api_key {
                    $(ApiKey::$api => <$req as crate::generate::Gen>::gen(u).map(RequestBody::$api),)*
                    _ => Err(arbitrary::Error::IncorrectFormat),
                }
            }
        }

        /// The conformance suite's checks, one per API (tests only; see `testing.rs`).
        #[cfg(test)]
        pub(crate) fn conformance_checks() -> Vec<(ApiKey, fn() -> usize)> {
            vec![$(
                (
                    ApiKey::$api,
                    crate::testing::check_api::<
                        $req,
                        $resp,
                        kafka_protocol::messages::$req,
                        kafka_protocol::messages::$resp,
                    > as fn() -> usize,
                ),
            )*]
        }

        $(
            impl Request for $req {
                type Response = $resp;

                fn response(body: ResponseBody) -> Option<$resp> {
                    match body {
                        ResponseBody::$api(r) => Some(r),
                        _ => None,
                    }
                }
            }

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
    AddPartitionsToTxn => AddPartitionsToTxnRequest, AddPartitionsToTxnResponse;
    AddOffsetsToTxn => AddOffsetsToTxnRequest, AddOffsetsToTxnResponse;
    EndTxn => EndTxnRequest, EndTxnResponse;
    WriteTxnMarkers => WriteTxnMarkersRequest, WriteTxnMarkersResponse;
    TxnOffsetCommit => TxnOffsetCommitRequest, TxnOffsetCommitResponse;
    DescribeProducers => DescribeProducersRequest, DescribeProducersResponse;
    DescribeTransactions => DescribeTransactionsRequest, DescribeTransactionsResponse;
    ListTransactions => ListTransactionsRequest, ListTransactionsResponse;
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
    ConsumerGroupHeartbeat => ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse;
    ConsumerGroupDescribe => ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse;
}
