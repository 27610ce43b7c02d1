//! The three codecs over one registry, chosen by format: what a command line or a live tail
//! needs when the format is named (`-s value=protobuf`) or found from the schema's type.

use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

use crate::{wire, AvroCodec, JsonCodec, ProtobufCodec, RegistryClient, SerdesError};

/// A schema format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Avro (`AVRO` in the registry).
    Avro,
    /// Protobuf (`PROTOBUF`).
    Protobuf,
    /// JSON Schema (`JSON`).
    Json,
}

impl Format {
    /// Its schema type in the registry.
    pub fn schema_type(self) -> &'static str {
        match self {
            Format::Avro => "AVRO",
            Format::Protobuf => "PROTOBUF",
            Format::Json => "JSON",
        }
    }

    /// The format of a registry schema type.
    pub fn of_schema_type(schema_type: &str) -> Option<Format> {
        [Format::Avro, Format::Protobuf, Format::Json]
            .into_iter()
            .find(|f| f.schema_type().eq_ignore_ascii_case(schema_type))
    }
}

impl FromStr for Format {
    type Err = SerdesError;

    /// `avro`, `protobuf` (or `proto`), `json` (or `jsonschema`), any case.
    fn from_str(s: &str) -> Result<Format, SerdesError> {
        match s.to_ascii_lowercase().as_str() {
            "avro" => Ok(Format::Avro),
            "protobuf" | "proto" => Ok(Format::Protobuf),
            "json" | "jsonschema" => Ok(Format::Json),
            other => Err(SerdesError::Config(format!(
                "{other} is not a schema format (avro, protobuf or json)"
            ))),
        }
    }
}

/// Avro, Protobuf and JSON Schema codecs sharing one registry client and its caches.
#[derive(Debug)]
pub struct Codecs {
    registry: Arc<RegistryClient>,
    avro: AvroCodec,
    protobuf: ProtobufCodec,
    json: JsonCodec,
}

impl Codecs {
    /// Codecs fetching schemas from `registry`.
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        Self {
            avro: AvroCodec::new(registry.clone()),
            protobuf: ProtobufCodec::new(registry.clone()),
            json: JsonCodec::new(registry.clone()),
            registry,
        }
    }

    /// The registry client.
    pub fn registry(&self) -> &Arc<RegistryClient> {
        &self.registry
    }

    /// The schema id and JSON text of framed bytes in `format`; bytes whose schema is of
    /// another type do not decode.
    pub async fn decode_to_json_text(
        &self,
        format: Format,
        bytes: &[u8],
    ) -> Result<(u32, String), SerdesError> {
        match format {
            Format::Avro => self.avro.decode_to_json_text(bytes).await,
            Format::Protobuf => self.protobuf.decode_to_json_text(bytes).await,
            Format::Json => self.json.decode_to_json_text(bytes).await,
        }
    }

    /// The schema id and JSON text of framed bytes, in the format their schema has.
    pub async fn decode_any(&self, bytes: &[u8]) -> Result<(u32, String), SerdesError> {
        let (id, _) = wire::unframe(bytes)?;
        let schema = self.registry.schema(id).await?;
        let format = Format::of_schema_type(&schema.schema_type).ok_or_else(|| {
            SerdesError::Decode(format!(
                "schema {id} is of type {}, which is not served",
                schema.schema_type
            ))
        })?;
        self.decode_to_json_text(format, bytes).await
    }

    /// JSON `text` encoded in `format` with schema `id`, framed. `message` picks a Protobuf
    /// message by full name (`None`: the file's first); other formats ignore it.
    pub async fn encode(
        &self,
        format: Format,
        id: u32,
        message: Option<&str>,
        text: &str,
    ) -> Result<Vec<u8>, SerdesError> {
        let json = || -> Result<Value, SerdesError> {
            serde_json::from_str(text).map_err(|e| SerdesError::Encode(format!("not JSON: {e}")))
        };
        match format {
            Format::Avro => self.avro.encode(id, &json()?).await,
            Format::Protobuf => self.protobuf.encode(id, message, &json()?).await,
            Format::Json => self.json.encode(id, text).await,
        }
    }
}
