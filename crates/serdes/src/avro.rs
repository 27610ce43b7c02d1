//! Avro in Confluent's framing: a value decoded with the schema its id names (fetched from
//! the registry once), as JSON; JSON encoded against a subject's schema.
//!
//! The JSON is the natural one: records are objects, a union holds its branch's value (no
//! `{"string": …}` wrapper), bytes and fixed are arrays of numbers, enums their symbol.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AvroValue;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use serde_json::Value;

use crate::registry::{RegisteredSchema, RegistryClient};
use crate::{wire, SerdesError};

/// Avro encoding and decoding through a registry.
#[derive(Debug)]
pub struct AvroCodec {
    registry: Arc<RegistryClient>,
    parsed: Mutex<HashMap<u32, Arc<Schema>>>,
}

impl AvroCodec {
    /// A codec fetching schemas from `registry`.
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        Self {
            registry,
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// The schema id and the value of a framed Avro datum.
    pub async fn decode(&self, bytes: &[u8]) -> Result<(u32, Value), SerdesError> {
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
        let json =
            Value::try_from(value).map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, json))
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
        if let Some(found) = self
            .parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(found.clone());
        }
        let registered = self.registry.schema(id).await?;
        if registered.schema_type != "AVRO" {
            return Err(SerdesError::Decode(format!(
                "schema {id} is {}, not AVRO",
                registered.schema_type
            )));
        }
        let referenced = self.referenced(&registered).await?;
        let schema = if referenced.is_empty() {
            Schema::parse_str(&registered.schema)
        } else {
            Schema::parse_str_with_list(&registered.schema, &referenced).map(|(s, _)| s)
        }
        .map_err(|e| SerdesError::Decode(format!("schema {id} does not parse: {e}")))?;
        let schema = Arc::new(schema);
        self.parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, schema.clone());
        Ok(schema)
    }

    /// The texts of every schema `schema` refers to, directly or not, dependencies first.
    async fn referenced(&self, schema: &RegisteredSchema) -> Result<Vec<String>, SerdesError> {
        let mut texts = Vec::new();
        let mut pending: Vec<_> = schema.references.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = pending.pop() {
            if !seen.insert((r.subject.clone(), r.version)) {
                continue;
            }
            let (_, found) = self
                .registry
                .version(&r.subject, &r.version.to_string())
                .await?;
            pending.extend(found.references.iter().cloned());
            texts.insert(0, found.schema.clone());
        }
        Ok(texts)
    }
}
