//! The dev cluster: a builder, the running cluster's handle, and per-broker handles.
//!
//! ```text
//!  DevCluster::builder().brokers(3).in_memory().start().await
//!        │
//!        ├─ Controller (metadata owner)
//!        └─ Broker 1..=n, each with its listener(s) on 127.0.0.1 (and ::1 for "localhost")
//! ```
//!
//! Tests use ephemeral ports (`port 0`, the default); people get fixed ports from
//! `base_port(9092)`, so `localhost:9092,localhost:9093,localhost:9094` just works.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use std::time::Duration;

use streamctl_protocol::{ApiKey, ErrorCode};

use crate::broker::{BrokerShared, RunningBroker};
use crate::config::BrokerConfig;
use crate::controller::{Controller, NewTopic};
use crate::error::ApiError;
use crate::faults::{BrokerFaults, FaultState};
use crate::metrics::{BrokerMetrics, BrokerSample};
use crate::security::{ClusterSecurity, TlsFiles};

mod builder;
use crate::state::{BrokerState, ClusterState, PartitionState, TopicState};
pub use builder::DevClusterBuilder;

/// Why the cluster could not start or act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A listener could not bind.
    #[error("broker {node_id} cannot listen on {addr}: {source}")]
    Bind {
        /// The broker.
        node_id: i32,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory could not be prepared.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A Kafka-level error (bad topic, etc.).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No broker with that id.
    #[error("no broker with id {0}")]
    UnknownBroker(i32),
    /// The schema registry could not start.
    #[error("schema registry: {0}")]
    SchemaRegistry(String),
    /// The admin plane could not bind.
    #[error("admin plane cannot listen on {addr}: {source}")]
    AdminBind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A fault that cannot be injected (an API the broker does not serve, error code 0).
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    /// TLS or SASL could not be set up (certificates, files).
    #[error("cannot secure the listeners: {0}")]
    Security(String),
}

/// One broker's place in the cluster: its addresses survive a stop so it restarts on the
/// same port (clients keep their bootstrap list), and so do its fault controls and counters.
#[derive(Debug)]
struct Slot {
    addrs: Vec<SocketAddr>,
    data_dir: Option<PathBuf>,
    running: Option<RunningBroker>,
    faults: Arc<BrokerFaults>,
    metrics: Arc<BrokerMetrics>,
}

/// What the cluster handle and the admin plane's task share.
#[derive(Debug)]
pub(crate) struct ClusterInner {
    controller: Arc<Controller>,
    /// Held only for bookkeeping, never across an `.await`.
    brokers: std::sync::Mutex<BTreeMap<i32, Slot>>,
    /// Held across a whole kill, stop or start (they await), so two of them never interleave:
    /// a start racing a kill of the same broker could otherwise leave a running broker marked
    /// dead at the controller, fenced for good.
    lifecycle: tokio::sync::Mutex<()>,
    host: String,
    config: BrokerConfig,
    /// Cancelled on shutdown or drop: stops brokers and the admin plane.
    stop: CancellationToken,
    /// TLS and SASL of the client listeners, reused when a broker restarts.
    security: ClusterSecurity,
    /// Cancelled when the admin plane is asked to shut the cluster down; the owner of the
    /// [`DevCluster`] decides what to do (see [`DevCluster::shutdown_requested`]).
    pub(crate) shutdown_requested: CancellationToken,
}

/// A running dev cluster. Dropping it stops every broker; prefer [`DevCluster::shutdown`],
/// which also waits for them and flushes logs.
#[derive(Debug)]
pub struct DevCluster {
    inner: Arc<ClusterInner>,
    /// The HTTP admin plane, when asked for; it shares `inner`.
    admin: Option<crate::http::AdminServer>,
    /// The schema registry, when asked for: a Kafka client of the brokers.
    schema_registry: Option<streamctl_schema_registry::SchemaRegistry>,
}

/// A snapshot of one broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    node_id: i32,
    addrs: Vec<SocketAddr>,
    running: bool,
}

impl BrokerInfo {
    /// The broker's node id.
    pub fn node_id(&self) -> i32 {
        self.node_id
    }

    /// The addresses it listens (or listened) on.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Whether it is up.
    pub fn is_running(&self) -> bool {
        self.running
    }
}

impl ClusterInner {
    fn slots(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Slot>> {
        self.brokers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) async fn run_log_cleaner(&self) {
        let cleaners: Vec<_> = self
            .slots()
            .values()
            .filter_map(|s| s.running.as_ref())
            .map(|r| (r.shared.cleaner.clone(), r.stop.clone()))
            .collect();
        for (cleaner, stop) in cleaners {
            cleaner.run_now(&stop).await;
        }
    }

    pub(crate) fn controller(&self) -> &Arc<Controller> {
        &self.controller
    }

    fn bootstrap_servers(&self) -> String {
        self.slots()
            .values()
            .map(|slot| {
                let port = slot.addrs.first().map_or(0, SocketAddr::port);
                format!("{}:{port}", self.host)
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn brokers(&self) -> Vec<BrokerInfo> {
        self.slots()
            .iter()
            .map(|(id, slot)| BrokerInfo {
                node_id: *id,
                addrs: slot.addrs.clone(),
                running: slot.running.is_some(),
            })
            .collect()
    }

    pub(crate) fn replica(
        &self,
        node_id: i32,
        topic: &str,
        partition: i32,
    ) -> Option<Arc<crate::partition::Partition>> {
        let md = self.controller.snapshot();
        let topic_id = md.topic(topic)?.topic_id;
        let slots = self.slots();
        slots
            .get(&node_id)?
            .running
            .as_ref()?
            .shared
            .replicas
            .replica(topic_id, partition)
    }

    fn take_running(&self, node_id: i32) -> Result<Option<RunningBroker>, ClusterError> {
        let mut slots = self.slots();
        let slot = slots
            .get_mut(&node_id)
            .ok_or(ClusterError::UnknownBroker(node_id))?;
        Ok(slot.running.take())
    }

    pub(crate) async fn kill_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(running) = self.take_running(node_id)? else {
            return Ok(());
        };
        running.kill().await;
        self.controller.broker_down(node_id);
        info!(broker = node_id, "broker killed");
        Ok(())
    }

    pub(crate) async fn stop_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        let _lifecycle = self.lifecycle.lock().await;
        let running = {
            let slots = self.slots();
            let slot = slots
                .get(&node_id)
                .ok_or(ClusterError::UnknownBroker(node_id))?;
            slot.running.is_some()
        };
        if !running {
            return Ok(());
        }
        self.controller.broker_down(node_id);
        if let Some(running) = self.take_running(node_id)? {
            running.shutdown().await;
        }
        info!(broker = node_id, "broker stopped");
        Ok(())
    }

    pub(crate) async fn start_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        let _lifecycle = self.lifecycle.lock().await;
        let (addrs, data_dir, faults, metrics) = {
            let slots = self.slots();
            let slot = slots
                .get(&node_id)
                .ok_or(ClusterError::UnknownBroker(node_id))?;
            if slot.running.is_some() {
                return Ok(());
            }
            (
                slot.addrs.clone(),
                slot.data_dir.clone(),
                slot.faults.clone(),
                slot.metrics.clone(),
            )
        };
        let shared = Arc::new(
            BrokerShared::new(
                node_id,
                self.controller.clone(),
                self.config.clone(),
                data_dir,
            )
            .with_controls(faults, metrics)
            .with_security(self.security.listener.clone()),
        );
        let first = addrs
            .first()
            .copied()
            .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
        let mut running = RunningBroker::start(shared, &[first], &self.stop)
            .await
            .map_err(|source| ClusterError::Bind {
                node_id,
                addr: first,
                source,
            })?;
        if addrs.len() > 1 {
            running = match RunningBroker::start_extra(running, addrs.get(1..).unwrap_or_default())
                .await
            {
                Ok(r) | Err((r, _)) => r,
            };
        }
        if let Some(slot) = self.slots().get_mut(&node_id) {
            slot.running = Some(running);
        }
        self.controller.broker_up(node_id);
        info!(broker = node_id, "broker started");
        Ok(())
    }

    pub(crate) fn faults(&self, node_id: i32) -> Result<Arc<BrokerFaults>, ClusterError> {
        self.slots()
            .get(&node_id)
            .map(|slot| slot.faults.clone())
            .ok_or(ClusterError::UnknownBroker(node_id))
    }

    pub(crate) fn inject_errors(
        &self,
        node_id: i32,
        api_key: ApiKey,
        error_code: ErrorCode,
        count: u32,
    ) -> Result<(), ClusterError> {
        let faults = self.faults(node_id)?;
        if !crate::handlers::served()
            .iter()
            .any(|(k, _, _)| *k == api_key)
        {
            return Err(ClusterError::InvalidFault(format!(
                "{api_key} is not served by the dev cluster"
            )));
        }
        if error_code.is_ok() {
            return Err(ClusterError::InvalidFault(
                "error code 0 (NONE) is not an error".into(),
            ));
        }
        faults.inject_errors(api_key, error_code, count);
        info!(broker = node_id, api = api_key.name(), error = %error_code, count, "injecting errors");
        Ok(())
    }

    pub(crate) fn metrics_text(&self) -> String {
        let samples: Vec<BrokerSample> = self
            .slots()
            .iter()
            .map(|(id, slot)| BrokerSample {
                node_id: *id,
                running: slot.running.is_some(),
                metrics: slot.metrics.clone(),
            })
            .collect();
        crate::metrics::render(&samples, &self.controller.snapshot())
    }

    pub(crate) fn state(&self) -> ClusterState {
        let md = self.controller.snapshot();
        let brokers = self
            .brokers()
            .into_iter()
            .map(|b| BrokerState {
                id: b.node_id,
                host: self.host.clone(),
                port: b.addrs.first().map_or(0, SocketAddr::port),
                running: b.running,
            })
            .collect();
        let topics = md
            .topics
            .values()
            .map(|t| TopicState {
                name: t.name.clone(),
                topic_id: t.topic_id.to_string(),
                internal: t.is_internal,
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        // Watermarks come from the leader's own replica: it alone knows the
                        // high watermark. Only a replica already open is read.
                        let leader = (p.leader >= 0)
                            .then(|| self.replica(p.leader, &t.name, p.partition))
                            .flatten();
                        let offsets = leader.as_ref().map(|r| r.offsets());
                        let cleaner = leader
                            .and_then(|r| r.cleaner_state(crate::partition::now_ms()))
                            .map(crate::state::CleanerView::from);
                        PartitionState {
                            partition: p.partition,
                            leader: p.leader,
                            leader_epoch: p.leader_epoch,
                            replicas: p.replicas.clone(),
                            isr: p.isr.clone(),
                            high_watermark: offsets.map(|(_, hw, _)| hw),
                            log_end_offset: offsets.map(|(_, _, leo)| leo),
                            log_start_offset: offsets.map(|(start, _, _)| start),
                            cleaner,
                        }
                    })
                    .collect(),
            })
            .collect();
        ClusterState {
            cluster_id: md.cluster_id.clone(),
            controller: md.controller_id,
            brokers,
            topics,
        }
    }
}

impl DevCluster {
    /// The client listeners' `security.protocol`: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or
    /// `SASL_SSL`.
    pub fn security_protocol(&self) -> &'static str {
        self.inner.security.listener.protocol()
    }

    /// The CA certificate (PEM) clients must trust, when the listeners serve TLS.
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.inner
            .security
            .tls_material
            .as_ref()
            .map(|m| m.ca_pem.as_str())
    }

    /// A client certificate and key (PEM) signed by the cluster's CA, for mutual TLS, when
    /// the certificates were generated.
    pub fn tls_client_certificate_pem(&self) -> Option<(&str, &str)> {
        let m = self.inner.security.tls_material.as_ref()?;
        Some((m.client_pem.as_deref()?, m.client_key_pem.as_deref()?))
    }

    /// Where the TLS files were written, when they were.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.inner.security.tls_files.as_ref()
    }

    /// The SASL mechanisms enabled (empty without SASL).
    pub fn sasl_mechanisms(&self) -> Vec<&'static str> {
        self.inner
            .security
            .listener
            .sasl
            .as_ref()
            .map(|s| s.mechanisms.iter().map(|m| m.name()).collect())
            .unwrap_or_default()
    }

    /// Starts building a cluster.
    pub fn builder() -> DevClusterBuilder {
        DevClusterBuilder::default()
    }

    /// `host:port,host:port,…` for clients' `bootstrap.servers` (every broker, up or not).
    pub fn bootstrap_servers(&self) -> String {
        self.inner.bootstrap_servers()
    }

    /// The advertised host.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// Every broker, by node id.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        self.inner.brokers()
    }

    /// One broker by node id.
    pub fn broker(&self, node_id: i32) -> Option<BrokerInfo> {
        self.brokers().into_iter().find(|b| b.node_id == node_id)
    }

    /// The controller (cluster metadata).
    pub fn controller(&self) -> &Arc<Controller> {
        self.inner.controller()
    }

    /// The local replica of a partition on a running broker (for tests and the admin plane).
    pub fn replica(
        &self,
        node_id: i32,
        topic: &str,
        partition: i32,
    ) -> Option<Arc<crate::partition::Partition>> {
        self.inner.replica(node_id, topic, partition)
    }

    /// Creates a topic directly (without a Kafka client).
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(), ClusterError> {
        self.create_topic_with(name, partitions, replication_factor, &[])
    }

    /// Creates a topic directly with topic configs (`("cleanup.policy", "compact")`, …),
    /// checked as CreateTopics checks them.
    pub fn create_topic_with(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<(), ClusterError> {
        self.inner.controller.create_topic(
            &NewTopic {
                name: name.to_string(),
                num_partitions: partitions,
                replication_factor,
                configs: configs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..NewTopic::default()
            },
            false,
        )?;
        Ok(())
    }

    /// Kills a broker as if its process died: listener and connections vanish at once, with
    /// no hand-off; the controller then elects new leaders from the ISR and bumps epochs.
    /// In-memory brokers lose their data (as a process would); on-disk ones keep their files.
    pub async fn kill_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        self.inner.kill_broker(node_id).await
    }

    /// Stops a broker cleanly: its leaderships move first (controlled shutdown), then it
    /// closes its connections and flushes its logs.
    pub async fn stop_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        self.inner.stop_broker(node_id).await
    }

    /// Starts a stopped or killed broker on its old port. It recovers its log from disk
    /// (in-memory brokers start empty), truncates a divergent tail, catches up as a follower
    /// and rejoins the ISR; preferred leadership returns to it once it is in sync.
    pub async fn start_broker(&self, node_id: i32) -> Result<(), ClusterError> {
        self.inner.start_broker(node_id).await
    }

    /// Adds `latency` before the broker answers each request (inter-broker ones included);
    /// `Duration::ZERO` removes it. Kept across the broker's restarts.
    pub fn inject_latency(&self, node_id: i32, latency: Duration) -> Result<(), ClusterError> {
        self.inner.faults(node_id)?.set_latency(latency);
        info!(
            broker = node_id,
            latency_ms = latency.as_millis() as u64,
            "injecting latency"
        );
        Ok(())
    }

    /// Closes every connection open to the broker now (clients' and followers'); they may
    /// reconnect at once. A stopped broker has none: nothing happens.
    pub fn drop_connections(&self, node_id: i32) -> Result<(), ClusterError> {
        self.inner.faults(node_id)?.drop_connections();
        info!(broker = node_id, "dropping connections");
        Ok(())
    }

    /// Answers the next `count` client requests of `api_key` on the broker with
    /// `error_code`, without executing them (a failed Produce writes nothing). Replaces what
    /// was armed for that API; `count` 0 disarms it. Replication traffic is never failed. The
    /// error goes where the API's error answer puts it (see
    /// [`crate::faults::error_response`]); an acks=0 Produce, which gets no answer, has its
    /// connection closed instead.
    pub fn inject_errors(
        &self,
        node_id: i32,
        api_key: ApiKey,
        error_code: ErrorCode,
        count: u32,
    ) -> Result<(), ClusterError> {
        self.inner
            .inject_errors(node_id, api_key, error_code, count)
    }

    /// Removes the broker's injected latency and armed errors.
    pub fn clear_faults(&self, node_id: i32) -> Result<(), ClusterError> {
        self.inner.faults(node_id)?.clear();
        info!(broker = node_id, "faults cleared");
        Ok(())
    }

    /// The broker's current faults.
    pub fn faults(&self, node_id: i32) -> Result<FaultState, ClusterError> {
        Ok(self.inner.faults(node_id)?.state())
    }

    /// The broker's counters (they outlive its restarts).
    pub fn metrics(&self, node_id: i32) -> Option<Arc<BrokerMetrics>> {
        self.inner
            .slots()
            .get(&node_id)
            .map(|slot| slot.metrics.clone())
    }

    /// Every broker's metrics in the Prometheus text format (what `GET /metrics` serves).
    pub fn metrics_text(&self) -> String {
        self.inner.metrics_text()
    }

    /// Runs a log cleaner pass on every running broker now and waits for them, instead of
    /// waiting out `log.cleaner.backoff.ms`: every compacted replica that is due is cleaned
    /// (what `POST /v1/cleaner/run` does).
    pub async fn run_log_cleaner(&self) {
        self.inner.run_log_cleaner().await;
    }

    /// Brokers, controller, topics and partitions with their watermarks (what
    /// `GET /v1/cluster` serves).
    pub fn state(&self) -> ClusterState {
        self.inner.state()
    }

    /// The admin plane's address, when it was asked for ([`DevClusterBuilder::admin_http`]).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(crate::http::AdminServer::addr)
    }

    /// The admin plane's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.as_ref().map(crate::http::AdminServer::url)
    }

    /// `http://127.0.0.1:port` of the schema registry, when the builder asked for one.
    pub fn schema_registry_url(&self) -> Option<String> {
        self.schema_registry
            .as_ref()
            .map(streamctl_schema_registry::SchemaRegistry::url)
    }

    /// Resolves once someone asked the admin plane to shut the cluster down
    /// (`POST /v1/shutdown`, as `streamctl dev down` does). Nothing stops by itself: the
    /// owner calls [`DevCluster::shutdown`].
    pub async fn shutdown_requested(&self) {
        self.inner.shutdown_requested.cancelled().await;
    }

    /// Stops every broker and the admin plane, waits for their tasks and flushes logs.
    pub async fn shutdown(mut self) {
        // The registry first: it is a client of the brokers.
        if let Some(registry) = self.schema_registry.take() {
            registry.shutdown().await;
        }
        self.inner.stop.cancel();
        if let Some(admin) = self.admin.take() {
            admin.wait().await;
        }
        let running: Vec<RunningBroker> = self
            .inner
            .slots()
            .values_mut()
            .filter_map(|s| s.running.take())
            .collect();
        for broker in running {
            broker.shutdown().await;
        }
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        self.inner.stop.cancel();
    }
}
