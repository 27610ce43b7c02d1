//! [`DevClusterBuilder`]: the settings of a dev cluster, and its start (controller, metadata
//! restored from the data directory, brokers bound to their listeners, admin plane).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{ClusterError, ClusterInner, DevCluster, Slot};
use crate::broker::{BrokerShared, RunningBroker};
use crate::config::BrokerConfig;
use crate::controller::{BrokerMeta, Controller};
use crate::faults::BrokerFaults;
use crate::metrics::BrokerMetrics;
use crate::security::SecurityConfig;

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
    /// The schema registry's port on 127.0.0.1 (0: ephemeral); `None` serves none.
    schema_registry_port: Option<u16>,
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
            schema_registry_port: None,
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

    /// `transaction.state.log.num.partitions`: partitions of `__transaction_state`, created
    /// on the first transactional FindCoordinator (default 10; Kafka's default is 50).
    pub fn transaction_state_partitions(mut self, n: i32) -> Self {
        self.config.transaction_state_partitions = n.max(1);
        self
    }

    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often transactions
    /// past their `transaction.timeout.ms` are aborted (default 1 s; Kafka's is 10 s).
    pub fn transaction_abort_interval(mut self, interval: Duration) -> Self {
        self.config.transaction_abort_interval = interval;
        self
    }

    /// The finalized `transaction.version` feature (0–2, default 2): below 2, clients run
    /// Kafka's transactions v1 protocol, as against a Kafka cluster that has not enabled
    /// KIP-890's transactions v2.
    pub fn transaction_version(mut self, level: i16) -> Self {
        self.config.transaction_version =
            level.clamp(0, crate::handlers::api_versions::MAX_TRANSACTION_VERSION);
        self
    }

    /// Poses as Kafka `version` to clients: ApiVersions lists only the API versions that
    /// release had (and leaves out the APIs it did not have), newer requests get Kafka's
    /// answer to them, and `transaction.version` is finalized only from 4.0. Clients then
    /// negotiate as they would against that release; see [`crate::kafka_version`].
    pub fn kafka_version(mut self, version: crate::KafkaVersion) -> Self {
        self.config.kafka_version = Some(version);
        self
    }

    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group
    /// waits for more members to join (default 100 ms; Kafka's default is 3 s).
    pub fn group_initial_rebalance_delay(mut self, delay: Duration) -> Self {
        self.config.group_initial_rebalance_delay = delay;
        self
    }

    /// `group.consumer.heartbeat.interval.ms`: how often consumer-protocol (KIP-848) members
    /// heartbeat (default 1 s; Kafka's default is 5 s).
    pub fn group_consumer_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.group_consumer_heartbeat_interval = interval;
        self
    }

    /// `group.consumer.session.timeout.ms`: how long a consumer-protocol (KIP-848) member
    /// may go without a heartbeat before it is fenced (default 45 s, as Kafka).
    pub fn group_consumer_session_timeout(mut self, timeout: Duration) -> Self {
        self.config.group_consumer_session_timeout = timeout;
        self
    }

    /// `group.min.session.timeout.ms`: the shortest session timeout a group member may ask
    /// for (default 6 s, as Kafka); lower it to test session expiry quickly.
    pub fn group_min_session_timeout(mut self, timeout: Duration) -> Self {
        self.config.group_min_session_timeout = timeout;
        self
    }

    /// `offsets.topic.segment.bytes`: the segment size `__consumer_offsets` is created with
    /// (default 100 MiB, as Kafka). The cleaner never touches the active segment, so a
    /// coordinator's load reads at least that segment whole.
    pub fn offsets_topic_segment_bytes(mut self, bytes: u64) -> Self {
        self.config.offsets_topic_segment_bytes = bytes;
        self
    }

    /// `log.cleaner.backoff.ms`: how long each broker's log cleaner sleeps when no
    /// compacted partition is due (default 15 s, as Kafka). Tests that want a cleaning at a
    /// given point call [`crate::DevCluster::run_log_cleaner`] instead.
    pub fn log_cleaner_backoff(mut self, backoff: Duration) -> Self {
        self.config.log_cleaner_backoff = backoff;
        self
    }

    /// `producer.id.expiration.ms`: how long a partition remembers an idempotent producer
    /// that wrote nothing to it (default 1 day, as Kafka); its state is dropped after that.
    pub fn producer_id_expiration(mut self, expiration: Duration) -> Self {
        self.config.producer_id_expiration = expiration;
        self
    }

    /// `transactional.id.expiration.ms`: how long a transactional id with no transaction in
    /// flight is kept after its last change (default 7 days, as Kafka). The coordinator
    /// checks every `transaction.abort.timed.out.transaction.cleanup.interval.ms` (1 s).
    pub fn transactional_id_expiration(mut self, expiration: Duration) -> Self {
        self.config.transactional_id_expiration = expiration;
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

    /// Serves a schema registry with Confluent's REST API on an ephemeral port of 127.0.0.1,
    /// keeping its schemas in the replicated, compacted `_schemas` topic; see
    /// [`DevCluster::schema_registry_url`]. Off by default for in-process tests;
    /// `streamctl dev up` turns it on. Not yet with TLS or SASL listeners.
    pub fn schema_registry(mut self, enabled: bool) -> Self {
        self.schema_registry_port = enabled.then_some(self.schema_registry_port.unwrap_or(0));
        self
    }

    /// Serves the schema registry on this port of 127.0.0.1 (0 picks a free one).
    pub fn schema_registry_port(mut self, port: u16) -> Self {
        self.schema_registry_port = Some(port);
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

    /// How the schema registry reaches the cluster, as any client would: the listener's
    /// protocol, trusting the cluster's CA, presenting the client certificate when there is
    /// one, signing in as the first SASL user. And the certificate it serves HTTPS with when
    /// the cluster has TLS: the brokers', which names every loopback address.
    fn registry_security(
        sasl_users: &[(String, String)],
        cluster: &DevCluster,
    ) -> Result<
        (
            streamctl_client::ClientConfig,
            Option<Arc<rustls::ServerConfig>>,
        ),
        ClusterError,
    > {
        let refuse = |why: String| ClusterError::SchemaRegistry(why);
        let mut client = streamctl_client::ClientConfig::new(&cluster.bootstrap_servers());
        let security = &cluster.inner.security;
        let mut set = |key: &str, value: &str| {
            client
                .set(key, value)
                .map(|_| ())
                .map_err(|e| refuse(format!("{key}: {e}")))
        };
        set("security.protocol", security.listener.protocol())?;
        let mut tls = None;
        if let Some(material) = &security.tls_material {
            set("ssl.ca.pem", &material.ca_pem)?;
            if let (Some(cert), Some(key)) = (&material.client_pem, &material.client_key_pem) {
                set("ssl.certificate.pem", cert)?;
                set("ssl.key.pem", key)?;
            }
            tls = Some(
                material
                    .server_config(false)
                    .map_err(|e| refuse(e.to_string()))?,
            );
        }
        if security.listener.sasl.is_some() {
            let (user, password) = sasl_users.first().ok_or_else(|| {
                refuse("the schema registry signs in with a SASL user; none is configured".into())
            })?;
            let mechanism = cluster
                .sasl_mechanisms()
                .into_iter()
                .find(|m| *m != "OAUTHBEARER")
                .ok_or_else(|| {
                    refuse("the schema registry signs in with PLAIN or SCRAM, which are off".into())
                })?;
            set("sasl.mechanism", mechanism)?;
            set("sasl.username", user)?;
            set("sasl.password", password)?;
        }
        Ok((client, tls))
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
        let mut cluster = DevCluster {
            inner,
            admin: None,
            schema_registry: None,
        };
        if let Some(port) = self.admin_port {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            let admin = crate::http::AdminServer::start(cluster.inner.clone(), addr, stop)
                .await
                .map_err(|source| ClusterError::AdminBind { addr, source })?;
            info!(url = %admin.url(), "admin plane listening");
            cluster.admin = Some(admin);
        }
        if let Some(port) = self.schema_registry_port {
            let (client, tls) = Self::registry_security(&self.security.sasl_users, &cluster)?;
            let config = streamctl_schema_registry::RegistryConfig {
                client,
                replication_factor: self.brokers.min(3) as i16,
                listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                tls,
            };
            let registry = streamctl_schema_registry::SchemaRegistry::start(config)
                .await
                .map_err(|e| ClusterError::SchemaRegistry(e.to_string()))?;
            info!(url = %registry.url(), "schema registry listening");
            cluster.schema_registry = Some(registry);
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
