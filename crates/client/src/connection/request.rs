//! API version negotiation. [`Versions`] keeps what a broker's ApiVersions answer listed and,
//! per API, the highest version both sides implement. (The typed request → response pairing
//! is the protocol crate's `Request`, generated with its list of APIs.)

use std::collections::HashMap;

use streamctl_protocol::messages::api_versions::ApiVersionsResponseApiVersion;
use streamctl_protocol::messages::SUPPORTED;
use streamctl_protocol::ApiKey;

#[derive(Debug, Clone, Default)]
pub(crate) struct Versions {
    /// The broker's (min, max) per API key code, as it listed them.
    pub(crate) broker: HashMap<i16, (i16, i16)>,
    /// The highest version both sides implement, per API.
    pub(crate) negotiated: HashMap<ApiKey, i16>,
}

/// APIs the client speaks below the codec's highest version: the codec's later versions are
/// for brokers talking to each other, or change the protocol in ways the client does not
/// implement (yet).
const CLIENT_MAX: &[(ApiKey, i16)] = &[
    // v4+ batches transactions for brokers verifying partitions (KIP-890).
    (ApiKey::AddPartitionsToTxn, 3),
    // v5 is transactions v2 (KIP-890 part 2: an epoch bump per transaction).
    (ApiKey::EndTxn, 4),
    // v5 adds the partition to the transaction implicitly (transactions v2).
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
        Self { broker, negotiated }
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
}
