//! `streamctl profile create|use|list|delete`: named connection settings in the config file
//! (see [`crate::config`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;

use crate::cli::{Format, GlobalArgs, ProfileArgs, ProfileCommand};
use crate::config::{config_path, parse_properties, ConfigFile, Profile};
use crate::output;

/// Runs a `profile` subcommand. It takes the raw flags: `create` stores `-b`/`-X` as given,
/// not merged with another profile.
pub fn run(global: &GlobalArgs, args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let path = config_path();
    let mut file = ConfigFile::load(&path)?;
    match args.command {
        ProfileCommand::Create {
            name,
            admin_url,
            make_current,
        } => {
            if name.trim().is_empty() {
                bail!("a profile needs a name");
            }
            let Some(brokers) = global.brokers.clone() else {
                bail!("profile create needs the brokers: streamctl profile create {name} -b host:port");
            };
            let profile = Profile {
                brokers: Some(brokers),
                admin_url,
                properties: parse_properties(&global.properties)?,
            };
            let replaced = file.profiles.insert(name.clone(), profile).is_some();
            if make_current || file.current.is_none() {
                file.current = Some(name.clone());
            }
            file.save(&path)?;
            eprintln!(
                "{} profile '{name}' in {}",
                if replaced { "replaced" } else { "created" },
                path.display()
            );
        }
        ProfileCommand::Use { name } => {
            if !file.profiles.contains_key(&name) {
                bail!(
                    "no profile '{name}' in {} (list them with: streamctl profile list)",
                    path.display()
                );
            }
            file.current = Some(name.clone());
            file.save(&path)?;
            eprintln!("now using profile '{name}'");
        }
        ProfileCommand::Delete { name } => {
            if file.profiles.remove(&name).is_none() {
                bail!("no profile '{name}' in {}", path.display());
            }
            if file.current.as_deref() == Some(name.as_str()) {
                file.current = None;
            }
            file.save(&path)?;
            eprintln!("deleted profile '{name}'");
        }
        ProfileCommand::List => {
            let mut out = std::io::stdout().lock();
            match global.format {
                format @ (Format::Json | Format::Yaml) => output::document(
                    &mut out,
                    format,
                    &json!({
                        "config": path.display().to_string(),
                        "current": file.current,
                        "profiles": file.profiles.iter().map(|(name, p)| json!({
                            "name": name,
                            "brokers": p.brokers,
                            "admin_url": p.admin_url,
                            "properties": p.properties.keys().collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    }),
                )?,
                Format::Text => {
                    let rows: Vec<Vec<String>> = file
                        .profiles
                        .iter()
                        .map(|(name, p)| {
                            vec![
                                if file.current.as_deref() == Some(name.as_str()) {
                                    "*".to_string()
                                } else {
                                    String::new()
                                },
                                name.clone(),
                                p.brokers.clone().unwrap_or_else(|| "-".into()),
                                p.admin_url.clone().unwrap_or_else(|| "-".into()),
                            ]
                        })
                        .collect();
                    output::table(&mut out, &["", "PROFILE", "BROKERS", "ADMIN"], &rows)?;
                    out.flush().context("writing the list")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
