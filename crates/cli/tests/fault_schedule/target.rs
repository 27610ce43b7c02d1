//! The cluster under test and its faults, the same for both variants: a `DevCluster` in this
//! process (control hooks) or a `streamctl dev up` child (admin plane, SIGKILL).
//!
//! Both listen on fixed ports when they can crash as a whole, so the clients' bootstrap
//! addresses stay valid across the restart, as they would for a real cluster's clients.
//!
//! Why the in-process crash is a fair stand-in for SIGKILL: the log's writes are positioned
//! `write_all_at` calls on the segment's `File` (crates/devcluster/src/log/store.rs
//! `Store::write_at`, called from segment.rs `append`), with no user-space buffer; index
//! entries are written the same way, and `fsync` happens only on `flush`. So the files a
//! killed broker leaves are exactly what the kernel holds after a SIGKILL of the process.
//! `topics.json` is written with write + rename. One difference remains: in-process the
//! brokers die one after another, so the controller sees the ISR shrink before the last one
//! dies; a SIGKILL takes them all at once (the process variant covers that).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rand::Rng;
use streamctl_devcluster::{ClusterState, DevCluster};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::schedule::Variant;

const BIN: &str = env!("CARGO_BIN_EXE_streamctl");

/// Four consecutive free ports on 127.0.0.1 (three brokers and the admin plane), below the
/// kernel's ephemeral range so no client connection can take one as its local port while
/// the cluster is down.
pub fn free_port_range() -> u16 {
    let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let (low, high) = (
        10_000u16.min(ephemeral_low / 2),
        ephemeral_low.saturating_sub(8),
    );
    let mut rng = rand::rng();
    for _ in 0..200 {
        let base = rng.random_range(low..high);
        let listeners: Vec<_> = (0..4)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if listeners.len() == 4 {
            return base;
        }
    }
    panic!("no four consecutive free ports between {low} and {high}");
}

/// The running cluster.
pub enum Target {
    InProcess {
        /// `None` only for the moment of a crash.
        dc: Option<DevCluster>,
        data_dir: Option<PathBuf>,
        base_port: u16,
    },
    Process {
        child: Child,
        data_dir: PathBuf,
        base_port: u16,
        admin: String,
        http: reqwest::Client,
    },
}

async fn start_in_process(data_dir: Option<&Path>, base_port: u16) -> DevCluster {
    let builder = DevCluster::builder()
        .brokers(3)
        .base_port(base_port)
        .group_min_session_timeout(Duration::from_millis(500))
        .group_initial_rebalance_delay(Duration::from_millis(100));
    let builder = match data_dir {
        Some(d) => builder.data_dir(d),
        None => builder.in_memory(),
    };
    // Ports just released may be briefly refused; retry, bounded.
    let mut last = None;
    for _ in 0..50 {
        match builder.clone().start().await {
            Ok(dc) => return dc,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dev cluster did not start on port {base_port}: {last:?}");
}

/// `streamctl dev up` on `base_port..base_port+2` (admin plane on `base_port+3`).
async fn dev_up(data_dir: &Path, base_port: u16) -> Child {
    for _ in 0..20 {
        let mut child = Command::new(BIN)
            .env("STREAMCTL_CONFIG", data_dir.with_extension("config.toml"))
            .args(["dev", "up", "--no-profile", "--host", "127.0.0.1", "--port"])
            .arg(base_port.to_string())
            .arg("--admin-port")
            .arg((base_port + 3).to_string())
            .arg("--no-schema-registry")
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let up = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if l.starts_with("ADMIN=") {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if up {
            // Keep draining: a closed stdout would end dev up at its next write.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return child;
        }
        // It could not bind (a port still held): try again, bounded.
        let _ = child.start_kill();
        let _ = child.wait().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("streamctl dev up did not start on port {base_port}");
}

impl Target {
    pub async fn start(variant: Variant, data_dir: Option<&Path>) -> Target {
        let base_port = if variant.on_disk() {
            free_port_range()
        } else {
            0
        };
        match variant {
            Variant::InProcessMemory | Variant::InProcessDisk => Target::InProcess {
                dc: Some(start_in_process(data_dir, base_port).await),
                data_dir: data_dir.map(Path::to_path_buf),
                base_port,
            },
            Variant::Process => {
                let data_dir = data_dir.expect("the process variant keeps its data on disk");
                Target::Process {
                    child: dev_up(data_dir, base_port).await,
                    data_dir: data_dir.to_path_buf(),
                    base_port,
                    admin: format!("http://127.0.0.1:{}", base_port + 3),
                    http: reqwest::Client::builder()
                        .timeout(Duration::from_secs(20))
                        .build()
                        .unwrap(),
                }
            }
        }
    }

    fn dc(&self) -> &DevCluster {
        match self {
            Target::InProcess { dc: Some(dc), .. } => dc,
            _ => unreachable!("only the in-process variant has a DevCluster"),
        }
    }

    pub fn bootstrap_servers(&self) -> String {
        match self {
            Target::InProcess { .. } => self.dc().bootstrap_servers(),
            Target::Process { base_port, .. } => (0..3)
                .map(|i| format!("127.0.0.1:{}", base_port + i))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// POSTs to the admin plane; an error answer is a test failure (the broker ids are ours).
    async fn post(&self, path: &str, body: Option<serde_json::Value>) {
        let Target::Process { admin, http, .. } = self else {
            unreachable!()
        };
        let mut request = http.post(format!("{admin}{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "POST {path}: {status} {}",
            response.text().await.unwrap_or_default()
        );
    }

    pub async fn kill(&self, broker: i32) {
        match self {
            Target::InProcess { .. } => self.dc().kill_broker(broker).await.unwrap(),
            Target::Process { .. } => self.post(&format!("/v1/brokers/{broker}/kill"), None).await,
        }
    }

    pub async fn stop(&self, broker: i32) {
        match self {
            Target::InProcess { .. } => self.dc().stop_broker(broker).await.unwrap(),
            Target::Process { .. } => self.post(&format!("/v1/brokers/{broker}/stop"), None).await,
        }
    }

    pub async fn start_broker(&self, broker: i32) {
        match self {
            Target::InProcess { .. } => self.dc().start_broker(broker).await.unwrap(),
            Target::Process { .. } => {
                self.post(&format!("/v1/brokers/{broker}/start"), None)
                    .await;
            }
        }
    }

    pub async fn latency(&self, broker: i32, latency: Duration) {
        match self {
            Target::InProcess { .. } => self.dc().inject_latency(broker, latency).unwrap(),
            Target::Process { .. } => {
                let ms = u64::try_from(latency.as_millis()).unwrap();
                self.post(
                    &format!("/v1/brokers/{broker}/faults"),
                    Some(serde_json::json!({ "latency_ms": ms })),
                )
                .await;
            }
        }
    }

    pub async fn drop_connections(&self, broker: i32) {
        match self {
            Target::InProcess { .. } => self.dc().drop_connections(broker).unwrap(),
            Target::Process { .. } => {
                self.post(
                    &format!("/v1/brokers/{broker}/faults"),
                    Some(serde_json::json!({ "drop_connections": true })),
                )
                .await;
            }
        }
    }

    /// Brokers, topics, ISR and watermarks; `None` while the admin plane cannot answer.
    pub async fn state(&self) -> Option<ClusterState> {
        match self {
            Target::InProcess { .. } => Some(self.dc().state()),
            Target::Process { admin, http, .. } => {
                let response = http.get(format!("{admin}/v1/cluster")).send().await.ok()?;
                response.json().await.ok()
            }
        }
    }

    /// The whole cluster dies at once and comes back on the same data directory and ports.
    pub async fn crash_and_restart(&mut self) {
        match self {
            Target::InProcess {
                dc,
                data_dir,
                base_port,
            } => {
                let old = dc.take().unwrap();
                for b in 1..=3 {
                    old.kill_broker(b).await.unwrap();
                }
                // Dropped, not shut down: nothing is flushed or handed over.
                drop(old);
                *dc = Some(start_in_process(data_dir.as_deref(), *base_port).await);
            }
            Target::Process {
                child,
                data_dir,
                base_port,
                ..
            } => {
                child.start_kill().unwrap();
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait())
                    .await
                    .expect("a SIGKILLed dev up did not exit");
                *child = dev_up(data_dir, *base_port).await;
            }
        }
    }

    /// Every broker up and every fault cleared.
    pub async fn heal(&self) {
        for b in 1..=3 {
            self.start_broker(b).await;
            match self {
                Target::InProcess { .. } => self.dc().clear_faults(b).unwrap(),
                Target::Process { admin, http, .. } => {
                    let r = http
                        .delete(format!("{admin}/v1/brokers/{b}/faults"))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success(), "DELETE faults: {}", r.status());
                }
            }
        }
    }

    pub async fn shutdown(self) {
        match self {
            Target::InProcess { dc, .. } => {
                if let Some(dc) = dc {
                    dc.shutdown().await;
                }
            }
            Target::Process { mut child, .. } => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            }
        }
    }
}
