use super::*;
use crate::formats::{violations, Parsed};
use crate::Level;

const FULL: &str = r#"
syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";
import "google/protobuf/descriptor.proto";

option java_package = "com.example.shop";
option java_multiple_files = true;

extend google.protobuf.FieldOptions {
  string unit = 50001;
}

// An order.
message Order {
  string id = 1;
  repeated Line lines = 2;
  map<string, int64> counts = 3;
  optional string note = 4 [json_name = "remark"];
  oneof payment {
    string card = 5;
    Voucher voucher = 6;
  }
  google.protobuf.Timestamp at = 7;
  Status status = 8;
  double weight = 9 [(unit) = "kg", deprecated = true];
  reserved 20 to 25, 100 to max;
  reserved "legacy";

  message Line {
    string sku = 1;
    uint32 quantity = 2;
  }
  message Voucher { bytes code = 1; }
  enum Status {
    option allow_alias = true;
    UNKNOWN = 0;
    OPEN = 1;
    STARTED = 1;
    CLOSED = 2 [deprecated = true];
    reserved 10 to 12;
  }
}

service Orders {
  rpc Place(Order) returns (stream Order);
}
"#;

fn proto(text: &str) -> (ProtoFile, String) {
    parse(text, &[]).unwrap_or_else(|e| panic!("{}: {text}", e.message))
}

#[test]
fn printing_what_was_parsed_is_a_fixed_point_that_keeps_the_meaning() {
    let (file, printed) = proto(FULL);
    let (again, reprinted) = proto(&printed);
    assert_eq!(printed, reprinted, "{printed}");
    for needle in [
        "map<string, int64> counts = 3;",
        "optional string note = 4 [json_name = \"remark\"];",
        "oneof payment {",
        "double weight = 9 [deprecated = true, (.shop.v1.unit) = \"kg\"];",
        "reserved 20 to 25, 100 to max;",
        "option allow_alias = true;",
        "rpc Place(.shop.v1.Order) returns (stream .shop.v1.Order);",
        "option java_package = \"com.example.shop\";",
    ] {
        assert!(printed.contains(needle), "{needle} missing from\n{printed}");
    }
    let messages = |f: &ProtoFile| {
        f.file
            .parent_pool()
            .all_messages()
            .filter(|m| m.parent_file().name() == streamctl_serdes::protobuf::FILE_NAME)
            .map(|m| {
                let fields: Vec<_> = m
                    .fields()
                    .map(|f| (f.number(), f.name().to_string(), format!("{:?}", f.kind())))
                    .collect();
                (m.full_name().to_string(), fields)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(messages(&file), messages(&again));
}

#[test]
fn nested_messages_keep_their_indexes_among_map_entries() {
    // Line is nested message 0 and the map's entry type 1 here; printing maps before
    // messages would swap them, and records written with index [0, 0] would change type.
    let text = "syntax = \"proto3\"; message Order { message Line { string sku = 1; } map<string, Line> lines = 1; message Note {} map<int32, string> names = 2; }";
    let nested = |f: &ProtoFile| -> Vec<String> {
        f.file
            .messages()
            .flat_map(|m| m.child_messages().collect::<Vec<_>>())
            .map(|m| m.name().to_string())
            .collect()
    };
    let (file, printed) = proto(text);
    let (again, _) = proto(&printed);
    assert_eq!(
        nested(&file),
        ["Line", "LinesEntry", "Note", "NamesEntry"],
        "{printed}"
    );
    assert_eq!(nested(&file), nested(&again), "{printed}");
}

#[test]
fn a_base64_descriptor_is_the_same_schema_as_its_text() {
    let (file, printed) = proto(FULL);
    let (_, from_descriptor) = proto(&file.serialized());
    assert_eq!(printed, from_descriptor);
    assert!(parse("message {", &[]).is_err());
    assert!(parse("bm90IGEgZGVzY3JpcHRvcg==", &[]).is_err());
}

#[test]
fn imports_resolve_through_references() {
    let common = "syntax = \"proto3\"; package common; message Money { int64 cents = 1; }";
    let (_, common_text) = proto(common);
    let references = [Referenced {
        name: "common/money.proto".into(),
        schema_type: "PROTOBUF".into(),
        text: common_text,
    }];
    let main = "syntax = \"proto3\"; import \"common/money.proto\"; message Price { common.Money amount = 1; }";
    let (_, printed) = parse(main, &references).unwrap();
    assert!(printed.contains(".common.Money amount = 1;"), "{printed}");
    assert!(parse(main, &[]).is_err(), "an unresolved import is refused");
}

const V1: &str = "syntax = \"proto3\"; package p; message M { int32 a = 1; string b = 2; repeated int64 c = 3; }";

/// (level, new schema, compatible with V1?, the error type when not)
const CASES: &[(Level, &str, bool, &str)] = &[
    // A field added or removed is skipped or defaulted either way.
    (
        Level::Full,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; string b = 2; repeated int64 c = 3; bool d = 4; }",
        true,
        "",
    ),
    (
        Level::Full,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; }",
        true,
        "",
    ),
    // A rename keeps the number: the wire does not carry names.
    (
        Level::Full,
        "syntax = \"proto3\"; package p; message M { int32 x = 1; string b = 2; repeated int64 c = 3; }",
        true,
        "",
    ),
    // int32 → int64 share the varint encoding; int32 → sint32 do not.
    (
        Level::Full,
        "syntax = \"proto3\"; package p; message M { int64 a = 1; string b = 2; repeated int64 c = 3; }",
        true,
        "",
    ),
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message M { sint32 a = 1; string b = 2; repeated int64 c = 3; }",
        false,
        "FIELD_SCALAR_KIND_CHANGED",
    ),
    // string ↔ bytes share length-delimited encoding.
    (
        Level::Full,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; bytes b = 2; repeated int64 c = 3; }",
        true,
        "",
    ),
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message N { int32 a = 1; } message M { int32 a = 1; N b = 2; repeated int64 c = 3; }",
        false,
        "FIELD_KIND_CHANGED",
    ),
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; string b = 2; int64 c = 3; }",
        false,
        "FIELD_NUMERIC_LABEL_CHANGED",
    ),
    // The package is not on the wire: messages are matched by their name within it.
    (
        Level::Full,
        "syntax = \"proto3\"; package q; message M { int32 a = 1; string b = 2; repeated int64 c = 3; }",
        true,
        "",
    ),
    // A message added: old readers lack it (so FORWARD and FULL refuse, as Confluent does).
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; string b = 2; repeated int64 c = 3; } message X {}",
        true,
        "",
    ),
    (
        Level::Forward,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; string b = 2; repeated int64 c = 3; } message X {}",
        false,
        "MESSAGE_REMOVED",
    ),
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message M { int32 a = 1; oneof o { string b = 2; int32 z = 9; } repeated int64 c = 3; }",
        true,
        "",
    ),
    (
        Level::Backward,
        "syntax = \"proto3\"; package p; message M { oneof o { int32 a = 1; string b = 2; } repeated int64 c = 3; }",
        false,
        "FIELD_MOVED_TO_ONEOF",
    ),
    (
        Level::None,
        "syntax = \"proto3\"; package q; message Z {}",
        true,
        "",
    ),
];

#[test]
fn evolutions_are_judged_by_confluents_rules() {
    let old = Parsed::Protobuf(proto(V1).0);
    for (level, new, ok, error_type) in CASES {
        let new = Parsed::Protobuf(proto(new).0);
        let messages = violations(*level, &new, &[(1, old.clone())]);
        assert_eq!(messages.is_empty(), *ok, "{level:?} {new:?}: {messages:?}");
        if !ok {
            assert!(
                messages.iter().any(|m| m.contains(error_type)),
                "{level:?}: {messages:?} lacks {error_type}"
            );
        }
    }
}

#[test]
fn proto2_required_fields_may_be_neither_added_nor_removed() {
    let v1 = "syntax = \"proto2\"; message M { required int32 a = 1; }";
    let v2 = "syntax = \"proto2\"; message M { required int32 a = 1; required int32 b = 2; }";
    let (v1, v2) = (Parsed::Protobuf(proto(v1).0), Parsed::Protobuf(proto(v2).0));
    let backward = violations(Level::Backward, &v2, &[(1, v1.clone())]);
    assert!(
        backward.iter().any(|m| m.contains("REQUIRED_FIELD_ADDED")),
        "{backward:?}"
    );
    let forward = violations(Level::Forward, &v2, &[(1, v1)]);
    assert!(
        forward.iter().any(|m| m.contains("REQUIRED_FIELD_REMOVED")),
        "{forward:?}"
    );
}

/// The base64 descriptor of a file built by hand, as a Python producer registers it.
fn registered_as(file: prost_reflect::prost_types::FileDescriptorProto) -> String {
    use base64::Engine;
    use prost_reflect::prost::Message;
    base64::engine::general_purpose::STANDARD.encode(file.encode_to_vec())
}

fn map_entry(name: &str) -> prost_reflect::prost_types::DescriptorProto {
    use prost_reflect::prost_types::{field_descriptor_proto as f, *};
    DescriptorProto {
        name: Some(name.into()),
        field: vec![
            FieldDescriptorProto {
                name: Some("key".into()),
                number: Some(1),
                label: Some(f::Label::Optional as i32),
                r#type: Some(f::Type::String as i32),
                ..Default::default()
            },
            FieldDescriptorProto {
                name: Some("value".into()),
                number: Some(2),
                label: Some(f::Label::Optional as i32),
                r#type: Some(f::Type::Int32 as i32),
                ..Default::default()
            },
        ],
        options: Some(MessageOptions {
            map_entry: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn field(
    name: &str,
    number: i32,
    type_name: &str,
    repeated: bool,
) -> prost_reflect::prost_types::FieldDescriptorProto {
    use prost_reflect::prost_types::field_descriptor_proto as f;
    prost_reflect::prost_types::FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(if repeated {
            f::Label::Repeated
        } else {
            f::Label::Optional
        } as i32),
        r#type: Some(f::Type::Message as i32),
        type_name: Some(type_name.into()),
        ..Default::default()
    }
}

#[test]
fn nested_messages_keep_their_places_whatever_order_a_descriptor_gives() {
    use prost_reflect::prost_types::*;
    // Entry types before and after a plain nested message, maps declared in another order.
    let message = DescriptorProto {
        name: Some("M".into()),
        field: vec![
            field("a", 1, ".p.M.AEntry", true),
            field("b", 2, ".p.M.BEntry", true),
            field("c", 3, ".p.M.C", false),
        ],
        nested_type: vec![
            map_entry("BEntry"),
            DescriptorProto {
                name: Some("C".into()),
                ..Default::default()
            },
            map_entry("AEntry"),
        ],
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("m.proto".into()),
        package: Some("p".into()),
        syntax: Some("proto3".into()),
        message_type: vec![message.clone()],
        ..Default::default()
    };
    let (parsed, printed) = proto(&registered_as(file.clone()));
    let names: Vec<String> = parsed
        .file
        .messages()
        .flat_map(|m| m.child_messages().collect::<Vec<_>>())
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(names, ["BEntry", "C", "AEntry"], "{printed}");
    assert_eq!(proto(&printed).1, printed);

    // One entry type used by two maps cannot be written as text: refused, not changed.
    let mut shared = message;
    shared.field[1].type_name = Some(".p.M.AEntry".into());
    let file = FileDescriptorProto {
        message_type: vec![shared],
        ..file
    };
    let err = parse(&registered_as(file), &[]).unwrap_err();
    assert_eq!(err.code, 42201, "{}", err.message);
}

#[test]
fn what_does_not_print_back_is_refused_and_what_does_is_kept() {
    // A custom option whose package shares its name with a message.
    let shadowed = r#"syntax = "proto3"; package shop;
import "google/protobuf/descriptor.proto";
extend google.protobuf.FieldOptions { string tag = 50000; }
message shop { string a = 1 [(tag) = "x"]; }"#;
    let (_, printed) = proto(shadowed);
    assert!(printed.contains("(.shop.tag) = \"x\""), "{printed}");
    // Message-set extension ranges reach 2^31-1.
    let message_set = "syntax = \"proto2\"; message M { option message_set_wire_format = true; extensions 4 to max; }";
    let (_, printed) = proto(message_set);
    assert!(printed.contains("extensions 4 to max;"), "{printed}");
    // A map entry type without its value field.
    use prost_reflect::prost_types::*;
    let mut entry = map_entry("AEntry");
    entry.field.pop();
    let file = FileDescriptorProto {
        name: Some("m.proto".into()),
        package: Some("p".into()),
        syntax: Some("proto3".into()),
        message_type: vec![DescriptorProto {
            name: Some("M".into()),
            field: vec![field("a", 1, ".p.M.AEntry", true)],
            nested_type: vec![entry],
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = parse(&registered_as(file), &[]).unwrap_err();
    assert_eq!(err.code, 42201, "{}", err.message);
}

#[test]
fn messages_of_imported_schemas_are_compared_too() {
    let money = |units: &str| {
        let (_, text) = proto(&format!(
            "syntax = \"proto3\"; package common; message Money {{ {units} units = 1; }}"
        ));
        [Referenced {
            name: "common/money.proto".into(),
            schema_type: "PROTOBUF".into(),
            text,
        }]
    };
    let order = "syntax = \"proto3\"; package shop; import \"common/money.proto\"; message Order { common.Money total = 1; }";
    let (old, _) = parse(order, &money("int64")).unwrap();
    let (new, _) = parse(order, &money("string")).unwrap();
    let messages = violations(
        Level::Backward,
        &Parsed::Protobuf(new),
        &[(1, Parsed::Protobuf(old))],
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("FIELD_SCALAR_KIND_CHANGED") && m.contains("'#/Money/1'")),
        "{messages:?}"
    );
}

#[test]
fn oneofs_merged_into_one_are_refused() {
    let old =
        "syntax = \"proto3\"; message M { oneof a { int32 x = 1; } oneof b { int32 y = 2; } }";
    let new = "syntax = \"proto3\"; message M { oneof a { int32 x = 1; int32 y = 2; } }";
    let messages = violations(
        Level::Backward,
        &Parsed::Protobuf(proto(new).0),
        &[(1, Parsed::Protobuf(proto(old).0))],
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("FIELD_MOVED_TO_EXISTING_ONEOF")),
        "{messages:?}"
    );
}

/// The text of an imported file, under its import path.
fn import(name: &str, text: &str) -> Referenced {
    Referenced {
        name: name.into(),
        schema_type: "PROTOBUF".into(),
        text: proto(text).1,
    }
}

/// What, the original schema and the update, the imports of each, and whether a BACKWARD
/// check lets the update follow the original.
type DiffCase = (
    &'static str,
    String,
    String,
    Vec<Referenced>,
    Vec<Referenced>,
    bool,
);

/// Cases from the test vectors of Confluent's Protobuf diff (`diff-schema-examples.json`),
/// those without metadata rules: (what, original, update, the imports of each, whether a
/// BACKWARD check lets the update follow the original).
#[test]
fn confluents_diff_examples() {
    const STATUS: &str = "message TestMessage {\n string test_string = 1;\n .foo.TestMessage.Status test_int = 2;\n message Status {\n string test_string = 1;\n }\n}";
    let foo = format!("syntax = \"proto3\";\npackage foo;\n{STATUS}");
    let home = |package: &str, nested: bool, id_type: &str| {
        let message = format!("message GoogleHome {{ {id_type} deviceID = 1; bool enabled = 2; }}");
        let message = if nested {
            format!("message outer {{ {message} }}")
        } else {
            message
        };
        format!("syntax = \"proto3\"; package {package}; {message}")
    };
    let uses = |import: &str, type_name: &str| {
        format!("syntax = \"proto3\"; import \"{import}\"; message TestMessage {{ {type_name} test_string = 1; }}")
    };
    let d = "io.confluent.cloud.demo.domain";
    let d2 = "io.confluent.cloud.demo.domain2";
    let cases: Vec<DiffCase> = vec![
        ("package change", foo.clone(), foo.replace("foo", "bar"), vec![], vec![], true),
        (
            "name qualification",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; Status test_int = 2; message Status { string test_string = 1; } }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; .TestMessage.Status test_int = 2; message Status { string test_string = 1; } }".into(),
            vec![], vec![], true,
        ),
        (
            "added field",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            vec![], vec![], true,
        ),
        (
            "added required field",
            "syntax = \"proto2\"; message TestMessage { optional string test_string = 1; }".into(),
            "syntax = \"proto2\"; message TestMessage { optional string test_string = 1; required string test_string2 = 2; }".into(),
            vec![], vec![], false,
        ),
        (
            "added field to nested type",
            "syntax = \"proto3\"; message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; } }".into(),
            "syntax = \"proto3\"; message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; string test_string2 = 2; } }".into(),
            vec![], vec![], true,
        ),
        (
            "removed field",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "removed required field",
            "syntax = \"proto2\"; message TestMessage { optional string test_string = 1; required string test_string2 = 2; }".into(),
            "syntax = \"proto2\"; message TestMessage { optional string test_string = 1; }".into(),
            vec![], vec![], false,
        ),
        (
            "changed field number",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 2; }".into(),
            vec![], vec![], true,
        ),
        (
            "int32 to int64",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int64 test_int = 2; }".into(),
            vec![], vec![], true,
        ),
        (
            "string to bytes",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; bytes test_string2 = 2; }".into(),
            vec![], vec![], true,
        ),
        (
            "int32 to enum",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; Status test_int = 2; } enum Status { ACTIVE = 0; INACTIVE = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "enum to int32",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; Status test_int = 2; } enum Status { ACTIVE = 0; INACTIVE = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            vec![], vec![], true,
        ),
        (
            "int32 to a message named like an enum",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; .TestMessage.Status test_int = 2; message Status { string test_string = 1; } } enum Status { ACTIVE = 0; INACTIVE = 1; }".into(),
            vec![], vec![], false,
        ),
        (
            "enum constant renamed",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; Status test_int = 2; } enum Status { ACTIVE = 0; INACTIVE = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; Status test_int = 2; } enum Status { ACTIVE = 0; NOT_ACTIVE = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "a field moved into a new oneof",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; int32 other_id = 3; } }".into(),
            vec![], vec![], true,
        ),
        (
            "several fields moved into a oneof",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }".into(),
            vec![], vec![], false,
        ),
        (
            "a field added to a oneof",
            "syntax = \"proto3\"; message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; } }".into(),
            "syntax = \"proto3\"; message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }".into(),
            vec![], vec![], true,
        ),
        (
            "a field removed from a oneof",
            "syntax = \"proto3\"; message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }".into(),
            "syntax = \"proto3\"; message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; } }".into(),
            vec![], vec![], false,
        ),
        (
            "int32 to a message",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; TestMessage2 test_int = 2; } message TestMessage2 { string s1 = 1; }".into(),
            vec![], vec![], false,
        ),
        (
            "int32 to string",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; int32 test_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; string test_string2 = 2; }".into(),
            vec![], vec![], false,
        ),
        (
            "a message type renamed",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; TestMessage2 test_int = 2; } message TestMessage2 { string s1 = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; TestMessage3 test_int = 2; } message TestMessage3 { string s1 = 1; }".into(),
            vec![], vec![], false,
        ),
        (
            "map value int32 to string",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; map<string, int32> test_map_int = 2; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; map<string, string> test_map_string = 2; }".into(),
            vec![], vec![], false,
        ),
        (
            "name qualification in a map",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; map<string, Status> test_map = 2; message Status { string test_string = 1; } }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; map<string, TestMessage.Status> test_map = 2; message Status { string test_string = 1; } }".into(),
            vec![], vec![], true,
        ),
        (
            "optional message to repeated",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; optional Status test_status = 2; message Status { string test_string = 1; } }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; repeated Status test_status = 2; message Status { string test_string = 1; } }".into(),
            vec![], vec![], true,
        ),
        (
            "optional string to repeated",
            "syntax = \"proto3\"; message TestMessage { optional string test_string = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { repeated string test_string = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "optional int32 to repeated",
            "syntax = \"proto3\"; message TestMessage { optional int32 test_int = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { repeated int32 test_int = 1; }".into(),
            vec![], vec![], false,
        ),
        (
            "a message added",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; } message TestMessage2 { string test_string = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "messages reordered",
            "syntax = \"proto3\"; message TestMessage { string test_string = 1; } message TestMessage2 { string test_string = 1; }".into(),
            "syntax = \"proto3\"; message TestMessage2 { string test_string = 1; } message TestMessage { string test_string = 1; }".into(),
            vec![], vec![], true,
        ),
        (
            "an imported type changed incompatibly",
            uses("google.proto", &format!(".{d}.GoogleHome")),
            uses("google2.proto", &format!(".{d}.GoogleHome")),
            vec![import("google.proto", &home(d, false, "int32"))],
            vec![import("google2.proto", &home(d, false, "string"))],
            false,
        ),
        (
            "a message moved to an import",
            "syntax = \"proto3\"; message TestMessage { GoogleHome test_string = 1; } message GoogleHome { int32 deviceID = 1; bool enabled = 2; }".into(),
            uses("google.proto", &format!(".{d}.GoogleHome")),
            vec![],
            vec![import("google.proto", &home(d, false, "int32"))],
            false,
        ),
        (
            "a message moved from an import",
            uses("google.proto", &format!(".{d}.GoogleHome")),
            "syntax = \"proto3\"; message TestMessage { GoogleHome test_string = 1; } message GoogleHome { int32 deviceID = 1; bool enabled = 2; }".into(),
            vec![import("google.proto", &home(d, false, "int32"))],
            vec![],
            true,
        ),
        (
            "an import in another package",
            uses("google.proto", &format!(".{d}.GoogleHome")),
            uses("google2.proto", &format!(".{d2}.GoogleHome")),
            vec![import("google.proto", &home(d, false, "int32"))],
            vec![import("google2.proto", &home(d2, false, "int32"))],
            true,
        ),
        (
            "an import in another package, nested",
            uses("google.proto", &format!(".{d}.outer.GoogleHome")),
            uses("google2.proto", &format!(".{d2}.outer.GoogleHome")),
            vec![import("google.proto", &home(d, true, "int32"))],
            vec![import("google2.proto", &home(d2, true, "int32"))],
            true,
        ),
        (
            "an import in another package, nested, changed incompatibly",
            uses("google.proto", &format!(".{d}.outer.GoogleHome")),
            uses("google2.proto", &format!(".{d2}.outer.GoogleHome")),
            vec![import("google.proto", &home(d, true, "int32"))],
            vec![import("google2.proto", &home(d2, true, "string"))],
            false,
        ),
    ];
    for (what, original, update, original_imports, update_imports, compatible) in &cases {
        let (old, _) = parse(original, original_imports)
            .unwrap_or_else(|e| panic!("{what}: original: {}", e.message));
        let (new, _) = parse(update, update_imports)
            .unwrap_or_else(|e| panic!("{what}: update: {}", e.message));
        let messages = violations(
            Level::Backward,
            &Parsed::Protobuf(new),
            &[(1, Parsed::Protobuf(old))],
        );
        assert_eq!(messages.is_empty(), *compatible, "{what}: {messages:?}");
    }
}

#[test]
fn labels_and_oneof_departures_follow_confluent() {
    let check = |old: &str, new: &str| {
        violations(
            Level::Backward,
            &Parsed::Protobuf(proto(new).0),
            &[(1, Parsed::Protobuf(proto(old).0))],
        )
    };
    // A field that becomes required: data without it no longer reads.
    let m = check(
        "syntax = \"proto2\"; message M { optional int32 a = 1; optional string s = 2; }",
        "syntax = \"proto2\"; message M { optional int32 a = 1; required string s = 2; }",
    );
    assert!(
        m.iter().any(|m| m.contains("REQUIRED_FIELD_ADDED")),
        "{m:?}"
    );
    // proto3 `optional` added to a number changes its presence: refused, as Confluent does.
    let m = check(
        "syntax = \"proto3\"; message M { int32 a = 1; }",
        "syntax = \"proto3\"; message M { optional int32 a = 1; }",
    );
    assert!(
        m.iter().any(|m| m.contains("FIELD_NUMERIC_LABEL_CHANGED")),
        "{m:?}"
    );
    // A field leaving a oneof of several, or the only one removed.
    let m = check(
        "syntax = \"proto3\"; message M { oneof o { int32 a = 1; int32 b = 2; } }",
        "syntax = \"proto3\"; message M { oneof o { int32 a = 1; } int32 b = 2; }",
    );
    assert!(m.iter().any(|m| m.contains("ONEOF_FIELD_REMOVED")), "{m:?}");
    let m = check(
        "syntax = \"proto3\"; message M { oneof o { int32 a = 1; } }",
        "syntax = \"proto3\"; message M { oneof o { int32 b = 2; } }",
    );
    assert!(m.iter().any(|m| m.contains("ONEOF_FIELD_REMOVED")), "{m:?}");
    // The only field moved out of its oneof is fine.
    let m = check(
        "syntax = \"proto3\"; message M { oneof o { int32 a = 1; } }",
        "syntax = \"proto3\"; message M { int32 a = 1; }",
    );
    assert!(m.is_empty(), "{m:?}");
}
