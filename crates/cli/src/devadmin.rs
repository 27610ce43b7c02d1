//! A client for the devcluster's HTTP admin plane (`streamctl dev up` prints its `ADMIN=` url):
//! `GET /v1/cluster` for which brokers run, `POST /v1/brokers/{id}/stop|kill|start`.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// How long one admin-plane call may take (a kill or a clean stop included).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The admin plane at one url.
#[derive(Debug, Clone)]
pub struct DevAdmin {
    url: String,
    http: reqwest::Client,
}

/// What `GET /v1/cluster` tells the UI (the fields it uses; the rest is ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct DevClusterState {
    /// The cluster id, compared with the Kafka metadata's so controls never aim at another
    /// cluster than the one shown.
    pub cluster_id: String,
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
        if !url.starts_with("http://") {
            bail!("admin url {url}: expected http://host:port (the admin plane is plain HTTP on loopback)");
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .context("cannot create an HTTP client")?;
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The cluster state.
    pub async fn cluster(&self) -> anyhow::Result<DevClusterState> {
        let response = self
            .http
            .get(format!("{}/v1/cluster", self.url))
            .send()
            .await
            .with_context(|| format!("no admin plane answers at {}", self.url))?;
        let body = answer(response).await?;
        serde_json::from_value(body).context("the admin plane answered with unexpected JSON")
    }

    /// Stops, kills or starts a broker (`op` is `stop`, `kill` or `start`).
    pub async fn broker(&self, id: i32, op: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/v1/brokers/{id}/{op}", self.url))
            .send()
            .await
            .with_context(|| format!("no admin plane answers at {}", self.url))?;
        answer(response).await.map(|_| ())
    }
}

/// The JSON body of a 2xx answer; otherwise the plane's `{"error": …}` message.
pub(crate) async fn answer(response: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("the admin plane's answer is not JSON")?;
    if !status.is_success() {
        let message = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("no message");
        bail!("the admin plane answered {status}: {message}");
    }
    Ok(body)
}
