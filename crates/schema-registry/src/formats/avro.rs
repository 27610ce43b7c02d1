//! Avro: parsing, the stored form, and the specification's reader/writer resolution.

use apache_avro::error::CompatibilityError;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;

use super::Referenced;
use crate::error::RegistryError;

/// Parses `text` with the schemas it references; the canonical text is apache-avro's
/// compact rendering, so the same schema written differently is stored once.
pub(super) fn parse(
    text: &str,
    references: &[Referenced],
) -> Result<(Schema, String), RegistryError> {
    let schema = if references.is_empty() {
        Schema::parse_str(text)
    } else {
        let texts: Vec<&str> = references.iter().map(|r| r.text.as_str()).collect();
        Schema::parse_str_with_list(text, &texts).map(|(schema, _)| schema)
    }
    .map_err(|e| RegistryError::invalid_schema(format!("{e}")))?;
    let canonical = serde_json::to_string(&schema)
        .map_err(|e| RegistryError::invalid_schema(format!("{e}")))?;
    Ok((schema, canonical))
}

/// Whether `reader` reads what `writer` wrote; the messages say why not.
pub(super) fn can_read(
    reader: &Schema,
    writer: &Schema,
    reader_is: &str,
    writer_is: &str,
) -> Vec<String> {
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
