//! Protobuf: parsing `.proto` text or a base64 file descriptor, the stored form, and which
//! changes old and new readers survive.
//!
//! A schema is one `.proto` file; the files it imports are its references, each by its import
//! path (`google/protobuf/*.proto` is built in). It is stored as printed from its descriptor
//! (`print.rs`), so text and descriptor registrations of one schema are one schema.
//!
//! Compatibility follows Confluent's rules, matching fields by number. A reader copes with:
//! fields and messages it does not know (skipped), fields it lacks (defaults), renamed
//! fields, new enums and constants, a field moved out of a oneof. It does not cope with: a
//! message or package it expects gone, a field whose wire type or meaning changed (scalar ↔
//! message ↔ map, or across scalar groups such as `int32` → `sint32`), a field that became
//! (or stopped being) repeated for numbers, a proto2 `required` field added or removed,
//! fields moved into a oneof.

mod compat;
mod print;

pub(super) use compat::can_read;

use prost_reflect::FileDescriptor;

use super::Referenced;
use crate::error::RegistryError;

/// A parsed Protobuf schema: its file, with its imports in the pool.
#[derive(Debug, Clone)]
pub(crate) struct ProtoFile {
    file: FileDescriptor,
}

impl ProtoFile {
    /// The base64 of the encoded file descriptor (`?format=serialized`).
    pub(crate) fn serialized(&self) -> String {
        streamctl_serdes::protobuf::serialized(&self.file)
    }
}

pub(super) fn parse(
    text: &str,
    references: &[Referenced],
) -> Result<(ProtoFile, String), RegistryError> {
    let mut sources = Vec::with_capacity(references.len());
    for r in references {
        if r.schema_type != "PROTOBUF" {
            return Err(RegistryError::invalid_schema(format!(
                "reference {} is a {} schema, not PROTOBUF",
                r.name, r.schema_type
            )));
        }
        sources.push((r.name.clone(), r.text.clone()));
    }
    let file = streamctl_serdes::protobuf::compile(text, &sources)
        .map_err(RegistryError::invalid_schema)?;
    let unprintable = || {
        RegistryError::invalid_schema(
            "the schema cannot be stored as .proto text that means the same (proto2 groups, \
             a map entry type shared or declared by hand, an empty range)",
        )
    };
    let canonical = print::print(&file).ok_or_else(unprintable)?;
    // What is stored must compile back to the same messages, fields and enums in the same
    // places: records' message indexes point into it.
    let again = streamctl_serdes::protobuf::compile(&canonical, &sources).map_err(|e| {
        RegistryError::invalid_schema(format!("the schema as stored does not compile: {e}"))
    })?;
    if structure(&file) != structure(&again) {
        return Err(unprintable());
    }
    Ok((ProtoFile { file }, canonical))
}

/// What records depend on, in index order: each message (by its place among its siblings)
/// with its fields' numbers, names, types, labels, oneofs and defaults, and each enum with
/// its values.
fn structure(file: &FileDescriptor) -> Vec<String> {
    fn message(m: &prost_reflect::MessageDescriptor, path: &str, out: &mut Vec<String>) {
        out.push(format!("{path} message {}", m.full_name()));
        for f in m.fields() {
            let proto = f.field_descriptor_proto();
            out.push(format!(
                "{path} field {} {} {:?} {:?} {:?} {:?} {:?}",
                f.number(),
                f.name(),
                f.kind(),
                f.cardinality(),
                f.containing_oneof().map(|o| o.name().to_string()),
                proto.default_value,
                f.json_name()
            ));
        }
        for e in m.child_enums() {
            enumeration(&e, out);
        }
        for (i, child) in m.child_messages().enumerate() {
            message(&child, &format!("{path}.{i}"), out);
        }
    }
    fn enumeration(e: &prost_reflect::EnumDescriptor, out: &mut Vec<String>) {
        let values: Vec<String> = e
            .values()
            .map(|v| format!("{}={}", v.name(), v.number()))
            .collect();
        out.push(format!("enum {} {}", e.full_name(), values.join(",")));
    }
    let mut out = vec![format!("package {}", file.package_name())];
    for (i, m) in file.messages().enumerate() {
        message(&m, &i.to_string(), &mut out);
    }
    for e in file.enums() {
        enumeration(&e, &mut out);
    }
    out
}

#[cfg(test)]
mod tests;
