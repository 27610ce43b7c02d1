//! Schema-encoded records as Confluent's serializers write them (magic byte, schema id,
//! encoded value), with a schema registry client: decode a record whatever schema version
//! wrote it, encode JSON against a subject's schema.
//!
//! ```text
//!  RegistryClient (registry.rs)  GET /schemas/ids/{id}, …/versions/latest, POST …/versions
//!        ▲                        every id fetched once
//!  AvroCodec (avro.rs)           framed bytes ⇄ (schema id, JSON)
//!  ProtobufCodec (protobuf.rs)   framed bytes ⇄ (schema id, message, JSON)
//!  JsonCodec (json.rs)           framed bytes ⇄ (schema id, JSON), checked against the schema
//!  wire.rs                       the framing, Protobuf's message indexes
//!  Codecs (codecs.rs)            the three by format, named or found from the schema's type
//! ```
//!
//! Registries are reached over http:// with basic or bearer authentication; TLS to the
//! registry is still to come.

mod avro;
mod codecs;
pub mod json;
pub mod protobuf;
mod registry;
pub mod wire;

pub use avro::AvroCodec;
pub use codecs::{Codecs, Format};
pub use json::JsonCodec;
pub use protobuf::ProtobufCodec;
pub use registry::{Auth, Reference, RegisteredSchema, RegistryClient};

/// The subject a record's schema is registered under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (the default).
    #[default]
    Topic,
    /// The record type's full name.
    Record,
    /// `<topic>-<record full name>`.
    TopicRecord,
}

impl SubjectNameStrategy {
    /// The subject for a key (`is_key`) or value of `topic` whose schema names `record`.
    pub fn subject(self, topic: &str, is_key: bool, record: &str) -> String {
        match self {
            SubjectNameStrategy::Topic => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::Record => record.to_string(),
            SubjectNameStrategy::TopicRecord => format!("{topic}-{record}"),
        }
    }
}

/// What went wrong encoding, decoding or asking the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerdesError {
    /// The bytes are not in Confluent's framing.
    #[error("not schema-encoded: {0}")]
    NotFramed(String),
    /// The registry answered with an error.
    #[error("the schema registry refused: {message} (HTTP {status}, error code {code})")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The registry's error code (40403: unknown schema id).
        code: i64,
        /// Its message.
        message: String,
    },
    /// No registry URL answered.
    #[error("the schema registry cannot be reached: {0}")]
    Unreachable(String),
    /// The registry answered something unexpected.
    #[error("the schema registry: {0}")]
    Registry(String),
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// The payload does not decode with its schema.
    #[error("{0}")]
    Decode(String),
    /// The value does not encode with the schema.
    #[error("{0}")]
    Encode(String),
}
