//! Connection settings: profiles in a config file, and turning the global flags (`-b`,
//! `-X key=value`) into any client config.
//!
//! The config file is TOML at `$STREAMCTL_CONFIG`, else `$XDG_CONFIG_HOME/streamctl/config.toml`,
//! else `~/.config/streamctl/config.toml`:
//!
//! ```toml
//! current = "dev"
//!
//! [profiles.dev]
//! brokers = "localhost:9092,localhost:9093,localhost:9094"
//! admin_url = "http://127.0.0.1:9644"
//!
//! [profiles.prod.properties]
//! "security.protocol" = "SASL_SSL"
//! ```
//!
//! Precedence: `-b`/`STREAMCTL_BROKERS` over the profile over `localhost:9092`; the profile's
//! properties first, then each `-X` (so a flag overrides the profile).
//!
//! SASL passwords: `-X sasl.password=…` works but shows in the process list and the shell
//! history, so without it the password comes from `$STREAMCTL_SASL_PASSWORD`, else from a
//! prompt on the terminal that does not echo. Secret values never appear in error messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::cli::{Global, GlobalArgs};

/// Brokers when neither a flag nor a profile names any.
pub const DEFAULT_BROKERS: &str = "localhost:9092";

/// The config file's contents.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when `--profile` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Bootstrap brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brokers: Option<String>,
    /// A dev cluster's admin plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_url: Option<String>,
    /// Kafka client properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// Where the config file lives.
pub fn config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("STREAMCTL_CONFIG") {
        return PathBuf::from(p);
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(std::env::temp_dir)
        .join("streamctl/config.toml")
}

impl ConfigFile {
    /// Reads the file at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid streamctl config file (fix or remove it)",
                path.display()
            )
        })
    }

    /// Writes the file to `path` (through a temporary file and a rename, so a crash never
    /// leaves half a file), creating its directory.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = toml::to_string_pretty(self).context("cannot encode the config file")?;
        // A temporary name of its own per save: two processes (or threads) saving at once must
        // not rename each other's file away; the last rename wins, whole.
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("toml.{}-{n}.tmp", std::process::id()));
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Resolves the command line against the profile it names (or the current one).
pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Global> {
    let path = config_path();
    let file = ConfigFile::load(&path)?;
    let profile = match &args.profile {
        Some(name) => Some(file.profiles.get(name).with_context(|| {
            format!(
                "no profile '{name}' in {} (list them with: streamctl profile list)",
                path.display()
            )
        })?),
        None => file.current.as_ref().and_then(|c| file.profiles.get(c)),
    };
    let mut properties: Vec<String> = profile
        .map(|p| {
            p.properties
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default();
    properties.extend(args.properties.iter().cloned());
    Ok(Global {
        brokers: args
            .brokers
            .clone()
            .or_else(|| profile.and_then(|p| p.brokers.clone()))
            .unwrap_or_else(|| DEFAULT_BROKERS.to_string()),
        properties,
        format: args.format,
        admin_url: profile.and_then(|p| p.admin_url.clone()),
    })
}

/// Splits `-X key=value` flags into pairs.
pub fn parse_properties(flags: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for kv in flags {
        match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.to_string());
            }
            _ => bail!("-X {kv}: expected key=value"),
        }
    }
    Ok(out)
}

/// Applies `-b` and then every `-X key=value` through `set` (any of the SDK's `set` methods),
/// so each property error names the flag it came from.
pub fn apply_global<E>(
    global: &Global,
    mut set: impl FnMut(&str, &str) -> Result<(), E>,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    set("bootstrap.servers", &global.brokers).context("invalid --brokers")?;
    for kv in &global.properties {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("-X {}: expected key=value", redacted(kv)))?;
        // The schema registry's settings (see `schemas.rs`), not the Kafka client's.
        if k.trim().starts_with(crate::schemas::PROPERTY_PREFIX) {
            continue;
        }
        set(k.trim(), v).with_context(|| format!("-X {}", redacted(kv)))?;
    }
    if let Some(username) = password_needed(&global.properties) {
        let password = sasl_password(&username)?;
        set("sasl.password", &password).context("sasl.password")?;
    }
    Ok(())
}

/// The context for a failed first connection: "is the cluster up?" when it may be down, but not
/// when the cluster answered and refused our certificate or password (the cause says why).
pub fn connect_context(brokers: &str, error: &streamctl_client::Error) -> String {
    match error {
        streamctl_client::Error::Authentication { .. } => {
            format!("cannot connect to {brokers}: check the security settings (-X security.protocol, sasl.*, ssl.*)")
        }
        _ => format!(
            "cannot connect to {brokers} (is the cluster up? start one with: streamctl dev up)"
        ),
    }
}

/// The environment variable a SASL password is read from when `-X sasl.password` is not given.
pub const PASSWORD_ENV: &str = "STREAMCTL_SASL_PASSWORD";

/// `key=value`, with the value hidden for secret properties (`sasl.password`, …).
fn redacted(kv: &str) -> String {
    match kv.split_once('=') {
        Some((k, _)) if streamctl_client::ClientConfig::SECRET_PROPERTIES.contains(&k.trim()) => {
            format!("{}=[redacted]", k.trim())
        }
        _ => kv.to_string(),
    }
}

/// The SASL username when the properties ask for a password-based mechanism and give no
/// password (nor a `sasl.jaas.config` carrying one).
fn password_needed(properties: &[String]) -> Option<String> {
    let props: BTreeMap<&str, &str> = properties
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let protocol = props.get("security.protocol")?.to_ascii_uppercase();
    if !protocol.starts_with("SASL_") {
        return None;
    }
    let mechanism = props
        .get("sasl.mechanism")
        .or_else(|| props.get("sasl.mechanisms"))
        .map_or("PLAIN".to_string(), |m| m.to_ascii_uppercase());
    let has_password =
        props.contains_key("sasl.password") || props.contains_key("sasl.jaas.config");
    (mechanism != "OAUTHBEARER" && !has_password)
        .then(|| props.get("sasl.username").unwrap_or(&"").to_string())
}

/// The password from `$STREAMCTL_SASL_PASSWORD`, else from a prompt that does not echo (only
/// when stderr is a terminal: a script must never hang on a prompt nobody sees).
fn sasl_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if let Some(password) = std::env::var_os(PASSWORD_ENV) {
        return password
            .into_string()
            .map_err(|_| anyhow::anyhow!("${PASSWORD_ENV} is not valid UTF-8"));
    }
    if std::io::stderr().is_terminal() {
        // A blocking read of the terminal, before any client task exists: nothing else
        // waits on this thread yet.
        return rpassword::prompt_password(format!("SASL password for {username}: "))
            .context("cannot read the password from the terminal");
    }
    bail!(
        "SASL needs a password for {username}: set ${PASSWORD_ENV}, run in a terminal to be \
         prompted, or pass -X sasl.password=… (visible to other users of this machine)"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_files_round_trip_and_reject_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("streamctl-config-{}", std::process::id()));
        let path = dir.join("config.toml");
        assert_eq!(ConfigFile::load(&path).unwrap(), ConfigFile::default());
        let mut file = ConfigFile {
            current: Some("dev".into()),
            ..Default::default()
        };
        file.profiles.insert(
            "dev".into(),
            Profile {
                brokers: Some("localhost:9092".into()),
                admin_url: Some("http://127.0.0.1:9644".into()),
                properties: [("linger.ms".to_string(), "5".to_string())].into(),
            },
        );
        file.save(&path).unwrap();
        assert_eq!(ConfigFile::load(&path).unwrap(), file);
        std::fs::write(&path, "current = 'x'\nbrokers = 'y'\n").unwrap();
        let e = ConfigFile::load(&path).unwrap_err();
        assert!(e.to_string().contains("not a valid"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_saves_each_succeed_and_leave_a_whole_file() {
        let dir = std::env::temp_dir().join(format!("streamctl-saves-{}", std::process::id()));
        let path = dir.join("config.toml");
        let files: Vec<ConfigFile> = ["a", "b", "c", "d"]
            .iter()
            .map(|name| ConfigFile {
                current: Some((*name).into()),
                ..Default::default()
            })
            .collect();
        std::thread::scope(|scope| {
            for file in &files {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..50 {
                        file.save(path).unwrap();
                    }
                });
            }
        });
        // The last rename wins whole; no temporary file is left behind.
        assert!(files.contains(&ConfigFile::load(&path).unwrap()));
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_are_redacted_and_passwords_asked_for_only_when_needed() {
        assert_eq!(
            redacted("sasl.password=hunter2"),
            "sasl.password=[redacted]"
        );
        assert_eq!(redacted("linger.ms=5"), "linger.ms=5");
        let props = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            password_needed(&props(&[
                "security.protocol=sasl_ssl",
                "sasl.username=alice"
            ])),
            Some("alice".into())
        );
        for not_needed in [
            &["security.protocol=SSL"][..],
            &["security.protocol=SASL_SSL", "sasl.password=x"],
            &["security.protocol=SASL_SSL", "sasl.mechanism=OAUTHBEARER"],
            &["security.protocol=SASL_SSL", "sasl.jaas.config=x"],
            &[],
        ] {
            assert_eq!(password_needed(&props(not_needed)), None, "{not_needed:?}");
        }
    }

    #[test]
    fn properties_need_a_key() {
        assert_eq!(
            parse_properties(&["a=1".into(), "b=x=y".into()]).unwrap(),
            [
                ("a".to_string(), "1".to_string()),
                ("b".into(), "x=y".into())
            ]
            .into()
        );
        assert!(parse_properties(&["=1".into()]).is_err());
        assert!(parse_properties(&["nothing".into()]).is_err());
    }
}
