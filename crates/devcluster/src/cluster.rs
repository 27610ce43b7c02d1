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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use std::time::Duration;

use streamctl_protocol::{ApiKey, ErrorCode};

use crate::broker::{BrokerShared, RunningBroker};
use crate::config::BrokerConfig;
use crate::controller::{BrokerMeta, Controller, NewTopic};
use crate::error::ApiError;
use crate::faults::{BrokerFaults, FaultState};
use crate::metrics::{BrokerMetrics, BrokerSample};
use crate::security::{ClusterSecurity, SecurityConfig, TlsFiles};
use crate::state::{BrokerState, ClusterState, PartitionState, TopicState};

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

/// Builds a [`DevCluster`].
#[derive(Debug, Clone)]
pub struct DevClusterBuilder {
    brokers: usize,
    data_dir: Option<PathBuf>,
    host: String,
    base_port: u16,
    config: BrokerConfig,
    cluster_id: Option<String>,
    /// The admin plane's port on 127.0.0.1 (0: ephemeral); `None` serves no admin plane.
    admin_port: Option<u16>,
    /// TLS and SASL of the client listeners.
    security: SecurityConfig,
}

impl Default for DevClusterBuilder {
    fn default() -> Self {
        Self {
            brokers: 3,
            data_dir: None,
            host: "127.0.0.1".into(),
            base_port: 0,
            config: BrokerConfig::default(),
            cluster_id: None,
            admin_port: None,
            security: SecurityConfig::default(),
        }
    }
}

impl DevClusterBuilder {
    /// Number of brokers (default 3).
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n.max(1);
        self
    }

    /// Keep logs on disk under `path` (one directory per broker); data survives restarts.
    pub fn data_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(path.into());
        self
    }

    /// Keep logs in memory (the default).
    pub fn in_memory(mut self) -> Self {
        self.data_dir = None;
        self
    }

    /// Host name advertised to clients (default `127.0.0.1`). With `localhost` the brokers
    /// listen on both 127.0.0.1 and ::1, since clients may resolve it either way.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// First broker's port; broker i listens on `base_port + i`. 0 (default) picks free
    /// ephemeral ports.
    pub fn base_port(mut self, port: u16) -> Self {
        self.base_port = port;
        self
    }

    /// `auto.create.topics.enable` (default true).
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.config.auto_create_topics = enabled;
        self
    }

    /// `num.partitions` for auto-created topics (default 1).
    pub fn default_partitions(mut self, n: i32) -> Self {
        self.config.num_partitions = n.max(1);
        self
    }

    /// `default.replication.factor` (default 1).
    pub fn default_replication_factor(mut self, rf: i16) -> Self {
        self.config.default_replication_factor = rf.max(1);
        self
    }

    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets`, created on the
    /// first FindCoordinator (default 10; Kafka's default is 50).
    pub fn offsets_topic_partitions(mut self, n: i32) -> Self {
        self.config.offsets_topic_partitions = n.max(1);
        self
    }

    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group
    /// waits for more members to join (default 100 ms; Kafka's default is 3 s).
    pub fn group_initial_rebalance_delay(mut self, delay: Duration) -> Self {
        self.config.group_initial_rebalance_delay = delay;
        self
    }

    /// `group.min.session.timeout.ms`: the shortest session timeout a group member may ask
    /// for (default 6 s, as Kafka); lower it to test session expiry quickly.
    pub fn group_min_session_timeout(mut self, timeout: Duration) -> Self {
        self.config.group_min_session_timeout = timeout;
        self
    }

    /// `producer.id.expiration.ms`: how long a partition remembers an idempotent producer
    /// that wrote nothing to it (default 1 day, as Kafka); its state is dropped after that.
    pub fn producer_id_expiration(mut self, expiration: Duration) -> Self {
        self.config.producer_id_expiration = expiration;
        self
    }

    /// `max.connections`: connections each broker keeps open at once, followers' included
    /// (default 1000); more are closed as soon as they are accepted.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.limits.max_connections = n.max(1);
        self
    }

    /// `connections.max.idle.ms`: a connection that sends nothing (or takes none of its
    /// answers) for this long is closed (default 10 minutes, as Kafka).
    pub fn connections_max_idle(mut self, idle: Duration) -> Self {
        self.config.limits.connections_max_idle = idle;
        self
    }

    /// Requests read from one connection and not yet answered on the wire (default 100): a
    /// client that pipelines requests without reading answers stops being read from.
    pub fn max_in_flight_requests_per_connection(mut self, n: usize) -> Self {
        self.config.limits.max_in_flight_requests_per_connection = n.max(1);
        self
    }

    /// `socket.request.max.bytes`: a larger request frame closes its connection (default
    /// 100 MiB, as Kafka).
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// Fixes the cluster id (default: random, or the one stored in the data directory).
    pub fn cluster_id(mut self, id: impl Into<String>) -> Self {
        self.cluster_id = Some(id.into());
        self
    }

    /// Serves the HTTP admin plane (cluster state, broker stop/start, fault injection,
    /// Prometheus metrics) on an ephemeral port of 127.0.0.1; see [`DevCluster::admin_url`].
    /// Off by default for in-process tests, which have the same controls as methods;
    /// `streamctl dev up` turns it on.
    pub fn admin_http(mut self, enabled: bool) -> Self {
        self.admin_port = enabled.then_some(self.admin_port.unwrap_or(0));
        self
    }

    /// Serves the HTTP admin plane on this port of 127.0.0.1 (0 picks a free one). It only
    /// ever listens on loopback: it can stop brokers, so it must not be reachable from the
    /// network.
    pub fn admin_port(mut self, port: u16) -> Self {
        self.admin_port = Some(port);
        self
    }

    /// Serves TLS on the client listeners (`SSL`, or `SASL_SSL` with SASL users), with a CA
    /// and a broker certificate (for localhost, 127.0.0.1, ::1 and the host) generated at
    /// start, and a client certificate for mutual TLS. The files are written to
    /// [`tls_dir`](Self::tls_dir), by default `<data dir>/tls`, so other clients can trust the
    /// CA; a restart on the same directory keeps the CA. See [`DevCluster::tls_ca_pem`].
    pub fn tls(mut self, enabled: bool) -> Self {
        self.security.tls = enabled;
        self
    }

    /// Requires clients to present a certificate signed by the cluster's CA
    /// (`ssl.client.auth=required`); implies [`tls`](Self::tls).
    pub fn tls_client_auth(mut self, required: bool) -> Self {
        self.security.tls_client_auth = required;
        self.security.tls |= required;
        self
    }

    /// Where to write the TLS files (CA, broker and client certificates and keys).
    pub fn tls_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.security.tls_dir = Some(dir.into());
        self
    }

    /// Presents this broker certificate (chain and key, PEM) instead of generated ones, with
    /// `ca_pem` as the CA clients are told to trust; implies [`tls`](Self::tls). For tests of
    /// expired or foreign certificates.
    pub fn tls_identity(
        mut self,
        ca_pem: impl Into<String>,
        chain_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Self {
        self.security.tls = true;
        self.security.tls_material = Some(crate::security::TlsMaterial::from_pem(
            ca_pem.into(),
            chain_pem.into(),
            key_pem.into(),
        ));
        self
    }

    /// Adds a SASL user; with at least one, the client listeners require SASL
    /// (`SASL_PLAINTEXT`, or `SASL_SSL` with TLS) with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    /// and OAUTHBEARER (unsecured tokens) enabled.
    pub fn sasl_user(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.security
            .sasl_users
            .push((username.into(), password.into()));
        self
    }

    /// Enables only these SASL mechanisms (`sasl.enabled.mechanisms`), by name; unknown
    /// names are ignored.
    pub fn sasl_mechanisms<'a>(mut self, mechanisms: impl IntoIterator<Item = &'a str>) -> Self {
        self.security.sasl_mechanisms = Some(
            mechanisms
                .into_iter()
                .filter_map(crate::security::Mechanism::from_name)
                .collect(),
        );
        self
    }

    /// `connections.max.reauth.ms`: SASL sessions last this long; a client must
    /// re-authenticate (KIP-368) or its connection is closed at its next request.
    pub fn connections_max_reauth(mut self, lifetime: Duration) -> Self {
        self.security.max_reauth = Some(lifetime);
        self
    }

    /// Starts the controller and every broker; returns once all are listening.
    pub async fn start(self) -> Result<DevCluster, ClusterError> {
        let started = std::time::Instant::now();
        let cluster_id = match (&self.cluster_id, &self.data_dir) {
            (Some(id), _) => id.clone(),
            (None, Some(dir)) => stored_cluster_id(dir)?,
            (None, None) => random_cluster_id(),
        };
        let metas: Vec<BrokerMeta> = (1..=self.brokers as i32)
            .map(|id| BrokerMeta {
                node_id: id,
                host: self.host.clone(),
                port: 0,
                rack: None,
                alive: true,
                replication_port: None,
            })
            .collect();
        let mut controller = Controller::new(
            cluster_id,
            metas,
            self.config.num_partitions,
            self.config.default_replication_factor,
        );
        if let Some(dir) = &self.data_dir {
            let stored =
                crate::metadata_store::load(dir).map_err(|source| ClusterError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
            controller = controller.with_store(dir.clone(), stored)?;
        }
        let controller = Arc::new(controller);
        let security = self
            .security
            .build(&self.host, self.data_dir.as_deref())
            .map_err(ClusterError::Security)?;
        let stop = CancellationToken::new();
        let mut brokers = BTreeMap::new();
        for i in 0..self.brokers {
            let node_id = i as i32 + 1;
            let port = if self.base_port == 0 {
                0
            } else {
                self.base_port.saturating_add(i as u16)
            };
            let data_dir = self
                .data_dir
                .as_ref()
                .map(|d| d.join(format!("broker-{node_id}")));
            let faults = Arc::new(BrokerFaults::new());
            let metrics = Arc::new(BrokerMetrics::new());
            let shared = Arc::new(
                BrokerShared::new(
                    node_id,
                    controller.clone(),
                    self.config.clone(),
                    data_dir.clone(),
                )
                .with_controls(faults.clone(), metrics.clone())
                .with_security(security.listener.clone()),
            );
            let bind = bind_addrs(&self.host, port);
            let running = start_broker(shared, &bind, &stop).await?;
            let port = running.addrs.first().map_or(0, SocketAddr::port);
            controller.set_broker_endpoint(node_id, &self.host, port);
            brokers.insert(
                node_id,
                Slot {
                    addrs: running.addrs.clone(),
                    data_dir,
                    running: Some(running),
                    faults,
                    metrics,
                },
            );
        }
        info!(
            brokers = self.brokers,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "dev cluster started"
        );
        let inner = Arc::new(ClusterInner {
            controller,
            brokers: std::sync::Mutex::new(brokers),
            lifecycle: tokio::sync::Mutex::new(()),
            host: self.host,
            config: self.config,
            stop: stop.clone(),
            security,
            shutdown_requested: CancellationToken::new(),
        });
        // From here on, dropping `cluster` stops everything started so far.
        let mut cluster = DevCluster { inner, admin: None };
        if let Some(port) = self.admin_port {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            let admin = crate::http::AdminServer::start(cluster.inner.clone(), addr, stop)
                .await
                .map_err(|source| ClusterError::AdminBind { addr, source })?;
            info!(url = %admin.url(), "admin plane listening");
            cluster.admin = Some(admin);
        }
        Ok(cluster)
    }
}

async fn start_broker(
    shared: Arc<BrokerShared>,
    bind: &[SocketAddr],
    stop: &CancellationToken,
) -> Result<RunningBroker, ClusterError> {
    let node_id = shared.node_id;
    // The first address picks the port (maybe ephemeral); the others reuse it so "localhost"
    // reaches the same broker over IPv4 and IPv6.
    let first = bind
        .first()
        .copied()
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    let running = RunningBroker::start(shared.clone(), &[first], stop)
        .await
        .map_err(|source| ClusterError::Bind {
            node_id,
            addr: first,
            source,
        })?;
    let port = running.addrs.first().map_or(0, SocketAddr::port);
    let extra: Vec<SocketAddr> = bind
        .iter()
        .skip(1)
        .map(|a| SocketAddr::new(a.ip(), port))
        .collect();
    if extra.is_empty() {
        return Ok(running);
    }
    // IPv6 may be unavailable on the machine; the IPv4 listener alone still serves.
    match RunningBroker::start_extra(running, &extra).await {
        Ok(r) => Ok(r),
        Err((r, e)) => {
            tracing::warn!(broker = node_id, error = %e, "could not listen on ::1; IPv4 only");
            Ok(r)
        }
    }
}

fn bind_addrs(host: &str, port: u16) -> Vec<SocketAddr> {
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    match host {
        "localhost" => vec![v4, SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)],
        "::1" | "[::1]" => vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)],
        other => match other.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => vec![v4],
        },
    }
}

fn random_cluster_id() -> String {
    // Kafka cluster ids are 22-character base64url UUIDs; any unique string works.
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(22)
        .collect()
}

fn stored_cluster_id(dir: &Path) -> Result<String, ClusterError> {
    let err = |source| ClusterError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let file = dir.join("cluster-id");
    match std::fs::read_to_string(&file) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = random_cluster_id();
            std::fs::write(&file, &id).map_err(err)?;
            Ok(id)
        }
    }
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
                        let offsets = (p.leader >= 0)
                            .then(|| self.replica(p.leader, &t.name, p.partition))
                            .flatten()
                            .map(|r| r.offsets());
                        PartitionState {
                            partition: p.partition,
                            leader: p.leader,
                            leader_epoch: p.leader_epoch,
                            replicas: p.replicas.clone(),
                            isr: p.isr.clone(),
                            high_watermark: offsets.map(|(_, hw, _)| hw),
                            log_end_offset: offsets.map(|(_, _, leo)| leo),
                            log_start_offset: offsets.map(|(start, _, _)| start),
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
        self.inner.controller.create_topic(
            &NewTopic {
                name: name.to_string(),
                num_partitions: partitions,
                replication_factor,
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

    /// Resolves once someone asked the admin plane to shut the cluster down
    /// (`POST /v1/shutdown`, as `streamctl dev down` does). Nothing stops by itself: the
    /// owner calls [`DevCluster::shutdown`].
    pub async fn shutdown_requested(&self) {
        self.inner.shutdown_requested.cancelled().await;
    }

    /// Stops every broker and the admin plane, waits for their tasks and flushes logs.
    pub async fn shutdown(mut self) {
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
