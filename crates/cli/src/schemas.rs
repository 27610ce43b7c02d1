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

/// Which parts of a record -s names: (key, value).
fn parts(specs: &[String]) -> anyhow::Result<(bool, bool)> {
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
            Some(other) => {
                bail!("-s {spec}: expected key=, value= or nothing before the format, not {other}=")
            }
        }
    }
    Ok((key, value))
}

/// JSON keys and values encoded for `produce -s`: with a given schema id, else the latest
/// schema of the topic's subject (`<topic>-key`, `<topic>-value`), looked up once.
#[derive(Debug)]
pub struct Encoders {
    codec: AvroCodec,
    key: Option<u32>,
    value: Option<u32>,
}

impl Encoders {
    /// From `-s` specs, `-r` and the schema ids given; `None` without -s.
    pub async fn from_args(
        global: &Global,
        specs: &[String],
        registry: Option<&str>,
        topic: &str,
        (key_id, value_id): (Option<u32>, Option<u32>),
        keys_given: bool,
    ) -> anyhow::Result<Option<Encoders>> {
        if specs.is_empty() {
            if registry.is_some() || key_id.is_some() || value_id.is_some() {
                bail!("-r and the schema ids need -s to say what to encode (try -s value=avro)");
            }
            return Ok(None);
        }
        let (key, value) = parts(specs)?;
        // Keys are encoded only when the input has keys (-K or -k).
        let key = key && keys_given;
        let client = Arc::new(registry_client(global, registry)?);
        let key = match (key, key_id) {
            (false, _) => None,
            (true, Some(id)) => Some(id),
            (true, None) => Some(latest_id(&client, &format!("{topic}-key")).await?),
        };
        let value = match (value, value_id) {
            (false, _) => None,
            (true, Some(id)) => Some(id),
            (true, None) => Some(latest_id(&client, &format!("{topic}-value")).await?),
        };
        Ok(Some(Encoders {
            codec: AvroCodec::new(client),
            key,
            value,
        }))
    }

    /// Whether keys are JSON to encode.
    pub fn encodes_keys(&self) -> bool {
        self.key.is_some()
    }

    /// The key's bytes: encoded from its JSON text when -s names keys, else as given.
    pub async fn key(&self, text: &str) -> anyhow::Result<Vec<u8>> {
        self.encode(self.key, text, "key").await
    }

    /// The value's bytes: encoded from its JSON text when -s names values, else as given.
    pub async fn value(&self, text: &str) -> anyhow::Result<Vec<u8>> {
        self.encode(self.value, text, "value").await
    }

    async fn encode(&self, id: Option<u32>, text: &str, part: &str) -> anyhow::Result<Vec<u8>> {
        let Some(id) = id else {
            return Ok(text.as_bytes().to_vec());
        };
        let json: serde_json::Value =
            serde_json::from_str(text).with_context(|| format!("the {part} is not JSON"))?;
        self.codec
            .encode(id, &json)
            .await
            .with_context(|| format!("the {part}"))
    }
}

/// A line split into a JSON key and the rest after `delimiter`: the key ends where its JSON
/// value does (so `{"a":1}:{"b":2}` splits after the object, whatever `:` it holds).
/// `None` when the line does not start with a JSON value followed by the delimiter.
pub fn split_json_key<'a>(line: &'a str, delimiter: &str) -> Option<(&'a str, &'a str)> {
    let mut values = serde_json::Deserializer::from_str(line).into_iter::<serde::de::IgnoredAny>();
    values.next()?.ok()?;
    let end = values.byte_offset();
    let (key, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let value = rest.strip_prefix(delimiter)?;
    Some((key.trim(), value))
}

/// The id of the latest schema of `subject`.
async fn latest_id(client: &RegistryClient, subject: &str) -> anyhow::Result<u32> {
    let (_, schema) = client
        .latest(subject)
        .await
        .with_context(|| format!("no schema to encode with: subject {subject}"))?;
    Ok(schema.id)
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
        let (key, value) = parts(specs)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_key_ends_where_its_value_does() {
        assert_eq!(
            split_json_key(r#"{"a":"x:y"}:{"v":1}"#, ":"),
            Some((r#"{"a":"x:y"}"#, r#"{"v":1}"#))
        );
        assert_eq!(split_json_key(r#""k" | 5"#, "|"), Some((r#""k""#, " 5")));
        assert_eq!(split_json_key("not json:1", ":"), None);
        assert_eq!(split_json_key(r#"{"a":1} no delimiter"#, ":"), None);
    }
}
