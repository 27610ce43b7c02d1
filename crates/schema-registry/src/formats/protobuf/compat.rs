//! Which Protobuf changes a reader survives, by Confluent's rules: fields are matched by
//! number in every message, the schema's own and those of the files it imports.

use prost_reflect::{Cardinality, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};

use super::ProtoFile;

/// Why `reader` cannot read what `writer` wrote (empty when it can).
pub(crate) fn can_read(
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
    let in_file = |m: &MessageDescriptor, f: &FileDescriptor| m.parent_file().name() == f.name();
    // The schema's own messages, and those of the files it imports: a message that changed
    // in a referenced schema changes what this one reads.
    for written in w.parent_pool().all_messages() {
        if written.is_map_entry() {
            continue;
        }
        let own = in_file(&written, w);
        let path = format!("#/{}", written.full_name());
        let read = pool
            .get_message_by_name(written.full_name())
            .filter(|m| !own || in_file(m, r));
        let Some(read) = read else {
            if own {
                report(
                    "MESSAGE_REMOVED",
                    &path,
                    format!("The message '{}' is missing", written.full_name()),
                );
            }
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
        for oneof in read.oneofs().filter(|o| !o.is_synthetic()) {
            // Fields of several oneofs merged into one: a record holding both loses one.
            let mut sources: Vec<String> = oneof
                .fields()
                .filter_map(|f| written.get_field(f.number())?.containing_oneof())
                .filter(|o| !o.is_synthetic())
                .map(|o| o.name().to_string())
                .collect();
            sources.sort();
            sources.dedup();
            if sources.len() > 1 {
                report(
                    "FIELD_MOVED_TO_EXISTING_ONEOF",
                    &format!("{path}/{}", oneof.name()),
                    format!(
                        "The oneofs {} were merged into '{}'",
                        sources.join(", "),
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
            // Entry types have fields 1 and 2 (`compile` checks it).
            for number in [1, 2] {
                if let (Some(w), Some(r)) = (w.get_field(number), r.get_field(number)) {
                    out.extend(field_change(&w, &r));
                }
            }
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
