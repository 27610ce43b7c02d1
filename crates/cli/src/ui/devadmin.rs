//! A client for the devcluster's HTTP admin plane (`streamctl dev up` prints its `ADMIN=` url):
//! `GET /v1/cluster` for which brokers run, `POST /v1/brokers/{id}/stop|kill|start`.
//!
//! HTTP/1 over one fresh loopback connection per call (hyper's low-level client): the plane
//! is local and called every refresh at most, so a pool would buy nothing.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

/// How long one admin-plane call may take (a kill or a clean stop included).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The admin plane at one url.
#[derive(Debug, Clone)]
pub struct DevAdmin {
    /// `host:port` to connect to.
    authority: String,
}

/// What `GET /v1/cluster` tells the UI (the fields it uses; the rest is ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct DevClusterState {
    /// Every broker, running or not.
    pub brokers: Vec<DevBroker>,
}

/// A broker in [`DevClusterState`].
#[derive(Debug, Clone, Deserialize)]
pub struct DevBroker {
    /// The node id.
    pub id: i32,
    /// Its host.
    pub host: String,
    /// Its port (kept while down).
    pub port: u16,
    /// Whether it runs.
    pub running: bool,
}

impl DevAdmin {
    /// A client for `url` (`http://127.0.0.1:9644`, as `streamctl dev up` prints it).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("--admin-url {url}: not a url"))?;
        if uri.scheme_str().is_some_and(|s| s != "http") {
            bail!("--admin-url {url}: only http:// (the admin plane listens on loopback)");
        }
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("--admin-url {url}: expected http://host:port"))?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(Self {
            authority: format!("{}:{port}", authority.host()),
        })
    }

    /// The cluster state.
    pub async fn cluster(&self) -> anyhow::Result<DevClusterState> {
        let body = self.call(Method::GET, "/v1/cluster").await?;
        serde_json::from_slice(&body).context("the admin plane answered with unexpected JSON")
    }

    /// Stops, kills or starts a broker (`op` is `stop`, `kill` or `start`).
    pub async fn broker(&self, id: i32, op: &str) -> anyhow::Result<()> {
        self.call(Method::POST, &format!("/v1/brokers/{id}/{op}"))
            .await
            .map(|_| ())
    }

    async fn call(&self, method: Method, path: &str) -> anyhow::Result<Bytes> {
        tokio::time::timeout(TIMEOUT, self.call_inner(method.clone(), path))
            .await
            .map_err(|_| {
                anyhow!("{method} {path}: no answer from the admin plane in {TIMEOUT:?}")
            })?
    }

    async fn call_inner(&self, method: Method, path: &str) -> anyhow::Result<Bytes> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot reach the admin plane at {}", self.authority))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the exchange does (the sender is dropped below).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            // The plane answers errors as {"error": "..."}.
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error")?.as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            bail!("{method} {path}: {status}: {message}");
        }
        Ok(body)
    }
}
