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

mod print;

use prost_reflect::{Cardinality, FieldDescriptor, FileDescriptor, Kind};

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

fn invalid(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::invalid_schema(format!("{e}"))
}

pub(super) fn parse(
    text: &str,
    references: &[Referenced],
) -> Result<(ProtoFile, String), RegistryError> {
    let mut sources = Vec::with_capacity(references.len());
    for r in references {
        if r.schema_type != "PROTOBUF" {
            return Err(invalid(format!(
                "reference {} is a {} schema, not PROTOBUF",
                r.name, r.schema_type
            )));
        }
        sources.push((r.name.clone(), r.text.clone()));
    }
    let file = streamctl_serdes::protobuf::compile(text, &sources).map_err(invalid)?;
    let canonical = print::print(&file)
        .ok_or_else(|| invalid("proto2 groups are not served; use a nested message"))?;
    Ok((ProtoFile { file }, canonical))
}

/// Why `reader` cannot read what `writer` wrote (empty when it can).
pub(super) fn can_read(
    reader: &ProtoFile,
    writer: &ProtoFile,
    reader_is: &str,
    writer_is: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut report = |error_type: &str, path: &str, what: String| {
        out.push(format!(
            "{{errorType:'{error_type}', description:'{what} at '{path}' in the {reader_is} schema (reading what the {writer_is} schema wrote)'}}"
        ));
    };
    let (r, w) = (&reader.file, &writer.file);
    if r.package_name() != w.package_name() {
        report(
            "PACKAGE_CHANGED",
            "#/",
            format!(
                "The package changed from '{}' to '{}'",
                w.package_name(),
                r.package_name()
            ),
        );
        return out;
    }
    let pool = r.parent_pool();
    let in_file = |m: &prost_reflect::MessageDescriptor, f: &FileDescriptor| {
        m.parent_file().name() == f.name()
    };
    for written in w.parent_pool().all_messages().filter(|m| in_file(m, w)) {
        if written.is_map_entry() {
            continue;
        }
        let path = format!("#/{}", written.full_name());
        let Some(read) = pool
            .get_message_by_name(written.full_name())
            .filter(|m| in_file(m, r))
        else {
            report(
                "MESSAGE_REMOVED",
                &path,
                format!("The message '{}' is missing", written.full_name()),
            );
            continue;
        };
        for wf in written.fields() {
            let field_path = format!("{path}/{}", wf.number());
            match read.get_field(wf.number()) {
                None if wf.cardinality() == Cardinality::Required => report(
                    "REQUIRED_FIELD_REMOVED",
                    &field_path,
                    format!("The required field '{}' was removed", wf.name()),
                ),
                None => {}
                Some(rf) => {
                    for (error_type, what) in field_change(&wf, &rf) {
                        report(error_type, &field_path, what);
                    }
                }
            }
        }
        for rf in read.fields() {
            if written.get_field(rf.number()).is_none() && rf.cardinality() == Cardinality::Required
            {
                report(
                    "REQUIRED_FIELD_ADDED",
                    &format!("{path}/{}", rf.number()),
                    format!("The required field '{}' was added", rf.name()),
                );
            }
        }
        for oneof in read.oneofs().filter(|o| !o.is_synthetic()) {
            let moved: Vec<FieldDescriptor> = oneof
                .fields()
                .filter(|f| {
                    written
                        .get_field(f.number())
                        .is_some_and(|wf| wf.containing_oneof().is_none_or(|o| o.is_synthetic()))
                })
                .collect();
            let existed = oneof.fields().any(|f| {
                written
                    .get_field(f.number())
                    .and_then(|wf| wf.containing_oneof())
                    .is_some_and(|o| !o.is_synthetic())
            });
            if moved.len() > 1 || (existed && !moved.is_empty()) {
                report(
                    "FIELD_MOVED_TO_ONEOF",
                    &format!("{path}/{}", oneof.name()),
                    format!(
                        "The fields {} were moved into the oneof '{}'",
                        moved
                            .iter()
                            .map(|f| f.number().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        oneof.name()
                    ),
                );
            }
        }
        for oneof in written.oneofs().filter(|o| !o.is_synthetic()) {
            for wf in oneof.fields() {
                let still = read
                    .get_field(wf.number())
                    .and_then(|f| f.containing_oneof())
                    .is_some_and(|o| o.name() == oneof.name());
                let kept_outside = read
                    .get_field(wf.number())
                    .is_some_and(|f| f.containing_oneof().is_none());
                if !still && !kept_outside && oneof.fields().len() > 1 {
                    report(
                        "ONEOF_FIELD_REMOVED",
                        &format!("{path}/{}", oneof.name()),
                        format!(
                            "The field '{}' left the oneof '{}'",
                            wf.name(),
                            oneof.name()
                        ),
                    );
                }
            }
        }
    }
    out
}

/// What is incompatible between a field as written and as read.
fn field_change(written: &FieldDescriptor, read: &FieldDescriptor) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (wk, rk) = (kind_of(written), kind_of(read));
    if wk != rk {
        out.push((
            "FIELD_KIND_CHANGED",
            format!("The field '{}' changed from a {wk} to a {rk}", read.name()),
        ));
        return out;
    }
    match (written.kind(), read.kind()) {
        (Kind::Message(w), Kind::Message(r)) if !written.is_map() => {
            if w.full_name() != r.full_name() {
                out.push((
                    "FIELD_NAMED_TYPE_CHANGED",
                    format!(
                        "The field '{}' changed type from '{}' to '{}'",
                        read.name(),
                        w.full_name(),
                        r.full_name()
                    ),
                ));
            }
        }
        (Kind::Message(w), Kind::Message(r)) => {
            let (wk, wv) = (w.map_entry_key_field(), w.map_entry_value_field());
            let (rk, rv) = (r.map_entry_key_field(), r.map_entry_value_field());
            out.extend(field_change(&wk, &rk));
            out.extend(field_change(&wv, &rv));
        }
        (w, r) => {
            if scalar_group(&w) != scalar_group(&r) {
                out.push((
                    "FIELD_SCALAR_KIND_CHANGED",
                    format!(
                        "The field '{}' changed from {} to {}, which are not wire-compatible",
                        read.name(),
                        scalar_name(&w),
                        scalar_name(&r)
                    ),
                ));
            } else if let (Kind::Enum(we), Kind::Enum(re)) = (&w, &r) {
                if we.full_name() != re.full_name() {
                    out.push((
                        "FIELD_NAMED_TYPE_CHANGED",
                        format!(
                            "The field '{}' changed enum from '{}' to '{}'",
                            read.name(),
                            we.full_name(),
                            re.full_name()
                        ),
                    ));
                }
            }
            let numeric = !matches!(w, Kind::String | Kind::Bytes);
            if numeric && written.is_list() != read.is_list() {
                out.push((
                    "FIELD_NUMERIC_LABEL_CHANGED",
                    format!(
                        "The numeric field '{}' became or stopped being repeated",
                        read.name()
                    ),
                ));
            }
        }
    }
    out
}

fn kind_of(field: &FieldDescriptor) -> &'static str {
    if field.is_map() {
        "map"
    } else if matches!(field.kind(), Kind::Message(_)) {
        "message"
    } else {
        "scalar"
    }
}

/// Scalars that share a wire encoding, so one may be read as another (Confluent's groups).
fn scalar_group(kind: &Kind) -> u8 {
    match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool | Kind::Enum(_) => 0,
        Kind::Sint32 | Kind::Sint64 => 1,
        Kind::String | Kind::Bytes => 2,
        Kind::Fixed32 | Kind::Sfixed32 => 3,
        Kind::Fixed64 | Kind::Sfixed64 => 4,
        Kind::Float => 5,
        Kind::Double => 6,
        Kind::Message(_) => 7,
    }
}

fn scalar_name(kind: &Kind) -> String {
    match kind {
        Kind::Enum(e) => format!("enum {}", e.full_name()),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests;
