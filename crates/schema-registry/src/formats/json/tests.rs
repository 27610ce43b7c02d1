use super::*;
use crate::formats::{violations, Parsed};
use crate::Level;

fn schema(text: &str) -> Parsed {
    Parsed::Json(
        parse(text, &[])
            .unwrap_or_else(|e| panic!("{}: {text}", e.message))
            .0,
    )
}

/// An open object: `name` required, at most 10 characters; `age` an integer.
const OPEN: &str = r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"}},"required":["name"]}"#;
/// The same object, closed.
const CLOSED: &str = r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"}},"required":["name"],"additionalProperties":false}"#;

/// (level, old schema, new schema, compatible?, the error type when not), after Confluent's
/// documented rules for JSON Schema.
const CASES: &[(Level, &str, &str, bool, &str)] = &[
    // Removing a property from an open object: the new reader still accepts it.
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10}},"required":["name"]}"#,
        true,
        "",
    ),
    // … but not from a closed one.
    (
        Level::Backward,
        CLOSED,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10}},"required":["name"],"additionalProperties":false}"#,
        false,
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    ),
    // Adding a property to an open object: old data may hold anything under that name.
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},"email":{"type":"string"}},"required":["name"]}"#,
        false,
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    ),
    // … to a closed one it is fine.
    (
        Level::Backward,
        CLOSED,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},"email":{"type":"string"}},"required":["name"],"additionalProperties":false}"#,
        true,
        "",
    ),
    // Bounds may be relaxed by a reader, not tightened.
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer"}},"required":["name"]}"#,
        true,
        "",
    ),
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer"}},"required":["name"]}"#,
        false,
        "BOUND_NARROWED",
    ),
    (
        Level::Forward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer"}},"required":["name"]}"#,
        false,
        "BOUND_NARROWED",
    ),
    // integer → number widens; back narrows.
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"number"}},"required":["name"]}"#,
        true,
        "",
    ),
    (
        Level::Forward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"number"}},"required":["name"]}"#,
        false,
        "TYPE_NARROWED",
    ),
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"string"}},"required":["name"]}"#,
        false,
        "TYPE_NARROWED",
    ),
    // A requirement dropped is fine; one added needs a default.
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"}}}"#,
        true,
        "",
    ),
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"}},"required":["name","age"]}"#,
        false,
        "REQUIRED_PROPERTY_ADDED",
    ),
    (
        Level::Backward,
        OPEN,
        r#"{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","default":0}},"required":["name","age"]}"#,
        true,
        "",
    ),
    // Closing an open object refuses what it used to allow.
    (
        Level::Backward,
        OPEN,
        CLOSED,
        false,
        "ADDITIONAL_PROPERTIES_REMOVED",
    ),
    (Level::Backward, CLOSED, OPEN, true, ""),
    (Level::Full, OPEN, OPEN, true, ""),
    // Enums may grow for a reader.
    (
        Level::Backward,
        r#"{"enum":["a","b"]}"#,
        r#"{"enum":["a","b","c"]}"#,
        true,
        "",
    ),
    (
        Level::Forward,
        r#"{"enum":["a","b"]}"#,
        r#"{"enum":["a","b","c"]}"#,
        false,
        "ENUM_ARRAY_NARROWED",
    ),
    // A branch added to anyOf widens.
    (
        Level::Backward,
        r#"{"anyOf":[{"type":"string"}]}"#,
        r#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#,
        true,
        "",
    ),
    (
        Level::Forward,
        r#"{"anyOf":[{"type":"string"}]}"#,
        r#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#,
        false,
        "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
    ),
    // Definitions are followed through $ref.
    (
        Level::Backward,
        r##"{"definitions":{"id":{"type":"string"}},"type":"object","properties":{"id":{"$ref":"#/definitions/id"}}}"##,
        r##"{"definitions":{"id":{"type":"integer"}},"type":"object","properties":{"id":{"$ref":"#/definitions/id"}}}"##,
        false,
        "TYPE_NARROWED",
    ),
    // Arrays compare their items.
    (
        Level::Backward,
        r#"{"type":"array","items":{"type":"integer"}}"#,
        r#"{"type":"array","items":{"type":"number"},"maxItems":3}"#,
        false,
        "BOUND_NARROWED",
    ),
    (Level::None, OPEN, r#"{"type":"string"}"#, true, ""),
    // A reference the check cannot follow (an anchor) is not taken to accept anything.
    (
        Level::Backward,
        r#"{"properties":{"n":{"type":"string"}}}"#,
        r##"{"$defs":{"N":{"$anchor":"N","type":"integer"}},"properties":{"n":{"$ref":"#N"}}}"##,
        false,
        "UNRESOLVED_REFERENCE",
    ),
    // Keywords beside a $ref apply too.
    (
        Level::Backward,
        r##"{"$defs":{"S":{"type":"string"}},"$ref":"#/$defs/S"}"##,
        r##"{"$defs":{"S":{"type":"string"}},"$ref":"#/$defs/S","maxLength":3}"##,
        false,
        "BOUND_NARROWED",
    ),
    // A property added where the old object's patterns let anything be written.
    (
        Level::Backward,
        r#"{"type":"object","patternProperties":{"^x":{"type":"string"}},"additionalProperties":false}"#,
        r#"{"type":"object","properties":{"xa":{"type":"integer"}},"patternProperties":{"^x":{"type":"string"}},"additionalProperties":false}"#,
        false,
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ),
];

#[test]
fn evolutions_are_judged_by_confluents_rules() {
    for (level, old, new, ok, error_type) in CASES {
        let messages = violations(*level, &schema(new), &[(1, schema(old))]);
        assert_eq!(
            messages.is_empty(),
            *ok,
            "{level:?} {old} → {new}: {messages:?}"
        );
        if !ok {
            assert!(
                messages.iter().any(|m| m.contains(error_type)),
                "{level:?} {old} → {new}: {messages:?} lacks {error_type}"
            );
        }
    }
}

#[test]
fn a_recursive_schema_is_compared_once_per_pair() {
    let tree = r##"{"definitions":{"node":{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/definitions/node"}}}}},"$ref":"#/definitions/node"}"##;
    assert!(violations(Level::Full, &schema(tree), &[(1, schema(tree))]).is_empty());
}

#[test]
fn references_resolve_by_name() {
    let address = Referenced {
        name: "address.json".into(),
        schema_type: "JSON".into(),
        text: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
    };
    let main = r#"{"type":"object","properties":{"home":{"$ref":"address.json"}}}"#;
    let (parsed, canonical) = parse(main, std::slice::from_ref(&address)).unwrap();
    assert_eq!(canonical, main);
    assert!(can_read(&parsed, &parsed, "new", "old").is_empty());
    assert!(parse(main, &[]).is_err(), "an unresolved $ref is refused");
}

#[test]
fn the_canonical_text_keeps_key_order_and_string_contents() {
    let (_, text) = parse(
        "{ \"type\" : \"object\",\n \"title\": \"a  b \\\" c\" }",
        &[],
    )
    .unwrap();
    assert_eq!(text, r#"{"type":"object","title":"a  b \" c"}"#);
}
