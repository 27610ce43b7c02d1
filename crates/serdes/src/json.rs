//! JSON Schema in Confluent's framing: after the schema id, the document as UTF-8 JSON text.
//! Documents are checked against their schema both ways, as Confluent's serializers do, so a
//! document that does not match is named rather than passed on.

use std::sync::Arc;

use jsonschema::Validator;
use serde_json::Value;

use crate::registry::{Compiled, RegistryClient};
use crate::{wire, SerdesError};

/// Where a referenced schema lives for the validator: its name, resolved as a relative
/// reference from a schema without `$id` is.
fn uri_of(name: &str) -> String {
    if name.contains("://") {
        name.to_string()
    } else {
        format!("json-schema:///{}", name.trim_start_matches('/'))
    }
}

/// Compiles a JSON Schema with the schemas it references (`(name, text)`, a `$ref` naming
/// one by its name): checked against its draft's meta-schema (draft 7 when it names
/// none), every `$ref` resolved.
pub fn compile(text: &str, references: &[(String, String)]) -> Result<(Value, Validator), String> {
    let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !root.is_object() && !root.is_boolean() {
        return Err("a JSON Schema is an object or a boolean".into());
    }
    let mut resources = Vec::with_capacity(references.len());
    for (name, text) in references {
        let document: Value =
            serde_json::from_str(text).map_err(|e| format!("reference {name}: {e}"))?;
        resources.push((uri_of(name), document));
    }
    let registry = jsonschema::Registry::new()
        .extend(resources)
        .and_then(|b| b.prepare())
        .map_err(|e| e.to_string())?;
    let mut options = jsonschema::options().with_registry(&registry);
    // Without `$schema`, draft 7, as Confluent's registry and serializers read it.
    if root.get("$schema").is_none() {
        options = options.with_draft(jsonschema::Draft::Draft7);
    }
    let validator = options.build(&root).map_err(|e| e.to_string())?;
    Ok((root, validator))
}

/// Why `document` does not satisfy `validator` (its first few errors with where they are),
/// or `None`.
fn mismatch(validator: &Validator, document: &Value) -> Option<String> {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .take(3)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// JSON Schema encoding and decoding through a registry.
#[derive(Debug)]
pub struct JsonCodec {
    registry: Arc<RegistryClient>,
    validators: Compiled<Arc<Validator>>,
}

impl JsonCodec {
    /// A codec fetching schemas from `registry`.
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        Self {
            registry,
            validators: Compiled::new(),
        }
    }

    /// The schema id and the document, checked against its schema.
    pub async fn decode(&self, bytes: &[u8]) -> Result<(u32, Value), SerdesError> {
        let (id, payload) = wire::unframe(bytes)?;
        let document: Value = serde_json::from_slice(payload)
            .map_err(|e| SerdesError::Decode(format!("not JSON (schema {id}): {e}")))?;
        let validator = self.validator(id).await?;
        if let Some(why) = mismatch(&validator, &document) {
            return Err(SerdesError::Decode(format!(
                "does not match schema {id}: {why}"
            )));
        }
        Ok((id, document))
    }

    /// The schema id and the document's text as written, once checked.
    pub async fn decode_to_json_text(&self, bytes: &[u8]) -> Result<(u32, String), SerdesError> {
        let (id, _) = self.decode(bytes).await?;
        let (_, payload) = wire::unframe(bytes)?;
        let text = std::str::from_utf8(payload)
            .map_err(|e| SerdesError::Decode(format!("schema {id}: {e}")))?;
        Ok((id, text.to_string()))
    }

    /// `text` (a JSON document) checked against schema `id` and framed. The text itself is
    /// written, without its insignificant whitespace and with its key order, so the bytes are
    /// what Confluent's serializer writes for the same document.
    pub async fn encode(&self, id: u32, text: &str) -> Result<Vec<u8>, SerdesError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|e| SerdesError::Encode(format!("not JSON: {e}")))?;
        let validator = self.validator(id).await?;
        if let Some(why) = mismatch(&validator, &document) {
            return Err(SerdesError::Encode(format!(
                "does not match schema {id}: {why}"
            )));
        }
        Ok(wire::frame(id, minify(text).as_bytes()))
    }

    async fn validator(&self, id: u32) -> Result<Arc<Validator>, SerdesError> {
        let compile = |text: &str, references: &[(String, String)]| {
            compile(text, references).map(|(_, validator)| Arc::new(validator))
        };
        self.validators
            .get(&self.registry, id, "JSON", compile)
            .await
    }
}

/// `text` (valid JSON) without whitespace outside strings.
pub fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
