//! JSON Schema: parsing, the stored form, and when one schema's documents satisfy another.
//!
//! "The reader reads what the writer wrote" means: every document the writer's schema
//! accepts, the reader's accepts too. Checked keyword by keyword, as Confluent's rules do:
//! - a reader may widen (a type added, `integer` → `number`, a bound relaxed or dropped, an
//!   enum extended, a branch added to `anyOf`/`oneOf`, a requirement dropped), never narrow;
//! - a property the writer's schema does not name could hold anything when the writer's
//!   object is open (`additionalProperties` absent or true), so the reader may add a
//!   property only to a closed writer, or one that accepts anything;
//! - a property the reader drops is fine while the reader stays open, not when it is closed;
//! - a new requirement needs a default.
//!
//! `$ref` is followed within the document and into referenced schemas (by the reference's
//! name); a keyword this check does not model must be unchanged.

use std::collections::HashMap;

use serde_json::Value;

use super::Referenced;
use crate::error::RegistryError;

/// A parsed JSON Schema with the documents it references.
#[derive(Debug, Clone)]
pub(crate) struct JsonSchema {
    root: Value,
    /// Referenced documents by the name they are referenced with.
    documents: HashMap<String, Value>,
}

/// Parses and validates `text` (against its draft's meta-schema, with every `$ref`
/// resolvable); the canonical text is the document without insignificant whitespace, its
/// key order kept.
pub(super) fn parse(
    text: &str,
    references: &[Referenced],
) -> Result<(JsonSchema, String), RegistryError> {
    let mut documents = HashMap::new();
    let mut texts = Vec::with_capacity(references.len());
    for r in references {
        if r.schema_type != "JSON" {
            return Err(RegistryError::invalid_schema(format!(
                "reference {} is a {} schema, not JSON",
                r.name, r.schema_type
            )));
        }
        let document: Value =
            serde_json::from_str(&r.text).map_err(RegistryError::invalid_schema)?;
        documents.insert(r.name.clone(), document);
        texts.push((r.name.clone(), r.text.clone()));
    }
    let (root, _) =
        streamctl_serdes::json::compile(text, &texts).map_err(RegistryError::invalid_schema)?;
    let canonical = streamctl_serdes::json::minify(text);
    Ok((JsonSchema { root, documents }, canonical))
}

mod check;

pub(super) use check::can_read;

#[cfg(test)]
mod tests;
