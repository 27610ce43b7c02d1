//! Protobuf in Confluent's framing: after the schema id, the message's place in its file
//! (the message indexes, `wire.rs`), then the message. Decoded to the canonical proto3 JSON
//! mapping (lowerCamelCase names, default values left out, 64-bit integers as strings), as
//! Confluent's console consumer prints it; encoded from that JSON.
//!
//! A schema is one `.proto` file, compiled with the files it imports: its references, by
//! import path, and Google's well-known types, built in.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use prost_reflect::{DynamicMessage, FileDescriptor, MessageDescriptor, ReflectMessage};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value;

use crate::registry::{Compiled, RegistryClient};
use crate::{wire, SerdesError};

/// The name a schema's own file gets (its text does not carry one), as Confluent's.
pub const FILE_NAME: &str = "default";

/// Compiles a schema given as `.proto` text or as the base64 of a `FileDescriptorProto` (as
/// Confluent's serializers register it), with the schemas it imports (`(import path, text)`).
pub fn compile(text: &str, references: &[(String, String)]) -> Result<FileDescriptor, String> {
    let mut sources: HashMap<String, String> = references.iter().cloned().collect();
    sources.insert(FILE_NAME.to_string(), text.to_string());
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources(sources));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler
        .include_imports(true)
        .open_file(FILE_NAME)
        .map_err(|e| e.to_string())?;
    let pool = compiler.descriptor_pool();
    // A map's entry type needs its key and value fields: decoding a map without them would
    // fail deep inside the codec, so such a schema is refused here.
    if let Some(entry) = pool
        .all_messages()
        .find(|m| m.is_map_entry() && (m.get_field(1).is_none() || m.get_field(2).is_none()))
    {
        return Err(format!(
            "{} is a map entry type without its key (1) and value (2) fields",
            entry.full_name()
        ));
    }
    pool.get_file_by_name(FILE_NAME)
        .ok_or_else(|| "the schema's file is missing after compiling".to_string())
}

/// The base64 of `file`'s encoded descriptor, custom options included (what
/// `?format=serialized` answers).
pub fn serialized(file: &FileDescriptor) -> String {
    base64::engine::general_purpose::STANDARD.encode(file.encode_to_vec())
}

/// Serves a schema and its references to the compiler by name.
struct Sources(HashMap<String, String>);

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let Some(text) = self.0.get(name) else {
            return Err(protox::Error::file_not_found(name));
        };
        source(name, text)
            .map_err(|e| protox::Error::new(std::io::Error::other(format!("{name}: {e}"))))
    }
}

/// `.proto` text, or a base64 `FileDescriptorProto`.
fn source(name: &str, text: &str) -> Result<File, String> {
    let parse_error = match File::from_source(name, text) {
        Ok(file) => return Ok(file),
        Err(e) => e.to_string(),
    };
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| parse_error.clone())?;
    // Renamed by appending field 1 (`name`): the last value of a field wins, and the bytes
    // stay whole, so custom options survive.
    bytes.push(0x0a);
    prost_reflect::prost::encoding::encode_varint(name.len() as u64, &mut bytes);
    bytes.extend_from_slice(name.as_bytes());
    File::decode_file_descriptor_proto(bytes.as_slice()).map_err(|_| parse_error)
}

/// The message at `indexes` in `file`: top-level message, then nested ones.
pub fn message_at(file: &FileDescriptor, indexes: &[i64]) -> Option<MessageDescriptor> {
    let (first, rest) = indexes.split_first()?;
    let mut message = file.messages().nth(usize::try_from(*first).ok()?)?;
    for i in rest {
        let child = message.child_messages().nth(usize::try_from(*i).ok()?)?;
        message = child;
    }
    Some(message)
}

/// The indexes that place `message` in its file.
pub fn indexes_of(message: &MessageDescriptor) -> Vec<i64> {
    let mut path = Vec::new();
    let mut current = message.clone();
    loop {
        let siblings: Vec<MessageDescriptor> = match current.parent_message() {
            Some(parent) => parent.child_messages().collect(),
            None => current.parent_file().messages().collect(),
        };
        let at = siblings
            .iter()
            .position(|m| m.full_name() == current.full_name())
            .unwrap_or(0);
        path.push(at as i64);
        match current.parent_message() {
            Some(parent) => current = parent,
            None => break,
        }
    }
    path.reverse();
    path
}

/// Protobuf encoding and decoding through a registry.
#[derive(Debug)]
pub struct ProtobufCodec {
    registry: Arc<RegistryClient>,
    files: Compiled<FileDescriptor>,
}

impl ProtobufCodec {
    /// A codec fetching schemas from `registry`.
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        Self {
            registry,
            files: Compiled::new(),
        }
    }

    /// The schema id, the message's full name and its JSON.
    pub async fn decode(&self, bytes: &[u8]) -> Result<(u32, String, Value), SerdesError> {
        let (id, message) = self.decode_message(bytes).await?;
        let json = serde_json::to_value(&message)
            .map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, message.descriptor().full_name().to_string(), json))
    }

    /// The schema id and the message as JSON text.
    pub async fn decode_to_json_text(&self, bytes: &[u8]) -> Result<(u32, String), SerdesError> {
        let (id, message) = self.decode_message(bytes).await?;
        let text = serde_json::to_string(&message)
            .map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, text))
    }

    async fn decode_message(&self, bytes: &[u8]) -> Result<(u32, DynamicMessage), SerdesError> {
        let (id, payload) = wire::unframe(bytes)?;
        let (indexes, payload) = wire::decode_indexes(payload)?;
        let file = self.file(id).await?;
        let descriptor = message_at(&file, &indexes).ok_or_else(|| {
            SerdesError::Decode(format!("schema {id} has no message at indexes {indexes:?}"))
        })?;
        let message = DynamicMessage::decode(descriptor.clone(), payload).map_err(|e| {
            SerdesError::Decode(format!(
                "not a {} of schema {id}: {e}",
                descriptor.full_name()
            ))
        })?;
        Ok((id, message))
    }

    /// `json` encoded as the message `message` names (full name; `None`: the file's first),
    /// with the schema `id` names, framed.
    pub async fn encode(
        &self,
        id: u32,
        message: Option<&str>,
        json: &Value,
    ) -> Result<Vec<u8>, SerdesError> {
        let file = self.file(id).await?;
        let descriptor = match message {
            Some(name) => file
                .parent_pool()
                .get_message_by_name(name.trim_start_matches('.'))
                .filter(|m| m.parent_file().name() == file.name()),
            None => file.messages().next(),
        }
        .ok_or_else(|| {
            SerdesError::Encode(format!(
                "schema {id} has no message {}",
                message.unwrap_or("at all")
            ))
        })?;
        let value = DynamicMessage::deserialize(descriptor.clone(), json).map_err(|e| {
            SerdesError::Encode(format!(
                "not a {} of schema {id}: {e}",
                descriptor.full_name()
            ))
        })?;
        let mut payload = wire::encode_indexes(&indexes_of(&descriptor));
        prost_reflect::prost::Message::encode(&value, &mut payload)
            .map_err(|e| SerdesError::Encode(e.to_string()))?;
        Ok(wire::frame(id, &payload))
    }

    /// The compiled schema `id` names, with its imports.
    async fn file(&self, id: u32) -> Result<FileDescriptor, SerdesError> {
        self.files
            .get(&self.registry, id, "PROTOBUF", compile)
            .await
    }
}
