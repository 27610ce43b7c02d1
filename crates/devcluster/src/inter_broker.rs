//! Broker-to-broker requests over the wire, as Kafka brokers talk to each other: follower
//! fetches (`replication.rs`) and transaction markers (`txn_coordinator/markers.rs`).
//!
//! A [`PeerConnection`] carries one request at a time; each user keeps its own connections,
//! so a long-polling fetch never delays a marker. Connections go to a broker's replication
//! listener when it has one (the client listener may require TLS or SASL), else to its
//! client listener.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::Duration;

use bytes::BytesMut;
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader};
use streamctl_protocol::messages::ResponseBody;
use streamctl_protocol::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::controller::ClusterMetadata;

/// How long connecting to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a peer may take to answer (a follower's long poll lasts at most
/// `replica.fetch.wait.max.ms`; this leaves slack).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to reach broker `node_id` for inter-broker requests.
pub fn peer_address(md: &ClusterMetadata, node_id: i32) -> Option<String> {
    md.brokers.get(&node_id).map(|b| match b.replication_port {
        Some(port) => format!("127.0.0.1:{port}"),
        None => format!("{}:{}", b.host, b.port),
    })
}

/// A connection to another broker: one request at a time.
pub struct PeerConnection {
    stream: TcpStream,
    buf: BytesMut,
    correlation_id: i32,
    client_id: String,
}

impl PeerConnection {
    /// Connects to `addr`; requests carry `client_id`.
    pub async fn connect(addr: &str, client_id: String) -> Result<Self, String> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            correlation_id: 0,
            client_id,
        })
    }

    /// Sends one request and waits for its answer. Any error leaves the connection unusable
    /// (the caller drops it and reconnects).
    pub async fn call(
        &mut self,
        api: ApiKey,
        version: i16,
        body: streamctl_protocol::RequestBody,
    ) -> Result<ResponseBody, String> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader {
            api_key: api.code(),
            api_version: version,
            correlation_id: self.correlation_id,
            client_id: Some(self.client_id.clone()),
            unknown_tagged_fields: Vec::new(),
        };
        let mut out = BytesMut::new();
        frame::encode_request(&header, &body, &mut out).map_err(|e| e.to_string())?;
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| e.to_string())?;
        let decoder = FrameDecoder::default();
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            if let Some(frame) = decoder.decode(&mut self.buf).map_err(|e| e.to_string())? {
                let (h, body) =
                    frame::decode_response(frame, api, version).map_err(|e| e.to_string())?;
                if h.correlation_id != self.correlation_id {
                    return Err(format!(
                        "correlation id {} does not match {}",
                        h.correlation_id, self.correlation_id
                    ));
                }
                return Ok(body);
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf))
                .await
                .map_err(|_| "the peer did not answer in time".to_string())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the peer closed the connection".into());
            }
        }
    }
}

/// Connections to other brokers kept for reuse. A call takes an idle connection to its
/// destination (or opens one) and puts it back after the answer, so concurrent callers to one
/// broker each get their own connection and nobody waits behind a slow answer.
pub struct PeerPool {
    client_id: String,
    idle: std::sync::Mutex<HashMap<i32, Vec<PeerConnection>>>,
}

impl std::fmt::Debug for PeerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerPool")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Idle connections kept per destination; more are closed after use.
const IDLE_PER_PEER: usize = 4;

impl PeerPool {
    /// A pool whose requests carry `client_id`.
    pub fn new(client_id: String) -> Self {
        Self {
            client_id,
            idle: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Sends one request to broker `node_id` and waits for the answer. A failed call drops
    /// its connection (a restarted broker is reached afresh next time).
    pub async fn call(
        &self,
        md: &ClusterMetadata,
        node_id: i32,
        api: ApiKey,
        version: i16,
        body: streamctl_protocol::RequestBody,
    ) -> Result<ResponseBody, String> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&node_id)
            .and_then(Vec::pop);
        let mut conn = match reused {
            Some(c) => c,
            None => {
                let addr = peer_address(md, node_id)
                    .ok_or_else(|| format!("broker {node_id} is not in the metadata"))?;
                PeerConnection::connect(&addr, self.client_id.clone()).await?
            }
        };
        let answer = conn.call(api, version, body).await?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = idle.entry(node_id).or_default();
        if kept.len() < IDLE_PER_PEER {
            kept.push(conn);
        }
        Ok(answer)
    }
}
