//! Schema-encoded keys and values on the command line, kcat's way: `-s value=avro` (also
//! `protobuf` and `json`; `key=…`, or the format alone for both) with the registry from
//! `-r URL`, else the `schema.registry.url` property (`-X` or the profile);
//! `schema.registry.basic.auth.user.info` (`user:password`) or
//! `schema.registry.bearer.auth.token` authenticate; `schema.registry.ssl.ca.location` (and
//! the other `ssl.*` settings, prefixed) say whom an https:// registry is trusted by and
//! which client certificate to show. `protobuf:pkg.Message` names the
//! message `produce` encodes (the schema's first message otherwise).
//!
//! Those `schema.registry.*` properties are the registry's: they are not passed to the Kafka
//! client.

use std::sync::Arc;

use anyhow::{bail, Context};
use streamctl_client::ClientConfig;
use streamctl_serdes::{Auth, Codecs, Format, RegistryClient};

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
    // `schema.registry.ssl.*` are the Kafka client's `ssl.*` settings, for the registry.
    let ssl_prefix = format!("{PROPERTY_PREFIX}ssl.");
    let mut tls_settings = ClientConfig::new("");
    let mut any = false;
    for kv in &global.properties {
        let Some((key, value)) = kv.split_once('=') else {
            continue;
        };
        if let Some(setting) = key.trim().strip_prefix(&ssl_prefix) {
            let setting = format!("ssl.{setting}");
            tls_settings
                .set(&setting, value)
                .with_context(|| format!("{PROPERTY_PREFIX}{setting}"))?;
            any = true;
        }
    }
    if any {
        client = client.with_tls(&tls_settings.tls)?;
    }
    Ok(client)
}

/// What -s says of one part of a record: its format, and for Protobuf which message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    format: Format,
    message: Option<String>,
}

/// What -s says of a record's (key, value): `[key=|value=]FORMAT[:MESSAGE]`, each part once.
fn parts(specs: &[String]) -> anyhow::Result<(Option<Spec>, Option<Spec>)> {
    let (mut key, mut value) = (None, None);
    for spec in specs {
        let (part, format) = match spec.split_once('=') {
            Some((part, format)) => (Some(part), format),
            None => (None, spec.as_str()),
        };
        let (format, message) = match format.split_once(':') {
            Some((format, message)) => (format, Some(message.to_string())),
            None => (format, None),
        };
        let format: Format = format.parse().with_context(|| format!("-s {spec}"))?;
        if message.is_some() && format != Format::Protobuf {
            bail!("-s {spec}: only protobuf takes a message name");
        }
        let parsed = Some(Spec { format, message });
        match part {
            Some("key") => key = parsed,
            Some("value") => value = parsed,
            None => (key, value) = (parsed.clone(), parsed),
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
    codecs: Codecs,
    key: Option<(Spec, u32)>,
    value: Option<(Spec, u32)>,
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
        let key = key.filter(|_| keys_given);
        let client = Arc::new(registry_client(global, registry)?);
        let key = match (key, key_id) {
            (None, _) => None,
            (Some(spec), Some(id)) => Some((spec, id)),
            (Some(spec), None) => {
                let id = latest_id(&client, &format!("{topic}-key"), spec.format).await?;
                Some((spec, id))
            }
        };
        let value = match (value, value_id) {
            (None, _) => None,
            (Some(spec), Some(id)) => Some((spec, id)),
            (Some(spec), None) => {
                let id = latest_id(&client, &format!("{topic}-value"), spec.format).await?;
                Some((spec, id))
            }
        };
        Ok(Some(Encoders {
            codecs: Codecs::new(client),
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
        self.encode(self.key.as_ref(), text, "key").await
    }

    /// The value's bytes: encoded from its JSON text when -s names values, else as given.
    pub async fn value(&self, text: &str) -> anyhow::Result<Vec<u8>> {
        self.encode(self.value.as_ref(), text, "value").await
    }

    async fn encode(
        &self,
        with: Option<&(Spec, u32)>,
        text: &str,
        part: &str,
    ) -> anyhow::Result<Vec<u8>> {
        let Some((spec, id)) = with else {
            return Ok(text.as_bytes().to_vec());
        };
        self.codecs
            .encode(spec.format, *id, spec.message.as_deref(), text)
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

/// The id of the latest schema of `subject`, which must be in `format`.
async fn latest_id(client: &RegistryClient, subject: &str, format: Format) -> anyhow::Result<u32> {
    let (version, schema) = client
        .latest(subject)
        .await
        .with_context(|| format!("no schema to encode with: subject {subject}"))?;
    if schema.schema_type != format.schema_type() {
        bail!(
            "subject {subject} version {version} is a {} schema, not {}",
            schema.schema_type,
            format.schema_type()
        );
    }
    Ok(schema.id)
}

/// Which parts of a record are schema-encoded, in which format, and the codecs.
#[derive(Debug)]
pub struct Decoders {
    codecs: Arc<Codecs>,
    key: Option<Format>,
    value: Option<Format>,
}

/// A decoded key or value: its schema id, format and JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub schema_id: u32,
    pub format: Format,
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
            codecs: Arc::new(Codecs::new(Arc::new(client))),
            key: key.map(|s| s.format),
            value: value.map(|s| s.format),
        }))
    }

    /// The decoded key and value (each `None` when not asked for, or null).
    pub async fn decode(
        &self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> anyhow::Result<(Option<Decoded>, Option<Decoded>)> {
        let key = match (key, self.key) {
            (Some(bytes), Some(format)) => Some(self.one(format, bytes).await.context("the key")?),
            _ => None,
        };
        let value = match (value, self.value) {
            (Some(bytes), Some(format)) => {
                Some(self.one(format, bytes).await.context("the value")?)
            }
            _ => None,
        };
        Ok((key, value))
    }

    async fn one(&self, format: Format, bytes: &[u8]) -> anyhow::Result<Decoded> {
        let (schema_id, json) = self.codecs.decode_to_json_text(format, bytes).await?;
        Ok(Decoded {
            schema_id,
            format,
            json,
        })
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

    #[test]
    fn specs_name_a_format_per_part_and_a_protobuf_message() {
        let spec = |format, message: Option<&str>| {
            Some(Spec {
                format,
                message: message.map(str::to_string),
            })
        };
        let given =
            |specs: &[&str]| parts(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            given(&["avro"]).unwrap(),
            (spec(Format::Avro, None), spec(Format::Avro, None))
        );
        assert_eq!(
            given(&["key=json", "value=protobuf:shop.Order"]).unwrap(),
            (
                spec(Format::Json, None),
                spec(Format::Protobuf, Some("shop.Order"))
            )
        );
        assert_eq!(
            given(&["value=PROTO"]).unwrap().1,
            spec(Format::Protobuf, None)
        );
        for bad in ["value=xml", "value=avro:x", "header=avro"] {
            assert!(given(&[bad]).is_err(), "{bad}");
        }
    }
}
