//! A file descriptor written back as `.proto` text: the form a Protobuf schema is stored and
//! served in, whether it was registered as text or as a base64 descriptor (Confluent's
//! serializers send the latter). Printing what was parsed makes the same schema, however
//! written, one text.
//!
//! Type names are written fully qualified (`.pkg.Msg`), so the text means the same wherever
//! it is read; options, custom ones included, are written from their decoded values.

use std::fmt::Write;

use prost_reflect::prost_types;
use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind,
    MessageDescriptor, Syntax, Value,
};

/// Largest field number, written `max` in ranges.
const MAX_FIELD: u32 = 536_870_911;

/// `file` as `.proto` text; `None` for what this printer cannot write (groups).
pub(super) fn print(file: &FileDescriptor) -> Option<String> {
    let mut p = Printer {
        out: String::new(),
        depth: 0,
        proto3: file.syntax() == Syntax::Proto3,
    };
    p.line(if p.proto3 {
        "syntax = \"proto3\";"
    } else {
        "syntax = \"proto2\";"
    });
    if !file.package_name().is_empty() {
        p.line(&format!("package {};", file.package_name()));
    }
    let proto = file.file_descriptor_proto();
    for (i, dependency) in proto.dependency.iter().enumerate() {
        let i = i32::try_from(i).ok()?;
        let kind = if proto.public_dependency.contains(&i) {
            "public "
        } else if proto.weak_dependency.contains(&i) {
            "weak "
        } else {
            ""
        };
        p.line(&format!("import {kind}{};", quote(dependency.as_bytes())));
    }
    p.options(&file.options());
    for message in file.messages() {
        p.message(&message)?;
    }
    for e in file.enums() {
        p.enumeration(&e);
    }
    p.extensions(file.extensions())?;
    for service in file.services() {
        p.line(&format!("service {} {{", service.name()));
        p.depth += 1;
        p.options(&service.options());
        for method in service.methods() {
            let stream = |yes: bool| if yes { "stream " } else { "" };
            let head = format!(
                "rpc {}({}.{}) returns ({}.{})",
                method.name(),
                stream(method.is_client_streaming()),
                method.input().full_name(),
                stream(method.is_server_streaming()),
                method.output().full_name()
            );
            let options = method.options();
            if options.fields().next().is_none() && options.extensions().next().is_none() {
                p.line(&format!("{head};"));
            } else {
                p.line(&format!("{head} {{"));
                p.depth += 1;
                p.options(&options);
                p.depth -= 1;
                p.line("}");
            }
        }
        p.depth -= 1;
        p.line("}");
    }
    Some(p.out)
}

struct Printer {
    out: String,
    depth: usize,
    proto3: bool,
}

impl Printer {
    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// `option name = value;` for each option set.
    fn options(&mut self, options: &DynamicMessage) {
        for (name, value) in option_values(options) {
            self.line(&format!("option {name} = {value};"));
        }
    }

    fn message(&mut self, message: &MessageDescriptor) -> Option<()> {
        self.line(&format!("message {} {{", message.name()));
        self.depth += 1;
        self.options(&message.options());
        // Fields other than maps in declaration order, a oneof where its first field is.
        // Then the nested messages in their order, each map field where its entry type is:
        // the text declares an entry type where its field is, and a message's place among
        // its siblings is its index in every record's Confluent framing.
        let mut printed_oneofs = Vec::new();
        for field in message.fields().filter(|f| !f.is_map()) {
            match field.containing_oneof() {
                Some(oneof) if !is_synthetic(&field, oneof.fields().len()) => {
                    if printed_oneofs.contains(&oneof.name().to_string()) {
                        continue;
                    }
                    printed_oneofs.push(oneof.name().to_string());
                    self.line(&format!("oneof {} {{", oneof.name()));
                    self.depth += 1;
                    self.options(&oneof.options());
                    for field in oneof.fields() {
                        self.field(&field, false)?;
                    }
                    self.depth -= 1;
                    self.line("}");
                }
                _ => self.field(&field, true)?,
            }
        }
        for child in message.child_messages() {
            if !child.is_map_entry() {
                self.message(&child)?;
                continue;
            }
            // Exactly one map field per entry type, or the text cannot say it.
            let mut users = message
                .fields()
                .filter(|f| f.is_map() && f.kind().as_message() == Some(&child));
            match (users.next(), users.next()) {
                (Some(field), None) => self.field(&field, true)?,
                _ => return None,
            }
        }
        for e in message.child_enums() {
            self.enumeration(&e);
        }
        self.extensions(message.child_extensions())?;
        let ranges = message
            .extension_ranges()
            .map(|r| range(r.start, r.end))
            .collect::<Option<Vec<String>>>()?;
        if !ranges.is_empty() {
            self.line(&format!("extensions {};", ranges.join(", ")));
        }
        self.reserved(
            message
                .reserved_ranges()
                .map(|r| range(r.start, r.end))
                .collect::<Option<Vec<String>>>()?,
            message.reserved_names().collect(),
        );
        self.depth -= 1;
        self.line("}");
        Some(())
    }

    /// `extend` blocks for `extensions`, grouped by the message they extend.
    fn extensions(
        &mut self,
        extensions: impl Iterator<Item = prost_reflect::ExtensionDescriptor>,
    ) -> Option<()> {
        let mut by_extendee: Vec<(String, Vec<String>)> = Vec::new();
        for extension in extensions {
            let proto = extension.field_descriptor_proto();
            let label = label(
                extension.cardinality(),
                self.proto3,
                proto.proto3_optional(),
            );
            let line = format!(
                "{label}{} {} = {}{};",
                type_name(&extension.kind(), extension.is_group())?,
                extension.name(),
                extension.number(),
                brackets(field_options(&extension.options(), proto, None))
            );
            let extendee = format!(".{}", extension.containing_message().full_name());
            match by_extendee.iter_mut().find(|(e, _)| *e == extendee) {
                Some((_, lines)) => lines.push(line),
                None => by_extendee.push((extendee, vec![line])),
            }
        }
        for (extendee, lines) in by_extendee {
            self.line(&format!("extend {extendee} {{"));
            self.depth += 1;
            for line in lines {
                self.line(&line);
            }
            self.depth -= 1;
            self.line("}");
        }
        Some(())
    }

    fn field(&mut self, field: &FieldDescriptor, labelled: bool) -> Option<()> {
        let proto = field.field_descriptor_proto();
        let json_name =
            (field.json_name() != derived_json_name(field.name())).then(|| field.json_name());
        let options = brackets(field_options(&field.options(), proto, json_name));
        if field.is_map() {
            let entry = field.kind();
            let entry = entry.as_message()?;
            let (key, value) = (entry.get_field(1)?, entry.get_field(2)?);
            self.line(&format!(
                "map<{}, {}> {} = {}{options};",
                type_name(&key.kind(), false)?,
                type_name(&value.kind(), false)?,
                field.name(),
                field.number()
            ));
            return Some(());
        }
        let label = if labelled {
            label(field.cardinality(), self.proto3, proto.proto3_optional())
        } else {
            ""
        };
        self.line(&format!(
            "{label}{} {} = {}{options};",
            type_name(&field.kind(), field.is_group())?,
            field.name(),
            field.number()
        ));
        Some(())
    }

    fn enumeration(&mut self, e: &EnumDescriptor) {
        self.line(&format!("enum {} {{", e.name()));
        self.depth += 1;
        self.options(&e.options());
        // In declaration order, aliases included.
        let values = e
            .enum_descriptor_proto()
            .value
            .iter()
            .filter_map(|v| e.get_value_by_name(v.name()));
        for value in values {
            let options: Vec<String> = option_values(&value.options())
                .into_iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect();
            self.line(&format!(
                "{} = {}{};",
                value.name(),
                value.number(),
                brackets(options)
            ));
        }
        self.reserved(
            e.reserved_ranges()
                .map(|r| {
                    if r.start() == r.end() {
                        r.start().to_string()
                    } else {
                        format!("{} to {}", r.start(), r.end())
                    }
                })
                .collect(),
            e.reserved_names().collect(),
        );
        self.depth -= 1;
        self.line("}");
    }

    fn reserved(&mut self, ranges: Vec<String>, names: Vec<&str>) {
        if !ranges.is_empty() {
            self.line(&format!("reserved {};", ranges.join(", ")));
        }
        if !names.is_empty() {
            let names: Vec<String> = names.iter().map(|n| quote(n.as_bytes())).collect();
            self.line(&format!("reserved {};", names.join(", ")));
        }
    }
}

/// A proto3 `optional` field lives in a oneof of its own that the text does not show.
fn is_synthetic(field: &FieldDescriptor, fields_in_oneof: usize) -> bool {
    fields_in_oneof == 1 && field.field_descriptor_proto().proto3_optional()
}

fn label(cardinality: Cardinality, proto3: bool, proto3_optional: bool) -> &'static str {
    match cardinality {
        Cardinality::Repeated => "repeated ",
        Cardinality::Required => "required ",
        Cardinality::Optional if !proto3 || proto3_optional => "optional ",
        Cardinality::Optional => "",
    }
}

/// A field-number range, its `end` exclusive as descriptors hold it; `None` when empty.
/// Ends past the largest field number (message sets go to 2^31-1) are written `max`.
fn range(start: u32, end: u32) -> Option<String> {
    let last = end.checked_sub(1).filter(|last| *last >= start)?;
    Some(match last {
        _ if last >= MAX_FIELD => format!("{start} to max"),
        _ if start == last => start.to_string(),
        _ => format!("{start} to {last}"),
    })
}

fn type_name(kind: &Kind, group: bool) -> Option<String> {
    if group {
        return None;
    }
    Some(match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    })
}

fn brackets(options: Vec<String>) -> String {
    if options.is_empty() {
        String::new()
    } else {
        format!(" [{}]", options.join(", "))
    }
}

/// A field's bracketed options: its default, a JSON name given, and its options.
fn field_options(
    options: &DynamicMessage,
    proto: &prost_types::FieldDescriptorProto,
    json_name: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(default) = &proto.default_value {
        let written = match proto.r#type() {
            prost_types::field_descriptor_proto::Type::String => quote(default.as_bytes()),
            // Stored already escaped.
            prost_types::field_descriptor_proto::Type::Bytes => format!("\"{default}\""),
            _ => default.clone(),
        };
        out.push(format!("default = {written}"));
    }
    if let Some(json_name) = json_name {
        out.push(format!("json_name = {}", quote(json_name.as_bytes())));
    }
    out.extend(
        option_values(options)
            .into_iter()
            .map(|(n, v)| format!("{n} = {v}")),
    );
    out
}

/// protoc's JSON name: underscores dropped, the letter after each upper-cased.
fn derived_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Each option set in `options` (standard ones by name, custom ones as `(.full.name)`) with
/// its value as written in `.proto` text; a repeated option once per value.
fn option_values(options: &DynamicMessage) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (field, value) in options.fields() {
        push_option(&mut out, field.name().to_string(), &field.kind(), value);
    }
    for (extension, value) in options.extensions() {
        push_option(
            &mut out,
            format!("(.{})", extension.full_name()),
            &extension.kind(),
            value,
        );
    }
    out
}

fn push_option(out: &mut Vec<(String, String)>, name: String, kind: &Kind, value: &Value) {
    match value {
        Value::List(values) => {
            for v in values {
                out.push((name.clone(), constant(kind, v)));
            }
        }
        v => out.push((name, constant(kind, v))),
    }
}

fn constant(kind: &Kind, value: &Value) -> String {
    let float = |f: f64| {
        if f.is_nan() {
            "nan".to_string()
        } else if f.is_infinite() {
            if f > 0.0 { "inf" } else { "-inf" }.to_string()
        } else {
            format!("{f:?}")
        }
    };
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(f) => float(f64::from(*f)),
        Value::F64(f) => float(*f),
        Value::String(s) => quote(s.as_bytes()),
        Value::Bytes(b) => quote(b),
        Value::EnumNumber(n) => kind
            .as_enum()
            .and_then(|e| e.get_value(*n))
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| n.to_string()),
        Value::Message(m) => format!("{{ {} }}", m.to_text_format()),
        Value::List(_) | Value::Map(_) => String::new(),
    }
}

/// A string or bytes literal: printable ASCII as is, everything else octal-escaped.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}
