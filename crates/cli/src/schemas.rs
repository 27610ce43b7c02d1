//! Schema-encoded keys and values on the command line, kcat's way: `-s value=avro` (also
//! `key=avro`, or `avro` for both) with the registry from `-r URL`, else the
//! `schema.registry.url` property (`-X` or the profile); `schema.registry.basic.auth.user.info`
//! (`user:password`) or `schema.registry.bearer.auth.token` authenticate.
//!
//! Those `schema.registry.*` properties are the registry's: they are not passed to the Kafka
//! client.

use std::sync::Arc;

use anyhow::{bail, Context};
use streamctl_serdes::{Auth, AvroCodec, RegistryClient};

use crate::cli::Global;

/// The prefix of the properties that configure the schema registry client.
pub const PROPERTY_PREFIX: &str = "schema.registry.";

/// The registry client for `-r URL`, else the `schema.registry.url` property, with the
/// authentication the properties give.
pub fn registry_client(global: &Global, registry: Option<&str>) -> anyhow::Result<RegistryClient> {
    let property = |name: &str| {
        global.properties.iter().rev().find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == format!("{PROPERTY_PREFIX}{name}")).then(|| v.to_string())
        })
    };
    let url = registry
        .map(str::to_string)
        .or_else(|| property("url"))
        .context("no schema registry: -r URL, or -X schema.registry.url=URL (or in the profile)")?;
    let mut client = RegistryClient::new(&url).with_context(|| format!("schema registry {url}"))?;
    if let Some(info) = property("basic.auth.user.info") {
        let (user, password) = info
            .split_once(':')
            .context("schema.registry.basic.auth.user.info: expected user:password")?;
        client = client.with_auth(Auth::Basic {
            user: user.to_string(),
            password: password.to_string(),
        });
    } else if let Some(token) = property("bearer.auth.token") {
        client = client.with_auth(Auth::Bearer(token));
    }
    Ok(client)
}

/// Which parts of a record are schema-encoded, and the codec that decodes them.
#[derive(Debug)]
pub struct Decoders {
    codec: Arc<AvroCodec>,
    key: bool,
    value: bool,
}

/// A decoded key or value: its schema id and JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub schema_id: u32,
    pub json: String,
}

impl Decoders {
    /// From `-s` specs and `-r`; `None` when no `-s` was given.
    pub fn from_args(
        global: &Global,
        specs: &[String],
        registry: Option<&str>,
    ) -> anyhow::Result<Option<Decoders>> {
        if specs.is_empty() {
            if registry.is_some() {
                bail!(
                    "-r names a schema registry, but no -s says what to decode (try -s value=avro)"
                );
            }
            return Ok(None);
        }
        let (mut key, mut value) = (false, false);
        for spec in specs {
            let (part, format) = match spec.split_once('=') {
                Some((part, format)) => (Some(part), format),
                None => (None, spec.as_str()),
            };
            if !format.eq_ignore_ascii_case("avro") {
                bail!("-s {spec}: {format} is not supported yet (avro is)");
            }
            match part {
                Some("key") => key = true,
                Some("value") => value = true,
                None => (key, value) = (true, true),
                Some(other) => bail!(
                    "-s {spec}: expected key=, value= or nothing before the format, not {other}="
                ),
            }
        }
        let client = registry_client(global, registry)?;
        Ok(Some(Decoders {
            codec: Arc::new(AvroCodec::new(Arc::new(client))),
            key,
            value,
        }))
    }

    /// The decoded key and value (each `None` when not asked for, or null).
    pub async fn decode(
        &self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> anyhow::Result<(Option<Decoded>, Option<Decoded>)> {
        let key = match key.filter(|_| self.key) {
            Some(bytes) => Some(self.one(bytes).await.context("the key")?),
            None => None,
        };
        let value = match value.filter(|_| self.value) {
            Some(bytes) => Some(self.one(bytes).await.context("the value")?),
            None => None,
        };
        Ok((key, value))
    }

    async fn one(&self, bytes: &[u8]) -> anyhow::Result<Decoded> {
        let (schema_id, json) = self.codec.decode_to_json_text(bytes).await?;
        Ok(Decoded { schema_id, json })
    }
}
