//! Posing as an older Kafka release (`streamctl dev up --kafka-version 2.8`,
//! [`DevClusterBuilder::kafka_version`](crate::DevClusterBuilder::kafka_version)).
//!
//! A cluster posing as release R advertises, for each API it serves, only the versions both
//! it and R have (R's range comes from R's message definitions), leaves out the APIs R did not
//! have, and finalizes `transaction.version` only where R could (4.0 on). A request newer than
//! that gets Kafka's answer: ApiVersions a v0 response with UNSUPPORTED_VERSION and the
//! ranges, anything else a closed connection. So clients negotiate down exactly as they would
//! against R, and a client that sends a version R never had fails the way it would there.
//!
//! What is not emulated: behaviour that changed between releases without a version bump (an
//! error code here or there), and broker-to-broker traffic, which keeps the dev cluster's own
//! versions (a real cluster of R talks at its own `inter.broker.protocol.version`; clients
//! cannot see the difference).

use std::fmt;
use std::str::FromStr;

use streamctl_protocol::ApiKey;

/// A Kafka release the dev cluster can pose as (major.minor: patch releases share their
/// minor release's API versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KafkaVersion {
    /// Its column in [`TABLE`] (releases are in order, so this orders them too).
    column: usize,
}

/// The releases (major, minor) in [`TABLE`]'s column order.
const RELEASES: [(u8, u8); 13] = [
    (2, 8),
    (3, 0),
    (3, 1),
    (3, 2),
    (3, 3),
    (3, 4),
    (3, 5),
    (3, 6),
    (3, 7),
    (3, 8),
    (3, 9),
    (4, 0),
    (4, 1),
];

/// Every release, as values. (Indexing in a constant is checked when compiling.)
#[allow(clippy::indexing_slicing)]
const ALL: [KafkaVersion; RELEASES.len()] = {
    let mut all = [KafkaVersion { column: 0 }; RELEASES.len()];
    let mut column = 0;
    while column < RELEASES.len() {
        all[column] = KafkaVersion { column };
        column += 1;
    }
    all
};

/// An API the release did not have (an empty range).
const NO: (i16, i16) = (0, -1);

/// Per API, the (min, max) version each release's brokers accept, one column per entry of
/// [`RELEASES`]: the `validVersions` of the release's `*Request.json` at its x.y.0 tag, less
/// a version marked `latestVersionUnstable`. Only the APIs the dev cluster serves (or is
/// about to) are listed; a test checks that none is missing. ConsumerGroupHeartbeat and
/// ConsumerGroupDescribe count from 4.0, where KIP-848 is enabled by default (in 3.7–3.9 a
/// broker lists them only when its new group coordinator is switched on).
#[rustfmt::skip]
const TABLE: &[(ApiKey, [(i16, i16); RELEASES.len()])] = {
    use ApiKey::*;
    &[
    //                          2.8     3.0     3.1     3.2     3.3     3.4     3.5     3.6     3.7     3.8     3.9     4.0     4.1
    (Produce,                 [(0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,10), (0,11), (0,11), (3,12), (3,13)]),
    (Fetch,                   [(0,12), (0,12), (0,13), (0,13), (0,13), (0,13), (0,15), (0,15), (0,16), (0,16), (0,17), (4,17), (4,18)]),
    (ListOffsets,             [(0,6),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,8),  (0,8),  (0,8),  (0,8),  (0,9),  (1,10), (1,10)]),
    (Metadata,                [(0,11), (0,11), (0,12), (0,12), (0,12), (0,12), (0,12), (0,12), (0,12), (0,12), (0,12), (0,13), (0,13)]),
    (OffsetCommit,            [(0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,9),  (0,9),  (0,9),  (2,9),  (2,9)]),
    (OffsetFetch,             [(0,7),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,8),  (0,9),  (0,9),  (0,9),  (1,9),  (1,9)]),
    (FindCoordinator,         [(0,3),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,5),  (0,6),  (0,6),  (0,6)]),
    (JoinGroup,               [(0,7),  (0,7),  (0,7),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (0,9),  (2,9),  (0,9)]),
    (Heartbeat,               [(0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4)]),
    (LeaveGroup,              [(0,4),  (0,4),  (0,4),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5)]),
    (SyncGroup,               [(0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5)]),
    (DescribeGroups,          [(0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,5),  (0,6),  (0,6)]),
    (ListGroups,              [(0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,5),  (0,5),  (0,5),  (0,5)]),
    (SaslHandshake,           [(0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1)]),
    (ApiVersions,             [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,4),  (0,4),  (0,4)]),
    (CreateTopics,            [(0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (0,7),  (2,7),  (2,7)]),
    (DeleteTopics,            [(0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (0,6),  (1,6),  (1,6)]),
    (DeleteRecords,           [(0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2)]),
    (InitProducerId,          [(0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,5),  (0,5),  (0,5),  (0,5)]),
    (OffsetForLeaderEpoch,    [(0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (2,4),  (2,4)]),
    (AddPartitionsToTxn,      [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,4),  (0,4),  (0,5),  (0,5),  (0,5),  (0,5)]),
    (AddOffsetsToTxn,         [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,4),  (0,4),  (0,4),  (0,4)]),
    (EndTxn,                  [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,4),  (0,4),  (0,5),  (0,5)]),
    (WriteTxnMarkers,         [(0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (1,1),  (1,1)]),
    (TxnOffsetCommit,         [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,4),  (0,4),  (0,5),  (0,5)]),
    (DescribeConfigs,         [(0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (0,4),  (1,4),  (1,4)]),
    (SaslAuthenticate,        [(0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2)]),
    (CreatePartitions,        [(0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3),  (0,3)]),
    (DeleteGroups,            [(0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2),  (0,2)]),
    (IncrementalAlterConfigs, [(0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1),  (0,1)]),
    (OffsetDelete,            [(0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0)]),
    (DescribeCluster,         [(0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,1),  (0,1),  (0,1),  (0,2),  (0,2)]),
    (DescribeProducers,       [(0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0)]),
    (DescribeTransactions,    [NO,     (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0)]),
    (ListTransactions,        [NO,     (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,0),  (0,1),  (0,1),  (0,1),  (0,2)]),
    (ConsumerGroupHeartbeat,  [NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     (0,1),  (0,1)]),
    (ConsumerGroupDescribe,   [NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     NO,     (0,1),  (0,1)]),
    ]
};

impl KafkaVersion {
    /// Every release the dev cluster can pose as, oldest first.
    pub fn all() -> &'static [KafkaVersion] {
        &ALL
    }

    /// (major, minor).
    fn release(self) -> (u8, u8) {
        RELEASES.get(self.column).copied().unwrap_or_default()
    }

    /// The versions of `api` this release's brokers accept, `None` if it did not have the
    /// API (or if it is not one the dev cluster serves).
    pub fn api_versions(self, api: ApiKey) -> Option<(i16, i16)> {
        TABLE
            .iter()
            .find(|(key, _)| *key == api)
            .and_then(|(_, ranges)| ranges.get(self.column).copied())
            .filter(|(min, max)| min <= max)
    }

    /// The highest `transaction.version` feature level a cluster of this release can
    /// finalize: 2 from 4.0 (KIP-890 part 2), before that none (level 0, not listed).
    pub fn max_transaction_version(self) -> i16 {
        if self.release() >= (4, 0) {
            2
        } else {
            0
        }
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor) = self.release();
        write!(f, "{major}.{minor}")
    }
}

/// A `--kafka-version` that names no release the dev cluster can pose as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKafkaVersion(String);

impl fmt::Display for UnknownKafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<String> = ALL.iter().map(ToString::to_string).collect();
        write!(
            f,
            "unknown Kafka version {:?}: the dev cluster can pose as {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownKafkaVersion {}

impl FromStr for KafkaVersion {
    type Err = UnknownKafkaVersion;

    /// `"3.9"`, `"3.9.1"` (any patch release) or `"v3.9.1"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownKafkaVersion(s.to_string());
        let trimmed = s.trim().trim_start_matches('v');
        let mut parts = trimmed.split('.');
        let mut number = || -> Result<u8, UnknownKafkaVersion> {
            parts
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(unknown)
        };
        let wanted = (number()?, number()?);
        // An optional numeric patch level, nothing after it.
        if let Some(patch) = parts.next() {
            if patch.parse::<u16>().is_err() || parts.next().is_some() {
                return Err(unknown());
            }
        }
        RELEASES
            .iter()
            .position(|r| *r == wanted)
            .map(|column| KafkaVersion { column })
            .ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_api_has_a_row() {
        for (api, _, _) in crate::handlers::served_on(true, None) {
            assert!(
                TABLE.iter().any(|(key, _)| *key == api),
                "{api} is served but has no row in kafka_version::TABLE"
            );
        }
    }

    #[test]
    fn parses_releases_and_refuses_the_rest() {
        let v39: KafkaVersion = "3.9".parse().unwrap();
        assert_eq!(v39, "3.9.1".parse().unwrap());
        assert_eq!(v39, "v3.9.0".parse().unwrap());
        assert_eq!(v39.to_string(), "3.9");
        for bad in ["2.7", "5.0", "3", "3.9.x", "3.9.1.1", "", "latest"] {
            let e = bad.parse::<KafkaVersion>().unwrap_err().to_string();
            assert!(e.contains("2.8, 3.0"), "{bad}: {e}");
        }
    }

    #[test]
    fn ranges_follow_the_releases() {
        let v = |s: &str| s.parse::<KafkaVersion>().unwrap();
        assert_eq!(v("2.8").api_versions(ApiKey::Fetch), Some((0, 12)));
        assert_eq!(v("2.8").api_versions(ApiKey::ListTransactions), None);
        assert_eq!(v("4.0").api_versions(ApiKey::Produce), Some((3, 12)));
        assert_eq!(v("3.9").max_transaction_version(), 0);
        assert_eq!(v("4.0").max_transaction_version(), 2);
        // Versions only grow from release to release, except KIP-896's removals in 4.0.
        for (api, ranges) in TABLE {
            for pair in ranges.windows(2) {
                assert!(pair[0].1 <= pair[1].1, "{api}: max shrinks");
            }
        }
    }
}
