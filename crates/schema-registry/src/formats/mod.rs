//! Schemas by type and the compatibility rules between their versions.
//!
//! ```text
//!  level       new schema must …                         checked against
//!  BACKWARD    read data written with the old one         the latest live version
//!  FORWARD     be readable by the old one                 the latest live version
//!  FULL        both                                       the latest live version
//!  *_TRANSITIVE  the same                                 every live version, newest first
//!  NONE        nothing
//! ```
//!
//! Each type says what "reads" means:
//! - Avro (`avro/compat.rs`): the specification's reader/writer resolution, as Avro's Java
//!   `SchemaCompatibility` checks it.
//! - JSON Schema (`json.rs`): every document the writer's schema accepts, the reader's accepts.
//! - Protobuf (`protobuf.rs`): fields matched by number keep a wire-compatible type.

mod avro;
mod json;
mod protobuf;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::RegistryError;
use crate::Level;

/// A parsed schema.
#[derive(Debug, Clone)]
pub(crate) enum Parsed {
    Avro(avro::AvroSchema),
    Json(json::JsonSchema),
    Protobuf(protobuf::ProtoFile),
}

/// The schema types this registry serves (`GET /schemas/types`).
pub(crate) const TYPES: &[&str] = &["JSON", "PROTOBUF", "AVRO"];

/// A schema another one references, by the name it is referenced with (an Avro schema's
/// texts only; a JSON Schema's `$ref`; a Protobuf file's import path).
#[derive(Debug, Clone)]
pub(crate) struct Referenced {
    pub name: String,
    pub schema_type: String,
    pub text: String,
}

/// Parses `text` as `schema_type` (with the schemas it references, dependencies first), and
/// returns it with its canonical text: what is stored, and what a registration of the same
/// schema, however written, matches.
pub(crate) fn parse(
    schema_type: &str,
    text: &str,
    references: &[Referenced],
) -> Result<(Parsed, String), RegistryError> {
    match schema_type {
        "AVRO" => avro::parse(text, references).map(|(s, c)| (Parsed::Avro(s), c)),
        "JSON" => json::parse(text, references).map(|(s, c)| (Parsed::Json(s), c)),
        "PROTOBUF" => protobuf::parse(text, references).map(|(s, c)| (Parsed::Protobuf(s), c)),
        other => Err(RegistryError::invalid_schema(format!(
            "unknown schemaType {other} (AVRO, JSON or PROTOBUF)"
        ))),
    }
}

/// Which live versions a check at `level` compares against, newest first: none, the
/// latest, or all.
pub(crate) fn versions_checked(level: Level) -> Option<usize> {
    match level {
        Level::None => Some(0),
        Level::Backward | Level::Forward | Level::Full => Some(1),
        _ => None,
    }
}

/// Parsed schemas by id. An id names one schema for good, so each is parsed once, not
/// once per check.
#[derive(Debug, Default)]
pub(crate) struct ParsedCache(Mutex<HashMap<u32, Arc<Parsed>>>);

impl ParsedCache {
    pub(crate) fn get_or_parse(
        &self,
        id: u32,
        parse: impl FnOnce() -> Result<Parsed, RegistryError>,
    ) -> Result<Arc<Parsed>, RegistryError> {
        if let Some(found) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(found.clone());
        }
        let parsed = Arc::new(parse()?);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, parsed.clone());
        Ok(parsed)
    }
}

/// The schema's text in a requested `format`: `serialized` gives a Protobuf schema as the
/// base64 of its file descriptor (what Confluent's Protobuf deserializers ask for); any
/// other format, or type, is the stored text.
pub(crate) fn render(parsed: &Parsed, text: &str, format: &str) -> String {
    match parsed {
        Parsed::Protobuf(file) if format.eq_ignore_ascii_case("serialized") => file.serialized(),
        _ => text.to_string(),
    }
}

/// Why `new` may not follow `previous` (newest first, with their version numbers) under
/// `level`: Confluent's message list, empty when it may.
pub(crate) fn violations<P: Borrow<Parsed>>(
    level: Level,
    new: &Parsed,
    previous: &[(i32, P)],
) -> Vec<String> {
    let against: &[(i32, P)] = match level {
        Level::None => &[],
        Level::Backward | Level::Forward | Level::Full => previous.get(..1).unwrap_or(&[]),
        _ => previous,
    };
    let (backward, forward) = match level {
        Level::Backward | Level::BackwardTransitive => (true, false),
        Level::Forward | Level::ForwardTransitive => (false, true),
        Level::Full | Level::FullTransitive => (true, true),
        Level::None => (false, false),
    };
    for (version, old) in against {
        let old: &Parsed = old.borrow();
        let mut messages = Vec::new();
        if backward {
            messages.extend(can_read(new, old, "new", "old"));
        }
        if forward {
            messages.extend(can_read(old, new, "old", "new"));
        }
        if !messages.is_empty() {
            messages.push(format!("{{oldSchemaVersion: {version}}}"));
            messages.push(format!("{{compatibility: '{}'}}", level.as_str()));
            return messages;
        }
    }
    Vec::new()
}

/// Whether `reader` reads what `writer` wrote; the messages say why not.
fn can_read(reader: &Parsed, writer: &Parsed, reader_is: &str, writer_is: &str) -> Vec<String> {
    match (reader, writer) {
        (Parsed::Avro(r), Parsed::Avro(w)) => avro::can_read(r, w, reader_is, writer_is),
        (Parsed::Json(r), Parsed::Json(w)) => json::can_read(r, w, reader_is, writer_is),
        (Parsed::Protobuf(r), Parsed::Protobuf(w)) => {
            protobuf::can_read(r, w, reader_is, writer_is)
        }
        _ => vec!["Incompatible because of different schema type".to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> Parsed {
        parse("AVRO", text, &[]).unwrap().0
    }

    const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"}]}"#;

    /// (level, new schema, compatible with V1?)
    const CASES: &[(Level, &str, bool)] = &[
        // A field added with a default: old data gets the default; old readers skip it.
        (
            Level::Backward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string","default":""}]}"#,
            true,
        ),
        (
            Level::Full,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string","default":""}]}"#,
            true,
        ),
        // Without a default, the new reader cannot fill it from old data.
        (
            Level::Backward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string"}]}"#,
            false,
        ),
        (
            Level::Forward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string"}]}"#,
            true,
        ),
        // A field removed that had no default: old readers cannot fill it.
        (
            Level::Backward,
            r#"{"type":"record","name":"User","fields":[]}"#,
            true,
        ),
        (
            Level::Forward,
            r#"{"type":"record","name":"User","fields":[]}"#,
            false,
        ),
        // int → long is a promotion for a reader, not back.
        (
            Level::Backward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}"#,
            true,
        ),
        (
            Level::Forward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}"#,
            false,
        ),
        (
            Level::Backward,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}"#,
            false,
        ),
        (
            Level::None,
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}"#,
            true,
        ),
    ];

    #[test]
    fn evolutions_are_judged_as_confluent_documents_them() {
        let old = avro(V1);
        for (level, new, ok) in CASES {
            let messages = violations(*level, &avro(new), &[(1, old.clone())]);
            assert_eq!(messages.is_empty(), *ok, "{level:?} {new}: {messages:?}");
        }
    }

    #[test]
    fn transitive_levels_check_every_version_and_plain_ones_the_latest() {
        let v1 = avro(V1);
        let v2 = avro(
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string","default":""}]}"#,
        );
        // Drops n's default: fine against v1 (no n there), not against v2's data… it is
        // read backward: v3 reads v2 data (has n) and v1 data (lacks n, no default).
        let v3 = avro(
            r#"{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"n","type":"string"}]}"#,
        );
        let previous = [(2, v2), (1, v1)];
        assert!(violations(Level::Backward, &v3, &previous).is_empty());
        let messages = violations(Level::BackwardTransitive, &v3, &previous);
        assert!(
            messages
                .iter()
                .any(|m| m.contains("READER_FIELD_MISSING_DEFAULT_VALUE")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("oldSchemaVersion: 1")),
            "{messages:?}"
        );
    }

    #[test]
    fn the_same_schema_written_differently_has_one_canonical_text() {
        let (_, a) = parse("AVRO", r#"{"type": "string"}"#, &[]).unwrap();
        let (_, b) = parse("AVRO", r#""string""#, &[]).unwrap();
        assert_eq!(a, b);
        assert_eq!(parse("AVRO", "{not json", &[]).unwrap_err().code, 42201);
        assert_eq!(parse("PROTOBUF", "message {", &[]).unwrap_err().code, 42201);
        assert_eq!(parse("JSON", "{\"type\": 5}", &[]).unwrap_err().code, 42201);
        assert_eq!(parse("XML", "<a/>", &[]).unwrap_err().code, 42201);
    }
}
