//! `streamctl schema list|get|register|check|delete`: a schema registry's subjects and
//! schemas (Confluent's REST API), with the registry's own reasons when it refuses.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use streamctl_serdes::{Reference, RegistryClient};

use crate::cli::{Format, Global, SchemaArgs, SchemaCommand, SchemaFileArgs};
use crate::output;
use crate::schemas::registry_client;

pub async fn run(global: &Global, args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let registry = registry_client(global, args.registry.as_deref())?;
    match args.command {
        SchemaCommand::List { deleted } => list(global, &registry, deleted).await,
        SchemaCommand::Get {
            subject,
            subject_version,
            id,
        } => get(global, &registry, subject.as_deref(), &subject_version, id).await,
        SchemaCommand::Register {
            subject,
            file,
            schema: what,
        } => {
            let schema = read_schema(&file)?;
            let (schema_type, references) = describe(&file, &what)?;
            let id = registry
                .register(&subject, &schema_type, &schema, &references)
                .await
                .with_context(|| format!("cannot register the schema under {subject}"))?;
            print(
                global,
                &json!({"subject": subject, "id": id}),
                &format!("registered under {subject}: id {id}"),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        SchemaCommand::Check {
            subject,
            file,
            schema: what,
            against: version,
        } => {
            let schema = read_schema(&file)?;
            let (schema_type, references) = describe(&file, &what)?;
            let (compatible, messages) = registry
                .check(&subject, &version, &schema_type, &schema, &references)
                .await
                .with_context(|| format!("cannot check against {subject} version {version}"))?;
            let text = if compatible {
                format!("compatible with {subject} version {version}")
            } else {
                format!(
                    "NOT compatible with {subject} version {version}:\n  {}",
                    messages.join("\n  ")
                )
            };
            print(
                global,
                &json!({"subject": subject, "version": version, "compatible": compatible, "messages": messages}),
                &text,
            )?;
            Ok(if compatible {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        SchemaCommand::Delete {
            subject,
            subject_version: version,
            permanent,
            yes,
        } => {
            let what = match &version {
                Some(v) => format!("version {v} of subject '{subject}'"),
                None => format!("subject '{subject}'"),
            };
            let how = if permanent {
                "permanently delete"
            } else {
                "delete"
            };
            if !yes && !output::confirm(&format!("{how} {what}?"), &format!("{how} {what}")).await?
            {
                return Ok(ExitCode::FAILURE);
            }
            let deleted = match &version {
                Some(v) => vec![registry.delete_version(&subject, v, permanent).await?],
                None => registry.delete_subject(&subject, permanent).await?,
            };
            let versions: Vec<String> = deleted.iter().map(i32::to_string).collect();
            print(
                global,
                &json!({"subject": subject, "deleted_versions": deleted, "permanent": permanent}),
                &format!("deleted {what}: versions {}", versions.join(", ")),
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(
    global: &Global,
    registry: &RegistryClient,
    deleted: bool,
) -> anyhow::Result<ExitCode> {
    let subjects = registry
        .subjects(deleted)
        .await
        .context("cannot list subjects")?;
    let mut rows = Vec::new();
    let mut document = Vec::new();
    for subject in &subjects {
        let (version, latest) = match registry.latest(subject).await {
            Ok((v, s)) => (v.to_string(), Some(s)),
            // A soft-deleted subject has no live latest version.
            Err(_) => ("-".to_string(), None),
        };
        let (id, schema_type) = latest
            .as_ref()
            .map_or(("-".to_string(), "-".to_string()), |s| {
                (s.id.to_string(), s.schema_type.clone())
            });
        rows.push(vec![
            subject.clone(),
            version.clone(),
            id.clone(),
            schema_type.clone(),
        ]);
        document.push(
            json!({"subject": subject, "latest_version": version, "id": id, "type": schema_type}),
        );
    }
    output::listing(
        global.format,
        &json!(document),
        &["SUBJECT", "LATEST", "ID", "TYPE"],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn get(
    global: &Global,
    registry: &RegistryClient,
    subject: Option<&str>,
    version: &str,
    id: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let (subject, version, schema) = match (id, subject) {
        (Some(id), _) => {
            let schema = registry
                .schema(id)
                .await
                .with_context(|| format!("schema {id}"))?;
            (None, None, schema)
        }
        (None, Some(subject)) => {
            let (v, schema) = registry
                .version(subject, version)
                .await
                .with_context(|| format!("{subject} version {version}"))?;
            (Some(subject.to_string()), Some(v), schema)
        }
        (None, None) => anyhow::bail!("name a subject, or a schema --id"),
    };
    match global.format {
        Format::Text => {
            // The schema itself, pretty when it is JSON (Avro, JSON Schema), as it is else.
            let text = serde_json::from_str::<serde_json::Value>(&schema.schema)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| schema.schema.clone());
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
        }
        format => {
            let doc = json!({
                "subject": subject,
                "version": version,
                "id": schema.id,
                "type": schema.schema_type,
                "schema": schema.schema,
            });
            output::document(&mut std::io::stdout().lock(), format, &doc)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print(global: &Global, document: &serde_json::Value, text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Text => writeln!(out, "{text}")?,
        format => output::document(&mut out, format, document)?,
    }
    Ok(())
}

fn read_schema(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the schema from stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// The schema type of `file` (as given, else by its extension) and its references.
fn describe(file: &Path, args: &SchemaFileArgs) -> anyhow::Result<(String, Vec<Reference>)> {
    let schema_type = match &args.schema_type {
        Some(given) => given.to_ascii_uppercase(),
        None if file.extension().is_some_and(|e| e == "proto") => "PROTOBUF".into(),
        None => "AVRO".into(),
    };
    if !["AVRO", "JSON", "PROTOBUF"].contains(&schema_type.as_str()) {
        anyhow::bail!("--type {schema_type}: expected AVRO, JSON or PROTOBUF");
    }
    let references = args
        .references
        .iter()
        .map(|r| parse_reference(r))
        .collect::<anyhow::Result<_>>()?;
    Ok((schema_type, references))
}

/// `NAME=SUBJECT:VERSION`.
fn parse_reference(text: &str) -> anyhow::Result<Reference> {
    let bad = || format!("--reference {text}: expected NAME=SUBJECT:VERSION");
    let (name, rest) = text.split_once('=').with_context(bad)?;
    let (subject, version) = rest.rsplit_once(':').with_context(bad)?;
    let version: i32 = version.parse().ok().with_context(bad)?;
    Ok(Reference {
        name: name.to_string(),
        subject: subject.to_string(),
        version,
    })
}
