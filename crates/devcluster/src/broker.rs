//! One broker: its listeners, its connections and the replicas it hosts. This file is the
//! network side (accept, TLS/SASL gate, dispatch to `handlers`); the replicas it hosts are
//! managed in `broker/replicas.rs`.
//!
//! ```text
//!  TcpListener ──accept──▶ connection task ──frames──▶ decode ──▶ handlers::dispatch
//!                               ▲                                        │
//!                               └────────── responses, in request order ◀┘
//! ```
//!
//! Each connection handles its requests one at a time, as Kafka does (a connection is muted
//! while a request is in flight), so pipelined requests are answered in order. Anything a
//! client sends that cannot be decoded closes that connection only, with a log line.
//!
//! A connection is served the same way over plain TCP or TLS (the code is generic over the
//! stream). On a SASL listener only ApiVersions and the SASL APIs are served until the client
//! has authenticated, with frames capped at 512 KiB, as Kafka does; a refused password is
//! answered with SASL_AUTHENTICATION_FAILED and the connection closed. When the client
//! listener is secured, followers use a loopback replication listener
//! ([`crate::security`] says why).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader};
use streamctl_protocol::messages::{RequestBody, ResponseBody};
use streamctl_protocol::{ApiKey, DecodeError, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::BrokerConfig;
use crate::controller::{ClusterMetadata, Controller};
use crate::coordinator::GroupCoordinator;
use crate::faults::{self, BrokerFaults};
use crate::handlers;
use crate::limits::{self, ConnectionGate, ConnectionPermit, LimitClose};
use crate::metrics::BrokerMetrics;
use crate::security::sasl::Authenticator;
use crate::security::ListenerSecurity;
use crate::txn_coordinator::TransactionCoordinator;

mod gate;
pub mod log_cleaner;
mod partition_marker;
mod replicas;
use gate::{gate, raw_sasl_token, ConnectionState};
pub use replicas::ReplicaManager;

/// Largest frame accepted before SASL authentication (Kafka's limit for SASL tokens).
const MAX_UNAUTHENTICATED_FRAME: usize = 512 * 1024;
/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// State shared by a broker's connections and handlers: the network side, and the replica
/// manager it serves from.
#[derive(Debug)]
pub struct BrokerShared {
    /// This broker's node id.
    pub node_id: i32,
    /// The cluster's controller (metadata owner).
    pub controller: Arc<Controller>,
    /// Broker-wide settings.
    pub config: BrokerConfig,
    /// The replicas this broker hosts (`broker/replicas.rs`).
    pub replicas: Arc<ReplicaManager>,
    /// Fault injection controls; owned by the broker's slot so they outlive a restart.
    pub faults: Arc<BrokerFaults>,
    /// Counters for `/metrics`; owned by the broker's slot so they outlive a restart.
    pub metrics: Arc<BrokerMetrics>,
    /// The groups whose `__consumer_offsets` partition this broker leads.
    pub coordinator: Arc<GroupCoordinator>,
    /// The transactional ids whose `__transaction_state` partition this broker leads.
    pub transactions: Arc<TransactionCoordinator>,
    /// TLS and SASL of the client listener.
    pub security: ListenerSecurity,
    /// Open connections, counted against `max.connections`.
    pub connections: ConnectionGate,
    /// The log cleaner's controls (`broker/log_cleaner.rs`).
    pub cleaner: Arc<log_cleaner::LogCleaner>,
    /// The (API, min, max) ranges clients may use, without and with SASL: everything the
    /// handlers serve, narrowed to `kafka.version` when the cluster poses as an older Kafka.
    served: Vec<(ApiKey, i16, i16)>,
    /// The same on a SASL listener (with the SASL APIs).
    served_sasl: Vec<(ApiKey, i16, i16)>,
    /// Everything the handlers serve, whatever release the cluster poses as: what
    /// broker-to-broker requests may use.
    served_between_brokers: Vec<(ApiKey, i16, i16)>,
}

impl BrokerShared {
    /// Shared state for a new incarnation of broker `node_id`.
    pub fn new(
        node_id: i32,
        controller: Arc<Controller>,
        config: BrokerConfig,
        data_dir: Option<PathBuf>,
    ) -> Self {
        let replicas = Arc::new(ReplicaManager::new(
            node_id,
            controller.clone(),
            &config,
            data_dir,
        ));
        Self {
            node_id,
            coordinator: Arc::new(GroupCoordinator::new(replicas.clone(), &config)),
            transactions: Arc::new(TransactionCoordinator::new(replicas.clone(), &config)),
            replicas,
            controller,
            faults: Arc::new(BrokerFaults::new()),
            metrics: Arc::new(BrokerMetrics::new()),
            security: ListenerSecurity::default(),
            connections: ConnectionGate::default(),
            cleaner: Arc::default(),
            served: handlers::served_on(false, config.kafka_version),
            served_sasl: handlers::served_on(true, config.kafka_version),
            served_between_brokers: handlers::served_on(true, None),
            config,
        }
    }

    /// The (API, min, max) ranges clients may use on a listener with or without SASL.
    pub fn served(&self, sasl: bool) -> &[(ApiKey, i16, i16)] {
        if sasl {
            &self.served_sasl
        } else {
            &self.served
        }
    }

    /// Secures the client listener with TLS and/or SASL.
    pub fn with_security(mut self, security: ListenerSecurity) -> Self {
        self.security = security;
        self
    }

    /// Uses the fault controls and counters of the broker's slot (kept across restarts)
    /// instead of fresh ones.
    pub fn with_controls(mut self, faults: Arc<BrokerFaults>, metrics: Arc<BrokerMetrics>) -> Self {
        self.faults = faults;
        self.metrics = metrics;
        self
    }

    /// The current metadata snapshot.
    pub fn metadata(&self) -> Arc<ClusterMetadata> {
        self.controller.snapshot()
    }
}

/// A running broker: its listeners and the token that stops them.
#[derive(Debug)]
pub struct RunningBroker {
    /// Shared state.
    pub shared: Arc<BrokerShared>,
    /// Addresses the broker listens on.
    pub addrs: Vec<SocketAddr>,
    /// Cancelling it closes the listeners and every connection.
    pub stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningBroker {
    /// Binds the listeners and starts accepting connections.
    pub async fn start(
        shared: Arc<BrokerShared>,
        bind: &[SocketAddr],
        parent: &CancellationToken,
    ) -> std::io::Result<Self> {
        let stop = parent.child_token();
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for addr in bind {
            let listener = TcpListener::bind(addr).await?;
            let local = listener.local_addr()?;
            addrs.push(local);
            tasks.push(tokio::spawn(accept_loop(
                listener,
                shared.clone(),
                stop.clone(),
                ListenerKind::Client,
            )));
        }
        if shared.security.is_secured() {
            let internal = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
            let port = internal.local_addr()?.port();
            shared
                .controller
                .set_replication_port(shared.node_id, Some(port));
            tasks.push(tokio::spawn(accept_loop(
                internal,
                shared.clone(),
                stop.clone(),
                ListenerKind::Replication,
            )));
        }
        info!(broker = shared.node_id, addrs = ?addrs, security = shared.security.protocol(), "broker listening");
        tasks.push(tokio::spawn(maintenance_loop(shared.clone(), stop.clone())));
        tasks.push(tokio::spawn(crate::replication::run(
            shared.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(log_cleaner::run(shared.clone(), stop.clone())));
        Ok(Self {
            shared,
            addrs,
            stop,
            tasks,
        })
    }

    /// Adds listeners on more addresses (e.g. ::1 beside 127.0.0.1). On failure the broker is
    /// handed back unchanged with the error.
    pub async fn start_extra(
        mut self,
        bind: &[SocketAddr],
    ) -> Result<Self, (Self, std::io::Error)> {
        for addr in bind {
            let listener = match TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => return Err((self, e)),
            };
            if let Ok(local) = listener.local_addr() {
                self.addrs.push(local);
            }
            self.tasks.push(tokio::spawn(accept_loop(
                listener,
                self.shared.clone(),
                self.stop.clone(),
                ListenerKind::Client,
            )));
        }
        Ok(self)
    }

    /// Drops everything at once, as a process death would: no flush, no goodbye.
    pub async fn kill(self) {
        self.stop.cancel();
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        // A cleaner pass runs on a blocking thread, which aborting its task does not stop.
        self.shared.cleaner.idle().await;
    }

    /// Stops the listeners and connections and waits for their tasks.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        for replica in self.shared.replicas.local_replicas() {
            if let Err(e) = replica.flush() {
                warn!(broker = self.shared.node_id, error = %e, "flush at shutdown failed");
            }
        }
    }
}

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenerKind {
    /// The advertised listener, with the cluster's TLS and SASL settings.
    Client,
    /// The loopback listener followers fetch from when the client listener is secured.
    Replication,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<BrokerShared>,
    stop: CancellationToken,
    kind: ListenerKind,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(permit) = shared
                    .connections
                    .admit(shared.config.limits.max_connections)
                else {
                    warn!(broker = shared.node_id, %peer, max = shared.config.limits.max_connections, "closing connection: max.connections reached");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(accept_connection(
                    stream,
                    peer,
                    shared.clone(),
                    stop.clone(),
                    kind,
                    permit,
                ));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!(broker = shared.node_id, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Housekeeping: applies metadata changes (roles, deleted topics), shrinks lagging ISRs,
/// and applies retention.
async fn maintenance_loop(shared: Arc<BrokerShared>, stop: CancellationToken) {
    let mut metadata = shared.controller.subscribe();
    // Groups are served while the broker runs: stopping or killing it (which ends or aborts
    // this task) stops them.
    let _groups = shared.coordinator.stop_on_drop();
    let _transactions = shared.transactions.stop_on_drop();
    shared.replicas.reconcile();
    shared.coordinator.reconcile();
    shared.transactions.reconcile();
    let mut txn_timeout_tick = tokio::time::interval(shared.config.transaction_abort_interval);
    let mut isr_tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut retention_tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            changed = metadata.changed() => {
                if changed.is_err() {
                    return;
                }
                metadata.borrow_and_update();
                shared.replicas.reconcile();
                shared.coordinator.reconcile();
                shared.transactions.reconcile();
                // Waiters re-check leadership (acks=all, long polls).
                shared.replicas.data_arrived.notify_waiters();
            }
            _ = isr_tick.tick() => {
                let shrinks = shared.replicas.shrink_lagging_isrs();
                shared
                    .metrics
                    .isr_shrinks
                    .fetch_add(shrinks, std::sync::atomic::Ordering::Relaxed);
            }
            _ = txn_timeout_tick.tick() => {
                // Also retries loads that failed, so a partition nobody asks about still gets
                // its Prepare* transactions finished and its timeouts enforced.
                shared.transactions.reconcile();
                shared.transactions.abort_timed_out();
                shared.transactions.expire_transactional_ids();
            }
            _ = retention_tick.tick() => {
                let now = crate::partition::now_ms();
                shared.replicas.expire_producers(now);
                for replica in shared.replicas.local_replicas() {
                    if let Err(e) = replica.apply_retention(now) {
                        warn!(broker = shared.node_id, topic = %replica.topic, partition = replica.partition, error = %e, "retention failed");
                    }
                }
            }
        }
    }
}

/// Runs the TLS handshake when the listener has TLS, then serves the connection.
async fn accept_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<BrokerShared>,
    stop: CancellationToken,
    kind: ListenerKind,
    permit: ConnectionPermit,
) {
    let tls = match kind {
        ListenerKind::Client => shared.security.tls.clone(),
        ListenerKind::Replication => None,
    };
    let Some(config) = tls else {
        return serve_connection(stream, peer, shared, stop, kind, permit).await;
    };
    let handshake = tokio::select! {
        () = stop.cancelled() => return,
        h = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tokio_rustls::TlsAcceptor::from(config).accept(stream)) => h,
    };
    match handshake {
        Ok(Ok(stream)) => serve_connection(stream, peer, shared, stop, kind, permit).await,
        Ok(Err(e)) => {
            info!(broker = shared.node_id, %peer, error = %e, "TLS handshake failed");
        }
        Err(_) => info!(broker = shared.node_id, %peer, "TLS handshake timed out"),
    }
}

/// What to do after a request.
enum Reply {
    /// Send these bytes (a whole response frame).
    Send(BytesMut),
    /// Send these bytes, then close the connection (a refused SASL authentication).
    SendAndClose(BytesMut, String),
    /// Send nothing (acks=0 produce).
    Nothing,
    /// Close the connection; the request was not something we can answer.
    Close(String),
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: Arc<BrokerShared>,
    stop: CancellationToken,
    kind: ListenerKind,
    _permit: ConnectionPermit,
) {
    let decoder = FrameDecoder::new(shared.config.max_frame_size);
    let unauthenticated_decoder =
        FrameDecoder::new(shared.config.max_frame_size.min(MAX_UNAUTHENTICATED_FRAME));
    let mut conn = ConnectionState {
        kind,
        auth: (kind == ListenerKind::Client && shared.security.sasl.is_some())
            .then(Authenticator::new),
    };
    let limits = shared.config.limits;
    // Answers buffered in `outbuf` and not yet written (see crate::limits).
    let mut in_flight = 0usize;
    let mut inbuf = BytesMut::with_capacity(64 * 1024);
    let mut outbuf = BytesMut::with_capacity(64 * 1024);
    // Subscribed before serving anything: a drop requested from now on closes this one.
    let mut drops = shared.faults.subscribe_drops();
    let _open = shared.metrics.connection_opened();
    debug!(broker = shared.node_id, %peer, "connection opened");
    loop {
        // Answer every complete frame already buffered (up to the in-flight limit), then
        // write the answers at once.
        loop {
            if in_flight >= limits.max_in_flight_requests_per_connection {
                break;
            }
            let decoder = if conn.unauthenticated() {
                &unauthenticated_decoder
            } else {
                &decoder
            };
            let frame = match decoder.decode(&mut inbuf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    warn!(broker = shared.node_id, %peer, error = %e, "closing connection: bad frame");
                    let _ = stream.write_all(&outbuf).await;
                    return;
                }
            };
            // Stopping, killing or dropping connections cuts a request in flight too (a long
            // poll, an acks=all wait): handlers keep no state across their awaits.
            // Biased: once the broker is stopped or killed, no further request of this
            // connection may run (it could write to a log a restart has reopened).
            // Biased: once the broker is stopped or killed, no further request of this
            // connection may run (it could write to a log that a restart has reopened).
            let reply = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                () = dropped(&mut drops) => {
                    info!(broker = shared.node_id, %peer, "dropping connection (injected fault)");
                    return;
                }
                r = handle_frame(&shared, peer, &mut conn, frame) => r,
            };
            in_flight += 1;
            match reply {
                Reply::Send(bytes) => outbuf.extend_from_slice(&bytes),
                Reply::SendAndClose(bytes, reason) => {
                    info!(broker = shared.node_id, %peer, reason = %reason, "closing connection");
                    outbuf.extend_from_slice(&bytes);
                    let _ = stream.write_all(&outbuf).await;
                    let _ = stream.shutdown().await;
                    return;
                }
                Reply::Nothing => {}
                Reply::Close(reason) => {
                    warn!(broker = shared.node_id, %peer, reason = %reason, "closing connection");
                    let _ = stream.write_all(&outbuf).await;
                    return;
                }
            }
        }
        if !outbuf.is_empty() {
            let written = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                () = dropped(&mut drops) => {
                    info!(broker = shared.node_id, %peer, "dropping connection (injected fault)");
                    return;
                }
                w = limits::within(limits.connections_max_idle, LimitClose::NotReading, stream.write_all(&outbuf)) => w,
            };
            match written {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(why) => {
                    warn!(broker = shared.node_id, %peer, reason = %why, "closing connection");
                    return;
                }
            }
            outbuf.clear();
        }
        if in_flight >= limits.max_in_flight_requests_per_connection {
            // More frames may be buffered: answer them before reading anything new.
            in_flight = 0;
            continue;
        }
        in_flight = 0;
        let read = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = dropped(&mut drops) => {
                info!(broker = shared.node_id, %peer, "dropping connection (injected fault)");
                return;
            }
            r = limits::within(limits.connections_max_idle, LimitClose::Idle, stream.read_buf(&mut inbuf)) => r,
        };
        let read = match read {
            Ok(r) => r,
            Err(why) => {
                info!(broker = shared.node_id, %peer, reason = %why, "closing connection");
                return;
            }
        };
        match read {
            Ok(0) | Err(_) => {
                debug!(broker = shared.node_id, %peer, "connection closed");
                return;
            }
            Ok(_) => {}
        }
    }
}

/// Resolves when the broker's faults ask to drop every open connection.
async fn dropped(drops: &mut tokio::sync::watch::Receiver<u64>) {
    if drops.changed().await.is_err() {
        // The fault controls are gone (never while the broker runs): nothing will ask.
        std::future::pending::<()>().await;
    }
}

async fn handle_frame(
    shared: &Arc<BrokerShared>,
    peer: SocketAddr,
    conn: &mut ConnectionState,
    frame: Bytes,
) -> Reply {
    if conn
        .auth
        .as_ref()
        .is_some_and(Authenticator::expects_raw_token)
    {
        return raw_sasl_token(shared, conn, &frame);
    }
    let started = tokio::time::Instant::now();
    let (header, body) = match frame::decode_request(frame) {
        Ok(decoded) => decoded,
        Err(e) => return Reply::Close(format!("undecodable request header: {e}")),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return unanswerable(shared, &header, e, conn.sasl_enabled()),
    };
    let sasl = conn.sasl_enabled();
    let in_range = |ranges: &[(ApiKey, i16, i16)]| {
        ranges.iter().any(|(k, lo, hi)| {
            k.code() == header.api_key && (*lo..=*hi).contains(&header.api_version)
        })
    };
    // Brokers talk among themselves at the dev cluster's own versions, whatever release it
    // poses as to clients (see kafka_version.rs).
    let served = in_range(shared.served(sasl))
        || (faults::is_inter_broker(&body, header.api_version)
            && in_range(&shared.served_between_brokers));
    if !served {
        return unanswerable(
            shared,
            &header,
            DecodeError::UnsupportedVersion {
                api_key: header.api_key,
                version: header.api_version,
            },
            sasl,
        );
    }
    shared.metrics.record_request(header.api_key);
    if let Some(latency) = shared.faults.latency() {
        tokio::time::sleep(latency).await;
    }
    if let Some(reply) = gate(shared, conn, &header, &body) {
        return reply;
    }
    let replication = faults::is_replication(&body, header.api_version);
    if !replication {
        if let Some(code) = shared.faults.take_error(header.api_key) {
            return injected_error(shared, &header, &body, code, started);
        }
    }
    let ctx = handlers::RequestContext {
        broker: shared,
        header: &header,
        peer,
        sasl: conn.sasl_enabled(),
    };
    let Some(response) = handlers::dispatch(&ctx, body).await else {
        return Reply::Nothing;
    };
    shared
        .metrics
        .observe_response(&response, started.elapsed(), replication);
    encode(&header, &response)
}

/// Answers a request with an injected error code without executing it, or closes the
/// connection when this API has no error answer here (see [`faults::error_response`]).
fn injected_error(
    shared: &BrokerShared,
    header: &RequestHeader,
    body: &RequestBody,
    code: ErrorCode,
    started: tokio::time::Instant,
) -> Reply {
    let api = header.api().map_or_else(
        || format!("api key {}", header.api_key),
        |k| k.name().to_string(),
    );
    info!(broker = shared.node_id, api = %api, error = %code, correlation_id = header.correlation_id, "answering with an injected error");
    match faults::error_response(body, header.api_version, code, &shared.metadata()) {
        Some(response) => {
            if !matches!(response, ResponseBody::Produce(_) | ResponseBody::Fetch(_)) {
                shared.metrics.record_error(header.api_key, code.code());
            }
            shared
                .metrics
                .observe_response(&response, started.elapsed(), false);
            encode(header, &response)
        }
        None => {
            shared.metrics.record_error(header.api_key, code.code());
            Reply::Close(format!(
                "injected {code} for {api} v{}, which has no error answer here",
                header.api_version
            ))
        }
    }
}

fn encode(header: &RequestHeader, response: &ResponseBody) -> Reply {
    let mut out = BytesMut::new();
    match frame::encode_response(
        header.correlation_id,
        header.api_version,
        response,
        &mut out,
    ) {
        Ok(()) => Reply::Send(out),
        Err(e) => Reply::Close(format!("cannot encode response: {e}")),
    }
}

/// A request we cannot serve. ApiVersions gets Kafka's special answer (KIP-511): a v0
/// response with UNSUPPORTED_VERSION and our ranges, so the client can pick a version it
/// shares with us. Anything else closes the connection, as Kafka does.
fn unanswerable(
    shared: &BrokerShared,
    header: &RequestHeader,
    error: DecodeError,
    sasl: bool,
) -> Reply {
    let served = shared.served(sasl);
    let is_api_versions = header.api_key == ApiKey::ApiVersions.code();
    let max_served = served
        .iter()
        .find(|(k, _, _)| *k == ApiKey::ApiVersions)
        .map_or(0, |(_, _, max)| *max);
    if is_api_versions && header.api_version > max_served {
        let mut response = handlers::api_versions::supported(served);
        response.error_code = ErrorCode::UnsupportedVersion.code();
        let v0 = RequestHeader {
            api_version: 0,
            ..header.clone()
        };
        return encode(&v0, &ResponseBody::ApiVersions(response));
    }
    let api = header.api().map_or_else(
        || format!("unknown api key {}", header.api_key),
        |k| k.to_string(),
    );
    Reply::Close(format!(
        "broker {}: cannot serve {api} v{} from client {:?}: {error}",
        shared.node_id, header.api_version, header.client_id
    ))
}
