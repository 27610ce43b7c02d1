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
