//! `streamctl topic list|describe|create|delete|add-partitions|alter-config`.
//!
//! Results go to stdout (aligned columns, or JSON with `--format json`); confirmations of
//! changes go to stderr. `delete` asks first on a terminal and, since a script cannot answer,
//! refuses without `--yes` when stdin is not one.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;
use streamctl_client::admin::ConfigSource;
use streamctl_client::protocol::ErrorCode;

use crate::cli::{Format, Global, TopicArgs, TopicCommand};
use crate::commands::cluster::admin;
use crate::output;

/// Runs a `topic` subcommand.
pub async fn run(global: &Global, args: TopicArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TopicCommand::List { internal } => list(global, internal).await,
        TopicCommand::Describe { topic } => describe(global, &topic).await,
        TopicCommand::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => {
            let configs = parse_pairs(&configs)?;
            let admin = admin(global).await?;
            let refs: Vec<(&str, &str)> = configs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin
                .create_topic(
                    &topic,
                    partitions.unwrap_or(-1),
                    replication_factor.unwrap_or(-1),
                    &refs,
                )
                .await
                .map_err(|e| explain(e, &topic, "create"))?;
            eprintln!("created topic '{topic}'");
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::Delete { topic, yes } => {
            if !yes
                && !output::confirm(
                    &format!("delete topic '{topic}' and every record in it?"),
                    &format!("delete topic '{topic}'"),
                )
                .await?
            {
                eprintln!("not deleted");
                return Ok(ExitCode::FAILURE);
            }
            admin(global)
                .await?
                .delete_topic(&topic)
                .await
                .map_err(|e| explain(e, &topic, "delete"))?;
            eprintln!("deleted topic '{topic}'");
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::AddPartitions { topic, partitions } => {
            admin(global)
                .await?
                .create_partitions(&topic, partitions)
                .await
                .map_err(|e| explain(e, &topic, "add partitions to"))?;
            eprintln!("topic '{topic}' now has {partitions} partitions");
            Ok(ExitCode::SUCCESS)
        }
        TopicCommand::AlterConfig {
            topic,
            configs,
            delete,
        } => {
            let set = parse_pairs(&configs)?;
            let set: Vec<(&str, &str)> =
                set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let delete: Vec<&str> = delete.iter().map(String::as_str).collect();
            admin(global)
                .await?
                .alter_topic_config(&topic, &set, &delete)
                .await
                .map_err(|e| explain(e, &topic, "alter the configs of"))?;
            eprintln!("altered configs of topic '{topic}'");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(global: &Global, internal: bool) -> anyhow::Result<ExitCode> {
    let topics = admin(global)
        .await?
        .list_topics(internal)
        .await
        .context("cannot list topics")?;
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => {
            output::document(&mut out, format, &json!(topics))?
        }
        Format::Text => {
            for topic in topics {
                writeln!(out, "{topic}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn describe(global: &Global, topic: &str) -> anyhow::Result<ExitCode> {
    let admin = admin(global).await?;
    let d = admin
        .describe_topic(topic)
        .await
        .map_err(|e| explain(e, topic, "describe"))?;
    // `None`: the broker lacks DescribeConfigs (librdkafka's mock cluster); the partitions
    // are still worth showing.
    let overrides: Option<BTreeMap<String, Option<String>>> =
        match admin.describe_topic_configs(topic).await {
            Ok(configs) => Some(
                configs
                    .into_iter()
                    .filter(|c| c.source == ConfigSource::DynamicTopicConfig)
                    .map(|c| (c.name, c.value))
                    .collect(),
            ),
            Err(streamctl_client::Error::UnsupportedVersion { .. }) => None,
            Err(e) => return Err(explain(e, topic, "describe the configs of")),
        };
    let cleaner = dev_cleaner(global, &d.name, &d.topic_id.to_string()).await;
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "name": d.name,
                "topic_id": d.topic_id.to_string(),
                "internal": d.internal,
                "partitions": d.partitions.iter().map(|p| json!({
                    "partition": p.partition,
                    "leader": p.leader,
                    "leader_epoch": p.leader_epoch,
                    "replicas": p.replicas,
                    "isr": p.isr,
                    "offline_replicas": p.offline_replicas,
                    "low_watermark": p.low_watermark,
                    "high_watermark": p.high_watermark,
                    "cleaner": cleaner.get(&p.partition),
                })).collect::<Vec<_>>(),
                "configs": overrides,
            }),
        )?,
        Format::Text => {
            let replication = d.partitions.first().map_or(0, |p| p.replicas.len());
            writeln!(out, "topic:       {}", d.name)?;
            writeln!(out, "topic id:    {}", d.topic_id)?;
            if d.internal {
                writeln!(out, "internal:    yes")?;
            }
            writeln!(out, "partitions:  {}", d.partitions.len())?;
            writeln!(out, "replication: {replication}")?;
            match &overrides {
                None => writeln!(
                    out,
                    "configs:     (the broker does not serve DescribeConfigs)"
                )?,
                Some(overrides) if overrides.is_empty() => {
                    writeln!(out, "configs:     (defaults)")?;
                }
                Some(overrides) => {
                    let configs: Vec<String> = overrides
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("(sensitive)")))
                        .collect();
                    writeln!(out, "configs:     {}", configs.join(", "))?;
                }
            }
            writeln!(out)?;
            let offset = |o: Option<i64>| o.map_or("?".to_string(), |o| o.to_string());
            let rows: Vec<Vec<String>> = d
                .partitions
                .iter()
                .map(|p| {
                    vec![
                        p.partition.to_string(),
                        p.leader.map_or("none".to_string(), |l| l.to_string()),
                        p.leader_epoch.to_string(),
                        output::ids(&p.replicas),
                        output::ids(&p.isr),
                        output::ids(&p.offline_replicas),
                        offset(p.low_watermark),
                        offset(p.high_watermark),
                    ]
                })
                .collect();
            output::table(
                &mut out,
                &[
                    "PARTITION",
                    "LEADER",
                    "EPOCH",
                    "REPLICAS",
                    "ISR",
                    "OFFLINE",
                    "LOW",
                    "HIGH",
                ],
                &rows,
            )?;
            if !cleaner.is_empty() {
                writeln!(out)?;
                let rows: Vec<_> = cleaner.iter().map(|(p, c)| (p.to_string(), c)).collect();
                cleaner_table(&mut out, "CLEANER", &rows)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The log cleaner's state of each partition of a compacted topic, from the dev cluster's
/// admin plane when the profile names one (Kafka itself shows this only in JMX metrics).
/// Empty when there is none, it does not answer, or it serves another cluster (the topic
/// id differs): the rest of `describe` does not depend on it.
async fn dev_cleaner(
    global: &Global,
    topic: &str,
    topic_id: &str,
) -> BTreeMap<i32, streamctl_devcluster::state::CleanerView> {
    let Some(url) = &global.admin_url else {
        return BTreeMap::new();
    };
    let Ok(dev) = crate::devadmin::DevAdmin::with_timeout(url, std::time::Duration::from_secs(2))
    else {
        return BTreeMap::new();
    };
    let Ok(state) = dev.cluster().await else {
        return BTreeMap::new();
    };
    state
        .topics
        .into_iter()
        .filter(|t| t.name == topic && t.topic_id == topic_id)
        .flat_map(|t| t.partitions)
        .filter_map(|p| Some((p.partition, p.cleaner?)))
        .collect()
}

/// A table of cleaner states, one row per partition: `label` heads the first column and
/// each row's first cell names its partition.
pub(crate) fn cleaner_table(
    out: &mut impl Write,
    label: &str,
    rows: &[(String, &streamctl_devcluster::state::CleanerView)],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, c)| {
            vec![
                name.clone(),
                format!("{:.2}", c.dirty_ratio()),
                c.cleaned_to.to_string(),
                output::bytes(c.dirty_bytes),
                c.runs.to_string(),
                output::bytes(c.bytes_reclaimed),
                c.last_run_ms.map_or("never".to_string(), |_| {
                    format!("{} ms", c.last_duration_ms)
                }),
            ]
        })
        .collect();
    output::table(
        out,
        &[
            label,
            "DIRTY RATIO",
            "CLEANED TO",
            "DIRTY",
            "RUNS",
            "RECLAIMED",
            "LAST RUN TOOK",
        ],
        &rows,
    )
}

/// Parses repeated `-c key=value` flags.
fn parse_pairs(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => bail!("-c {kv}: expected key=value, e.g. -c retention.ms=3600000"),
        })
        .collect()
}

/// Turns a client error about `topic` into what failed and what to do about it; the broker's
/// error stays in the chain.
fn explain(e: streamctl_client::Error, topic: &str, action: &str) -> anyhow::Error {
    let what = match e.code() {
        Some(ErrorCode::UnknownTopicOrPartition) => {
            format!("topic '{topic}' does not exist (list topics with: streamctl topic list)")
        }
        Some(ErrorCode::TopicAlreadyExists) => format!(
            "topic '{topic}' already exists (see it with: streamctl topic describe {topic})"
        ),
        Some(ErrorCode::InvalidPartitions) => format!(
            "cannot {action} topic '{topic}': the partition count can only grow \
             (see the current one with: streamctl topic describe {topic})"
        ),
        Some(ErrorCode::InvalidReplicationFactor) => format!(
            "cannot {action} topic '{topic}': the replication factor is more than the \
             brokers available (see them with: streamctl cluster info)"
        ),
        Some(ErrorCode::InvalidConfig) => {
            format!("cannot {action} topic '{topic}': a config name or value is not valid")
        }
        _ => format!("cannot {action} topic '{topic}'"),
    };
    anyhow::Error::new(e).context(what)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_pairs_need_a_key_and_an_equals_sign() {
        let pairs = parse_pairs(&["a=1".into(), "b==2".into()]).unwrap();
        assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "=2".into())]);
        let e = parse_pairs(&["novalue".into()]).unwrap_err();
        assert!(e.to_string().contains("-c novalue"), "{e}");
        assert!(parse_pairs(&["=1".into()]).is_err());
    }

    #[test]
    fn unknown_topics_say_how_to_list_topics() {
        let e = streamctl_client::Error::broker_for(
            ErrorCode::UnknownTopicOrPartition,
            None,
            "x",
            None,
        );
        let e = explain(e, "x", "describe");
        assert_eq!(
            e.to_string(),
            "topic 'x' does not exist (list topics with: streamctl topic list)"
        );
        assert!(e
            .chain()
            .nth(1)
            .unwrap()
            .to_string()
            .contains("UNKNOWN_TOPIC"));
    }
}
