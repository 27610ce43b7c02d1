//! The conformance and round-trip checks every message is put through (tests only); the
//! random values come from [`crate::generate`].

pub use crate::generate::Gen;

/// Property checks shared by every (message, version) pair.
pub mod check {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::protocol::{Decodable, Encodable};

    use super::Gen;
    use crate::Message;

    /// Encodes `m` at `version` with this crate.
    fn ours<M: Message>(m: &M, version: i16) -> Result<Bytes, String> {
        m.to_bytes(version)
            .map_err(|e| format!("{} v{version}: encode: {e}", M::API_KEY))
    }

    /// Round trip: `decode(encode(x))` is a fixed point that re-encodes to the same bytes
    /// (fields absent from a version decode to their defaults, so `x` itself may differ).
    pub fn round_trip<M: Message + Gen>(version: i16, data: &[u8]) -> Result<(), String> {
        let mut u = arbitrary::Unstructured::new(data);
        let Ok(x) = M::gen(&mut u) else {
            return Ok(());
        };
        let bytes = ours(&x, version)?;
        let mut rest = bytes.clone();
        let y = M::decode_from(&mut rest, version)
            .map_err(|e| format!("{} v{version}: decode: {e}\n{x:?}", M::API_KEY))?;
        if !rest.is_empty() {
            return Err(format!(
                "{} v{version}: {} bytes left",
                M::API_KEY,
                rest.len()
            ));
        }
        let again = ours(&y, version)?;
        if again != bytes {
            return Err(format!(
                "{} v{version}: re-encode differs\n{y:?}",
                M::API_KEY
            ));
        }
        let z = M::decode_from(&mut again.clone(), version).map_err(|e| e.to_string())?;
        if z != y {
            return Err(format!(
                "{} v{version}: not a fixed point\n{y:?}\n{z:?}",
                M::API_KEY
            ));
        }
        Ok(())
    }

    /// The first tag below 1000 that a kafka-protocol value's `Debug` lists as unknown.
    fn misplaced_unknown_tag(debug: &str) -> Option<u32> {
        const MARK: &str = "unknown_tagged_fields: {";
        debug.match_indices(MARK).find_map(|(at, _)| {
            let rest = debug.get(at + MARK.len()..)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok().filter(|&t| t < 1000)
        })
    }

    /// Differential: kafka-protocol decodes what we encode and re-encodes the same bytes,
    /// and what it encodes we decode to the same value.
    pub fn differential<M, K>(version: i16, data: &[u8]) -> Result<(), String>
    where
        M: Message + Gen,
        K: Encodable + Decodable + std::fmt::Debug,
    {
        let mut u = arbitrary::Unstructured::new(data);
        let Ok(x) = M::gen(&mut u) else {
            return Ok(());
        };
        let name = M::API_KEY;
        let bytes = ours(&x, version)?;
        let mut ours_for_them = bytes.clone();
        let theirs = K::decode(&mut ours_for_them, version).map_err(|e| {
            format!("{name} v{version}: kafka-protocol cannot decode ours: {e}\n{x:?}")
        })?;
        if !ours_for_them.is_empty() {
            return Err(format!(
                "{name} v{version}: kafka-protocol left {} bytes",
                ours_for_them.len()
            ));
        }
        // kafka-protocol keeps tags it does not know, so a wrong tag number would still
        // re-encode identically: every tag it calls unknown must be one we generated (>= 1000).
        if let Some(tag) = misplaced_unknown_tag(&format!("{theirs:?}")) {
            return Err(format!(
                "{name} v{version}: kafka-protocol does not know tag {tag}: wrong tag number?"
            ));
        }
        let mut their_bytes = BytesMut::new();
        theirs
            .encode(&mut their_bytes, version)
            .map_err(|e| format!("{name} v{version}: kafka-protocol encode: {e}"))?;
        let their_bytes = their_bytes.freeze();
        if their_bytes != bytes {
            return Err(format!(
                "{name} v{version}: kafka-protocol re-encodes differently\nours:   {bytes:02x?}\ntheirs: {their_bytes:02x?}\n{x:?}"
            ));
        }
        let ours_from_theirs = M::decode_from(&mut their_bytes.clone(), version)
            .map_err(|e| format!("{name} v{version}: cannot decode kafka-protocol's bytes: {e}"))?;
        let expected = M::decode_from(&mut bytes.clone(), version).map_err(|e| e.to_string())?;
        if ours_from_theirs != expected {
            return Err(format!("{name} v{version}: values differ"));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) use tests::check_api;

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::any;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    use super::check;
    use crate::messages::SUPPORTED;
    use crate::{ApiKey, Message};

    const CASES: u32 = 96;

    fn run(what: &str, f: impl Fn(&[u8]) -> Result<(), String>) {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&vec(any::<u8>(), 0..1024), |data| {
            f(&data).map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("{what}: {e}");
        }
    }

    /// Runs round-trip and differential checks over every version of one API; returns the
    /// number of versions covered.
    pub(crate) fn check_api<Req, Resp, KReq, KResp>() -> usize
    where
        Req: Message + super::Gen,
        Resp: Message + super::Gen,
        KReq: kafka_protocol::protocol::Encodable
            + kafka_protocol::protocol::Decodable
            + kafka_protocol::protocol::Message
            + std::fmt::Debug,
        KResp: kafka_protocol::protocol::Encodable
            + kafka_protocol::protocol::Decodable
            + kafka_protocol::protocol::Message
            + std::fmt::Debug,
    {
        assert_eq!(
            (Req::MIN_VERSION, Req::MAX_VERSION),
            (Resp::MIN_VERSION, Resp::MAX_VERSION),
            "{}: request and response ranges differ",
            Req::API_KEY
        );
        assert_eq!(Req::FLEXIBLE_FROM, Resp::FLEXIBLE_FROM);
        assert!(
            KReq::VERSIONS.min <= Req::MIN_VERSION && Req::MAX_VERSION <= KReq::VERSIONS.max,
            "{}: claimed versions outside the oracle's range",
            Req::API_KEY
        );
        let mut covered = 0;
        for v in Req::MIN_VERSION..=Req::MAX_VERSION {
            run(&format!("{} request v{v} round trip", Req::API_KEY), |d| {
                check::round_trip::<Req>(v, d)
            });
            run(&format!("{} response v{v} round trip", Req::API_KEY), |d| {
                check::round_trip::<Resp>(v, d)
            });
            run(
                &format!("{} request v{v} differential", Req::API_KEY),
                |d| check::differential::<Req, KReq>(v, d),
            );
            run(
                &format!("{} response v{v} differential", Req::API_KEY),
                |d| check::differential::<Resp, KResp>(v, d),
            );
            covered += 1;
        }
        covered
    }

    fn run_checks(filter: impl Fn(ApiKey) -> bool) -> usize {
        crate::messages::conformance_checks()
            .into_iter()
            .filter(|(k, _)| filter(*k))
            .map(|(_, f)| f())
            .sum()
    }

    /// The whole conformance suite; prints how many (API, version) pairs it covered.
    /// `STREAMCTL_API=Metadata` narrows it to one API while working on that API.
    #[test]
    fn every_supported_api_version_round_trips_and_matches_kafka_protocol() {
        let only = std::env::var("STREAMCTL_API").ok();
        let checks = crate::messages::conformance_checks();
        let listed: Vec<ApiKey> = checks.iter().map(|(k, _)| *k).collect();
        let supported: Vec<ApiKey> = SUPPORTED.iter().map(|(k, _, _)| *k).collect();
        assert_eq!(listed, supported, "conformance list and SUPPORTED differ");
        let covered = run_checks(|k| only.as_deref().is_none_or(|o| o == k.name()));
        let claimed: usize = SUPPORTED
            .iter()
            .filter(|(k, _, _)| only.as_deref().is_none_or(|o| o == k.name()))
            .map(|(_, lo, hi)| (hi - lo + 1) as usize)
            .sum();
        println!(
            "conformance: {covered} of {claimed} claimed (API, version) pairs covered by round-trip \
             and differential tests (request and response, {CASES} random cases each)"
        );
        assert_eq!(covered, claimed);
    }
}
