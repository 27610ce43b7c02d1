//! Broker metrics, rendered in the Prometheus text format (version 0.0.4) for `GET /metrics`.
//!
//! ```text
//!  connection task ── request ──▶ BrokerMetrics (atomics, one per broker slot)
//!   produce.rs ─ bytes/messages in        │
//!   fetch.rs / broker.rs ─ ISR expands/shrinks
//!   replication.rs ─ replication bytes in │
//!                                          ▼
//!  GET /metrics ──▶ render(): a `prometheus-client` collector writes every family once, one
//!                   sample per broker (label `broker`), plus gauges computed from the
//!                   controller's metadata at scrape time
//! ```
//!
//! Counters are plain atomics (relaxed: each is independent, and a scrape needs no
//! cross-counter consistency), so the request path never takes a lock. Messages are counted
//! from record batch headers (`recordCount`), never by decoding records (DESIGN decision 2).
//! The text format (HELP/TYPE lines, the `_total` suffix of counters, histogram buckets, label
//! escaping) is `prometheus-client`'s Prometheus 0.0.4 encoder; the atomics stay ours because
//! one metric family holds a sample per broker slot, read at scrape time by a collector.
//!
//! Like the fault state, a broker's metrics belong to its slot: they keep counting across a
//! restart, as a Prometheus counter of one long-lived process would.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use streamctl_protocol::messages::ResponseBody;
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::{ApiKey, ErrorCode};

use crate::controller::ClusterMetadata;

/// The `Content-Type` of the rendered text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

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
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        // Per-bucket counts with their upper bounds; the encoder accumulates them and writes
        // the last bound, infinity, as `+Inf`.
        let buckets: [(f64, u64); LATENCY_BUCKETS_MS.len() + 1] = std::array::from_fn(|i| {
            let le = LATENCY_BUCKETS_MS
                .get(i)
                .map_or(f64::INFINITY, |&ms| ms as f64);
            let n = self.buckets.get(i).map_or(0, |b| b.load(Ordering::Relaxed));
            (le, n)
        });
        let sum_ms = self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
        encoder.encode_histogram::<NoLabelSet>(sum_ms, self.count(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
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
    /// Log cleanings of compacted replicas (`broker/log_cleaner.rs`).
    pub cleaner_runs: AtomicU64,
    /// Bytes the cleanings read, and how many fewer they left.
    pub cleaner_bytes_read: AtomicU64,
    pub cleaner_bytes_reclaimed: AtomicU64,
    /// Time spent cleaning, in milliseconds.
    pub cleaner_time_ms: AtomicU64,
    /// As of the last cleaner pass: dirty bytes over every compacted replica, and the
    /// largest dirty ratio (millionths).
    pub cleaner_dirty_bytes: AtomicU64,
    pub cleaner_max_dirty_ppm: AtomicU64,
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
            cleaner_runs: AtomicU64::new(0),
            cleaner_bytes_read: AtomicU64::new(0),
            cleaner_bytes_reclaimed: AtomicU64::new(0),
            cleaner_time_ms: AtomicU64::new(0),
            cleaner_dirty_bytes: AtomicU64::new(0),
            cleaner_max_dirty_ppm: AtomicU64::new(0),
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

    /// Every non-zero error count as `(api, code, count)`, sorted.
    fn error_rows(&self) -> Vec<(i16, i16, u64)> {
        let mut rows: Vec<(i16, i16, u64)> = Vec::new();
        for (i, c) in self.hot_errors.iter().enumerate() {
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
            self.other_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|((api, code), n)| (*api, *code, *n)),
        );
        rows.sort_unstable();
        rows
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
    let partitions = || md.topics.values().flat_map(|t| &t.partitions);
    let mut led = BTreeMap::<i32, PartitionCounts>::new();
    for p in partitions() {
        let counts = led.entry(p.leader).or_default();
        counts.leader += 1;
        if p.isr.len() < p.replicas.len() {
            counts.under_replicated += 1;
        }
    }
    let scrape = Scrape {
        brokers: brokers
            .iter()
            .map(|b| (b.clone(), led.get(&b.node_id).copied().unwrap_or_default()))
            .collect(),
        offline_partitions: partitions().filter(|p| p.leader < 0).count(),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut out = String::with_capacity(32 * 1024);
    // Writing to a String cannot fail, and the collector fails only when writing does.
    let _ = prometheus_text::encode(&mut out, &registry);
    out
}

/// Partitions a broker leads, as the metadata says at scrape time.
#[derive(Debug, Clone, Copy, Default)]
struct PartitionCounts {
    leader: i64,
    under_replicated: i64,
}

/// One scrape: the broker slots and what the controller's metadata says of them.
#[derive(Debug)]
struct Scrape {
    brokers: Vec<(BrokerSample, PartitionCounts)>,
    offline_partitions: usize,
}

/// Picks one counter of a broker's metrics.
type CounterOf = fn(&BrokerMetrics) -> &AtomicU64;
/// Picks one histogram of a broker's metrics.
type HistogramOf = fn(&BrokerMetrics) -> &Histogram;

/// Counter families, one sample per broker; the encoder appends `_total` to the names.
const COUNTERS: [(&str, &str, CounterOf); 12] = [
    (
        "streamctl_broker_bytes_in",
        "Record bytes appended by produce requests.",
        |m| &m.bytes_in,
    ),
    (
        "streamctl_broker_messages_in",
        "Records appended by produce requests (from batch headers).",
        |m| &m.messages_in,
    ),
    (
        "streamctl_broker_bytes_out",
        "Record bytes returned to consumer fetches.",
        |m| &m.bytes_out,
    ),
    (
        "streamctl_broker_messages_out",
        "Records returned to consumer fetches (whole batches, from batch headers).",
        |m| &m.messages_out,
    ),
    (
        "streamctl_broker_replication_bytes_in",
        "Record bytes copied from leaders as a follower.",
        |m| &m.replication_bytes_in,
    ),
    (
        "streamctl_broker_replication_bytes_out",
        "Record bytes served to followers.",
        |m| &m.replication_bytes_out,
    ),
    (
        "streamctl_broker_isr_shrinks",
        "Followers dropped from an ISR by this leader.",
        |m| &m.isr_shrinks,
    ),
    (
        "streamctl_broker_isr_expands",
        "Followers added back to an ISR by this leader.",
        |m| &m.isr_expands,
    ),
    (
        "streamctl_broker_log_cleaner_runs",
        "Cleanings of compacted partitions (leaders and followers).",
        |m| &m.cleaner_runs,
    ),
    (
        "streamctl_broker_log_cleaner_bytes_read",
        "Bytes the log cleaner read.",
        |m| &m.cleaner_bytes_read,
    ),
    (
        "streamctl_broker_log_cleaner_bytes_reclaimed",
        "Bytes the log cleaner removed from compacted partitions.",
        |m| &m.cleaner_bytes_reclaimed,
    ),
    (
        "streamctl_broker_log_cleaner_time_ms",
        "Milliseconds spent cleaning.",
        |m| &m.cleaner_time_ms,
    ),
];

/// Latency histogram families, one per broker.
const HISTOGRAMS: [(&str, &str, HistogramOf); 3] = [
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

impl Scrape {
    /// One family with one sample per broker, labelled `broker`.
    fn per_broker(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        metric_type: MetricType,
        sample: impl Fn(&BrokerSample, PartitionCounts, MetricEncoder) -> std::fmt::Result,
    ) -> std::fmt::Result {
        let mut family = encoder.encode_descriptor(name, help, None, metric_type)?;
        for (b, counts) in &self.brokers {
            let labels = [("broker", b.node_id)];
            sample(b, *counts, family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let gauge = MetricType::Gauge;
        self.per_broker(
            &mut encoder,
            "streamctl_broker_up",
            "Whether the broker is running (1) or stopped (0).",
            gauge,
            |b, _, e| ConstGauge::new(i64::from(b.running)).encode(e),
        )?;
        self.per_broker(
            &mut encoder,
            "streamctl_broker_connections",
            "Client and follower connections open now.",
            gauge,
            |b, _, e| ConstGauge::new(b.metrics.connections.load(Ordering::Relaxed)).encode(e),
        )?;
        for (name, help, counter) in COUNTERS {
            self.per_broker(&mut encoder, name, help, MetricType::Counter, |b, _, e| {
                ConstCounter::new(counter(&b.metrics).load(Ordering::Relaxed)).encode(e)
            })?;
        }

        let mut family = encoder.encode_descriptor(
            "streamctl_broker_requests",
            "Requests handled, by API.",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &self.brokers {
            for (code, c) in b.metrics.requests.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n == 0 {
                    continue;
                }
                let labels = (
                    [("broker", b.node_id)],
                    [("api", api_name(i16::try_from(code).unwrap_or(-1)))],
                );
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "streamctl_broker_errors",
            "Error codes in responses, by API and error (Produce and Fetch: every partition's and the top-level code; other APIs: injected errors).",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &self.brokers {
            for (api, code, n) in b.metrics.error_rows() {
                let labels = (
                    [("broker", b.node_id)],
                    [("api", api_name(api)), ("error", error_name(code))],
                );
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }

        self.per_broker(
            &mut encoder,
            "streamctl_broker_log_cleaner_dirty_bytes",
            "Bytes of compacted partitions written since they were last cleaned and cleanable now (as of the cleaner's last pass).",
            gauge,
            |b, _, e| {
                let n = b.metrics.cleaner_dirty_bytes.load(Ordering::Relaxed);
                ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX)).encode(e)
            },
        )?;
        self.per_broker(
            &mut encoder,
            "streamctl_broker_log_cleaner_max_dirty_ratio",
            "The largest dirty ratio of a compacted partition (Kafka's max-dirty-percent / 100, as of the cleaner's last pass).",
            gauge,
            |b, _, e| {
                let ppm = b.metrics.cleaner_max_dirty_ppm.load(Ordering::Relaxed);
                ConstGauge::new(ppm as f64 / 1_000_000.0).encode(e)
            },
        )?;
        self.per_broker(
            &mut encoder,
            "streamctl_broker_under_replicated_partitions",
            "Partitions this broker leads whose ISR is smaller than their replica set.",
            gauge,
            |_, counts, e| ConstGauge::new(counts.under_replicated).encode(e),
        )?;
        self.per_broker(
            &mut encoder,
            "streamctl_broker_leader_partitions",
            "Partitions this broker leads.",
            gauge,
            |_, counts, e| ConstGauge::new(counts.leader).encode(e),
        )?;
        let offline = i64::try_from(self.offline_partitions).unwrap_or(i64::MAX);
        ConstGauge::new(offline).encode(encoder.encode_descriptor(
            "streamctl_cluster_offline_partitions",
            "Partitions without a leader.",
            None,
            gauge,
        )?)?;

        for (name, help, histogram) in HISTOGRAMS {
            self.per_broker(
                &mut encoder,
                name,
                help,
                MetricType::Histogram,
                |b, _, e| histogram(&b.metrics).encode(e),
            )?;
        }
        Ok(())
    }
}

fn api_name(code: i16) -> Cow<'static, str> {
    ApiKey::from_code(code).map_or_else(|| code.to_string().into(), |k| k.name().into())
}

fn error_name(code: i16) -> Cow<'static, str> {
    match ErrorCode::from_code(code) {
        ErrorCode::Unknown(c) => c.to_string().into(),
        known => known.name().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `render` writes for one running broker with these counters and no topics.
    fn render_one(metrics: BrokerMetrics) -> String {
        let md = ClusterMetadata {
            cluster_id: "c".into(),
            controller_id: 1,
            brokers: BTreeMap::new(),
            topics: BTreeMap::new(),
            version: 0,
        };
        let broker = BrokerSample {
            node_id: 1,
            running: true,
            metrics: Arc::new(metrics),
        };
        render(&[broker], &md)
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = BrokerMetrics::new();
        let h = &m.produce_latency;
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(7));
        h.observe(Duration::from_secs(60));
        let out = render_one(m);
        let x = "streamctl_broker_produce_latency_ms";
        assert!(
            out.contains(&format!("{x}_bucket{{broker=\"1\",le=\"1\"}} 1\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{x}_bucket{{broker=\"1\",le=\"10\"}} 2\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{x}_bucket{{broker=\"1\",le=\"10000\"}} 2\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{x}_bucket{{broker=\"1\",le=\"+Inf\"}} 3\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{x}_count{{broker=\"1\"}} 3\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{x}_sum{{broker=\"1\"}} 60007.5\n")),
            "{out}"
        );
    }

    #[test]
    fn every_family_is_written_once_with_its_kafka_style_name() {
        let m = BrokerMetrics::new();
        m.record_request(ApiKey::Produce.code());
        m.record_error(ApiKey::Produce.code(), 6);
        m.record_error(ApiKey::Metadata.code(), 3);
        let out = render_one(m);
        let types: Vec<&str> = out.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let mut unique = types.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(types.len(), unique.len(), "{out}");
        assert_eq!(types.len(), 24, "{out}");
        for line in [
            "# HELP streamctl_broker_bytes_in_total Record bytes appended by produce requests.",
            "# TYPE streamctl_broker_bytes_in_total counter",
            "streamctl_broker_bytes_in_total{broker=\"1\"} 0",
            "# TYPE streamctl_broker_up gauge",
            "streamctl_broker_up{broker=\"1\"} 1",
            "streamctl_broker_requests_total{broker=\"1\",api=\"Produce\"} 1",
            "streamctl_broker_errors_total{broker=\"1\",api=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"} 1",
            "streamctl_broker_errors_total{broker=\"1\",api=\"Metadata\",error=\"UNKNOWN_TOPIC_OR_PARTITION\"} 1",
            "streamctl_broker_leader_partitions{broker=\"1\"} 0",
            "streamctl_cluster_offline_partitions 0",
            "# TYPE streamctl_broker_fetch_latency_ms histogram",
            "streamctl_broker_log_cleaner_runs_total{broker=\"1\"} 0",
            "streamctl_broker_log_cleaner_bytes_reclaimed_total{broker=\"1\"} 0",
            "streamctl_broker_log_cleaner_max_dirty_ratio{broker=\"1\"} 0.0",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing:\n{out}");
        }
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
