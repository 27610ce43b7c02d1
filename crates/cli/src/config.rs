//! Turning the global flags (`-b`, `-X key=value`) into a client, producer or consumer config.

use anyhow::Context;

use crate::cli::Global;

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
            .with_context(|| format!("-X {kv}: expected key=value"))?;
        set(k.trim(), v).with_context(|| format!("-X {kv}"))?;
    }
    Ok(())
}
