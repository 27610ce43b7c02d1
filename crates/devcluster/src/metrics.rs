//! Broker metrics, rendered in the Prometheus text format (version 0.0.4) for `GET /metrics`.
//!
//! ```text
//!  connection task ── request ──▶ BrokerMetrics (atomics, one per broker slot)
//!   produce.rs ─ bytes/messages in        │
//!   fetch.rs / broker.rs ─ ISR expands/shrinks
//!   replication.rs ─ replication bytes in │
//!                                          ▼
//!  GET /metrics ──▶ render(): every family once, one sample per broker (label `broker`),
//!                   plus gauges computed from the controller's metadata at scrape time
//! ```
//!
//! Counters are plain atomics (relaxed: each is independent, and a scrape needs no
//! cross-counter consistency), so the request path never takes a lock. Messages are counted
//! from record batch headers (`recordCount`), never by decoding records (DESIGN decision 2).
//! The text is written by hand: the format is a few lines per family, and a metrics crate
//! would bring a registry and its own types for what is here a fixed set of counters.
//!
//! Like the fault state, a broker's metrics belong to its slot: they keep counting across a
//! restart, as a Prometheus counter of one long-lived process would.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::messages::ResponseBody;
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::{ApiKey, ErrorCode};

use crate::controller::ClusterMetadata;

/// The `Content-Type` of the rendered text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (milliseconds) of the latency histograms' buckets; `+Inf` follows.
pub const LATENCY_BUCKETS_MS: &[u64] =
    &[1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// API keys counted (every key Kafka has assigned so far fits).
const API_SLOTS: usize = 128;
/// Error codes counted densely for Produce and Fetch: -1 (UNKNOWN_SERVER_ERROR) ..= 158.
const ERROR_SLOTS: usize = 160;

/// A fixed-bucket latency histogram.
#[derive(Debug)]
pub struct Histogram {
    /// Per bucket (not cumulative; rendering accumulates), the last one `+Inf`.
    buckets: Vec<AtomicU64>,
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..=LATENCY_BUCKETS_MS.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let index = LATENCY_BUCKETS_MS
            .iter()
            .position(|le| us <= le * 1000)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        if let Some(b) = self.buckets.get(index) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// How many observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS_MS
                .get(i)
                .map_or_else(|| "+Inf".to_string(), u64::to_string);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum_ms = self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum_ms}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count());
    }
}

/// One broker slot's counters (see the module docs).
#[derive(Debug)]
pub struct BrokerMetrics {
    /// Record bytes appended by Produce requests this broker led.
    pub bytes_in: AtomicU64,
    /// Records appended by Produce requests (from batch headers).
    pub messages_in: AtomicU64,
    /// Record bytes returned to consumers' Fetch requests.
    pub bytes_out: AtomicU64,
    /// Records returned to consumers (whole batches, from their headers).
    pub messages_out: AtomicU64,
    /// Record bytes this broker copied from leaders as a follower.
    pub replication_bytes_in: AtomicU64,
    /// Record bytes this broker served to its followers.
    pub replication_bytes_out: AtomicU64,
    /// Leader-driven ISR shrinks (a follower fell behind `replica.lag.time.max.ms`).
    pub isr_shrinks: AtomicU64,
    /// ISR expansions (a follower caught up).
    pub isr_expands: AtomicU64,
    /// Connections open now.
    pub connections: AtomicI64,
    /// Produce handling time (from the request's arrival to its answer, injected latency
    /// included, since that is what a client waits).
    pub produce_latency: Histogram,
    /// Consumer Fetch handling time (long polls included).
    pub fetch_latency: Histogram,
    /// Follower Fetch handling time (long polls included), apart so it does not drown the
    /// consumers' numbers.
    pub follower_fetch_latency: Histogram,
    /// Requests by API key code.
    requests: Vec<AtomicU64>,
    /// Produce and Fetch error codes in responses, `[api][code + 1]` (hot path: atomics).
    hot_errors: Vec<AtomicU64>,
    /// Error codes of other APIs (injected faults only): rare, so a map behind a lock.
    other_errors: Mutex<BTreeMap<(i16, i16), u64>>,
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Open-connection gauge guard: decrements when the connection task ends, however it ends.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<BrokerMetrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Index of Produce (0) or Fetch (1) in `hot_errors`.
fn hot_api(api: i16) -> Option<usize> {
    match ApiKey::from_code(api) {
        Some(ApiKey::Produce) => Some(0),
        Some(ApiKey::Fetch) => Some(1),
        _ => None,
    }
}

/// Records and bytes of a `records` field, from batch headers only.
pub fn batch_stats(records: &Bytes) -> (u64, u64) {
    let count = RecordBatches::new(records.clone())
        .flatten()
        .map(|b| u64::try_from(b.record_count()).unwrap_or(0))
        .sum();
    (count, records.len() as u64)
}

impl BrokerMetrics {
    /// Zeroed counters.
    pub fn new() -> Self {
        Self {
            bytes_in: AtomicU64::new(0),
            messages_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            replication_bytes_in: AtomicU64::new(0),
            replication_bytes_out: AtomicU64::new(0),
            isr_shrinks: AtomicU64::new(0),
            isr_expands: AtomicU64::new(0),
            connections: AtomicI64::new(0),
            produce_latency: Histogram::default(),
            fetch_latency: Histogram::default(),
            follower_fetch_latency: Histogram::default(),
            requests: (0..API_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hot_errors: (0..2 * ERROR_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            other_errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts an open connection until the guard drops.
    pub fn connection_opened(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.clone())
    }

    /// Counts one request of `api`.
    pub fn record_request(&self, api: i16) {
        if let Some(c) = usize::try_from(api).ok().and_then(|i| self.requests.get(i)) {
            add(c, 1);
        }
    }

    /// Requests of `api` so far.
    pub fn requests(&self, api: ApiKey) -> u64 {
        usize::try_from(api.code())
            .ok()
            .and_then(|i| self.requests.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Counts one error code in a response of `api` (NONE is not counted).
    pub fn record_error(&self, api: i16, code: i16) {
        if code == 0 {
            return;
        }
        let slot = usize::try_from(i32::from(code) + 1)
            .ok()
            .filter(|s| *s < ERROR_SLOTS);
        match (hot_api(api), slot) {
            (Some(a), Some(s)) => {
                if let Some(c) = self.hot_errors.get(a * ERROR_SLOTS + s) {
                    add(c, 1);
                }
            }
            _ => {
                let mut other = self
                    .other_errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                *other.entry((api, code)).or_insert(0) += 1;
            }
        }
    }

    /// Errors `code` counted in responses of `api` so far.
    pub fn errors(&self, api: ApiKey, code: ErrorCode) -> u64 {
        let slot = usize::try_from(i32::from(code.code()) + 1)
            .ok()
            .filter(|s| *s < ERROR_SLOTS);
        match (hot_api(api.code()), slot) {
            (Some(a), Some(s)) => self
                .hot_errors
                .get(a * ERROR_SLOTS + s)
                .map_or(0, |c| c.load(Ordering::Relaxed)),
            _ => self
                .other_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&(api.code(), code.code()))
                .copied()
                .unwrap_or(0),
        }
    }

    /// A leader appended a produced batch set.
    pub fn record_produce(&self, bytes: usize, messages: i64) {
        add(&self.bytes_in, bytes as u64);
        add(&self.messages_in, u64::try_from(messages).unwrap_or(0));
    }

    /// Accounts for an answered request: error codes of Produce and Fetch responses, fetched
    /// bytes and records, and the Produce/Fetch latency histograms. `follower` tells a
    /// replica's Fetch from a consumer's.
    pub fn observe_response(&self, response: &ResponseBody, elapsed: Duration, follower: bool) {
        match response {
            ResponseBody::Produce(r) => {
                self.produce_latency.observe(elapsed);
                let api = ApiKey::Produce.code();
                for p in r.responses.iter().flat_map(|t| &t.partition_responses) {
                    self.record_error(api, p.error_code);
                }
            }
            ResponseBody::Fetch(r) => {
                let api = ApiKey::Fetch.code();
                self.record_error(api, r.error_code);
                let (mut messages, mut bytes) = (0, 0);
                for p in r.responses.iter().flat_map(|t| &t.partitions) {
                    self.record_error(api, p.error_code);
                    if let Some(records) = &p.records {
                        let (m, b) = batch_stats(records);
                        messages += m;
                        bytes += b;
                    }
                }
                if follower {
                    self.follower_fetch_latency.observe(elapsed);
                    add(&self.replication_bytes_out, bytes);
                } else {
                    self.fetch_latency.observe(elapsed);
                    add(&self.bytes_out, bytes);
                    add(&self.messages_out, messages);
                }
            }
            _ => {}
        }
    }
}

/// One broker slot as the renderer sees it.
#[derive(Debug, Clone)]
pub struct BrokerSample {
    /// The broker's node id.
    pub node_id: i32,
    /// Whether it is running.
    pub running: bool,
    /// Its counters.
    pub metrics: Arc<BrokerMetrics>,
}

/// Renders every metric family, each once, with one sample per broker.
pub fn render(brokers: &[BrokerSample], md: &ClusterMetadata) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    let counter =
        |out: &mut String, name: &str, help: &str, value: &dyn Fn(&BrokerMetrics) -> u64| {
            family(out, name, "counter", help);
            for b in brokers {
                let _ = writeln!(
                    out,
                    "{name}{{broker=\"{}\"}} {}",
                    b.node_id,
                    value(&b.metrics)
                );
            }
        };
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);

    family(
        &mut out,
        "streamctl_broker_up",
        "gauge",
        "Whether the broker is running (1) or stopped (0).",
    );
    for b in brokers {
        let _ = writeln!(
            out,
            "streamctl_broker_up{{broker=\"{}\"}} {}",
            b.node_id,
            u8::from(b.running)
        );
    }
    family(
        &mut out,
        "streamctl_broker_connections",
        "gauge",
        "Client and follower connections open now.",
    );
    for b in brokers {
        let _ = writeln!(
            out,
            "streamctl_broker_connections{{broker=\"{}\"}} {}",
            b.node_id,
            b.metrics.connections.load(Ordering::Relaxed)
        );
    }
    counter(
        &mut out,
        "streamctl_broker_bytes_in_total",
        "Record bytes appended by produce requests.",
        &|m| load(&m.bytes_in),
    );
    counter(
        &mut out,
        "streamctl_broker_messages_in_total",
        "Records appended by produce requests (from batch headers).",
        &|m| load(&m.messages_in),
    );
    counter(
        &mut out,
        "streamctl_broker_bytes_out_total",
        "Record bytes returned to consumer fetches.",
        &|m| load(&m.bytes_out),
    );
    counter(
        &mut out,
        "streamctl_broker_messages_out_total",
        "Records returned to consumer fetches (whole batches, from batch headers).",
        &|m| load(&m.messages_out),
    );
    counter(
        &mut out,
        "streamctl_broker_replication_bytes_in_total",
        "Record bytes copied from leaders as a follower.",
        &|m| load(&m.replication_bytes_in),
    );
    counter(
        &mut out,
        "streamctl_broker_replication_bytes_out_total",
        "Record bytes served to followers.",
        &|m| load(&m.replication_bytes_out),
    );
    counter(
        &mut out,
        "streamctl_broker_isr_shrinks_total",
        "Followers dropped from an ISR by this leader.",
        &|m| load(&m.isr_shrinks),
    );
    counter(
        &mut out,
        "streamctl_broker_isr_expands_total",
        "Followers added back to an ISR by this leader.",
        &|m| load(&m.isr_expands),
    );

    family(
        &mut out,
        "streamctl_broker_requests_total",
        "counter",
        "Requests handled, by API.",
    );
    for b in brokers {
        for (code, c) in b.metrics.requests.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let api = api_name(i16::try_from(code).unwrap_or(-1));
            let _ = writeln!(
                out,
                "streamctl_broker_requests_total{{broker=\"{}\",api=\"{api}\"}} {n}",
                b.node_id
            );
        }
    }
    family(
        &mut out,
        "streamctl_broker_errors_total",
        "counter",
        "Error codes in responses, by API and error (Produce and Fetch: every partition's and the top-level code; other APIs: injected errors).",
    );
    for b in brokers {
        let mut rows: Vec<(i16, i16, u64)> = Vec::new();
        for (i, c) in b.metrics.hot_errors.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let api = if i < ERROR_SLOTS {
                ApiKey::Produce
            } else {
                ApiKey::Fetch
            };
            let code = i16::try_from(i % ERROR_SLOTS).unwrap_or(0) - 1;
            rows.push((api.code(), code, n));
        }
        rows.extend(
            b.metrics
                .other_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|((api, code), n)| (*api, *code, *n)),
        );
        rows.sort_unstable();
        for (api, code, n) in rows {
            let _ = writeln!(
                out,
                "streamctl_broker_errors_total{{broker=\"{}\",api=\"{}\",error=\"{}\"}} {n}",
                b.node_id,
                api_name(api),
                error_name(code)
            );
        }
    }

    family(
        &mut out,
        "streamctl_broker_under_replicated_partitions",
        "gauge",
        "Partitions this broker leads whose ISR is smaller than their replica set.",
    );
    for b in brokers {
        let n = md
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .filter(|p| p.leader == b.node_id && p.isr.len() < p.replicas.len())
            .count();
        let _ = writeln!(
            out,
            "streamctl_broker_under_replicated_partitions{{broker=\"{}\"}} {n}",
            b.node_id
        );
    }
    family(
        &mut out,
        "streamctl_broker_leader_partitions",
        "gauge",
        "Partitions this broker leads.",
    );
    for b in brokers {
        let n = md
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .filter(|p| p.leader == b.node_id)
            .count();
        let _ = writeln!(
            out,
            "streamctl_broker_leader_partitions{{broker=\"{}\"}} {n}",
            b.node_id
        );
    }
    family(
        &mut out,
        "streamctl_cluster_offline_partitions",
        "gauge",
        "Partitions without a leader.",
    );
    let offline = md
        .topics
        .values()
        .flat_map(|t| &t.partitions)
        .filter(|p| p.leader < 0)
        .count();
    let _ = writeln!(out, "streamctl_cluster_offline_partitions {offline}");

    let histograms: [(&str, &str, HistogramOf); 3] = [
        (
            "streamctl_broker_produce_latency_ms",
            "Produce request handling time in milliseconds.",
            |m| &m.produce_latency,
        ),
        (
            "streamctl_broker_fetch_latency_ms",
            "Consumer fetch handling time in milliseconds (long polls included).",
            |m| &m.fetch_latency,
        ),
        (
            "streamctl_broker_follower_fetch_latency_ms",
            "Follower fetch handling time in milliseconds (long polls included).",
            |m| &m.follower_fetch_latency,
        ),
    ];
    for (name, help, histogram) in histograms {
        family(&mut out, name, "histogram", help);
        for b in brokers {
            histogram(&b.metrics).render(&mut out, name, &format!("broker=\"{}\"", b.node_id));
        }
    }
    out
}

/// Picks one histogram of a broker's metrics.
type HistogramOf = fn(&BrokerMetrics) -> &Histogram;

fn api_name(code: i16) -> String {
    ApiKey::from_code(code).map_or_else(|| code.to_string(), |k| k.name().to_string())
}

fn error_name(code: i16) -> String {
    match ErrorCode::from_code(code) {
        ErrorCode::Unknown(c) => c.to_string(),
        known => known.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(7));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "x", "broker=\"1\"");
        assert!(out.contains("x_bucket{broker=\"1\",le=\"1\"} 1\n"), "{out}");
        assert!(
            out.contains("x_bucket{broker=\"1\",le=\"10\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{broker=\"1\",le=\"10000\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{broker=\"1\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("x_count{broker=\"1\"} 3\n"), "{out}");
    }

    #[test]
    fn errors_are_counted_by_api_and_code() {
        let m = BrokerMetrics::new();
        m.record_error(ApiKey::Produce.code(), 6);
        m.record_error(ApiKey::Produce.code(), 6);
        m.record_error(ApiKey::Produce.code(), 0);
        m.record_error(ApiKey::Metadata.code(), 3);
        m.record_error(ApiKey::Fetch.code(), -1);
        assert_eq!(m.errors(ApiKey::Produce, ErrorCode::NotLeaderOrFollower), 2);
        assert_eq!(m.errors(ApiKey::Produce, ErrorCode::None), 0);
        assert_eq!(
            m.errors(ApiKey::Metadata, ErrorCode::UnknownTopicOrPartition),
            1
        );
        assert_eq!(m.errors(ApiKey::Fetch, ErrorCode::UnknownServerError), 1);
    }
}
