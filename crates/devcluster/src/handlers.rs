//! Request handlers, one module per API (same stems as the protocol crate's messages).
//!
//! [`SERVED`] is built from the modules listed here, so the ApiVersions answer always matches
//! what the broker can actually handle. Each module (kfake's layout) opens with the versions
//! it serves and what it does not implement, and holds the API's `handle` and its
//! `error_response` (the answer to an injected fault, with the error where Kafka puts this
//! API's errors). Adding an API: its message file in the protocol crate, its line in the
//! protocol's registry, its module here and its line below. Nothing else lists the APIs: the
//! fault tests draw random requests of every API in [`SERVED`] from the protocol crate.

use std::net::SocketAddr;
use std::sync::Arc;

use streamctl_protocol::frame::RequestHeader;
use streamctl_protocol::messages::{RequestBody, ResponseBody};
use streamctl_protocol::ApiKey;

use crate::broker::BrokerShared;

/// What a handler knows about the request it serves.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The broker serving the request.
    pub broker: &'a Arc<BrokerShared>,
    /// The request header (version, client id).
    pub header: &'a RequestHeader,
    /// The client's address (group members are described with it).
    pub peer: SocketAddr,
    /// Whether the listener has SASL (ApiVersions then lists the SASL APIs).
    pub sasl: bool,
}

impl RequestContext<'_> {
    /// The request's API version.
    pub fn version(&self) -> i16 {
        self.header.api_version
    }

    /// The request's client id, or empty.
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or_default()
    }

    /// The client's host as Kafka reports it for group members (`/127.0.0.1`).
    pub fn client_host(&self) -> String {
        format!("/{}", self.peer.ip())
    }
}

macro_rules! handlers {
    ($($api:ident => $module:ident;)*) => {
        $(pub mod $module;)*

        /// Every API this broker serves with its (min, max) version.
        pub const SERVED: &[(ApiKey, i16, i16)] = &[
            $((ApiKey::$api, $module::VERSIONS.0, $module::VERSIONS.1),)*
        ];

        /// Runs the handler of a request; `None` means no response is sent (acks=0).
        pub async fn dispatch(ctx: &RequestContext<'_>, body: RequestBody) -> Option<ResponseBody> {
            match body {
                RequestBody::Produce(req) => produce::handle(ctx, req).await.map(ResponseBody::from),
                $(RequestBody::$api(req) => Some($module::handle(ctx, req).await.into()),)*
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }

        /// The answer Kafka would give to `body` failing with `code`, without executing it
        /// (each module's `error_response` says where the code goes); `None` when none can
        /// be built: an acks=0 Produce, which gets no answer at all, and the SASL APIs, which
        /// cannot be armed (the caller closes the connection instead).
        pub fn error_response(
            body: &RequestBody,
            version: i16,
            code: streamctl_protocol::ErrorCode,
            md: &crate::controller::ClusterMetadata,
        ) -> Option<ResponseBody> {
            match body {
                RequestBody::Produce(req) => produce::error_response(req, version, code, md),
                $(RequestBody::$api(req) => $module::error_response(req, version, code, md),)*
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
    };
}

// Produce is dispatched above (it may answer nothing) but served like the others.
pub mod produce;
// Served by the connection layer, which holds each connection's SASL state.
pub mod sasl_authenticate;
pub mod sasl_handshake;

handlers! {
    ApiVersions => api_versions;
    Metadata => metadata;
    Fetch => fetch;
    ListOffsets => list_offsets;
    CreateTopics => create_topics;
    OffsetForLeaderEpoch => offset_for_leader_epoch;
    DeleteTopics => delete_topics;
    CreatePartitions => create_partitions;
    DescribeConfigs => describe_configs;
    IncrementalAlterConfigs => incremental_alter_configs;
    DescribeCluster => describe_cluster;
    DeleteRecords => delete_records;
    InitProducerId => init_producer_id;
    // Group APIs: served by the group coordinator (crate::coordinator).
    FindCoordinator => find_coordinator;
    JoinGroup => join_group;
    SyncGroup => sync_group;
    Heartbeat => heartbeat;
    LeaveGroup => leave_group;
    OffsetCommit => offset_commit;
    OffsetFetch => offset_fetch;
    DescribeGroups => describe_groups;
    ListGroups => list_groups;
    DeleteGroups => delete_groups;
    OffsetDelete => offset_delete;
    ConsumerGroupHeartbeat => consumer_group_heartbeat;
    ConsumerGroupDescribe => consumer_group_describe;
    // Transaction APIs: served by the transaction coordinator (crate::txn_coordinator) and,
    // for markers, by partition leaders.
    AddPartitionsToTxn => add_partitions_to_txn;
    AddOffsetsToTxn => add_offsets_to_txn;
    EndTxn => end_txn;
    WriteTxnMarkers => write_txn_markers;
    TxnOffsetCommit => txn_offset_commit;
    DescribeTransactions => describe_transactions;
    ListTransactions => list_transactions;
    DescribeProducers => describe_producers;
}

/// Every API served on a listener: [`served`], plus the SASL APIs where SASL is enabled,
/// each narrowed to what `release` had when the cluster poses as an older Kafka (APIs it
/// did not have are left out).
pub fn served_on(
    sasl: bool,
    release: Option<crate::kafka_version::KafkaVersion>,
) -> Vec<(ApiKey, i16, i16)> {
    let mut all = served();
    if sasl {
        all.push((
            ApiKey::SaslHandshake,
            sasl_handshake::VERSIONS.0,
            sasl_handshake::VERSIONS.1,
        ));
        all.push((
            ApiKey::SaslAuthenticate,
            sasl_authenticate::VERSIONS.0,
            sasl_authenticate::VERSIONS.1,
        ));
        all.sort_by_key(|(k, _, _)| k.code());
    }
    if let Some(release) = release {
        all.retain_mut(|(api, min, max)| match release.api_versions(*api) {
            Some((lo, hi)) => {
                *min = (*min).max(lo);
                *max = (*max).min(hi);
                min <= max
            }
            None => false,
        });
    }
    all
}

/// Every API served on every listener, Produce included (the SASL APIs only on SASL
/// listeners, see [`served_on`]).
pub fn served() -> Vec<(ApiKey, i16, i16)> {
    let mut all = vec![(ApiKey::Produce, produce::VERSIONS.0, produce::VERSIONS.1)];
    all.extend_from_slice(SERVED);
    all.sort_by_key(|(k, _, _)| k.code());
    all
}
