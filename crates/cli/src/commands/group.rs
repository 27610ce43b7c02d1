//! `streamctl group list [--type classic|consumer]|describe|lag|reset-offsets|delete`;
//! `describe` shows a consumer-protocol group's (KIP-848) epochs and, per member, what it
//! owns and what the coordinator wants it to own.
//!
//! `reset-offsets` prints the plan (current and new offset per partition) and changes
//! nothing unless `--execute` is given; both it and `delete` need a group without active
//! members, and `delete` confirms on a terminal (or needs `--yes`).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;
use streamctl_client::admin::{GroupDescription, OffsetResetSpec};
use streamctl_client::protocol::ErrorCode;

use crate::cli::{Format, Global, GroupArgs, GroupCommand};
use crate::commands::cluster::admin;
use crate::output;

/// Runs a `group` subcommand.
pub async fn run(global: &Global, args: GroupArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        GroupCommand::List { types } => list(global, &types).await,
        GroupCommand::Describe { group } => describe(global, &group).await,
        GroupCommand::Lag { group } => lag(global, &group).await,
        GroupCommand::ResetOffsets {
            group,
            topics,
            to_earliest,
            to_latest,
            to_offset,
            to_datetime,
            shift_by,
            execute,
        } => {
            let spec = if to_earliest {
                OffsetResetSpec::Earliest
            } else if to_latest {
                OffsetResetSpec::Latest
            } else if let Some(o) = to_offset {
                OffsetResetSpec::Offset(o)
            } else if let Some(t) = &to_datetime {
                OffsetResetSpec::Timestamp(
                    parse_time(t).with_context(|| format!("--to-datetime {t}"))?,
                )
            } else if let Some(n) = shift_by {
                OffsetResetSpec::ShiftBy(n)
            } else {
                // clap's ArgGroup requires one of them.
                bail!("say where to: --to-earliest, --to-latest, --to-offset, --to-datetime or --shift-by")
            };
            reset(global, &group, &topics, spec, execute).await
        }
        GroupCommand::Delete { group, yes } => {
            if !yes
                && !output::confirm(
                    &format!("delete group '{group}' and its committed offsets?"),
                    &format!("delete group '{group}'"),
                )
                .await?
            {
                eprintln!("not deleted");
                return Ok(ExitCode::FAILURE);
            }
            admin(global)
                .await?
                .delete_group(&group)
                .await
                .map_err(|e| explain(e, &group, "delete"))?;
            eprintln!("deleted group '{group}'");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(global: &Global, types: &[String]) -> anyhow::Result<ExitCode> {
    let mut groups = admin(global)
        .await?
        .list_groups()
        .await
        .context("cannot list groups")?;
    if !types.is_empty() {
        // Brokers before ListGroups v5 (Kafka 3.8) report no type: their groups are classic.
        groups.retain(|g| {
            let kind = g.group_type.as_deref().unwrap_or("classic");
            types.iter().any(|t| t.trim().eq_ignore_ascii_case(kind))
        });
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.group_id.clone(),
                g.state.clone().unwrap_or_else(|| "?".into()),
                g.group_type.clone().unwrap_or_else(|| "-".into()),
                dash(&g.protocol_type),
                g.coordinator.to_string(),
            ]
        })
        .collect();
    let document = json!(groups
        .iter()
        .map(|g| json!({
            "group": g.group_id,
            "state": g.state,
            "type": g.group_type,
            "protocol_type": g.protocol_type,
            "coordinator": g.coordinator,
        }))
        .collect::<Vec<_>>());
    output::listing(
        global.format,
        &document,
        &["GROUP", "STATE", "TYPE", "PROTOCOL", "COORDINATOR"],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn describe(global: &Global, group: &str) -> anyhow::Result<ExitCode> {
    let admin = admin(global).await?;
    let d = admin
        .describe_group(group)
        .await
        .map_err(|e| explain(e, group, "describe"))?;
    not_dead(&d)?;
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "group": d.group_id,
                "state": d.state,
                "type": d.group_type,
                "group_epoch": d.group_epoch,
                "assignment_epoch": d.assignment_epoch,
                "protocol_type": d.protocol_type,
                "assignor": d.protocol,
                "members": d.members.iter().map(|m| json!({
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "member_epoch": m.member_epoch,
                    "assignment": m.assignment,
                    "target_assignment": m.target_assignment,
                })).collect::<Vec<_>>(),
            }),
        )?,
        Format::Text => {
            writeln!(out, "group:     {}", d.group_id)?;
            writeln!(out, "state:     {}", d.state)?;
            writeln!(out, "type:      {}", d.group_type)?;
            if let (Some(group), Some(target)) = (d.group_epoch, d.assignment_epoch) {
                writeln!(out, "epochs:    group {group}, target assignment {target}")?;
            } else {
                writeln!(out, "protocol:  {}", dash(&d.protocol_type))?;
            }
            writeln!(out, "assignor:  {}", dash(&d.protocol))?;
            writeln!(out, "members:   {}", d.members.len())?;
            if !d.members.is_empty() {
                writeln!(out)?;
                let partitions = |a: &BTreeMap<String, Vec<i32>>| {
                    let parts: Vec<String> = a
                        .iter()
                        .filter(|(_, ps)| !ps.is_empty())
                        .map(|(t, ps)| format!("{t}[{}]", output::ids(ps)))
                        .collect();
                    if parts.is_empty() {
                        "-".to_string()
                    } else {
                        parts.join(" ")
                    }
                };
                let consumer_protocol = d.group_epoch.is_some();
                let rows: Vec<Vec<String>> = d
                    .members
                    .iter()
                    .map(|m| {
                        let mut row = vec![
                            m.member_id.clone(),
                            dash(&m.client_id),
                            dash(&m.client_host),
                        ];
                        if consumer_protocol {
                            row.push(m.member_epoch.map_or("-".into(), |e| e.to_string()));
                        }
                        row.push(partitions(&m.assignment));
                        if consumer_protocol {
                            row.push(match &m.target_assignment {
                                Some(t) if *t == m.assignment => "(same)".to_string(),
                                Some(t) => partitions(t),
                                None => "-".to_string(),
                            });
                        }
                        row
                    })
                    .collect();
                let headers: &[&str] = if consumer_protocol {
                    &["MEMBER", "CLIENT", "HOST", "EPOCH", "ASSIGNMENT", "TARGET"]
                } else {
                    &["MEMBER", "CLIENT", "HOST", "ASSIGNMENT"]
                };
                output::table(&mut out, headers, &rows)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn lag(global: &Global, group: &str) -> anyhow::Result<ExitCode> {
    let admin = admin(global).await?;
    let rows = admin
        .group_lag(group)
        .await
        .map_err(|e| explain(e, group, "read the lag of"))?;
    if rows.is_empty() {
        match admin.describe_group(group).await {
            Ok(d) => not_dead(&d)?,
            // Without DescribeGroups an unknown group and one with no offsets look alike.
            Err(streamctl_client::Error::UnsupportedVersion { .. }) => {}
            Err(e) => return Err(explain(e, group, "describe")),
        }
    }
    let total: i64 = rows.iter().filter_map(|r| r.lag).sum();
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "group": group,
                "total_lag": total,
                "partitions": rows.iter().map(|r| json!({
                    "topic": r.topic,
                    "partition": r.partition,
                    "committed": r.committed,
                    "end_offset": r.end_offset,
                    "lag": r.lag,
                    "member_id": r.member_id,
                })).collect::<Vec<_>>(),
            }),
        )?,
        Format::Text => {
            let opt = |o: Option<i64>| o.map_or("-".to_string(), |o| o.to_string());
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.topic.clone(),
                        r.partition.to_string(),
                        opt(r.committed),
                        opt(r.end_offset),
                        opt(r.lag),
                        r.member_id.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            output::table(
                &mut out,
                &["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"],
                &table,
            )?;
            writeln!(out, "total lag: {total}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn reset(
    global: &Global,
    group: &str,
    topics: &[String],
    spec: OffsetResetSpec,
    execute: bool,
) -> anyhow::Result<ExitCode> {
    let admin = admin(global).await?;
    let plan = admin
        .plan_offset_reset(group, topics, spec)
        .await
        .map_err(|e| explain(e, group, "plan an offset reset for"))?;
    if plan.is_empty() {
        bail!(
            "group '{group}' has no committed offsets to reset; name the topics to reset \
             with --topic"
        );
    }
    if execute {
        admin
            .commit_group_offsets(group, &plan)
            .await
            .map_err(|e| explain(e, group, "reset the offsets of"))?;
    }
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "group": group,
                "executed": execute,
                "partitions": plan.iter().map(|r| json!({
                    "topic": r.topic,
                    "partition": r.partition,
                    "current": r.current,
                    "new": r.target,
                })).collect::<Vec<_>>(),
            }),
        )?,
        Format::Text => {
            let rows: Vec<Vec<String>> = plan
                .iter()
                .map(|r| {
                    vec![
                        r.topic.clone(),
                        r.partition.to_string(),
                        r.current.map_or("-".to_string(), |c| c.to_string()),
                        r.target.to_string(),
                    ]
                })
                .collect();
            output::table(&mut out, &["TOPIC", "PARTITION", "CURRENT", "NEW"], &rows)?;
        }
    }
    if execute {
        eprintln!(
            "committed new offsets for {} partition(s) of group '{group}'",
            plan.len()
        );
    } else {
        eprintln!("dry run: nothing changed; add --execute to commit these offsets");
    }
    Ok(ExitCode::SUCCESS)
}

/// Kafka describes an unknown group as `Dead` with no members; say it does not exist.
fn not_dead(d: &GroupDescription) -> anyhow::Result<()> {
    if d.state == "Dead" && d.members.is_empty() {
        bail!(
            "group '{}' does not exist (list groups with: streamctl group list)",
            d.group_id
        );
    }
    Ok(())
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}

/// Turns a client error about `group` into what failed and what to do.
fn explain(e: streamctl_client::Error, group: &str, action: &str) -> anyhow::Error {
    let what = match e.code() {
        Some(ErrorCode::NonEmptyGroup) => format!(
            "cannot {action} group '{group}': it has active members; stop its consumers \
             first (see them with: streamctl group describe {group})"
        ),
        Some(ErrorCode::GroupIdNotFound) => {
            format!("group '{group}' does not exist (list groups with: streamctl group list)")
        }
        Some(ErrorCode::UnknownTopicOrPartition) => format!(
            "cannot {action} group '{group}': a topic does not exist \
             (list topics with: streamctl topic list)"
        ),
        _ => format!("cannot {action} group '{group}'"),
    };
    anyhow::Error::new(e).context(what)
}

/// Milliseconds since the epoch from digits, or from an RFC 3339 time
/// (`2026-11-22T10:00:00Z`, `2026-11-22T10:00:00.250+01:00`; `T` may be a space).
pub fn parse_time(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().context("expected milliseconds since the epoch");
    }
    let bad = || {
        anyhow::anyhow!(
            "expected milliseconds since the epoch or an RFC 3339 time such as \
             2026-11-22T10:00:00Z"
        )
    };
    let num = |from: usize, len: usize| -> anyhow::Result<i64> {
        let part = s.get(from..from + len).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    let sep = |at: usize, allowed: &[u8]| -> anyhow::Result<()> {
        match s.as_bytes().get(at) {
            Some(b) if allowed.contains(b) => Ok(()),
            _ => Err(bad()),
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    sep(13, b":")?;
    sep(16, b":")?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = s.get(19..).ok_or_else(bad)?;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let ms: String = frac
            .chars()
            .take(digits)
            .chain("000".chars())
            .take(3)
            .collect();
        millis = ms.parse().map_err(|_| bad())?;
        rest = frac.get(digits..).ok_or_else(bad)?;
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let h: i64 = tz.get(1..3).and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let m: i64 = tz.get(4..6).and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            if tz.get(3..4) != Some(":") {
                return Err(bad());
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_epoch_millis_or_rfc3339() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("2000-03-01T00:00:00Z").unwrap(), 951_868_800_000);
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(
            parse_time("2023-11-14 23:13:20+01:00").unwrap(),
            1_700_000_000_000
        );
        for bad in [
            "",
            "yesterday",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "2023-11-14T22:13:20",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
