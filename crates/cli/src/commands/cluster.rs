//! `streamctl cluster info` (also `streamctl -L`): the cluster id, the controller and every
//! broker. Also home of [`admin`], the admin client every admin command connects with.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use streamctl_client::{Admin, ClientConfig};

use crate::cli::{ClusterArgs, ClusterCommand, Format, Global};
use crate::output;

/// An admin client for `-b` and the `-X` properties.
pub async fn admin(global: &Global) -> anyhow::Result<Admin> {
    let mut config = ClientConfig::default();
    crate::config::apply_global(global, |k, v| config.set(k, v).map(|_| ()))?;
    Admin::connect(config).await.with_context(|| {
        format!(
            "cannot connect to {} (is the cluster up? start one with: streamctl dev up)",
            global.brokers
        )
    })
}

/// Runs a `cluster` subcommand.
pub async fn run(global: &Global, args: ClusterArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ClusterCommand::Info => info(global).await,
    }
}

/// `streamctl cluster info`.
pub async fn info(global: &Global) -> anyhow::Result<ExitCode> {
    let admin = admin(global).await?;
    let cluster = admin
        .describe_cluster()
        .await
        .context("cannot describe the cluster")?;
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "cluster_id": cluster.cluster_id,
                "controller_id": cluster.controller_id,
                "brokers": cluster.brokers.iter().map(|b| json!({
                    "node_id": b.node_id,
                    "host": b.host,
                    "port": b.port,
                    "rack": b.rack,
                })).collect::<Vec<_>>(),
            }),
        )?,
        Format::Text => {
            writeln!(
                out,
                "cluster id: {}",
                cluster.cluster_id.as_deref().unwrap_or("-")
            )?;
            writeln!(
                out,
                "controller: {}",
                cluster
                    .controller_id
                    .map_or("-".to_string(), |id| id.to_string())
            )?;
            let rows: Vec<Vec<String>> = cluster
                .brokers
                .iter()
                .map(|b| {
                    let controller = if Some(b.node_id) == cluster.controller_id {
                        "*"
                    } else {
                        ""
                    };
                    vec![
                        format!("{}{controller}", b.node_id),
                        b.host.clone(),
                        b.port.to_string(),
                        b.rack.clone().unwrap_or_else(|| "-".to_string()),
                    ]
                })
                .collect();
            output::table(&mut out, &["NODE", "HOST", "PORT", "RACK"], &rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
