//! One TCP connection to one broker, with requests pipelined by correlation id.
//!
//! ```text
//!   call(req) ──encode──▶ [writer queue] ──▶ writer task ──▶ socket ──▶ broker
//!      │                                                                  │
//!      └─ registers correlation id → (api, version, oneshot)             │
//!                                                                         ▼
//!   call(req) ◀──oneshot── reader task: frame → header → pending[correlation id] → decode
//! ```
//!
//! Many requests can be in flight at once; the single reader task matches each response to
//! its request by correlation id and decodes it at the version the request was sent with.
//! Brokers answer a connection's requests in order, but nothing here relies on it.
//!
//! At connect the client sends ApiVersions and keeps, per API, the highest version both
//! sides implement ([`Connection::negotiated_version`]). A broker too old for our ApiVersions
//! version answers `UNSUPPORTED_VERSION` in a v0 body listing its range (KIP-511); we retry
//! with the highest version we share, or v0, as Kafka's clients do.
//!
//! Failure model: anything that leaves the byte stream untrustworthy — an undecodable
//! response, a response to no request, end of stream, a socket error — fails every request in
//! flight on this connection with [`Error::ConnectionLost`] and marks it closed. Nothing else
//! is affected; the metadata layer opens a new connection on next use. A request that times
//! out (`request.timeout.ms`) closes the connection too, as Kafka's `NetworkClient` does: the
//! broker answers in order, so everything behind a stuck request is stuck as well, and a
//! half-open TCP path is only noticed that way.
//!
//! SASL (KIP-152, KIP-368): after ApiVersions the connection authenticates with SaslHandshake and
//! SaslAuthenticate. When the broker gives the session a lifetime (`connections.max.reauth.ms`),
//! a task re-authenticates at 85–95% of it: new requests wait while it runs (the broker must see
//! nothing but the SASL exchange), responses to requests already sent still arrive, and a failed
//! re-authentication closes the connection.
//!
//! Two ways to ask: [`Connection::call`] sends and waits for the answer; [`Connection::send`]
//! returns once the request is queued, with a [`PendingResponse`] to await later, so a
//! sender can keep several requests in flight in a guaranteed order.
//!
//! Cancel safety: a request is handed whole to the writer task before the caller awaits
//! anything that can be cancelled, and its pending entry stays until its response arrives,
//! so dropping a [`Connection::call`] future never leaves half a frame on the socket or an
//! unmatched response; the response is read and discarded.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader, ResponseHeader};
use streamctl_protocol::messages::*;
use streamctl_protocol::{ApiKey, DecodeError, ErrorCode, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace, warn};

use crate::config::ClientConfig;
use crate::error::{Disconnect, Error, Result};

mod auth;
mod io;
mod request;

use io::{read_loop, write_loop, Deliver, Outgoing, Pending, Shared, State};
#[cfg(test)]
mod tests;

use request::Versions;
pub use streamctl_protocol::messages::Request;

/// Requests queued for the writer task before callers wait; enough to keep the socket busy.
const WRITE_QUEUE: usize = 256;
/// Size of the writer's buffer: small frames are coalesced into one syscall.
const WRITE_BUFFER: usize = 64 * 1024;
/// Minimum free space the reader keeps in its buffer before each read.
const READ_CHUNK: usize = 64 * 1024;
/// The software name sent in ApiVersions v3+ (KIP-511), shown in brokers' client metrics.
const CLIENT_SOFTWARE_NAME: &str = "streamctl-client";

/// A connection to one broker. Cheap to clone; clones share the socket.
///
/// The connection closes when the last clone is dropped or [`Connection::close`] is called,
/// or on its own when it fails; [`Connection::is_closed`] tells, and the metadata layer
/// replaces closed connections.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    /// Requests for the writer task.
    outgoing: mpsc::Sender<Outgoing>,
    /// Negotiated at connect, fixed afterwards.
    versions: Versions,
    /// `client.id`, sent in every request header.
    client_id: String,
    /// `request.timeout.ms`.
    request_timeout: Duration,
    next_correlation_id: AtomicI32,
    /// Held shared by every request while it is queued, exclusively by a re-authentication,
    /// so no request is sent in the middle of one (KIP-368).
    reauth_gate: tokio::sync::RwLock<()>,
    /// Completed re-authentications, for diagnostics and tests.
    reauthentications: std::sync::atomic::AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop both tasks, which closes the socket.
        self.shared.fail(Disconnect::ClosedByClient);
    }
}

impl Connection {
    /// Connects to `broker` (`host:port`) and negotiates API versions.
    ///
    /// Both steps together are bounded by `socket.connection.setup.timeout.ms`. Every address
    /// the host name resolves to is tried in turn.
    pub async fn connect(broker: &str, config: &ClientConfig) -> Result<Connection> {
        crate::security::validate(config)?;
        let setup_timeout = config.socket_connection_setup_timeout;
        let setup = async {
            let stream = TcpStream::connect(broker)
                .await
                .map_err(|source| Error::Connect {
                    broker: broker.to_string(),
                    source: std::sync::Arc::new(source),
                })?;
            // Requests are whole frames written at once; Nagle would only add latency.
            let _ = stream.set_nodelay(true);
            let mut inner = if config.security_protocol.uses_tls() {
                let tls = crate::security::tls::connect(stream, broker, &config.tls).await?;
                let (read, write) = tokio::io::split(tls);
                Inner::start(read, write, broker, config)
            } else {
                // Owned halves: no lock between reader and writer on the plaintext path.
                let (read, write) = stream.into_split();
                Inner::start(read, write, broker, config)
            };
            inner.versions = inner.negotiate().await?;
            let session_lifetime = if config.security_protocol.uses_sasl() {
                inner.authenticate(config).await?
            } else {
                None
            };
            Ok((inner, session_lifetime))
        };
        let (inner, session_lifetime) =
            tokio::time::timeout(setup_timeout, setup)
                .await
                .map_err(|_| Error::Timeout {
                    what: format!("connecting to broker {broker}"),
                    timeout: setup_timeout,
                })??;
        debug!(broker, apis = inner.versions.negotiated.len(), "connected");
        let inner = Arc::new(inner);
        if let Some(lifetime) = session_lifetime {
            tokio::spawn(auth::reauthenticate_loop(
                Arc::downgrade(&inner),
                inner.shared.clone(),
                config.clone(),
                lifetime,
            ));
        }
        Ok(Connection { inner })
    }

    /// Sends a request at the negotiated version and waits for its response, at most
    /// `request.timeout.ms`.
    pub async fn call<R: Request>(&self, request: R) -> Result<R::Response> {
        self.call_with_timeout(request, self.inner.request_timeout)
            .await
    }

    /// Like [`Connection::call`] with another timeout, for requests the broker may hold
    /// longer (a long-polling Fetch, a JoinGroup waiting for a rebalance).
    pub async fn call_with_timeout<R: Request>(
        &self,
        request: R,
        timeout: Duration,
    ) -> Result<R::Response> {
        let version = self.version_for(R::API_KEY)?;
        self.inner.call_at(request, version, timeout).await
    }

    /// Queues a request at the negotiated version and returns as soon as it is queued, with
    /// a handle to await its response.
    ///
    /// Requests are written in the order their `send` calls complete, so a caller that awaits
    /// each `send` before the next keeps its requests in order on the wire while many are in
    /// flight — what a producer needs for `max.in.flight` > 1 with per-partition ordering. The
    /// request timeout runs from the `send`.
    pub async fn send<R: Request>(&self, request: R) -> Result<PendingResponse<R::Response>> {
        self.send_with_timeout(request, self.inner.request_timeout)
            .await
    }

    /// Like [`Connection::send`] with another timeout.
    pub async fn send_with_timeout<R: Request>(
        &self,
        request: R,
        timeout: Duration,
    ) -> Result<PendingResponse<R::Response>> {
        let version = self.version_for(R::API_KEY)?;
        let mut pending = self.inner.send_at(request, version, timeout).await?;
        pending._connection = Some(self.clone());
        Ok(pending)
    }

    /// Like [`Connection::send`] at an explicit version, which both sides must support.
    pub async fn send_at<R: Request>(
        &self,
        request: R,
        version: i16,
    ) -> Result<PendingResponse<R::Response>> {
        self.check_version::<R>(version)?;
        let mut pending = self
            .inner
            .send_at(request, version, self.inner.request_timeout)
            .await?;
        pending._connection = Some(self.clone());
        Ok(pending)
    }

    /// Sends a request at an explicit version, which both sides must support.
    ///
    /// For callers that need an older version than the negotiated one (for example a Fetch
    /// by topic name, before v13).
    pub async fn call_at<R: Request>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        self.check_version::<R>(version)?;
        self.inner.call_at(request, version, timeout).await
    }

    /// UNSUPPORTED_VERSION unless both sides serve `R` at `version`.
    fn check_version<R: Request>(&self, version: i16) -> Result<()> {
        if R::supports(version) && self.supports(R::API_KEY, version) {
            return Ok(());
        }
        Err(Error::UnsupportedVersion {
            broker: self.inner.shared.broker.clone(),
            api: R::API_KEY,
        })
    }

    /// Sends a Produce request with `acks = 0`, for which the broker sends no response.
    /// Returns once the request is written to the socket.
    ///
    /// Any other `acks` is refused: its response would arrive unexpected and close the
    /// connection.
    pub async fn send_no_response(&self, request: ProduceRequest) -> Result<()> {
        if request.acks != 0 {
            return Err(Error::InvalidRequest(format!(
                "a produce request with acks={} gets a response; use call",
                request.acks
            )));
        }
        let version = self.version_for(ApiKey::Produce)?;
        let inner = &self.inner;
        let correlation_id = inner.next_correlation_id();
        let frame = inner.encode(&request, version, correlation_id)?;
        let (written_tx, written_rx) = oneshot::channel();
        let timeout = inner.request_timeout;
        let send = async {
            let _gate = inner.reauth_gate.read().await;
            let permit = inner
                .outgoing
                .reserve()
                .await
                .map_err(|_| inner.lost_now())?;
            if let Some(reason) = inner.shared.dead_reason() {
                return Err(inner.shared.lost(reason));
            }
            trace!(broker = %inner.shared.broker, correlation_id, "produce without response");
            permit.send(Outgoing {
                frame,
                written: Some(written_tx),
            });
            written_rx.await.map_err(|_| inner.lost_now())
        };
        tokio::time::timeout(timeout, send).await.map_err(|_| {
            // A socket that cannot take a request for this long is stuck: close it, as for
            // a request that gets no answer.
            inner.shared.fail(Disconnect::RequestTimedOut {
                api: ApiKey::Produce,
                timeout,
            });
            Error::Timeout {
                what: format!(
                    "writing a Produce request to broker {}",
                    inner.shared.broker
                ),
                timeout,
            }
        })?
    }

    /// The version used for `api` on this connection: the highest both sides implement, or
    /// `None` when they share none.
    pub fn negotiated_version(&self, api: ApiKey) -> Option<i16> {
        self.inner.versions.negotiated.get(&api).copied()
    }

    /// The broker's finalized `transaction.version` feature, 0 when it lists none.
    pub fn transaction_version(&self) -> i16 {
        self.inner.versions.transaction_version
    }

    /// Whether the broker serves `api` at `version`.
    pub fn supports(&self, api: ApiKey, version: i16) -> bool {
        self.broker_versions(api)
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&version))
    }

    /// The broker's own (min, max) range for `api`, as it advertised it.
    pub fn broker_versions(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.inner.versions.broker.get(&api.code()).copied()
    }

    /// The broker's `host:port`.
    pub fn broker(&self) -> &str {
        &self.inner.shared.broker
    }

    /// Whether the connection stopped working (or was closed); calls on it fail at once.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed.is_cancelled()
    }

    /// Why the connection stopped working, once it has.
    pub fn close_reason(&self) -> Option<Disconnect> {
        self.inner.shared.dead_reason()
    }

    /// Waits until the connection stops working.
    pub async fn closed(&self) {
        self.inner.shared.closed.cancelled().await;
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.inner.shared.lock().pending.len()
    }

    /// How many times this connection re-authenticated because the broker limited its SASL
    /// session (KIP-368).
    pub fn reauthentications(&self) -> u64 {
        self.inner.reauthentications.load(Ordering::Relaxed)
    }

    /// Closes the connection now, failing requests in flight (for every clone).
    pub fn close(&self) {
        self.inner.shared.fail(Disconnect::ClosedByClient);
    }

    fn version_for(&self, api: ApiKey) -> Result<i16> {
        self.negotiated_version(api)
            .ok_or_else(|| Error::UnsupportedVersion {
                broker: self.inner.shared.broker.clone(),
                api,
            })
    }
}

impl Inner {
    /// Starts the reader and writer tasks on the two halves of a connected socket.
    fn start<R, W>(read_half: R, write_half: W, broker: &str, config: &ClientConfig) -> Inner
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            broker: broker.to_string(),
            state: Mutex::new(State {
                pending: HashMap::new(),
                dead: None,
            }),
            closed: CancellationToken::new(),
        });
        let (outgoing, queue) = mpsc::channel(WRITE_QUEUE);
        // Both tasks stop when `shared.closed` is cancelled, which `Inner::drop` guarantees.
        tokio::spawn(read_loop(read_half, shared.clone()));
        tokio::spawn(write_loop(write_half, queue, shared.clone()));
        Inner {
            shared,
            outgoing,
            versions: Versions::default(),
            client_id: config.client_id.clone(),
            request_timeout: config.request_timeout,
            next_correlation_id: AtomicI32::new(0),
            reauth_gate: tokio::sync::RwLock::new(()),
            reauthentications: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// ApiVersions exchange, with KIP-511's fallback for brokers that do not know our version.
    async fn negotiate(&self) -> Result<Versions> {
        let request = ApiVersionsRequest {
            client_software_name: CLIENT_SOFTWARE_NAME.to_string(),
            client_software_version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        };
        let mut version = ApiVersionsRequest::MAX_VERSION;
        loop {
            let response = self
                .call_at(request.clone(), version, self.request_timeout)
                .await?;
            let code = ErrorCode::from_code(response.error_code);
            if code == ErrorCode::UnsupportedVersion && version > 0 {
                // Use the highest version the broker listed for ApiVersions, else v0.
                let shared = Versions::negotiate(&response.api_keys)
                    .negotiated
                    .get(&ApiKey::ApiVersions)
                    .copied()
                    .filter(|&v| v < version)
                    .unwrap_or(0);
                debug!(
                    broker = %self.shared.broker,
                    from = version,
                    to = shared,
                    "broker does not support our ApiVersions version; retrying"
                );
                version = shared;
                continue;
            }
            if !code.is_ok() {
                return Err(Error::Broker {
                    code,
                    message: Some(format!(
                        "ApiVersions v{version} refused by broker {}",
                        self.shared.broker
                    )),
                    topic: None,
                    partition: None,
                });
            }
            return Ok(Versions::from_response(&response));
        }
    }

    fn next_correlation_id(&self) -> i32 {
        // Wrapping is fine: an id is only reused after 2^32 requests, long after its answer.
        self.next_correlation_id.fetch_add(1, Ordering::Relaxed)
    }

    fn encode<R: Message>(&self, request: &R, version: i16, correlation_id: i32) -> Result<Bytes> {
        let header = RequestHeader {
            api_key: R::API_KEY.code(),
            api_version: version,
            correlation_id,
            client_id: Some(self.client_id.clone()),
            unknown_tagged_fields: Vec::new(),
        };
        let mut buf = BytesMut::new();
        frame::with_size_prefix(&mut buf, |buf| {
            header.encode_to(buf)?;
            request.encode_to(buf, version)
        })
        .map_err(|source| Error::Encode {
            api: R::API_KEY,
            source,
        })?;
        Ok(buf.freeze())
    }

    /// The error for a request that found the connection gone.
    fn lost_now(&self) -> Error {
        self.shared.lost(
            self.shared
                .dead_reason()
                .unwrap_or(Disconnect::ClosedByClient),
        )
    }

    async fn call_at<R: Request>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        self.send_at(request, version, timeout)
            .await?
            .response()
            .await
    }

    /// A SASL request: not held back by a re-authentication in progress (it is part of it).
    async fn call_ungated<R: Request>(&self, request: R, version: i16) -> Result<R::Response> {
        let deadline = crate::backoff::deadline_after(self.request_timeout);
        self.queue(request, version, self.request_timeout, deadline)
            .await?
            .response()
            .await
    }

    /// Queues a request and returns the handle to its response; waits while a
    /// re-authentication runs.
    async fn send_at<R: Request>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
    ) -> Result<PendingResponse<R::Response>> {
        // Kafka counts the request timeout from when the request is handed to the network
        // layer; waiting for room in the queue (or for a re-authentication) is part of it.
        let deadline = crate::backoff::deadline_after(timeout);
        let Ok(_gate) = tokio::time::timeout_at(deadline, self.reauth_gate.read()).await else {
            return Err(Error::Timeout {
                what: format!(
                    "{} request to broker {} (waiting for re-authentication)",
                    R::API_KEY.name(),
                    self.shared.broker
                ),
                timeout,
            });
        };
        self.queue(request, version, timeout, deadline).await
    }

    /// Registers a request and hands it to the writer task.
    async fn queue<R: Request>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<PendingResponse<R::Response>> {
        let api = R::API_KEY;
        let correlation_id = self.next_correlation_id();
        let frame = self.encode(&request, version, correlation_id)?;
        let (tx, rx) = oneshot::channel::<Result<R::Response, Disconnect>>();
        let deliver: Deliver = Box::new(move |result| match result {
            // The caller gave up (dropped or timed out): the frame is consumed, that is
            // all the stream needs.
            Ok(_) if tx.is_closed() => Ok(()),
            Ok(mut body) => match R::decode_response(&mut body, version) {
                Ok(response) => {
                    let _ = tx.send(Ok(response));
                    Ok(())
                }
                Err(e) => {
                    let _ = tx.send(Err(Disconnect::Decode(e.clone())));
                    Err(e)
                }
            },
            Err(reason) => {
                let _ = tx.send(Err(reason));
                Ok(())
            }
        });
        let pending = PendingResponse {
            shared: self.shared.clone(),
            _connection: None,
            rx,
            api,
            correlation_id,
            timeout,
            deadline,
        };
        // Wait for room in the writer queue *before* registering: if this future is dropped
        // here, nothing was registered and nothing was sent.
        let permit = match tokio::time::timeout_at(deadline, self.outgoing.reserve()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(self.lost_now()),
            Err(_) => return Err(pending.timed_out()),
        };
        {
            let mut state = self.shared.lock();
            if let Some(reason) = &state.dead {
                return Err(self.shared.lost(reason.clone()));
            }
            state.pending.insert(
                correlation_id,
                Pending {
                    api,
                    version,
                    deliver,
                },
            );
        }
        // Registered and queued with no await in between: from here on the request is
        // complete on the wire and its response is expected, whatever the caller does.
        trace!(broker = %self.shared.broker, correlation_id, api = %api, version, "request");
        permit.send(Outgoing {
            frame,
            written: None,
        });
        Ok(pending)
    }
}

/// The response to a request already queued on a connection (see [`Connection::send`]).
///
/// Dropping it abandons the response: it is still read off the socket, and discarded.
#[derive(Debug)]
pub struct PendingResponse<T> {
    shared: Arc<Shared>,
    /// Keeps the connection open while the response is awaited, even if the caller dropped
    /// every other handle (`None` only inside the connection, while negotiating).
    _connection: Option<Connection>,
    rx: oneshot::Receiver<Result<T, Disconnect>>,
    api: ApiKey,
    correlation_id: i32,
    /// The request timeout, for the error message.
    timeout: Duration,
    /// When the request times out.
    deadline: Instant,
}

impl<T> PendingResponse<T> {
    /// The correlation id the request was sent with.
    pub fn correlation_id(&self) -> i32 {
        self.correlation_id
    }

    /// Waits for the response, until the request's deadline.
    ///
    /// On timeout the connection is closed (see the module docs) and every other request in
    /// flight on it fails with [`Error::ConnectionLost`].
    pub async fn response(mut self) -> Result<T> {
        match tokio::time::timeout_at(self.deadline, &mut self.rx).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(reason))) => Err(self.shared.lost(reason)),
            Ok(Err(_)) => Err(self.shared.lost(
                self.shared
                    .dead_reason()
                    .unwrap_or(Disconnect::ClosedByClient),
            )),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> Error {
        debug!(broker = %self.shared.broker, correlation_id = self.correlation_id, api = %self.api, "request timed out");
        self.shared.fail(Disconnect::RequestTimedOut {
            api: self.api,
            timeout: self.timeout,
        });
        Error::Timeout {
            what: format!(
                "{} request to broker {}",
                self.api.name(),
                self.shared.broker
            ),
            timeout: self.timeout,
        }
    }
}
