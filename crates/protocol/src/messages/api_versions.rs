//! ApiVersions (API key 18): v0–v4, flexible from v3.
//!
//! Sent first on every connection; the response header never carries tagged fields, even at
//! v3+, so a client can read an older broker's `UNSUPPORTED_VERSION` answer and its version list.
//! v3 added the client's software name and version (KIP-511) and the feature tags (KIP-584).

kafka_struct! {
    /// One API the broker supports and its version range.
    pub struct ApiVersionsResponseApiVersion {
        /// The API key.
        api_key: i16 [0..],
        /// The lowest version supported, inclusive.
        min_version: i16 [0..],
        /// The highest version supported, inclusive.
        max_version: i16 [0..],
    }
}

kafka_struct! {
    /// A feature the broker supports and the levels it can run at.
    pub struct ApiVersionsResponseSupportedFeatureKey {
        /// The feature name.
        name: String [3..],
        /// The lowest level the broker supports.
        min_version: i16 [3..],
        /// The highest level the broker supports.
        max_version: i16 [3..],
    }
}

kafka_struct! {
    /// A feature finalized cluster-wide and its level range.
    pub struct ApiVersionsResponseFinalizedFeatureKey {
        /// The feature name.
        name: String [3..],
        /// The highest level finalized for the cluster.
        max_version_level: i16 [3..],
        /// The lowest level finalized for the cluster.
        min_version_level: i16 [3..],
    }
}

kafka_message! {
    /// Asks a broker which APIs and versions it supports.
    pub struct ApiVersionsRequest: ApiVersions, versions 0..=4, flexible 3 {
        /// The client software's name, e.g. `streamctl`.
        client_software_name: String [3..],
        /// The client software's version.
        client_software_version: String [3..],
    }
}

kafka_message! {
    /// The APIs, versions and features a broker supports.
    pub struct ApiVersionsResponse: ApiVersions, versions 0..=4, flexible 3 {
        /// The top-level error code, or 0.
        error_code: i16 [0..],
        /// The APIs the broker supports.
        api_keys: Vec<ApiVersionsResponseApiVersion> [0..],
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// The features the broker supports.
        supported_features: Vec<ApiVersionsResponseSupportedFeatureKey> [3.., tag 0],
        /// The epoch of the finalized features, or -1 when unknown.
        finalized_features_epoch: i64 [3.., tag 1, default -1],
        /// The cluster-wide finalized features; valid only when the epoch is >= 0.
        finalized_features: Vec<ApiVersionsResponseFinalizedFeatureKey> [3.., tag 2],
        /// Set by a KRaft controller when the configuration for a ZooKeeper migration is present.
        zk_migration_ready: bool [3.., tag 3, default false],
    }
}
