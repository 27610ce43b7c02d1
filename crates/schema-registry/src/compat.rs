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
//! Avro uses the specification's reader/writer resolution (apache-avro's checker): a reader
//! field missing from the writer needs a default, types may only be promoted (int → long →
//! float → double, string ↔ bytes), a writer's enum symbols and union branches must all be
//! readable. JSON Schema and Protobuf are not served yet: registering one is refused with a
//! clear error rather than stored unchecked.

use apache_avro::error::CompatibilityError;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;

use crate::error::RegistryError;
use crate::Level;

/// A parsed schema.
#[derive(Debug, Clone)]
pub(crate) enum Parsed {
    Avro(Schema),
}

/// The schema types this registry serves (`GET /schemas/types`).
pub(crate) const TYPES: &[&str] = &["AVRO"];

/// Parses `text` as `schema_type` (with the texts of the schemas it references), and
/// returns it with its canonical text: what is stored, and what a registration of the same
/// schema, however written, matches.
pub(crate) fn parse(
    schema_type: &str,
    text: &str,
    references: &[String],
) -> Result<(Parsed, String), RegistryError> {
    match schema_type {
        "AVRO" => {
            let schema = if references.is_empty() {
                Schema::parse_str(text)
            } else {
                Schema::parse_str_with_list(text, references).map(|(schema, _)| schema)
            }
            .map_err(|e| RegistryError::invalid_schema(format!("{e}")))?;
            let canonical = serde_json::to_string(&schema)
                .map_err(|e| RegistryError::invalid_schema(format!("{e}")))?;
            Ok((Parsed::Avro(schema), canonical))
        }
        "JSON" | "PROTOBUF" => Err(RegistryError::invalid_schema(format!(
            "schemaType {schema_type} is not served by this registry yet (AVRO is)"
        ))),
        other => Err(RegistryError::invalid_schema(format!(
            "unknown schemaType {other} (AVRO, JSON or PROTOBUF)"
        ))),
    }
}

/// Why `new` may not follow `previous` (newest first, with their version numbers) under
/// `level`: Confluent's message list, empty when it may.
pub(crate) fn violations(level: Level, new: &Parsed, previous: &[(i32, Parsed)]) -> Vec<String> {
    let against: &[(i32, Parsed)] = match level {
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
    let (Parsed::Avro(reader), Parsed::Avro(writer)) = (reader, writer);
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Vec::new(),
        // Resolution may fail for some data (a symbol or branch the reader lacks): Confluent
        // counts that as incompatible.
        Ok(Compatibility::Partial) => vec![format!(
            "{{errorType:'MISSING_UNION_BRANCH_OR_ENUM_SYMBOLS', description:'The {reader_is} schema cannot read every value of the {writer_is} schema: an enum symbol or union branch of the {writer_is} schema is missing'}}"
        )],
        Err(e) => vec![format!(
            "{{errorType:'{}', description:'The {reader_is} schema cannot read data written with the {writer_is} schema', additionalInfo:'{e}'}}",
            error_type(&e)
        )],
    }
}

/// Confluent's name for the kind of incompatibility.
fn error_type(e: &CompatibilityError) -> &'static str {
    match e {
        CompatibilityError::FieldTypeMismatch(_, inner) => error_type(inner),
        CompatibilityError::MissingDefaultValue(_) => "READER_FIELD_MISSING_DEFAULT_VALUE",
        CompatibilityError::MissingSymbols => "MISSING_ENUM_SYMBOLS",
        CompatibilityError::MissingUnionElements
        | CompatibilityError::SchemaMismatchAllUnionElements => "MISSING_UNION_BRANCH",
        CompatibilityError::FixedMismatch => "FIXED_SIZE_MISMATCH",
        CompatibilityError::NameMismatch { .. } => "NAME_MISMATCH",
        _ => "TYPE_MISMATCH",
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
        assert_eq!(
            parse("PROTOBUF", "syntax = \"proto3\";", &[])
                .unwrap_err()
                .code,
            42201
        );
    }
}
