//! Avro in Confluent's framing: a value decoded with the schema its id names (fetched from
//! the registry once), as JSON; JSON encoded against a subject's schema.
//!
//! The JSON is the natural one: records are objects, a union holds its branch's value (no
//! `{"string": …}` wrapper), bytes and fixed are arrays of numbers, enums their symbol.

use std::sync::Arc;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AvroValue;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use serde_json::Value;

use crate::registry::{Compiled, RegistryClient};
use crate::{wire, SerdesError};

/// Avro encoding and decoding through a registry.
#[derive(Debug)]
pub struct AvroCodec {
    registry: Arc<RegistryClient>,
    parsed: Compiled<Arc<Schema>>,
}

impl AvroCodec {
    /// A codec fetching schemas from `registry`.
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        Self {
            registry,
            parsed: Compiled::new(),
        }
    }

    /// The schema id and the value of a framed Avro datum.
    pub async fn decode(&self, bytes: &[u8]) -> Result<(u32, Value), SerdesError> {
        let (id, value) = self.decode_avro(bytes).await?;
        let json =
            Value::try_from(value).map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, json))
    }

    /// The schema id and the value of a framed Avro datum as JSON text, written straight
    /// from the datum: record fields in the schema's order, no JSON tree built on the way.
    pub async fn decode_to_json_text(&self, bytes: &[u8]) -> Result<(u32, String), SerdesError> {
        let (id, value) = self.decode_avro(bytes).await?;
        let mut out = String::with_capacity(bytes.len() * 2);
        write_json(&value, &mut out)
            .map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, out))
    }

    async fn decode_avro(&self, bytes: &[u8]) -> Result<(u32, AvroValue), SerdesError> {
        let (id, mut payload) = wire::unframe(bytes)?;
        let schema = self.parsed(id).await?;
        let reader = GenericDatumReader::builder(&schema)
            .build()
            .map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        let value = reader
            .read_value(&mut payload)
            .map_err(|e| SerdesError::Decode(format!("not a datum of schema {id}: {e}")))?;
        if !payload.is_empty() {
            return Err(SerdesError::Decode(format!(
                "{} bytes left after a datum of schema {id}",
                payload.len()
            )));
        }
        Ok((id, value))
    }

    /// `json` encoded with the schema `id` names, framed.
    pub async fn encode(&self, id: u32, json: &Value) -> Result<Vec<u8>, SerdesError> {
        let schema = self.parsed(id).await?;
        let value = AvroValue::try_from(json.clone())
            .map_err(|e| SerdesError::Encode(format!("not an Avro value: {e}")))?
            .resolve(&schema)
            .map_err(|e| SerdesError::Encode(format!("does not match schema {id}: {e}")))?;
        let writer = GenericDatumWriter::builder(&schema)
            .build()
            .map_err(|e| SerdesError::Encode(format!("schema {id}: {e}")))?;
        let datum = writer
            .write_value_to_vec(value)
            .map_err(|e| SerdesError::Encode(format!("schema {id}: {e}")))?;
        Ok(wire::frame(id, &datum))
    }

    /// The parsed schema of `id`, with the schemas it references.
    async fn parsed(&self, id: u32) -> Result<Arc<Schema>, SerdesError> {
        let parse = |text: &str, references: &[(String, String)]| {
            let texts: Vec<&str> = references.iter().map(|(_, t)| t.as_str()).collect();
            if texts.is_empty() {
                Schema::parse_str(text)
            } else {
                Schema::parse_str_with_list(text, &texts).map(|(s, _)| s)
            }
            .map(Arc::new)
            .map_err(|e| e.to_string())
        };
        self.parsed.get(&self.registry, id, "AVRO", parse).await
    }
}

/// Writes `value` as JSON: the same JSON [`AvroCodec::decode`] gives, with record fields in
/// schema order (and map entries sorted, so output is stable).
fn write_json(value: &AvroValue, out: &mut String) -> Result<(), String> {
    use std::fmt::Write;
    let number = |out: &mut String, n: f64| {
        if n.is_finite() {
            let _ = write!(out, "{n:?}");
        } else {
            out.push_str("null");
        }
    };
    match value {
        AvroValue::Null => out.push_str("null"),
        AvroValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        AvroValue::Int(n) | AvroValue::Date(n) | AvroValue::TimeMillis(n) => {
            let _ = write!(out, "{n}");
        }
        AvroValue::Long(n)
        | AvroValue::TimeMicros(n)
        | AvroValue::TimestampMillis(n)
        | AvroValue::TimestampMicros(n)
        | AvroValue::TimestampNanos(n)
        | AvroValue::LocalTimestampMillis(n)
        | AvroValue::LocalTimestampMicros(n)
        | AvroValue::LocalTimestampNanos(n) => {
            let _ = write!(out, "{n}");
        }
        AvroValue::Float(n) => number(out, f64::from(*n)),
        AvroValue::Double(n) => number(out, *n),
        AvroValue::String(s) | AvroValue::Enum(_, s) => write_string(s, out),
        AvroValue::Union(_, inner) => write_json(inner, out)?,
        AvroValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        AvroValue::Map(entries) => {
            let mut sorted: Vec<_> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            write_object(sorted.into_iter(), out)?;
        }
        AvroValue::Record(fields) => write_object(fields.iter().map(|(k, v)| (k, v)), out)?,
        // Bytes, fixed, decimals, durations, UUIDs: as the JSON conversion writes them.
        other => {
            let json = Value::try_from(other.clone()).map_err(|e| e.to_string())?;
            out.push_str(&json.to_string());
        }
    }
    Ok(())
}

fn write_object<'a>(
    fields: impl Iterator<Item = (&'a String, &'a AvroValue)>,
    out: &mut String,
) -> Result<(), String> {
    out.push('{');
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(name, out);
        out.push(':');
        write_json(value, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's escaping.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}
