//! Fault injection: per-broker controls that tests (and the HTTP admin plane) use to make a
//! broker slow, flaky or rude, deterministically.
//!
//! ```text
//!  DevCluster::inject_latency / drop_connections / inject_errors      POST /v1/brokers/{id}/faults
//!                         │                                                     │
//!                         └──────────────▶ BrokerFaults (one per broker slot) ◀─┘
//!                                               │
//!  connection task:  read frame ─▶ sleep(latency) ─▶ injected error? ─▶ answer it without
//!                    (select on the drop watch:          │                executing the request
//!                     a bump closes the socket)          └─ no ─▶ handlers::dispatch
//! ```
//!
//! - **Latency** is added before answering every request of the broker, inter-broker ones
//!   included (a slow broker is slow for its followers too).
//! - **Dropped connections** close every connection open *now* to the broker (clients and
//!   followers fetching from it); later connections are served normally.
//! - **Injected errors** answer the next `count` requests of one API key with an error code,
//!   without executing them, so a failed Produce writes nothing. Only client requests count:
//!   followers' replication traffic (Fetch with a replica id, OffsetForLeaderEpoch from a
//!   broker) is never failed, so "the next N Fetch requests" means the next N a client sends.
//!   The error goes where that API's error answer puts it (see [`error_response`]; every API
//!   the broker serves has one). An acks=0 Produce gets no answer at all, so there, as Kafka
//!   does on an error, the injected fault closes the connection instead.
//!
//! Fault state belongs to the broker *slot*, not to one run of the broker: it survives a
//! kill/stop and restart, until [`BrokerFaults::clear`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use streamctl_protocol::messages::*;
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::sync::watch;

use crate::controller::ClusterMetadata;

/// An error code armed for the next requests of one API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedError {
    /// The API whose requests fail.
    pub api_key: ApiKey,
    /// The error they are answered with.
    pub error_code: ErrorCode,
    /// How many more requests get it.
    pub remaining: u32,
}

/// A snapshot of one broker's faults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultState {
    /// Latency added before every answer, if any.
    pub latency: Option<Duration>,
    /// Armed error codes, by API key.
    pub errors: Vec<InjectedError>,
}

/// One broker slot's fault controls (see the module docs).
#[derive(Debug)]
pub struct BrokerFaults {
    /// Added latency in microseconds, 0 for none. Read on every request, hence an atomic.
    latency_us: AtomicU64,
    /// Bumped to close every open connection; each connection task watches it.
    drops: watch::Sender<u64>,
    /// Armed errors by API key code. Rarely set, so a lock is fine; `armed` keeps the lock
    /// off the request path while nothing is armed.
    errors: Mutex<BTreeMap<i16, InjectedError>>,
    armed: AtomicBool,
}

impl Default for BrokerFaults {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerFaults {
    /// No faults.
    pub fn new() -> Self {
        Self {
            latency_us: AtomicU64::new(0),
            drops: watch::Sender::new(0),
            errors: Mutex::new(BTreeMap::new()),
            armed: AtomicBool::new(false),
        }
    }

    fn errors(&self) -> MutexGuard<'_, BTreeMap<i16, InjectedError>> {
        // Every change is a single insert/remove: a poisoned map is still consistent.
        self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `latency` before every answer; `Duration::ZERO` removes it.
    pub fn set_latency(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
    }

    /// The latency added before every answer, if any.
    pub fn latency(&self) -> Option<Duration> {
        match self.latency_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// Closes every connection open now.
    pub fn drop_connections(&self) {
        self.drops.send_modify(|generation| *generation += 1);
    }

    /// What a connection task watches: it closes when the value changes.
    pub fn subscribe_drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Answers the next `count` client requests of `api_key` with `error_code` (replacing
    /// what was armed for that API); a count of 0 disarms it.
    pub fn inject_errors(&self, api_key: ApiKey, error_code: ErrorCode, count: u32) {
        let mut errors = self.errors();
        if count == 0 {
            errors.remove(&api_key.code());
        } else {
            errors.insert(
                api_key.code(),
                InjectedError {
                    api_key,
                    error_code,
                    remaining: count,
                },
            );
        }
        self.armed.store(!errors.is_empty(), Ordering::Release);
    }

    /// Consumes one armed error for a request of `api_key`, if any.
    pub fn take_error(&self, api_key: i16) -> Option<ErrorCode> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut errors = self.errors();
        let fault = errors.get_mut(&api_key)?;
        let code = fault.error_code;
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            errors.remove(&api_key);
        }
        self.armed.store(!errors.is_empty(), Ordering::Release);
        Some(code)
    }

    /// Removes latency and armed errors (dropping connections is a one-off, nothing to undo).
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        let mut errors = self.errors();
        errors.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// The current faults.
    pub fn state(&self) -> FaultState {
        FaultState {
            latency: self.latency(),
            errors: self.errors().values().copied().collect(),
        }
    }
}

/// Whether a request is a follower's replication traffic, which injected errors skip (so
/// "the next N Fetch requests" means the next N a client sends).
pub fn is_replication(body: &RequestBody, version: i16) -> bool {
    match body {
        RequestBody::Fetch(req) => crate::handlers::fetch::replica_id(req, version).is_some(),
        RequestBody::OffsetForLeaderEpoch(req) => req.replica_id >= 0,
        // A leader verifying a partition with a transaction coordinator (KIP-890) shares
        // the API key with clients' AddPartitionsToTxn, which arming the key aims at.
        RequestBody::AddPartitionsToTxn(_) => version >= 4,
        _ => false,
    }
}

/// Whether a request is broker-to-broker traffic, which is all the replication listener of a
/// secured cluster serves: replication, and a transaction coordinator's markers
/// (WriteTxnMarkers, which only brokers send, so injected errors armed for it do hit it: that
/// is how tests hold markers back).
pub fn is_inter_broker(body: &RequestBody, version: i16) -> bool {
    is_replication(body, version) || matches!(body, RequestBody::WriteTxnMarkers(_))
}

/// The answer Kafka would give to `body` failing with `code`, without executing it; `None`
/// when this broker cannot build one (the caller closes the connection instead).
///
/// Where the code goes is each API's own choice, documented by its handler module's
/// `error_response` (kfake's layout): every requested partition, topic, resource, group or
/// member when the API has per-item errors, else the top-level code.
/// Not built (the connection closes): an acks=0 Produce, which gets no answer at all, and
/// any API the broker does not serve (SASL), which cannot be armed anyway.
pub fn error_response(
    body: &RequestBody,
    version: i16,
    code: ErrorCode,
    md: &ClusterMetadata,
) -> Option<ResponseBody> {
    crate::handlers::error_response(body, version, code, md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_consumed_then_disarmed() {
        let f = BrokerFaults::new();
        assert_eq!(f.take_error(ApiKey::Produce.code()), None);
        f.inject_errors(ApiKey::Produce, ErrorCode::NotLeaderOrFollower, 2);
        assert_eq!(f.take_error(ApiKey::Fetch.code()), None);
        assert_eq!(
            f.take_error(ApiKey::Produce.code()),
            Some(ErrorCode::NotLeaderOrFollower)
        );
        assert_eq!(f.state().errors[0].remaining, 1);
        assert_eq!(
            f.take_error(ApiKey::Produce.code()),
            Some(ErrorCode::NotLeaderOrFollower)
        );
        assert_eq!(f.take_error(ApiKey::Produce.code()), None);
        assert!(f.state().errors.is_empty());
    }

    #[test]
    fn latency_and_clear() {
        let f = BrokerFaults::new();
        f.set_latency(Duration::from_millis(5));
        f.inject_errors(ApiKey::Metadata, ErrorCode::UnknownServerError, 9);
        assert_eq!(f.latency(), Some(Duration::from_millis(5)));
        f.clear();
        assert_eq!(f.state(), FaultState::default());
    }

    /// Random requests of every served API at every version, as a client would send them
    /// (generated by the protocol crate, then encoded and decoded at that version): each
    /// gets an error answer of its API that encodes at the same version. The generated lists
    /// hold zero to three entries, so nested answers (per topic, partition, group, member)
    /// are built too, and adding an API needs nothing here.
    #[test]
    fn every_served_api_has_an_error_answer_that_encodes_at_every_version() {
        use bytes::{Bytes, BytesMut};
        use streamctl_protocol::frame::{self, FrameDecoder};

        let md = crate::controller::Controller::new("c".into(), Vec::new(), 1, 1).snapshot();
        let code = ErrorCode::NotLeaderOrFollower;
        let mut state = 0x5eed_u64;
        let mut random_bytes = || {
            // splitmix64: seeded, so a failure names a case that reproduces.
            (0..512)
                .flat_map(|_| {
                    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    (z ^ (z >> 31)).to_le_bytes()
                })
                .collect::<Vec<u8>>()
        };
        for (api, lo, hi) in crate::handlers::served() {
            for version in lo..=hi {
                let mut answered = 0;
                for case in 0..24 {
                    let data = random_bytes();
                    let mut u = arbitrary::Unstructured::new(&data);
                    let generated = RequestBody::generate(api, &mut u)
                        .unwrap_or_else(|e| panic!("{api} v{version} case {case}: {e}"));
                    // What the broker would decode: fields the version lacks are dropped.
                    let mut wire = BytesMut::new();
                    if generated.encode_to(&mut wire, version).is_err() {
                        continue; // not expressible at this version
                    }
                    let body = RequestBody::decode(api, version, &mut Bytes::from(wire))
                        .unwrap_or_else(|e| panic!("{api} v{version} case {case}: {e}"));
                    if matches!(&body, RequestBody::Produce(p) if p.acks == 0) {
                        continue; // no answer at all (acks_zero_produce_has_no_error_answer)
                    }
                    let response = error_response(&body, version, code, &md).unwrap_or_else(|| {
                        panic!("{api} v{version} case {case}: no error answer to {body:?}")
                    });
                    assert_eq!(response.api_key(), api);
                    let mut out = BytesMut::new();
                    frame::encode_response(7, version, &response, &mut out)
                        .unwrap_or_else(|e| panic!("{api} v{version} case {case}: {e}"));
                    let f = FrameDecoder::default().decode(&mut out).unwrap().unwrap();
                    let (header, _) = frame::decode_response(f, api, version)
                        .unwrap_or_else(|e| panic!("{api} v{version} case {case}: {e}"));
                    assert_eq!(header.correlation_id, 7);
                    answered += 1;
                }
                assert!(
                    answered >= 8,
                    "{api} v{version}: only {answered} of 24 cases ran"
                );
            }
        }
    }

    #[test]
    fn acks_zero_produce_has_no_error_answer() {
        let md = crate::controller::Controller::new("c".into(), Vec::new(), 1, 1).snapshot();
        let body: RequestBody = ProduceRequest {
            acks: 0,
            ..Default::default()
        }
        .into();
        assert!(error_response(&body, 9, ErrorCode::NotLeaderOrFollower, &md).is_none());
        assert!(!is_replication(&body, 9));
    }

    #[test]
    fn drop_bumps_every_subscriber() {
        let f = BrokerFaults::new();
        let mut a = f.subscribe_drops();
        let mut b = f.subscribe_drops();
        assert!(!a.has_changed().unwrap());
        f.drop_connections();
        assert!(a.has_changed().unwrap() && b.has_changed().unwrap());
        a.mark_unchanged();
        b.mark_unchanged();
        // A connection opened afterwards is not affected by the earlier drop.
        assert!(!f.subscribe_drops().has_changed().unwrap());
    }
}
