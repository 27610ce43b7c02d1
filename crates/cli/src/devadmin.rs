//! The one client of the devcluster's HTTP admin plane (`streamctl dev up` prints its `ADMIN=`
//! url), for the `dev` commands and the UI: `GET /v1/cluster` (the devcluster's own
//! [`ClusterState`]), `POST /v1/brokers/{id}/stop|kill|start`, `POST /v1/shutdown`.

use std::time::Duration;

use anyhow::{bail, Context};
use streamctl_devcluster::state::BrokerState;
use streamctl_devcluster::ClusterState;

/// How long one admin-plane call may take by default (a kill or a clean stop included).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The admin plane at one url.
#[derive(Debug, Clone)]
pub struct DevAdmin {
    url: String,
    http: reqwest::Client,
}

impl DevAdmin {
    /// A client for `url` (`http://127.0.0.1:9644`, as `streamctl dev up` prints it).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Self::with_timeout(url, TIMEOUT)
    }

    /// A client whose calls may each take up to `timeout`.
    pub fn with_timeout(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        if !url.starts_with("http://") {
            bail!("admin url {url}: expected http://host:port (the admin plane is plain HTTP on loopback)");
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .context("cannot create an HTTP client")?;
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http,
        })
    }

    fn unreachable(&self) -> String {
        format!(
            "no dev cluster answers at {} (start one with: streamctl dev up, or pass --admin-url)",
            self.url
        )
    }

    /// The url it talks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster state.
    pub async fn cluster(&self) -> anyhow::Result<ClusterState> {
        let response = self
            .http
            .get(format!("{}/v1/cluster", self.url))
            .send()
            .await
            .with_context(|| self.unreachable())?;
        let body = answer(response).await?;
        serde_json::from_value(body).context("the admin plane answered with unexpected JSON")
    }

    /// Stops, kills or starts a broker (`op` is `stop`, `kill` or `start`); its state after.
    pub async fn broker(&self, id: i32, op: &str) -> anyhow::Result<BrokerState> {
        let body = self.post(&format!("/v1/brokers/{id}/{op}")).await?;
        serde_json::from_value(body).context("the admin plane answered with unexpected JSON")
    }

    /// POSTs to `path`; a non-2xx answer becomes its `{"error": …}` message.
    pub async fn post(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .send()
            .await
            .with_context(|| self.unreachable())?;
        answer(response).await
    }
}

/// The JSON body of a 2xx answer; otherwise the plane's `{"error": …}` message.
async fn answer(response: reqwest::Response) -> anyhow::Result<serde_json::Value> {
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
