//! The HTTP admin plane (DESIGN decision 7): cluster state, broker stop/kill/start, fault
//! injection and Prometheus metrics, on one loopback endpoint. Kafka clients never need it;
//! the CLI and TUI (and anyone with curl) do.
//!
//! ```text
//!  GET    /v1/cluster                  cluster id, controller, brokers, topics/partitions
//!  POST   /v1/brokers/{id}/stop        clean stop (leaderships move first)
//!  POST   /v1/brokers/{id}/kill        as if the process died
//!  POST   /v1/brokers/{id}/start       restart on the same port
//!  GET    /v1/brokers/{id}/faults      current faults
//!  POST   /v1/brokers/{id}/faults      {"latency_ms":250} | {"drop_connections":true} |
//!                                      {"errors":{"api_key":0,"error_code":6,"count":3}}
//!  DELETE /v1/brokers/{id}/faults      clear latency and armed errors
//!  POST   /v1/cleaner/run              a log cleaner pass on every broker now; answers the
//!                                      cluster state after it (with each partition's cleaner)
//!  POST   /v1/shutdown                 ask the owner to shut the whole cluster down (202)
//!  GET    /metrics                     Prometheus text format 0.0.4
//! ```
//!
//! It listens on 127.0.0.1 only, never on a wildcard address: it can stop brokers, so it must
//! not be reachable from the network. Errors are JSON `{"error": "..."}` with 404 for an
//! unknown broker or route, 400 for a body that cannot be used, 405 for a wrong method.
//! The handlers call the same methods as the Rust [`DevCluster`](crate::DevCluster) handle,
//! on the state they share with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::cluster::{ClusterError, ClusterInner};
use crate::faults::FaultState;
use crate::state::{BrokerState, ClusterState};

/// The largest latency the admin plane accepts (a typo of a few zeros should not hang a
/// broker for hours).
pub const MAX_LATENCY: Duration = Duration::from_secs(300);

/// `POST /v1/brokers/{id}/faults`: any combination of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// Latency added before every answer; 0 removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close every open connection now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_connections: bool,
    /// Answer the next requests of one API with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorFaultRequest>,
}

/// The `errors` member of a [`FaultRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFaultRequest {
    /// The API key, as its number (`0`) or Kafka's name (`"Produce"`).
    pub api_key: CodeOrName,
    /// The error, as its code (`6`) or Kafka's name (`"NOT_LEADER_OR_FOLLOWER"`).
    pub error_code: CodeOrName,
    /// How many requests get it (at least 1).
    pub count: u32,
}

/// A number or a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeOrName {
    /// The wire number.
    Code(i16),
    /// Kafka's name.
    Name(String),
}

/// A broker's faults, as every `/faults` endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsView {
    /// The broker.
    pub broker: i32,
    /// Added latency in milliseconds (0: none).
    pub latency_ms: u64,
    /// Armed errors.
    pub errors: Vec<InjectedErrorView>,
}

/// One armed error in a [`FaultsView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedErrorView {
    /// The API key number.
    pub api_key: i16,
    /// The API's name.
    pub api: String,
    /// The error code.
    pub error_code: i16,
    /// The error's name.
    pub error: String,
    /// Requests still to fail.
    pub remaining: u32,
}

impl FaultsView {
    fn new(broker: i32, state: &FaultState) -> Self {
        Self {
            broker,
            latency_ms: state
                .latency
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            errors: state
                .errors
                .iter()
                .map(|e| InjectedErrorView {
                    api_key: e.api_key.code(),
                    api: e.api_key.name().to_string(),
                    error_code: e.error_code.code(),
                    error: e.error_code.name().to_string(),
                    remaining: e.remaining,
                })
                .collect(),
        }
    }
}

/// The running admin plane: its address and the task serving it.
#[derive(Debug)]
pub(crate) struct AdminServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr` (a loopback address) and serves until `stop`.
    pub(crate) async fn start(
        cluster: Arc<ClusterInner>,
        addr: SocketAddr,
        stop: CancellationToken,
    ) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the admin plane listens on loopback only",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(cluster);
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                warn!(error = %e, "admin plane stopped");
            }
        });
        Ok(Self { addr, task })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits for the server to finish after the stop token fired; a client that keeps a
    /// request open does not hold shutdown for more than a few seconds.
    pub(crate) async fn wait(self) {
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

type Shared = State<Arc<ClusterInner>>;

fn router(cluster: Arc<ClusterInner>) -> Router {
    Router::new()
        .route("/v1/cluster", get(get_cluster))
        .route("/v1/brokers/{id}/stop", post(stop_broker))
        .route("/v1/brokers/{id}/kill", post(kill_broker))
        .route("/v1/brokers/{id}/start", post(start_broker))
        .route(
            "/v1/brokers/{id}/faults",
            get(get_faults).post(post_faults).delete(delete_faults),
        )
        .route("/v1/cleaner/run", post(post_cleaner_run))
        .route("/v1/shutdown", post(post_shutdown))
        .route("/metrics", get(get_metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(cluster)
}

/// An error answer: `{"error": "..."}` with a status.
#[derive(Debug)]
struct HttpError {
    status: StatusCode,
    message: String,
}

impl HttpError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<ClusterError> for HttpError {
    fn from(e: ClusterError) -> Self {
        let status = match e {
            ClusterError::UnknownBroker(_) => StatusCode::NOT_FOUND,
            ClusterError::InvalidFault(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            message: e.to_string(),
        }
    }
}

/// A broker id from the path; anything that is not one of ours is a 404.
fn broker_id(cluster: &ClusterInner, raw: &str) -> Result<i32, HttpError> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| cluster.brokers().iter().any(|b| b.node_id() == *id))
        .ok_or_else(|| HttpError {
            status: StatusCode::NOT_FOUND,
            message: format!("no broker with id {raw}"),
        })
}

fn broker_state(cluster: &ClusterInner, id: i32) -> Result<Json<BrokerState>, HttpError> {
    cluster
        .state()
        .brokers
        .into_iter()
        .find(|b| b.id == id)
        .map(Json)
        .ok_or_else(|| ClusterError::UnknownBroker(id).into())
}

async fn post_shutdown(State(cluster): Shared) -> (StatusCode, Json<serde_json::Value>) {
    cluster.shutdown_requested.cancel();
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "shutting_down": true })),
    )
}

async fn get_cluster(State(cluster): Shared) -> Json<ClusterState> {
    Json(cluster.state())
}

async fn stop_broker(
    State(cluster): Shared,
    Path(id): Path<String>,
) -> Result<Json<BrokerState>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    cluster.stop_broker(id).await?;
    broker_state(&cluster, id)
}

async fn kill_broker(
    State(cluster): Shared,
    Path(id): Path<String>,
) -> Result<Json<BrokerState>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    cluster.kill_broker(id).await?;
    broker_state(&cluster, id)
}

/// Runs a log cleaner pass on every running broker and answers the cluster state after it.
async fn post_cleaner_run(State(cluster): Shared) -> Json<ClusterState> {
    cluster.run_log_cleaner().await;
    Json(cluster.state())
}

async fn start_broker(
    State(cluster): Shared,
    Path(id): Path<String>,
) -> Result<Json<BrokerState>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    cluster.start_broker(id).await?;
    broker_state(&cluster, id)
}

async fn get_faults(
    State(cluster): Shared,
    Path(id): Path<String>,
) -> Result<Json<FaultsView>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    Ok(Json(FaultsView::new(id, &cluster.faults(id)?.state())))
}

async fn delete_faults(
    State(cluster): Shared,
    Path(id): Path<String>,
) -> Result<Json<FaultsView>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    let faults = cluster.faults(id)?;
    faults.clear();
    tracing::info!(broker = id, "faults cleared");
    Ok(Json(FaultsView::new(id, &faults.state())))
}

/// The body is parsed here rather than by axum's `Json` extractor so every refusal is a 400
/// with a JSON error (the extractor answers 415/422 in plain text).
async fn post_faults(
    State(cluster): Shared,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<FaultsView>, HttpError> {
    let id = broker_id(&cluster, &id)?;
    let req: FaultRequest = serde_json::from_slice(&body)
        .map_err(|e| HttpError::bad_request(format!("invalid fault request: {e}")))?;
    let latency = match req.latency_ms {
        Some(ms) if Duration::from_millis(ms) > MAX_LATENCY => {
            return Err(HttpError::bad_request(format!(
                "latency_ms {ms} is more than the {} allowed",
                MAX_LATENCY.as_millis()
            )))
        }
        other => other.map(Duration::from_millis),
    };
    let errors = match &req.errors {
        None => None,
        Some(e) => Some(parse_error_fault(e)?),
    };
    if latency.is_none() && errors.is_none() && !req.drop_connections {
        return Err(HttpError::bad_request(
            "nothing to inject: give latency_ms, drop_connections or errors",
        ));
    }
    // Validate everything before applying anything, so a refused request changes nothing.
    if let Some((api_key, error_code, count)) = errors {
        cluster.inject_errors(id, api_key, error_code, count)?;
    }
    let faults = cluster.faults(id)?;
    if let Some(latency) = latency {
        faults.set_latency(latency);
        tracing::info!(
            broker = id,
            latency_ms = latency.as_millis() as u64,
            "injecting latency"
        );
    }
    if req.drop_connections {
        faults.drop_connections();
        tracing::info!(broker = id, "dropping connections");
    }
    Ok(Json(FaultsView::new(id, &faults.state())))
}

fn parse_error_fault(e: &ErrorFaultRequest) -> Result<(ApiKey, ErrorCode, u32), HttpError> {
    let api_key = match &e.api_key {
        CodeOrName::Code(c) => ApiKey::from_code(*c),
        CodeOrName::Name(n) => ApiKey::ALL.iter().copied().find(|k| k.name() == n),
    }
    .ok_or_else(|| HttpError::bad_request(format!("unknown api_key {:?}", e.api_key)))?;
    let error_code = match &e.error_code {
        CodeOrName::Code(c) => Some(ErrorCode::from_code(*c)),
        CodeOrName::Name(n) => ErrorCode::ALL.iter().copied().find(|c| c.name() == n),
    }
    .ok_or_else(|| HttpError::bad_request(format!("unknown error_code {:?}", e.error_code)))?;
    if error_code.is_ok() {
        return Err(HttpError::bad_request(
            "error_code 0 (NONE) is not an error",
        ));
    }
    if e.count == 0 {
        return Err(HttpError::bad_request("count must be at least 1"));
    }
    if !crate::handlers::served()
        .iter()
        .any(|(k, _, _)| *k == api_key)
    {
        return Err(HttpError::bad_request(format!(
            "{api_key} is not served by the dev cluster"
        )));
    }
    Ok((api_key, error_code, e.count))
}

async fn get_metrics(State(cluster): Shared) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        cluster.metrics_text(),
    )
}

async fn not_found(method: Method, uri: Uri) -> HttpError {
    HttpError {
        status: StatusCode::NOT_FOUND,
        message: format!("no route for {method} {}", uri.path()),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> HttpError {
    HttpError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!("{method} is not allowed on {}", uri.path()),
    }
}
