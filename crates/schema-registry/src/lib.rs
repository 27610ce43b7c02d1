//! A schema registry with Confluent's REST API, kept in a Kafka topic.
//!
//! ```text
//!  HTTP (Confluent's REST API, rest.rs) ──▶ Registry
//!     reads:  the state (store.rs), rebuilt from _schemas
//!     writes: checks (formats/) ─▶ _schemas records (records.rs) ─▶ produce, read back (kafka.rs)
//! ```
//!
//! It is a Kafka client of the cluster it stores into, as Confluent's registry is: it works
//! against any broker, survives the failover of the broker leading `_schemas`, and a
//! registry started on the same cluster later (or after a restart of the cluster on its
//! data) serves the same subjects, versions and ids. Schema ids are global and given once;
//! the same schema registered under several subjects keeps one id.
//!
//! Avro, JSON Schema and Protobuf schemas are served with every compatibility level
//! (`formats/`); a Protobuf schema registered as a base64 descriptor, as Confluent's
//! serializers send it, is stored as `.proto` text, and served either way.

mod error;
mod formats;
mod kafka;
mod records;
mod rest;
mod store;
mod tls;

use std::net::SocketAddr;
use std::str::FromStr;

use streamctl_client::ClientConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::RegistryError;
pub use kafka::TOPIC;
pub use records::Reference;

/// A compatibility level (`compatibilityLevel` in the REST API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// No check.
    None,
    /// The new schema reads data written with the latest one.
    Backward,
    /// … with every live one.
    BackwardTransitive,
    /// The latest schema reads data written with the new one.
    Forward,
    /// Every live one does.
    ForwardTransitive,
    /// Both backward and forward against the latest.
    Full,
    /// Both against every live one.
    FullTransitive,
}

impl Level {
    /// Its name in the REST API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
        }
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Level::None,
            Level::Backward,
            Level::BackwardTransitive,
            Level::Forward,
            Level::ForwardTransitive,
            Level::Full,
            Level::FullTransitive,
        ]
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| format!("unknown compatibility level {s}"))
    }
}

/// A registry mode: whether schemas may be registered, and with their own ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Registration allowed; ids given by the registry.
    ReadWrite,
    /// No registration or deletion.
    ReadOnly,
    /// As read-only, also for the registry's own writes.
    ReadOnlyOverride,
    /// Registration with the caller's ids and versions, without checks (migrations).
    Import,
}

impl Mode {
    /// Its name in the REST API.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Mode::ReadWrite,
            Mode::ReadOnly,
            Mode::ReadOnlyOverride,
            Mode::Import,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| format!("unknown mode {s}"))
    }
}

/// What a registry needs to start.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// How to reach the cluster that holds `_schemas`.
    pub client: ClientConfig,
    /// The replication factor `_schemas` is created with (when it does not exist).
    pub replication_factor: i16,
    /// Where the REST API listens; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate, instead of HTTP.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

/// A running registry; dropping it stops it.
#[derive(Debug)]
pub struct SchemaRegistry {
    addr: SocketAddr,
    https: bool,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    registry: Option<std::sync::Arc<rest::Registry>>,
}

impl SchemaRegistry {
    /// Creates `_schemas` if needed, reads it to its end and starts serving.
    pub async fn start(config: RegistryConfig) -> Result<SchemaRegistry, RegistryError> {
        let stop = CancellationToken::new();
        let kafka =
            kafka::KafkaStore::open(&config.client, config.replication_factor, &stop).await?;
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            RegistryError::store(format!("cannot listen on {}: {e}", config.listen))
        })?;
        let addr = listener.local_addr().map_err(RegistryError::store)?;
        let registry = std::sync::Arc::new(rest::Registry::new(kafka));
        let app = rest::router(registry.clone());
        let stopping = stop.clone();
        let stopped = async move { stopping.cancelled().await };
        let https = config.tls.is_some();
        let server = match config.tls {
            None => tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(stopped);
                if let Err(e) = serve.await {
                    tracing::warn!(error = %e, "the schema registry's HTTP server stopped");
                }
            }),
            Some(tls) => {
                let listener =
                    tls::TlsListener::new(listener, tls).map_err(RegistryError::store)?;
                tokio::spawn(async move {
                    let serve = axum::serve(listener, app).with_graceful_shutdown(stopped);
                    if let Err(e) = serve.await {
                        tracing::warn!(error = %e, "the schema registry's HTTPS server stopped");
                    }
                })
            }
        };
        Ok(SchemaRegistry {
            addr,
            https,
            stop,
            server: Some(server),
            registry: Some(registry),
        })
    }

    /// `http://host:port` (or `https://`) of the REST API.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops serving and closes the registry's clients.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(registry) = self.registry.take() {
            if let Ok(registry) = std::sync::Arc::try_unwrap(registry) {
                registry.close().await;
            }
        }
    }
}

impl Drop for SchemaRegistry {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
