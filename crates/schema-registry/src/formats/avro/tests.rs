use super::*;

fn avro(text: &str) -> AvroSchema {
    parse(text, &[])
        .unwrap_or_else(|e| panic!("{}: {text}", e.message))
        .0
}

/// What stops `reader` reading `writer`: (error type, location) pairs.
fn verdict(reader: &str, writer: &str) -> Vec<(&'static str, String)> {
    compat::incompatibilities(&avro(reader), &avro(writer))
        .into_iter()
        .map(|i| (i.kind, i.location))
        .collect()
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","namespace":"a","fields":[{fields}]}}"#)
}

/// A reader, a writer, and what stops the one reading the other: an error type and its
/// location, or nothing.
type Case = (String, String, Option<(&'static str, &'static str)>);

/// Cases after the Avro specification's resolution rules as Confluent's registry applies them.
#[test]
fn resolution_cases() {
    let cases: Vec<Case> = vec![
        // Promotions, one way only.
        (r#""long""#.into(), r#""int""#.into(), None),
        (r#""double""#.into(), r#""float""#.into(), None),
        (r#""float""#.into(), r#""long""#.into(), None),
        (r#""bytes""#.into(), r#""string""#.into(), None),
        (r#""string""#.into(), r#""bytes""#.into(), None),
        (
            r#""int""#.into(),
            r#""long""#.into(),
            Some(("TYPE_MISMATCH", "/")),
        ),
        // Logical types are their underlying type.
        (
            r#"{"type":"long","logicalType":"timestamp-millis"}"#.into(),
            r#""long""#.into(),
            None,
        ),
        (
            r#"{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}"#.into(),
            r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":1}"#.into(),
            None,
        ),
        // A field added needs a default; one removed is skipped.
        (
            record(r#"{"name":"x","type":"int"},{"name":"y","type":"int","default":0}"#),
            record(r#"{"name":"x","type":"int"}"#),
            None,
        ),
        (
            record(r#"{"name":"x","type":"int"},{"name":"y","type":"int"}"#),
            record(r#"{"name":"x","type":"int"}"#),
            Some(("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/1")),
        ),
        (
            record(r#"{"name":"x","type":"int"}"#),
            record(r#"{"name":"x","type":"int"},{"name":"y","type":"int"}"#),
            None,
        ),
        // A field renamed with an alias of its old name.
        (
            record(r#"{"name":"z","aliases":["x"],"type":"long"}"#),
            record(r#"{"name":"x","type":"int"}"#),
            None,
        ),
        (
            record(r#"{"name":"x","type":"string"}"#),
            record(r#"{"name":"x","type":"int"}"#),
            Some(("TYPE_MISMATCH", "/fields/0/type")),
        ),
        // Names: the namespace may change, the name only with an alias.
        (
            r#"{"type":"record","name":"R","namespace":"b","fields":[]}"#.into(),
            record(""),
            None,
        ),
        (
            r#"{"type":"record","name":"S","namespace":"a","fields":[]}"#.into(),
            record(""),
            Some(("NAME_MISMATCH", "/name")),
        ),
        (
            r#"{"type":"record","name":"S","aliases":["a.R"],"fields":[]}"#.into(),
            record(""),
            None,
        ),
        // Enums: every writer symbol, unless the reader has a default.
        (
            r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#.into(),
            r#"{"type":"enum","name":"E","symbols":["A","B"]}"#.into(),
            None,
        ),
        (
            r#"{"type":"enum","name":"E","symbols":["A","B"]}"#.into(),
            r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#.into(),
            Some(("MISSING_ENUM_SYMBOLS", "/symbols")),
        ),
        (
            r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#.into(),
            r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#.into(),
            None,
        ),
        (
            r#"{"type":"fixed","name":"F","size":8}"#.into(),
            r#"{"type":"fixed","name":"F","size":16}"#.into(),
            Some(("FIXED_SIZE_MISMATCH", "/size")),
        ),
        // Unions: a reader union reads a branch; a writer union needs every branch read.
        (r#"["null","string"]"#.into(), r#""string""#.into(), None),
        (
            r#""string""#.into(),
            r#"["null","string"]"#.into(),
            Some(("MISSING_UNION_BRANCH", "/0")),
        ),
        (
            r#"["null","long"]"#.into(),
            r#"["null","int"]"#.into(),
            None,
        ),
        (
            r#"["null","int"]"#.into(),
            r#""string""#.into(),
            Some(("MISSING_UNION_BRANCH", "/")),
        ),
        (
            r#"{"type":"array","items":"long"}"#.into(),
            r#"{"type":"array","items":"int"}"#.into(),
            None,
        ),
        (
            r#"{"type":"map","values":"int"}"#.into(),
            r#"{"type":"map","values":"long"}"#.into(),
            Some(("TYPE_MISMATCH", "/values")),
        ),
    ];
    for (reader, writer, expected) in &cases {
        let found = verdict(reader, writer);
        let expected: Vec<(&str, String)> = expected
            .iter()
            .map(|(kind, at)| (*kind, at.to_string()))
            .collect();
        assert_eq!(found, expected, "reader {reader}, writer {writer}");
    }
}

/// A named type used a second time is a reference to the first: followed, not refused.
#[test]
fn a_named_type_used_again_is_followed_through_its_name() {
    let writer = record(
        r#"{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}},{"name":"work","type":"Address"}"#,
    );
    let reader = record(
        r#"{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"},{"name":"zip","type":"string","default":""}]}},{"name":"work","type":"Address"}"#,
    );
    assert_eq!(verdict(&reader, &writer), []);
    let breaking = reader.replace(r#","default":"""#, "");
    // The missing default shows where the type is defined, and again where it is used.
    assert_eq!(
        verdict(&breaking, &writer),
        [
            (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "/fields/0/type/fields/1".to_string()
            ),
            (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "/fields/1/type".to_string()
            ),
        ]
    );
}

#[test]
fn types_brought_in_by_references_are_followed() {
    let address = |extra: &str| {
        format!(
            r#"{{"type":"record","name":"Address","namespace":"geo","fields":[{{"name":"city","type":"string"}}{extra}]}}"#
        )
    };
    let with = |text: String| Referenced {
        name: "geo.Address".into(),
        schema_type: "AVRO".into(),
        text,
    };
    let user = record(r#"{"name":"home","type":"geo.Address"}"#);
    let (old, _) = parse(&user, &[with(address(""))]).unwrap();
    let (new, _) = parse(
        &user,
        &[with(address(
            r#",{"name":"zip","type":"string","default":""}"#,
        ))],
    )
    .unwrap();
    assert_eq!(compat::incompatibilities(&new, &old), []);
    let (bad, _) = parse(
        &user,
        &[with(address(r#",{"name":"zip","type":"string"}"#))],
    )
    .unwrap();
    let found = compat::incompatibilities(&bad, &old);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].location, "/fields/0/type/fields/1");
}

#[test]
fn recursive_types_terminate() {
    let list = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;
    let longer = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}"#;
    assert_eq!(verdict(longer, list), []);
    assert!(!verdict(list, longer).is_empty());
}

#[test]
fn messages_name_the_field_and_the_side() {
    let messages = can_read(
        &avro(&record(
            r#"{"name":"x","type":"int"},{"name":"email","type":"string"}"#,
        )),
        &avro(&record(r#"{"name":"x","type":"int"}"#)),
        "new",
        "old",
    );
    assert_eq!(
        messages,
        ["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'email' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'email'}"]
    );
}

#[test]
fn a_named_type_used_many_times_is_compared_once() {
    // R0 … R29, each with two fields of the next: 2^30 paths through the types.
    let chain = |leaf: &str| {
        let mut schema = format!(
            r#"{{"type":"record","name":"R30","fields":[{{"name":"v","type":"{leaf}"}}]}}"#
        );
        for i in (0..30).rev() {
            let next = i + 1;
            schema = format!(
                r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":{schema}}},{{"name":"b","type":"R{next}"}}]}}"#
            );
        }
        schema
    };
    assert_eq!(verdict(&chain("long"), &chain("int")), []);
    let found = verdict(&chain("int"), &chain("long"));
    assert!(
        found.iter().any(|(kind, _)| *kind == "TYPE_MISMATCH"),
        "{found:?}"
    );
}
