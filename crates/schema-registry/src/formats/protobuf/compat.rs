//! Which Protobuf changes a reader survives, by Confluent's rules.
//!
//! - Messages are named within their package (`Order.Line`): a package renamed, or a type
//!   name written fully qualified or not, changes nothing on the wire.
//! - The schema's own messages are matched by that name; one the reader lacks is
//!   MESSAGE_REMOVED (so adding a message passes BACKWARD and fails FORWARD).
//! - Fields are matched by number. A field typed with a message is followed into that
//!   message, wherever it is defined (an imported schema too): a change there breaks the
//!   field (FIELD_NAMED_TYPE_CHANGED), as does a differently named type.
//! - Scalars may change within a wire-compatible group (int32/int64/uint32/uint64/bool/enum;
//!   sint32/sint64; string/bytes; fixed32/sfixed32; fixed64/sfixed64); numbers may not
//!   become or stop being repeated; proto2 `required` fields may be neither added nor
//!   removed; several fields may not move into a oneof, nor into an existing one, nor leave
//!   one; oneofs may not merge.

use std::collections::HashMap;

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::ProtoFile;

/// Why `reader` cannot read what `writer` wrote (empty when it can).
pub(crate) fn can_read(
    reader: &ProtoFile,
    writer: &ProtoFile,
    reader_is: &str,
    writer_is: &str,
) -> Vec<String> {
    let mut diff = Diff {
        found: Vec::new(),
        compared: HashMap::new(),
    };
    let own = |file: &ProtoFile| -> HashMap<String, MessageDescriptor> {
        file.file
            .parent_pool()
            .all_messages()
            .filter(|m| m.parent_file().name() == file.file.name() && !m.is_map_entry())
            .map(|m| (local_name(&m), m))
            .collect()
    };
    let read = own(reader);
    let mut written: Vec<(String, MessageDescriptor)> = own(writer).into_iter().collect();
    written.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, w) in written {
        match read.get(&name) {
            Some(r) => {
                diff.message(&w, r);
            }
            None => diff.report(
                "MESSAGE_REMOVED",
                format!("#/{name}"),
                format!("The message '{name}' is missing"),
            ),
        }
    }
    diff.found
        .into_iter()
        .map(|(error_type, path, what)| {
            format!(
                "{{errorType:'{error_type}', description:'{what} at '{path}' in the {reader_is} schema (reading what the {writer_is} schema wrote)'}}"
            )
        })
        .collect()
}

/// A message's name within its package.
fn local_name(m: &MessageDescriptor) -> String {
    let package = m.package_name();
    match m.full_name().strip_prefix(package) {
        Some(rest) if !package.is_empty() => rest.trim_start_matches('.').to_string(),
        _ => m.full_name().to_string(),
    }
}

struct Diff {
    /// (error type, path, what).
    found: Vec<(&'static str, String, String)>,
    /// (writer, reader) message pairs compared, and whether they were compatible; a pair
    /// being compared counts as compatible (recursive types).
    compared: HashMap<(String, String), bool>,
}

impl Diff {
    fn report(&mut self, error_type: &'static str, path: String, what: String) {
        self.found.push((error_type, path, what));
    }

    /// Compares a message as written and as read; whether nothing broke.
    fn message(&mut self, written: &MessageDescriptor, read: &MessageDescriptor) -> bool {
        let key = (
            written.full_name().to_string(),
            read.full_name().to_string(),
        );
        if let Some(ok) = self.compared.get(&key) {
            return *ok;
        }
        self.compared.insert(key.clone(), true);
        let before = self.found.len();
        let path = format!("#/{}", local_name(written));
        for wf in written.fields() {
            let field_path = format!("{path}/{}", wf.number());
            match read.get_field(wf.number()) {
                None if wf.cardinality() == Cardinality::Required => self.report(
                    "REQUIRED_FIELD_REMOVED",
                    field_path,
                    format!("The required field '{}' was removed", wf.name()),
                ),
                None => {}
                Some(rf) => self.field(&wf, &rf, &field_path),
            }
        }
        for rf in read.fields() {
            if written.get_field(rf.number()).is_none() && rf.cardinality() == Cardinality::Required
            {
                self.report(
                    "REQUIRED_FIELD_ADDED",
                    format!("{path}/{}", rf.number()),
                    format!("The required field '{}' was added", rf.name()),
                );
            }
        }
        self.oneofs(written, read, &path);
        let ok = self.found.len() == before;
        self.compared.insert(key, ok);
        ok
    }

    fn field(&mut self, written: &FieldDescriptor, read: &FieldDescriptor, path: &str) {
        if read.cardinality() == Cardinality::Required
            && written.cardinality() != Cardinality::Required
        {
            self.report(
                "REQUIRED_FIELD_ADDED",
                path.to_string(),
                format!("The field '{}' became required", read.name()),
            );
        }
        let (wk, rk) = (kind_of(written), kind_of(read));
        if wk != rk {
            return self.report(
                "FIELD_KIND_CHANGED",
                path.to_string(),
                format!("The field '{}' changed from a {wk} to a {rk}", read.name()),
            );
        }
        match (written.kind(), read.kind()) {
            // Entry types have fields 1 and 2 (`compile` checks it).
            (Kind::Message(w), Kind::Message(r)) if written.is_map() => {
                for number in [1, 2] {
                    if let (Some(wf), Some(rf)) = (w.get_field(number), r.get_field(number)) {
                        self.field(&wf, &rf, path);
                    }
                }
            }
            (Kind::Message(w), Kind::Message(r)) => {
                let (w_name, r_name) = (local_name(&w), local_name(&r));
                if w_name != r_name {
                    self.report(
                        "FIELD_NAMED_TYPE_CHANGED",
                        path.to_string(),
                        format!(
                            "The field '{}' changed type from '{w_name}' to '{r_name}'",
                            read.name()
                        ),
                    );
                } else if !self.message(&w, &r) {
                    self.report(
                        "FIELD_NAMED_TYPE_CHANGED",
                        path.to_string(),
                        format!(
                            "The type '{r_name}' of the field '{}' changed incompatibly",
                            read.name()
                        ),
                    );
                }
            }
            (w, r) => {
                if scalar_group(&w) != scalar_group(&r) {
                    self.report(
                        "FIELD_SCALAR_KIND_CHANGED",
                        path.to_string(),
                        format!(
                            "The field '{}' changed from {} to {}, which are not wire-compatible",
                            read.name(),
                            scalar_name(&w),
                            scalar_name(&r)
                        ),
                    );
                }
                let numeric = !matches!(w, Kind::String | Kind::Bytes);
                if numeric && label(written) != label(read) {
                    self.report(
                        "FIELD_NUMERIC_LABEL_CHANGED",
                        path.to_string(),
                        format!(
                            "The numeric field '{}' changed its label (repeated, optional, required)",
                            read.name()
                        ),
                    );
                }
            }
        }
    }

    fn oneofs(&mut self, written: &MessageDescriptor, read: &MessageDescriptor, path: &str) {
        let real = |f: &FieldDescriptor| f.containing_oneof().filter(|o| !o.is_synthetic());
        for oneof in read.oneofs().filter(|o| !o.is_synthetic()) {
            let oneof_path = format!("{path}/{}", oneof.name());
            let counterparts: Vec<FieldDescriptor> = oneof
                .fields()
                .filter_map(|f| written.get_field(f.number()))
                .collect();
            // Fields that were in no oneof: one may move in (a new oneof), several may not,
            // and none may join a oneof that already held some of its fields.
            let moved: Vec<String> = counterparts
                .iter()
                .filter(|f| real(f).is_none())
                .map(|f| f.number().to_string())
                .collect();
            let mut sources: Vec<String> = counterparts
                .iter()
                .filter_map(|f| real(f).map(|o| o.name().to_string()))
                .collect();
            sources.sort();
            sources.dedup();
            if moved.len() > 1 || (!sources.is_empty() && !moved.is_empty()) {
                self.report(
                    "FIELD_MOVED_TO_ONEOF",
                    oneof_path.clone(),
                    format!(
                        "The fields {} were moved into the oneof '{}'",
                        moved.join(", "),
                        oneof.name()
                    ),
                );
            }
            // Several oneofs merged into one: a record holding both loses one.
            if sources.len() > 1 {
                self.report(
                    "FIELD_MOVED_TO_EXISTING_ONEOF",
                    oneof_path,
                    format!(
                        "The oneofs {} were merged into '{}'",
                        sources.join(", "),
                        oneof.name()
                    ),
                );
            }
        }
        // A field leaves a oneof only as its last one, moved out (the oneof is gone).
        for oneof in written.oneofs().filter(|o| !o.is_synthetic()) {
            let alone = oneof.fields().len() == 1;
            for wf in oneof.fields() {
                let now = read.get_field(wf.number());
                let in_a_oneof = now.as_ref().and_then(real).is_some();
                let moved_out = now.is_some() && !in_a_oneof;
                if !(in_a_oneof || alone && moved_out) {
                    self.report(
                        "ONEOF_FIELD_REMOVED",
                        format!("{path}/{}/{}", oneof.name(), wf.number()),
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
}

/// A field's label as written: (optional, required or repeated; proto3 `optional`).
fn label(field: &FieldDescriptor) -> (i32, bool) {
    let proto = field.field_descriptor_proto();
    (proto.label.unwrap_or_default(), proto.proto3_optional())
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
