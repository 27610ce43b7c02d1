//! The records of the `_schemas` topic, in Confluent's JSON formats, so a registry reading a
//! topic Confluent's wrote (or the reverse) sees the same subjects, versions and ids.
//!
//! ```text
//!  key   {"keytype":"SCHEMA","subject":"orders-value","version":1,"magic":1}
//!  value {"subject":"orders-value","version":1,"id":1,"schemaType":"AVRO","schema":"…","deleted":false}
//!  key   {"keytype":"CONFIG","subject":"orders-value","magic":0}   (no subject: global)
//!  value {"compatibilityLevel":"FULL"}
//!  key   {"keytype":"MODE","subject":"orders-value","magic":0}
//!  value {"mode":"READONLY"}
//!  key   {"keytype":"DELETE_SUBJECT","subject":"orders-value","magic":0}
//!  value {"subject":"orders-value","version":3}     versions up to 3 are soft-deleted
//!  key   {"keytype":"NOOP","magic":0}
//! ```
//!
//! A null value (a tombstone) removes the key: a hard-deleted version, a config or a mode
//! set back to its default. Fields this registry does not know are ignored.

use serde::{Deserialize, Serialize};

/// A record to write: key, and value or tombstone.
pub(crate) type Write = (Key, Option<Vec<u8>>);

/// A key of `_schemas`. Field order is Confluent's (keytype, subject, version, magic).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Key {
    pub keytype: KeyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(default)]
    pub magic: i32,
}

/// What a key is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum KeyType {
    Schema,
    Config,
    Mode,
    DeleteSubject,
    ClearSubject,
    Noop,
    /// Keys of features this registry does not have (contexts, associations): skipped.
    #[serde(other)]
    Other,
}

impl Key {
    pub(crate) fn schema(subject: &str, version: i32) -> Key {
        Key {
            keytype: KeyType::Schema,
            subject: Some(subject.to_string()),
            version: Some(version),
            magic: 1,
        }
    }

    pub(crate) fn config(subject: Option<&str>) -> Key {
        Key {
            keytype: KeyType::Config,
            subject: subject.map(str::to_string),
            version: None,
            magic: 0,
        }
    }

    pub(crate) fn mode(subject: Option<&str>) -> Key {
        Key {
            keytype: KeyType::Mode,
            subject: subject.map(str::to_string),
            version: None,
            magic: 0,
        }
    }

    pub(crate) fn delete_subject(subject: &str) -> Key {
        Key {
            keytype: KeyType::DeleteSubject,
            subject: Some(subject.to_string()),
            version: None,
            magic: 0,
        }
    }
}

/// A reference from one schema to another subject's version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    /// The name the referring schema uses for it (an Avro full name, a .proto import path).
    pub name: String,
    /// The subject holding it.
    pub subject: String,
    /// Its version there.
    pub version: i32,
}

/// The value of a SCHEMA key: one version of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SchemaValue {
    /// Null in some registries' records: the key's subject is the one that counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subject: String,
    pub version: i32,
    pub id: u32,
    /// Absent before Confluent 5.5 and for Avro up to 7.x: Avro.
    #[serde(default = "avro")]
    pub schema_type: String,
    pub schema: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub deleted: bool,
}

fn avro() -> String {
    "AVRO".to_string()
}

/// The value of a CONFIG key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigValue {
    /// Absent from records that set other settings only (the level is then the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_level: Option<String>,
}

/// A field that may be null or absent, read as its default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The value of a MODE key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModeValue {
    pub mode: String,
}

/// The value of a DELETE_SUBJECT key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteSubjectValue {
    pub subject: String,
    pub version: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_confluent_writes_them() {
        let key = serde_json::to_string(&Key::schema("orders-value", 2)).unwrap_or_default();
        assert_eq!(
            key,
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":2,"magic":1}"#
        );
        let key = serde_json::to_string(&Key::config(None)).unwrap_or_default();
        assert_eq!(key, r#"{"keytype":"CONFIG","magic":0}"#);
    }

    #[test]
    fn values_without_a_type_are_avro_and_unknown_fields_are_ignored() {
        let v: SchemaValue = serde_json::from_str(
            r#"{"subject":"s","version":1,"id":7,"schema":"\"string\"","deleted":false,"md5":"x"}"#,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((v.schema_type.as_str(), v.id), ("AVRO", 7));
        let k: Key = serde_json::from_str(r#"{"keytype":"CONTEXT","tenant":"t","magic":0}"#)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(k.keytype, KeyType::Other);
    }

    #[test]
    fn other_registries_records_with_a_null_subject_or_no_level_are_read() {
        let v: SchemaValue =
            serde_json::from_str(r#"{"subject":null,"version":1,"id":7,"schema":"\"string\""}"#)
                .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((v.subject.as_str(), v.id), ("", 7));
        let c: ConfigValue =
            serde_json::from_str(r#"{"normalize":true}"#).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.compatibility_level, None);
    }
}
