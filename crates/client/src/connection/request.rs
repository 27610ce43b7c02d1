//! API version negotiation. [`Versions`] keeps what a broker's ApiVersions answer listed and,
//! per API, the highest version both sides implement. (The typed request → response pairing
//! is the protocol crate's `Request`, generated with its list of APIs.)

use std::collections::HashMap;

use streamctl_protocol::messages::api_versions::ApiVersionsResponseApiVersion;
use streamctl_protocol::messages::{ApiVersionsResponse, SUPPORTED};
use streamctl_protocol::ApiKey;

#[derive(Debug, Clone, Default)]
pub(crate) struct Versions {
    /// The broker's (min, max) per API key code, as it listed them.
    pub(crate) broker: HashMap<i16, (i16, i16)>,
    /// The highest version both sides implement, per API.
    pub(crate) negotiated: HashMap<ApiKey, i16>,
    /// The broker's finalized `transaction.version` feature (0 when it lists none): 2 or
    /// more lets a transactional producer use transactions v2 (KIP-890 part 2).
    pub(crate) transaction_version: i16,
}

/// The feature flag naming the transaction protocol a cluster runs.
const TRANSACTION_VERSION: &str = "transaction.version";

/// APIs the client speaks below the codec's highest version: the codec's later versions are
/// for brokers talking to each other, or change the protocol in ways the client does not
/// implement (yet).
const CLIENT_MAX: &[(ApiKey, i16)] = &[
    // v12 says the producer runs transactions v2; a transactional producer that does sends
    // it explicitly (v12 has v11's fields).
    (ApiKey::Produce, 11),
    // v4+ batches transactions for brokers verifying partitions (KIP-890).
    (ApiKey::AddPartitionsToTxn, 3),
    // v5 is transactions v2 (KIP-890 part 2: an epoch bump per transaction), sent
    // explicitly when the producer runs it.
    (ApiKey::EndTxn, 4),
    // v5 adds the partition to the transaction implicitly (transactions v2), as EndTxn.
    (ApiKey::TxnOffsetCommit, 4),
];

/// The highest version of `api` the client uses.
fn client_max(api: ApiKey, codec_max: i16) -> i16 {
    CLIENT_MAX
        .iter()
        .find(|(a, _)| *a == api)
        .map_or(codec_max, |(_, max)| codec_max.min(*max))
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
                let version = client_max(api, our_max).min(their_max);
                (version >= our_min.max(their_min)).then_some((api, version))
            })
            .collect();
        Self {
            broker,
            negotiated,
            transaction_version: 0,
        }
    }

    /// [`Versions::negotiate`] on a whole answer, with its finalized features (an epoch
    /// below 0 means the broker finalized none).
    pub(crate) fn from_response(response: &ApiVersionsResponse) -> Self {
        let mut versions = Self::negotiate(&response.api_keys);
        if response.finalized_features_epoch >= 0 {
            versions.transaction_version = response
                .finalized_features
                .iter()
                .find(|f| f.name == TRANSACTION_VERSION)
                .map_or(0, |f| f.max_version_level);
        }
        versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Broker-to-broker versions are never chosen.
        let versions = Versions::negotiate(&[v(ApiKey::AddPartitionsToTxn, 0, 5)]);
        assert_eq!(
            versions.negotiated.get(&ApiKey::AddPartitionsToTxn),
            Some(&3)
        );
    }

    #[test]
    fn the_transaction_version_is_read_from_finalized_features_only() {
        use streamctl_protocol::messages::api_versions::ApiVersionsResponseFinalizedFeatureKey;
        let feature = |name: &str, level| ApiVersionsResponseFinalizedFeatureKey {
            name: name.to_string(),
            max_version_level: level,
            min_version_level: level,
            ..Default::default()
        };
        let mut response = ApiVersionsResponse {
            finalized_features_epoch: 3,
            finalized_features: vec![
                feature("metadata.version", 22),
                feature(TRANSACTION_VERSION, 2),
            ],
            ..Default::default()
        };
        assert_eq!(Versions::from_response(&response).transaction_version, 2);
        response.finalized_features_epoch = -1;
        assert_eq!(Versions::from_response(&response).transaction_version, 0);
        response.finalized_features_epoch = 1;
        response.finalized_features.truncate(1);
        assert_eq!(Versions::from_response(&response).transaction_version, 0);
    }
}
