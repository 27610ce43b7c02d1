//! Avro: parsing, the stored form, and reader/writer resolution (`compat.rs`).

mod compat;

use apache_avro::Schema;

use super::Referenced;
use crate::error::RegistryError;

/// A parsed Avro schema with the schemas its references brought in (their named types are
/// what `Schema::Ref`s in it name).
#[derive(Debug, Clone)]
pub(crate) struct AvroSchema {
    schema: Schema,
    referenced: Vec<Schema>,
}

/// Parses `text` with the schemas it references; the canonical text is apache-avro's
/// compact rendering, so the same schema written differently is stored once.
pub(super) fn parse(
    text: &str,
    references: &[Referenced],
) -> Result<(AvroSchema, String), RegistryError> {
    let (schema, referenced) = if references.is_empty() {
        (
            Schema::parse_str(text).map_err(RegistryError::invalid_schema)?,
            Vec::new(),
        )
    } else {
        let texts: Vec<&str> = references.iter().map(|r| r.text.as_str()).collect();
        Schema::parse_str_with_list(text, &texts).map_err(RegistryError::invalid_schema)?
    };
    let canonical = serde_json::to_string(&schema).map_err(RegistryError::invalid_schema)?;
    Ok((AvroSchema { schema, referenced }, canonical))
}

/// Why `reader` cannot read what `writer` wrote, in Confluent's words (empty: it can).
pub(super) fn can_read(
    reader: &AvroSchema,
    writer: &AvroSchema,
    reader_is: &str,
    writer_is: &str,
) -> Vec<String> {
    compat::incompatibilities(reader, writer)
        .into_iter()
        .map(|i| {
            let at = &i.location;
            let description = match i.kind {
                "READER_FIELD_MISSING_DEFAULT_VALUE" => format!(
                    "The field '{}' at path '{at}' in the {reader_is} schema has no default value and is missing in the {writer_is} schema",
                    i.message
                ),
                "MISSING_ENUM_SYMBOLS" => format!(
                    "The {reader_is} schema is missing enum symbols '{}' at path '{at}' in the {writer_is} schema",
                    i.message
                ),
                "MISSING_UNION_BRANCH" => format!(
                    "The {reader_is} schema is missing a type inside a union field at path '{at}' in the {writer_is} schema"
                ),
                "NAME_MISMATCH" => {
                    format!("The name of the schema has changed (path '{at}')")
                }
                "FIXED_SIZE_MISMATCH" => format!(
                    "The size of FIXED type field at path '{at}' in the {reader_is} schema does not match with the {writer_is} schema"
                ),
                _ => format!(
                    "The type (path '{at}') of a field in the {reader_is} schema does not match with the {writer_is} schema"
                ),
            };
            format!(
                "{{errorType:'{}', description:'{description}', additionalInfo:'{}'}}",
                i.kind, i.message
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
