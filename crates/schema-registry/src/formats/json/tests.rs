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
        r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"N":{"$anchor":"N","type":"integer"}},"properties":{"n":{"$ref":"#N"}}}"##,
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
    // What counts as evaluated is not modelled: any change where it is used is refused.
    (
        Level::Backward,
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"a":{},"b":{}},"unevaluatedProperties":false}"#,
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"a":{}},"unevaluatedProperties":false}"#,
        false,
        "UNEVALUATED_OR_PREFIX_ITEMS_CHANGED",
    ),
    // An unmodelled keyword unchanged in text, whose $ref target changed.
    (
        Level::Backward,
        r##"{"definitions":{"n":{}},"propertyNames":{"$ref":"#/definitions/n"}}"##,
        r##"{"definitions":{"n":{"maxLength":2}},"propertyNames":{"$ref":"#/definitions/n"}}"##,
        false,
        "KEYWORD_CHANGED",
    ),
    // Keywords beside a $ref at a later hop.
    (
        Level::Backward,
        r##"{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"type":"string"}},"$ref":"#/definitions/a"}"##,
        r##"{"definitions":{"a":{"$ref":"#/definitions/b","maxLength":3},"b":{"type":"string"}},"$ref":"#/definitions/a"}"##,
        false,
        "BOUND_NARROWED",
    ),
    // Names the old object's pattern allowed, closed out.
    (
        Level::Backward,
        r#"{"patternProperties":{"^x":{"type":"string"}},"additionalProperties":false}"#,
        r#"{"additionalProperties":false}"#,
        false,
        "PATTERN_PROPERTIES_REMOVED",
    ),
    // A new pattern that also applies to a declared property.
    (
        Level::Backward,
        r#"{"properties":{"x_a":{"type":"string"}},"additionalProperties":false}"#,
        r#"{"properties":{"x_a":{"type":"string"}},"patternProperties":{"^x_":{"maxLength":3}},"additionalProperties":false}"#,
        false,
        "BOUND_NARROWED",
    ),
    // A property added where the old object's patterns let anything be written.
    (
        Level::Backward,
        r#"{"type":"object","patternProperties":{"^x":{"type":"string"}},"additionalProperties":false}"#,
        r#"{"type":"object","properties":{"xa":{"type":"integer"}},"patternProperties":{"^x":{"type":"string"}},"additionalProperties":false}"#,
        false,
        "TYPE_NARROWED",
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

/// Cases from the test vectors of Confluent's JSON Schema diff (`diff-schema-examples.json`),
/// those without metadata rules: (what, original, update, whether a BACKWARD check lets the
/// update follow the original).
#[test]
fn confluents_diff_examples() {
    let cases: &[(&str, &str, &str, bool)] = &[
        (
            "anything to the empty schema",
            r#"{"properties":{}}"#,
            "{}",
            true,
        ),
        (
            "id",
            r#"{"id":"something"}"#,
            r#"{"id":"something_else"}"#,
            true,
        ),
        ("title", r#"{"title":"a"}"#, r#"{"title":"b"}"#, true),
        (
            "description",
            r#"{"description":"a"}"#,
            r#"{"description":"b"}"#,
            true,
        ),
        ("type", r#"{"type":"object"}"#, r#"{"type":"array"}"#, false),
        (
            "minLength up",
            r#"{"type":"string","minLength":10}"#,
            r#"{"type":"string","minLength":11}"#,
            false,
        ),
        (
            "minLength down",
            r#"{"type":"string","minLength":11}"#,
            r#"{"type":"string","minLength":10}"#,
            true,
        ),
        (
            "maxLength up",
            r#"{"type":"string","maxLength":10}"#,
            r#"{"type":"string","maxLength":12}"#,
            true,
        ),
        (
            "maxLength down",
            r#"{"type":"string","maxLength":12}"#,
            r#"{"type":"string","maxLength":10}"#,
            false,
        ),
        (
            "pattern removed",
            r#"{"type":"string","pattern":"uuid"}"#,
            r#"{"type":"string"}"#,
            true,
        ),
        (
            "pattern changed",
            r#"{"type":"string","pattern":"date-time"}"#,
            r#"{"type":"string","pattern":"uuid"}"#,
            false,
        ),
        (
            "pattern kept",
            r#"{"type":"string","pattern":"date-time"}"#,
            r#"{"type":"string","pattern":"date-time"}"#,
            true,
        ),
        (
            "maximum removed",
            r#"{"type":"number","maximum":10}"#,
            r#"{"type":"number"}"#,
            true,
        ),
        (
            "maximum up",
            r#"{"type":"number","maximum":10}"#,
            r#"{"type":"number","maximum":11}"#,
            true,
        ),
        (
            "maximum down",
            r#"{"type":"number","maximum":11}"#,
            r#"{"type":"number","maximum":10}"#,
            false,
        ),
        (
            "minimum removed",
            r#"{"type":"number","minimum":10}"#,
            r#"{"type":"number"}"#,
            true,
        ),
        (
            "minimum up",
            r#"{"type":"number","minimum":10}"#,
            r#"{"type":"number","minimum":11}"#,
            false,
        ),
        (
            "minimum down",
            r#"{"type":"number","minimum":11}"#,
            r#"{"type":"number","minimum":10}"#,
            true,
        ),
        (
            "multipleOf removed",
            r#"{"type":"number","multipleOf":10}"#,
            r#"{"type":"number"}"#,
            true,
        ),
        (
            "multipleOf reduced",
            r#"{"type":"number","multipleOf":10}"#,
            r#"{"type":"number","multipleOf":2}"#,
            true,
        ),
        (
            "multipleOf changed",
            r#"{"type":"number","multipleOf":10}"#,
            r#"{"type":"number","multipleOf":11}"#,
            false,
        ),
        (
            "number to integer",
            r#"{"type":"number"}"#,
            r#"{"type":"integer"}"#,
            false,
        ),
        (
            "integer to number",
            r#"{"type":"integer"}"#,
            r#"{"type":"number"}"#,
            true,
        ),
        (
            "not narrowed",
            r#"{"not":{"type":"number"}}"#,
            r#"{"not":{"type":"integer"}}"#,
            true,
        ),
        (
            "not extended",
            r#"{"not":{"type":"integer"}}"#,
            r#"{"not":{"type":"number"}}"#,
            false,
        ),
        (
            "enum removed",
            r#"{"type":"string","enum":["red"]}"#,
            r#"{"type":"string"}"#,
            true,
        ),
        (
            "enum in allOf changed",
            r#"{"allOf":[{"type":"string"},{"enum":["red"]}]}"#,
            r#"{"allOf":[{"type":"string"},{"enum":["blue"]}]}"#,
            false,
        ),
        (
            "enum in allOf extended",
            r#"{"allOf":[{"type":"string"},{"enum":["red"]}]}"#,
            r#"{"allOf":[{"enum":["red","blue"]},{"type":"string"}]}"#,
            true,
        ),
        (
            "type list extended",
            r#"{"type":["object"]}"#,
            r#"{"type":["object","array"]}"#,
            true,
        ),
        (
            "oneOf branch changed",
            r#"{"oneOf":[{"type":"string"}]}"#,
            r#"{"oneOf":[{"type":"number"}]}"#,
            false,
        ),
        (
            "oneOf branch added",
            r#"{"oneOf":[{"type":"string"}]}"#,
            r#"{"oneOf":[{"type":"number"},{"type":"string"}]}"#,
            true,
        ),
        (
            "property swapped in an open object",
            r#"{"properties":{"foo":{"type":"string"}}}"#,
            r#"{"properties":{"bar":{"type":"string"}}}"#,
            false,
        ),
        (
            "property type changed",
            r#"{"properties":{"foo":{"type":"string"}}}"#,
            r#"{"properties":{"foo":{"type":"number"}}}"#,
            false,
        ),
        (
            "optional property added to a closed object",
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}},"additionalProperties":false}"#,
            true,
        ),
        (
            "property added under a pattern it widens",
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":false,"patternProperties":{"^S_":{"type":"string"},"^I_":{"type":"integer"}}}"#,
            r#"{"properties":{"foo":{"type":"string"},"I_123":{"type":"number"}},"additionalProperties":false,"patternProperties":{"^S_":{"type":"string"},"^I_":{"type":"integer"}}}"#,
            true,
        ),
        (
            "property added as additional, same type",
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            true,
        ),
        (
            "property added as additional, other type",
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}},"additionalProperties":{"type":"string"}}"#,
            false,
        ),
        (
            "property added as additional, required",
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"string"}},"required":["bar"],"additionalProperties":{"type":"string"}}"#,
            false,
        ),
        (
            "property removed under a wider pattern",
            r#"{"properties":{"foo":{"type":"string"},"I_123":{"type":"integer"}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":false,"patternProperties":{"^S_":{"type":"string"},"^I_":{"type":"number"}}}"#,
            true,
        ),
        (
            "property removed into additional, same type",
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"string"}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            true,
        ),
        (
            "property removed into additional, other type",
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"type":"string"}}"#,
            false,
        ),
        (
            "property removed into additional oneOf",
            r#"{"properties":{"foo":{"type":"string"},"bar":{"oneOf":[{"type":"null"},{"type":"string"}]}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"oneOf":[{"type":"null"},{"type":"string"}]}}"#,
            true,
        ),
        (
            "property removed into a wider additional oneOf",
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"string"}},"additionalProperties":false}"#,
            r#"{"properties":{"foo":{"type":"string"}},"additionalProperties":{"oneOf":[{"type":"null"},{"type":"string"}]}}"#,
            true,
        ),
        (
            "property added to an open object",
            r#"{"properties":{"foo":{"type":"string"}}}"#,
            r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}}}"#,
            false,
        ),
        (
            "property type changed in a oneOf",
            r#"{"oneOf":[{"properties":{"foo":{"type":"string"}}}]}"#,
            r#"{"oneOf":[{"properties":{"foo":{"type":"number"}}}]}"#,
            false,
        ),
        (
            "oneOf to allOf",
            r#"{"oneOf":[{"type":"string"}]}"#,
            r#"{"allOf":[{"type":"string"}]}"#,
            false,
        ),
        (
            "dependency arrays swapped",
            r#"{"properties":{"foo":{"type":"number"},"bar":{"type":"string"}},"dependencies":{"foo":["bar"]}}"#,
            r#"{"properties":{"foo":{"type":"number"},"bar":{"type":"string"}},"dependencies":{"bar":["foo"]}}"#,
            false,
        ),
        (
            "dependency schema removed",
            r#"{"dependencies":{"foo":{"type":"string"},"bar":{"type":"string"}}}"#,
            r#"{"dependencies":{"foo":{"type":"string"}}}"#,
            true,
        ),
        (
            "every dependency schema removed",
            r#"{"dependencies":{"foo":{"type":"string"}}}"#,
            r#"{"dependencies":{}}"#,
            true,
        ),
        (
            "dependency schema changed",
            r#"{"dependencies":{"foo":{"type":"string"}}}"#,
            r#"{"dependencies":{"foo":{"type":"number"}}}"#,
            false,
        ),
        (
            "dependency schema moved",
            r#"{"dependencies":{"foo":{"type":"string"}}}"#,
            r#"{"dependencies":{"bar":{"type":"string"}}}"#,
            false,
        ),
        (
            "required removed",
            r#"{"properties":{"foo":{"type":"string"}},"required":["foo"]}"#,
            r#"{"properties":{"foo":{"type":"string"}}}"#,
            true,
        ),
        (
            "required added",
            r#"{"properties":{"foo":{"type":"string"}}}"#,
            r#"{"properties":{"foo":{"type":"string"}},"required":["foo"]}"#,
            false,
        ),
        (
            "required changed to an unknown name",
            r#"{"properties":{"foo":{"type":"string"}},"required":["foo"]}"#,
            r#"{"properties":{"foo":{"type":"string"}},"required":["bar"]}"#,
            true,
        ),
        (
            "maxProperties removed",
            r#"{"properties":{},"maxProperties":1}"#,
            r#"{"properties":{}}"#,
            true,
        ),
        (
            "maxProperties up",
            r#"{"maxProperties":1}"#,
            r#"{"maxProperties":2}"#,
            true,
        ),
        (
            "maxProperties down",
            r#"{"maxProperties":2}"#,
            r#"{"maxProperties":1}"#,
            false,
        ),
        (
            "minProperties removed",
            r#"{"properties":{},"minProperties":2}"#,
            r#"{"properties":{}}"#,
            true,
        ),
        (
            "minProperties up",
            r#"{"minProperties":1}"#,
            r#"{"minProperties":2}"#,
            false,
        ),
        (
            "minProperties down",
            r#"{"minProperties":2}"#,
            r#"{"minProperties":1}"#,
            true,
        ),
        (
            "items added",
            r#"{"type":"array"}"#,
            r#"{"type":"array","items":{"type":"string"}}"#,
            false,
        ),
        (
            "items removed",
            r#"{"type":"array","items":{"type":"string"}}"#,
            r#"{"type":"array"}"#,
            true,
        ),
        (
            "tuple removed",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}]}"#,
            r#"{"type":"array"}"#,
            true,
        ),
        (
            "tuple item added, covered",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"string"}],"additionalItems":{"type":"string"}}"#,
            true,
        ),
        (
            "tuple item added, not covered",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            false,
        ),
        (
            "tuple item removed, covered",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"string"}],"additionalItems":{"type":"string"}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            true,
        ),
        (
            "tuple item removed, covered by a oneOf",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"oneOf":[{"type":"null"},{"type":"string"}]}],"additionalItems":{"oneOf":[{"type":"null"},{"type":"string"}]}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":{"oneOf":[{"type":"null"},{"type":"string"}]}}"#,
            true,
        ),
        (
            "tuple item removed, not covered",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":{"type":"string"}}"#,
            false,
        ),
        (
            "tuple item changed",
            r#"{"type":"array","items":[{"type":"string"}]}"#,
            r#"{"type":"array","items":[{"type":"number"}]}"#,
            false,
        ),
        (
            "maxItems down",
            r#"{"type":"array","maxItems":2}"#,
            r#"{"type":"array","maxItems":1}"#,
            false,
        ),
        (
            "minItems removed",
            r#"{"type":"array","minItems":1}"#,
            r#"{"type":"array"}"#,
            true,
        ),
        (
            "minItems up",
            r#"{"type":"array","minItems":1}"#,
            r#"{"type":"array","minItems":2}"#,
            false,
        ),
        (
            "minItems down",
            r#"{"type":"array","minItems":2}"#,
            r#"{"type":"array","minItems":1}"#,
            true,
        ),
        (
            "uniqueItems removed",
            r#"{"type":"array","uniqueItems":true}"#,
            r#"{"type":"array"}"#,
            true,
        ),
        (
            "referenced definition changed",
            r##"{"type":"array","items":{"$ref":"#/definitions/someRef"},"definitions":{"someRef":{"type":"string"}}}"##,
            r##"{"type":"array","items":{"$ref":"#/definitions/someRef"},"definitions":{"someRef":{"type":"number"}}}"##,
            false,
        ),
        (
            "moved to a definition",
            r#"{"type":"string"}"#,
            r##"{"$ref":"#/definitions/someRef","definitions":{"someRef":{"type":"string"}}}"##,
            true,
        ),
        (
            "moved from a definition",
            r##"{"$ref":"#/definitions/someRef","definitions":{"someRef":{"type":"string"}}}"##,
            r#"{"type":"string"}"#,
            true,
        ),
        (
            "object opened",
            r#"{"properties":{},"additionalProperties":false}"#,
            r#"{"properties":{}}"#,
            true,
        ),
        (
            "object closed",
            r#"{"additionalProperties":true}"#,
            r#"{"additionalProperties":false}"#,
            false,
        ),
        (
            "additional properties narrowed",
            r#"{"additionalProperties":true}"#,
            r#"{"additionalProperties":{"type":"number"}}"#,
            false,
        ),
        (
            "anything-property added to an open object",
            r#"{"additionalProperties":true}"#,
            r#"{"additionalProperties":true,"properties":{"foo":true}}"#,
            true,
        ),
        (
            "anything-property removed from an open object",
            r#"{"additionalProperties":true,"properties":{"foo":true}}"#,
            r#"{"additionalProperties":true}"#,
            true,
        ),
        (
            "nothing-property added to a closed object",
            r#"{"additionalProperties":false}"#,
            r#"{"additionalProperties":false,"properties":{"foo":false}}"#,
            true,
        ),
        (
            "nothing-property removed from a closed object",
            r#"{"additionalProperties":false,"properties":{"foo":false}}"#,
            r#"{"additionalProperties":false}"#,
            true,
        ),
        (
            "additional properties changed",
            r#"{"additionalProperties":{"type":"string"}}"#,
            r#"{"additionalProperties":{"type":"number"}}"#,
            false,
        ),
        (
            "additional items closed",
            r#"{"additionalItems":true}"#,
            r#"{"additionalItems":false}"#,
            false,
        ),
        (
            "additional items changed",
            r#"{"additionalItems":{"type":"string"}}"#,
            r#"{"additionalItems":{"type":"number"}}"#,
            false,
        ),
        (
            "anything-item added to an open tuple",
            r#"{"type":"array","additionalItems":true,"items":[{"type":"number"}]}"#,
            r#"{"type":"array","additionalItems":true,"items":[{"type":"number"},true]}"#,
            true,
        ),
        (
            "anything-item removed from an open tuple",
            r#"{"type":"array","additionalItems":true,"items":[{"type":"number"},true]}"#,
            r#"{"type":"array","additionalItems":true,"items":[{"type":"number"}]}"#,
            true,
        ),
        (
            "nothing-item added to a closed tuple",
            r#"{"type":"array","additionalItems":false,"items":[{"type":"number"}]}"#,
            r#"{"type":"array","additionalItems":false,"items":[{"type":"number"},false]}"#,
            true,
        ),
        (
            "nothing-item removed from a closed tuple",
            r#"{"type":"array","additionalItems":false,"items":[{"type":"number"},false]}"#,
            r#"{"type":"array","additionalItems":false,"items":[{"type":"number"}]}"#,
            true,
        ),
        (
            "item added to a closed tuple, opened",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"boolean"}],"additionalItems":true}"#,
            true,
        ),
        (
            "item removed from a closed tuple, opened",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"},{"type":"boolean"}],"additionalItems":false}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":true}"#,
            true,
        ),
        (
            "item removed from an open tuple",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":true}"#,
            r#"{"type":"array","items":[{"type":"string"}],"additionalItems":true}"#,
            true,
        ),
        (
            "item added to a closed tuple",
            r#"{"type":"array","items":[{"type":"string"}],"additionalItems":false}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false}"#,
            true,
        ),
        (
            "item removed into additional items",
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false}"#,
            r#"{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"number"}}"#,
            true,
        ),
        (
            "item added from additional items",
            r#"{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"number"}}"#,
            r#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":true}"#,
            true,
        ),
        (
            "string into a oneOf",
            r#"{"type":"string"}"#,
            r#"{"oneOf":[{"type":"number"},{"type":"string"}]}"#,
            true,
        ),
        (
            "null into a oneOf",
            r#"{"type":"null"}"#,
            r#"{"oneOf":[{"type":"number"},{"type":"null"}]}"#,
            true,
        ),
        (
            "oneOf extended",
            r#"{"oneOf":[{"type":"number"}]}"#,
            r#"{"oneOf":[{"type":"string"},{"type":"number"}]}"#,
            true,
        ),
        (
            "bounded string into a oneOf",
            r#"{"type":"string","maxLength":3}"#,
            r#"{"oneOf":[{"type":"number"},{"type":"string"}]}"#,
            true,
        ),
    ];
    for (what, original, update, compatible) in cases {
        let messages = violations(Level::Backward, &schema(update), &[(1, schema(original))]);
        assert_eq!(messages.is_empty(), *compatible, "{what}: {messages:?}");
    }
}

#[test]
fn recursion_through_not_and_shared_definitions_terminate() {
    let old = r##"{"type":"object","properties":{"next":{"not":{"$ref":"#"}}}}"##;
    let new = r##"{"title":"t","type":"object","properties":{"next":{"not":{"$ref":"#"}}}}"##;
    assert!(violations(Level::Full, &schema(new), &[(1, schema(old))]).is_empty());
    // Thirty definitions, each using the next twice: 2^30 paths, compared once each.
    let chain = |leaf: &str| {
        let mut defs: Vec<String> = (0..30)
            .map(|i| {
                format!(
                    r##""d{i}":{{"properties":{{"a":{{"$ref":"#/definitions/d{n}"}},"b":{{"$ref":"#/definitions/d{n}"}}}}}}"##,
                    n = i + 1
                )
            })
            .collect();
        defs.push(format!(r#""d30":{{"type":"{leaf}"}}"#));
        format!(
            r##"{{"definitions":{{{}}},"$ref":"#/definitions/d0"}}"##,
            defs.join(",")
        )
    };
    assert!(violations(
        Level::Backward,
        &schema(&chain("string")),
        &[(1, schema(&chain("string")))]
    )
    .is_empty());
    let messages = violations(
        Level::Backward,
        &schema(&chain("integer")),
        &[(1, schema(&chain("string")))],
    );
    assert!(
        messages.iter().any(|m| m.contains("TYPE_NARROWED")),
        "{messages:?}"
    );
}
