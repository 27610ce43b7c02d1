//! `streamctl dev up|down|status|stop|kill|start`: a Kafka-compatible cluster on this machine.
//!
//! `up` prints `BROKERS=host:port,…` and `ADMIN=http://…` on stdout (scripts read them), writes
//! a `dev` profile so later commands find the cluster without `-b`, and runs until Ctrl-C,
//! SIGTERM or `dev down`. With `-d` it starts itself again in the background (its own process
//! group, logs in `<data dir>/dev.log`), waits for those two lines, prints them and returns.
//! Data lives in `--data-dir` (default `~/.local/share/streamctl/dev`) so a restart brings every
//! topic and record back; `--in-memory` keeps nothing.
//!
//! The other subcommands talk to a running cluster's HTTP admin plane: `--admin-url`, else the
//! profile's, else `http://127.0.0.1:9644`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;
use streamctl_devcluster::http::BrokerState;
use streamctl_devcluster::{ClusterState, DevCluster};

use crate::cli::{DevArgs, DevBroker, DevCommand, DevTarget, DevUpArgs, Format, Global};
use crate::config::{config_path, ConfigFile, Profile};
use crate::output;

/// The admin plane when neither a flag nor a profile names one (`dev up`'s default port).
const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9644";

/// Runs a `dev` subcommand.
pub async fn run(global: &Global, args: DevArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DevCommand::Up(up) if up.detach => up_detached(&up),
        DevCommand::Up(up) => up_foreground(up).await,
        DevCommand::Down(target) => {
            let url = admin_url(global, &target);
            post(&url, "/v1/shutdown").await?;
            eprintln!("dev cluster at {url} is shutting down");
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::Status(target) => status(global, &target).await,
        DevCommand::Stop(b) => broker_action(global, &b, "stop", "stopped").await,
        DevCommand::Kill(b) => broker_action(global, &b, "kill", "killed").await,
        DevCommand::Start(b) => broker_action(global, &b, "start", "started").await,
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("streamctl/dev")
}

async fn up_foreground(args: DevUpArgs) -> anyhow::Result<ExitCode> {
    let mut builder = DevCluster::builder()
        .brokers(args.count)
        .host(args.host.clone())
        .base_port(args.port)
        .admin_port(args.admin_port);
    let data_dir = if args.in_memory {
        None
    } else {
        Some(args.data_dir.clone().unwrap_or_else(default_data_dir))
    };
    builder = match &data_dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    let started = std::time::Instant::now();
    let cluster = builder.start().await.with_context(|| {
        format!(
            "cannot start the dev cluster on ports {}..{} (is another Kafka running? try --port 0)",
            args.port,
            args.port
                .saturating_add(u16::try_from(args.count).unwrap_or(u16::MAX))
                .saturating_sub(1)
        )
    })?;
    let brokers = cluster.bootstrap_servers();
    let admin = cluster.admin_url();
    {
        // A reader that took what it needed and closed the pipe must not take the cluster
        // down with it: a failed write here is only logged.
        let mut out = std::io::stdout().lock();
        let mut printed = writeln!(out, "BROKERS={brokers}");
        if let Some(url) = &admin {
            printed = printed.and_then(|()| writeln!(out, "ADMIN={url}"));
        }
        if let Err(e) = printed.and_then(|()| out.flush()) {
            tracing::warn!("cannot print the cluster's addresses on stdout: {e}");
        }
    }
    if !args.no_profile {
        if let Err(e) = write_dev_profile(&brokers, admin.as_deref()) {
            tracing::warn!("could not write the dev profile: {e:#}");
        }
    }
    eprintln!(
        "dev cluster up: {} brokers in {:?}, data {}; Ctrl-C or `streamctl dev down` stops it",
        args.count,
        started.elapsed(),
        data_dir
            .as_ref()
            .map_or("in memory".to_string(), |d| d.display().to_string())
    );
    tokio::select! {
        r = wait_for_signal() => r?,
        () = cluster.shutdown_requested() => {}
    }
    eprintln!("stopping…");
    cluster.shutdown().await;
    eprintln!("dev cluster stopped");
    Ok(ExitCode::SUCCESS)
}

/// Records the running cluster as the `dev` profile; makes it current only when no profile is.
fn write_dev_profile(brokers: &str, admin: Option<&str>) -> anyhow::Result<()> {
    let path = config_path();
    let mut file = ConfigFile::load(&path)?;
    let profile = file.profiles.entry("dev".to_string()).or_default();
    *profile = Profile {
        brokers: Some(brokers.to_string()),
        admin_url: admin.map(str::to_string),
        properties: std::mem::take(&mut profile.properties),
    };
    if file.current.is_none() {
        file.current = Some("dev".to_string());
    }
    file.save(&path)
}

/// Starts `streamctl dev up` again without `-d` in its own process group, passes on the
/// `BROKERS=`/`ADMIN=` lines it prints, and leaves it running.
fn up_detached(args: &DevUpArgs) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("cannot find the streamctl executable")?;
    let log_path = match (&args.data_dir, args.in_memory) {
        (_, true) => std::env::temp_dir().join(format!("streamctl-dev-{}.log", std::process::id())),
        (Some(d), false) => d.join("dev.log"),
        (None, false) => default_data_dir().join("dev.log"),
    };
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["dev", "up", "--count", &args.count.to_string()])
        .args(["--port", &args.port.to_string()])
        .args(["--admin-port", &args.admin_port.to_string()])
        .args(["--host", &args.host]);
    if args.in_memory {
        command.arg("--in-memory");
    }
    if let Some(d) = &args.data_dir {
        command.arg("--data-dir").arg(d);
    }
    if args.no_profile {
        command.arg("--no-profile");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        // Its own process group: Ctrl-C in this terminal must not reach it.
        .process_group(0)
        .spawn()
        .context("cannot start the dev cluster in the background")?;
    let stdout = child
        .stdout
        .take()
        .context("the background dev cluster has no stdout")?;
    let lines = BufReader::new(stdout).lines();
    let mut out = std::io::stdout().lock();
    let mut brokers_seen = false;
    for line in lines {
        let line = line.context("reading the background dev cluster's output")?;
        writeln!(out, "{line}")?;
        if line.starts_with("BROKERS=") {
            brokers_seen = true;
        }
        if line.starts_with("ADMIN=") {
            break;
        }
    }
    out.flush()?;
    if !brokers_seen {
        let status = child.try_wait().ok().flatten();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        bail!(
            "the background dev cluster did not start ({}):\n{}",
            status.map_or("still running".to_string(), |s| s.to_string()),
            log.trim_end()
        );
    }
    eprintln!(
        "dev cluster running in the background (pid {}, log {}); stop it with: streamctl dev down",
        child.id(),
        log_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

fn admin_url(global: &Global, target: &DevTarget) -> String {
    target
        .admin_url
        .clone()
        .or_else(|| global.admin_url.clone())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .context("cannot create an HTTP client")
}

fn unreachable(url: &str, e: reqwest::Error) -> anyhow::Error {
    anyhow::Error::new(e).context(format!(
        "no dev cluster answers at {url} (start one with: streamctl dev up, or pass --admin-url)"
    ))
}

/// POSTs to the admin plane; a non-2xx answer becomes its `{"error": …}` message.
async fn post(url: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let response = http()?
        .post(format!("{url}{path}"))
        .send()
        .await
        .map_err(|e| unreachable(url, e))?;
    answer(response).await
}

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

async fn cluster_state(url: &str) -> anyhow::Result<ClusterState> {
    let response = http()?
        .get(format!("{url}/v1/cluster"))
        .send()
        .await
        .map_err(|e| unreachable(url, e))?;
    let body = answer(response).await?;
    serde_json::from_value(body).context("unexpected answer from the admin plane")
}

async fn status(global: &Global, target: &DevTarget) -> anyhow::Result<ExitCode> {
    let url = admin_url(global, target);
    let state = cluster_state(&url).await?;
    let leaders = |id: i32| -> usize {
        state
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .filter(|p| p.leader == id)
            .count()
    };
    let under_replicated = state
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .filter(|p| p.isr.len() < p.replicas.len())
        .count();
    let offline = state
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .filter(|p| p.leader < 0)
        .count();
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "admin_url": url,
                "cluster_id": state.cluster_id,
                "controller": state.controller,
                "brokers": state.brokers.iter().map(|b| json!({
                    "id": b.id,
                    "host": b.host,
                    "port": b.port,
                    "running": b.running,
                    "leaders": leaders(b.id),
                })).collect::<Vec<_>>(),
                "topics": state.topics.iter().filter(|t| !t.internal).count(),
                "under_replicated_partitions": under_replicated,
                "offline_partitions": offline,
            }),
        )?,
        Format::Text => {
            writeln!(out, "cluster id:  {}", state.cluster_id)?;
            writeln!(out, "controller:  {}", state.controller)?;
            writeln!(out, "admin:       {url}")?;
            writeln!(
                out,
                "topics:      {} ({under_replicated} under-replicated, {offline} offline partitions)",
                state.topics.iter().filter(|t| !t.internal).count()
            )?;
            writeln!(out)?;
            let rows: Vec<Vec<String>> = state
                .brokers
                .iter()
                .map(|b: &BrokerState| {
                    vec![
                        b.id.to_string(),
                        format!("{}:{}", b.host, b.port),
                        if b.running { "up" } else { "down" }.to_string(),
                        leaders(b.id).to_string(),
                    ]
                })
                .collect();
            output::table(&mut out, &["BROKER", "ADDRESS", "STATE", "LEADERS"], &rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn broker_action(
    global: &Global,
    broker: &DevBroker,
    verb: &str,
    done: &str,
) -> anyhow::Result<ExitCode> {
    let url = admin_url(global, &broker.target);
    let body = post(&url, &format!("/v1/brokers/{}/{verb}", broker.id))
        .await
        .with_context(|| format!("cannot {verb} broker {}", broker.id))?;
    let state: BrokerState =
        serde_json::from_value(body).context("unexpected answer from the admin plane")?;
    eprintln!(
        "broker {} {done} ({})",
        state.id,
        if state.running { "up" } else { "down" }
    );
    Ok(ExitCode::SUCCESS)
}
