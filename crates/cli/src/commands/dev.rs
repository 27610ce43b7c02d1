//! `streamctl dev up|down|status|stop|kill|start|clean`: a Kafka-compatible cluster on this machine.
//!
//! `up` prints `BROKERS=host:port,…`, `SCHEMA_REGISTRY=http://…` (Confluent's REST API, on
//! 127.0.0.1:8081 unless `--schema-registry-port` or `--no-schema-registry`) and
//! `ADMIN=http://…` on stdout (scripts read them), writes
//! a `dev` profile so later commands find the cluster without `-b`, and runs until Ctrl-C,
//! SIGTERM or `dev down`. With `-d` it starts itself again in the background (its own process
//! group, logs in `<data dir>/dev.log`), waits for those two lines, prints them and returns.
//! Data lives in `--data-dir` (default `~/.local/share/streamctl/dev`) so a restart brings every
//! topic and record back; `--in-memory` keeps nothing.
//!
//! `--tls` and `--sasl` secure the client listeners; `up` then also prints the client settings
//! (`SECURITY_PROTOCOL=`, `SSL_CA_LOCATION=`, `SASL_MECHANISM=`, `SASL_USERNAME=`, and
//! `SASL_PASSWORD=` only when it generated the password, all before `ADMIN=`; ready-to-paste
//! `-X` flags on stderr) and puts them, without the password, in the `dev` profile.
//!
//! The other subcommands talk to a running cluster's HTTP admin plane: `--admin-url`, else the
//! profile's, else `http://127.0.0.1:9644`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;
use streamctl_devcluster::state::BrokerState;
use streamctl_devcluster::DevCluster;

use crate::cli::{DevArgs, DevBroker, DevCommand, DevTarget, DevUpArgs, Format, Global};
use crate::config::{config_path, ConfigFile, Profile};
use crate::devadmin::DevAdmin;
use crate::output;

/// The admin plane when neither a flag nor a profile names one (`dev up`'s default port).
const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9644";

/// Runs a `dev` subcommand.
pub async fn run(global: &Global, args: DevArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DevCommand::Up(up) if up.detach => up_detached(&up),
        DevCommand::Up(up) => up_foreground(up).await,
        DevCommand::Down(target) => {
            let admin = admin(global, &target)?;
            admin.post("/v1/shutdown").await?;
            eprintln!("dev cluster at {} is shutting down", admin.url());
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::Status(target) => status(global, &target).await,
        DevCommand::Stop(b) => broker_action(global, &b, "stop", "stopped").await,
        DevCommand::Kill(b) => broker_action(global, &b, "kill", "killed").await,
        DevCommand::Start(b) => broker_action(global, &b, "start", "started").await,
        DevCommand::Clean(target) => clean(global, &target).await,
    }
}

/// `dev clean`: a log cleaner pass on every broker, then the cleaner state of every
/// compacted partition (its leader's replica).
async fn clean(global: &Global, target: &DevTarget) -> anyhow::Result<ExitCode> {
    let admin = admin(global, target)?;
    let state: streamctl_devcluster::ClusterState =
        serde_json::from_value(admin.post("/v1/cleaner/run").await?)
            .context("unexpected answer from the admin plane")?;
    let partitions: Vec<(String, streamctl_devcluster::state::CleanerView)> = state
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().filter_map(|p| {
                let c = p.cleaner.clone()?;
                Some((format!("{}-{}", t.name, p.partition), c))
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => {
            let doc: serde_json::Map<String, serde_json::Value> = partitions
                .iter()
                .map(|(name, c)| Ok((name.clone(), serde_json::to_value(c)?)))
                .collect::<serde_json::Result<_>>()?;
            output::document(&mut out, format, &serde_json::Value::Object(doc))?;
        }
        Format::Text if partitions.is_empty() => writeln!(out, "no compacted partitions")?,
        Format::Text => {
            let rows: Vec<_> = partitions.iter().map(|(n, c)| (n.clone(), c)).collect();
            crate::commands::topic::cleaner_table(&mut out, "PARTITION", &rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
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
    if args.tls {
        let dir = data_dir.clone().unwrap_or_else(default_data_dir);
        builder = builder.tls(true).tls_dir(dir.join("tls"));
    }
    let users = sasl_users(&args)?;
    for (name, password) in &users {
        builder = builder.sasl_user(name, password);
    }
    if let Some(version) = args.kafka_version {
        builder = builder.kafka_version(version);
    }
    if !args.no_schema_registry {
        // With TLS it serves HTTPS with the brokers' certificate; with SASL it signs in as
        // the first user.
        builder = builder.schema_registry_port(args.schema_registry_port);
    }
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
    let security = client_settings(&cluster, &users);
    // The profile is written before the addresses are printed: whoever reads them (a script,
    // `dev up -d`) may run the next command at once, and it must find the profile.
    if !args.no_profile {
        let registry = cluster.schema_registry_url();
        if let Err(e) =
            write_dev_profile(&brokers, admin.as_deref(), registry.as_deref(), &security)
        {
            tracing::warn!("could not write the dev profile: {e:#}");
        }
    }
    {
        // A reader that took what it needed and closed the pipe must not take the cluster
        // down with it: a failed write here is only logged.
        let mut out = std::io::stdout().lock();
        let mut printed = writeln!(out, "BROKERS={brokers}");
        for (key, value) in &security {
            let key = key.to_ascii_uppercase().replace('.', "_");
            printed = printed.and_then(|()| writeln!(out, "{key}={value}"));
        }
        // A generated password is shown once, here (with -d this line reaches the caller;
        // stderr goes to the log file).
        if args.sasl_users.is_empty() {
            if let Some((_, password)) = users.first() {
                printed = printed.and_then(|()| writeln!(out, "SASL_PASSWORD={password}"));
            }
        }
        if let Some(url) = cluster.schema_registry_url() {
            printed = printed.and_then(|()| writeln!(out, "SCHEMA_REGISTRY={url}"));
        }
        if let Some(url) = &admin {
            printed = printed.and_then(|()| writeln!(out, "ADMIN={url}"));
        }
        if let Err(e) = printed.and_then(|()| out.flush()) {
            tracing::warn!("cannot print the cluster's addresses on stdout: {e}");
        }
    }
    print_client_settings(&cluster, &security, &users);
    let posing = args
        .kafka_version
        .map(|v| format!(" posing as Kafka {v}"))
        .unwrap_or_default();
    eprintln!(
        "dev cluster up: {} brokers{posing} in {:?}, data {}; Ctrl-C or `streamctl dev down` stops it",
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

/// The SASL users asked for: `--sasl-user NAME:PASSWORD`, or with `--sasl` alone `admin`
/// with a generated password.
fn sasl_users(args: &DevUpArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut users = Vec::new();
    for spec in &args.sasl_users {
        match spec.split_once(':') {
            Some((name, password)) if !name.is_empty() && !password.is_empty() => {
                users.push((name.to_string(), password.to_string()));
            }
            _ => bail!("--sasl-user expects NAME:PASSWORD"),
        }
    }
    if users.is_empty() && args.sasl {
        use rand::distr::{Alphanumeric, SampleString};
        users.push((
            "admin".to_string(),
            Alphanumeric.sample_string(&mut rand::rng(), 20),
        ));
    }
    Ok(users)
}

/// The Kafka client properties a client needs for this cluster, the password left out.
fn client_settings(cluster: &DevCluster, users: &[(String, String)]) -> Vec<(String, String)> {
    let mut settings = Vec::new();
    let protocol = cluster.security_protocol();
    if protocol == "PLAINTEXT" {
        return settings;
    }
    settings.push(("security.protocol".to_string(), protocol.to_string()));
    if let Some(files) = cluster.tls_files() {
        settings.push((
            "ssl.ca.location".to_string(),
            files.ca.display().to_string(),
        ));
    }
    if let Some((user, _)) = users.first() {
        settings.push(("sasl.mechanism".to_string(), "SCRAM-SHA-256".to_string()));
        settings.push(("sasl.username".to_string(), user.clone()));
    }
    settings
}

/// Tells people how to connect: `-X` flags for streamctl and kcat, the enabled mechanisms,
/// and a generated password (the only time it is shown).
fn print_client_settings(
    cluster: &DevCluster,
    settings: &[(String, String)],
    users: &[(String, String)],
) {
    if settings.is_empty() {
        return;
    }
    let flags: Vec<String> = settings
        .iter()
        .map(|(k, v)| format!("-X {k}={v}"))
        .collect();
    eprintln!(
        "client settings ({}):\n  {}",
        cluster.security_protocol(),
        flags.join(" ")
    );
    if !users.is_empty() {
        eprintln!(
            "  SASL mechanisms: {}; users: {}",
            cluster.sasl_mechanisms().join(", "),
            users
                .iter()
                .map(|(u, _)| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!(
            "  streamctl reads the password from ${} or asks for it; kcat wants -X sasl.password=…",
            crate::config::PASSWORD_ENV
        );
    }
    if let Some((files, (cert, key))) = cluster
        .tls_files()
        .and_then(|f| f.client.as_ref().map(|c| (f, c)))
    {
        eprintln!(
            "  TLS files in {} (client certificate for mutual TLS: {}, {})",
            files.dir.display(),
            cert.display(),
            key.display()
        );
    }
}

/// The properties `dev up` owns in the `dev` profile: replaced on every start.
const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "ssl.ca.location",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
];

/// Records the running cluster as the `dev` profile (with its client settings, never a
/// password); makes it current only when no profile is.
fn write_dev_profile(
    brokers: &str,
    admin: Option<&str>,
    registry: Option<&str>,
    security: &[(String, String)],
) -> anyhow::Result<()> {
    let path = config_path();
    let mut file = ConfigFile::load(&path)?;
    let profile = file.profiles.entry("dev".to_string()).or_default();
    let mut properties = std::mem::take(&mut profile.properties);
    properties.retain(|k, _| !SECURITY_KEYS.contains(&k.as_str()));
    properties.extend(security.iter().cloned());
    // `consume -s` finds the registry through the profile, as it finds the brokers.
    let registry_key = format!("{}url", crate::schemas::PROPERTY_PREFIX);
    match registry {
        Some(url) => drop(properties.insert(registry_key, url.to_string())),
        None => drop(properties.remove(&registry_key)),
    }
    // An https:// registry is trusted through the cluster's CA, as the brokers are.
    let registry_ca_key = format!("{}ssl.ca.location", crate::schemas::PROPERTY_PREFIX);
    let ca = security
        .iter()
        .find(|(k, _)| k == "ssl.ca.location")
        .map(|(_, v)| v.clone());
    match (registry, ca) {
        (Some(url), Some(ca)) if url.starts_with("https://") => {
            properties.insert(registry_ca_key, ca);
        }
        _ => drop(properties.remove(&registry_ca_key)),
    }
    *profile = Profile {
        brokers: Some(brokers.to_string()),
        admin_url: admin.map(str::to_string),
        properties,
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
        .args([
            "--schema-registry-port",
            &args.schema_registry_port.to_string(),
        ])
        .args(["--host", &args.host]);
    if args.no_schema_registry {
        command.arg("--no-schema-registry");
    }
    if args.in_memory {
        command.arg("--in-memory");
    }
    if let Some(d) = &args.data_dir {
        command.arg("--data-dir").arg(d);
    }
    if args.no_profile {
        command.arg("--no-profile");
    }
    if args.tls {
        command.arg("--tls");
    }
    if args.sasl {
        command.arg("--sasl");
    }
    for user in &args.sasl_users {
        command.args(["--sasl-user", user]);
    }
    if let Some(version) = args.kafka_version {
        command.args(["--kafka-version", &version.to_string()]);
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

/// The admin plane of the targeted dev cluster; a clean stop may take a while, hence 30 s.
fn admin(global: &Global, target: &DevTarget) -> anyhow::Result<DevAdmin> {
    DevAdmin::with_timeout(&admin_url(global, target), Duration::from_secs(30))
}

async fn status(global: &Global, target: &DevTarget) -> anyhow::Result<ExitCode> {
    let admin = admin(global, target)?;
    let url = admin.url().to_string();
    let state = admin.cluster().await?;
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
    let state = admin(global, &broker.target)?
        .broker(broker.id, verb)
        .await
        .with_context(|| format!("cannot {verb} broker {}", broker.id))?;
    eprintln!(
        "broker {} {done} ({})",
        state.id,
        if state.running { "up" } else { "down" }
    );
    Ok(ExitCode::SUCCESS)
}
