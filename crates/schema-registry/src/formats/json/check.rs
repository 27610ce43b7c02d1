//! The keyword-by-keyword check behind [`can_read`](super::can_read).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::JsonSchema;

/// Why `reader` does not accept every document `writer` accepts (empty when it does).
pub(crate) fn can_read(
    reader: &JsonSchema,
    writer: &JsonSchema,
    reader_is: &str,
    writer_is: &str,
) -> Vec<String> {
    let mut check = Check {
        reader,
        writer,
        reader_is,
        writer_is,
        seen: BTreeSet::new(),
        messages: Vec::new(),
    };
    check.compare(
        Side::root(&writer.root),
        Side::root(&reader.root),
        "#".into(),
    );
    check.messages
}

/// A subschema and the document it is in (`None`: the root schema's).
#[derive(Clone, Copy)]
struct Side<'a> {
    value: &'a Value,
    document: Option<&'a str>,
}

impl<'a> Side<'a> {
    fn root(value: &'a Value) -> Self {
        Side {
            value,
            document: None,
        }
    }

    fn at(self, value: &'a Value) -> Self {
        Side { value, ..self }
    }

    fn get(self, key: &str) -> Option<Side<'a>> {
        self.value.get(key).map(|v| self.at(v))
    }

    fn object(&self) -> Option<&'a Map<String, Value>> {
        self.value.as_object()
    }

    /// Accepts anything: `true`, `{}` or only annotations.
    fn is_open(&self) -> bool {
        match self.value {
            Value::Bool(b) => *b,
            Value::Object(o) => o.keys().all(|k| ANNOTATIONS.contains(&k.as_str())),
            _ => false,
        }
    }
}

/// Keywords that do not constrain documents.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "$comment",
    "$anchor",
    "title",
    "description",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "definitions",
    "$defs",
    "$vocabulary",
    "$dynamicAnchor",
];

/// Keywords this check models.
const MODELLED: &[&str] = &[
    "$ref",
    "type",
    "maximum",
    "exclusiveMaximum",
    "maxLength",
    "maxItems",
    "maxProperties",
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "minProperties",
    "multipleOf",
    "pattern",
    "format",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "uniqueItems",
    "patternProperties",
    "additionalItems",
    "not",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
];

/// A schema that accepts anything, for keywords left out.
static OPEN: Value = Value::Bool(true);

/// Upper bounds (a reader may raise or drop them) and lower bounds (lower or drop).
const UPPER: &[&str] = &[
    "maximum",
    "exclusiveMaximum",
    "maxLength",
    "maxItems",
    "maxProperties",
];
const LOWER: &[&str] = &[
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "minProperties",
];

struct Check<'a> {
    reader: &'a JsonSchema,
    writer: &'a JsonSchema,
    reader_is: &'a str,
    writer_is: &'a str,
    /// (writer, reader) subschema pairs under comparison, by address: a recursive schema
    /// compares each pair once.
    seen: BTreeSet<(usize, usize)>,
    messages: Vec<String>,
}

impl<'a> Check<'a> {
    fn report(&mut self, error_type: &str, path: &str, what: &str) {
        self.messages.push(format!(
            "{{errorType:'{error_type}', description:'{what} at path '{path}' in the {} schema (reading what the {} schema allows)'}}",
            self.reader_is, self.writer_is
        ));
    }

    /// Whether `writer`'s documents all satisfy `reader`, without reporting.
    fn accepts(&mut self, writer: Side<'a>, reader: Side<'a>) -> bool {
        let before = self.messages.len();
        self.compare(writer, reader, String::new());
        let ok = self.messages.len() == before;
        self.messages.truncate(before);
        ok
    }

    /// Follows `$ref`s to the subschema they name.
    /// Follows `$ref`s to the subschema they name; `Err` with the reference this check
    /// cannot follow (an anchor, a URI it does not know), which is then reported rather
    /// than taken to accept anything.
    fn resolve(&self, mut side: Side<'a>, of_reader: bool) -> Result<Side<'a>, String> {
        let schema = if of_reader { self.reader } else { self.writer };
        for _ in 0..32 {
            let Some(target) = side.value.get("$ref").and_then(Value::as_str) else {
                return Ok(side);
            };
            let unresolved = || target.to_string();
            let (document, pointer) = target.split_once('#').unwrap_or((target, ""));
            let document = document.trim_start_matches("./");
            let (doc_name, base) = if document.is_empty() {
                let base = match side.document {
                    None => &schema.root,
                    Some(name) => schema.documents.get(name).ok_or_else(unresolved)?,
                };
                (side.document, base)
            } else {
                let (name, doc) = schema
                    .documents
                    .get_key_value(document)
                    .ok_or_else(unresolved)?;
                (Some(name.as_str()), doc)
            };
            // JSON pointers only (`#/$defs/x`, percent-encoding undone); anchors are not
            // followed.
            let pointer = percent_decoded(pointer).ok_or_else(unresolved)?;
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(unresolved());
            }
            let value = base.pointer(&pointer).ok_or_else(unresolved)?;
            side = Side {
                value,
                document: doc_name,
            };
        }
        Err(side
            .value
            .get("$ref")
            .map(Value::to_string)
            .unwrap_or_default())
    }

    fn compare(&mut self, writer: Side<'a>, reader: Side<'a>, path: String) {
        let (writer, reader) = match (self.resolve(writer, false), self.resolve(reader, true)) {
            (Ok(writer), Ok(resolved)) => {
                // Keywords beside a `$ref` apply too (from draft 2019-09): the reader's
                // are checked as well as its target.
                if reader.value.get("$ref").is_some() && constrains_besides_ref(&reader) {
                    self.compare_resolved(writer, reader, &path);
                }
                (writer, resolved)
            }
            (Err(target), _) | (_, Err(target)) => {
                return self.report(
                    "UNRESOLVED_REFERENCE",
                    &path,
                    &format!("The '$ref' {target} cannot be followed by the check"),
                );
            }
        };
        let pair = (
            writer.value as *const Value as usize,
            reader.value as *const Value as usize,
        );
        if !self.seen.insert(pair) {
            return;
        }
        self.compare_resolved(writer, reader, &path);
        self.seen.remove(&pair);
    }

    fn compare_resolved(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        if reader.is_open() || writer.value == &Value::Bool(false) {
            return;
        }
        let empty = Map::new();
        let (w, r) = (
            writer.object().unwrap_or(&empty),
            reader.object().unwrap_or(&empty),
        );
        if reader.value == &Value::Bool(false) {
            return self.report("SCHEMA_NARROWED", path, "Nothing is accepted");
        }
        self.types(w, r, path);
        self.bounds(w, r, path);
        self.values(w, r, path);
        self.objects(writer, reader, path);
        self.arrays(writer, reader, path);
        self.combinators(writer, reader, path);
        self.negation_and_dependencies(writer, reader, path);
        for (key, value) in r {
            let modelled = MODELLED.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str());
            if !modelled && w.get(key) != Some(value) {
                self.report(
                    "KEYWORD_CHANGED",
                    path,
                    &format!("The keyword '{key}' was added or changed"),
                );
            }
        }
    }

    fn types(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        let Some(reader_types) = types(r) else {
            return;
        };
        let narrowed = match types(w) {
            None => true,
            // `number` includes `integer`.
            Some(writer_types) => writer_types.iter().any(|t| {
                !(reader_types.contains(t) || t == "integer" && reader_types.contains("number"))
            }),
        };
        if narrowed {
            self.report("TYPE_NARROWED", path, "The type was narrowed or changed");
        }
    }

    fn bounds(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        for (keys, upper) in [(UPPER, true), (LOWER, false)] {
            for key in keys {
                let Some(bound) = r.get(*key) else { continue };
                let ok = match (w.get(*key), bound.as_f64()) {
                    (Some(given), Some(bound)) => {
                        given
                            .as_f64()
                            .is_some_and(|g| if upper { g <= bound } else { g >= bound })
                    }
                    // Draft 4's boolean exclusiveMaximum: unchanged only.
                    (Some(given), None) => given == bound,
                    (None, _) => false,
                };
                if !ok {
                    self.report(
                        "BOUND_NARROWED",
                        path,
                        &format!("'{key}' was added or made stricter"),
                    );
                }
            }
        }
        if let Some(m) = r.get("multipleOf").and_then(Value::as_f64) {
            let divides = w
                .get("multipleOf")
                .and_then(Value::as_f64)
                .is_some_and(|g| ((g / m) - (g / m).round()).abs() < 1e-9);
            if !divides {
                self.report(
                    "MULTIPLE_OF_CHANGED",
                    path,
                    "'multipleOf' was added or changed",
                );
            }
        }
        for key in ["pattern", "format"] {
            if let Some(v) = r.get(key) {
                if w.get(key) != Some(v) {
                    self.report(
                        "PATTERN_CHANGED",
                        path,
                        &format!("'{key}' was added or changed"),
                    );
                }
            }
        }
        if r.get("uniqueItems") == Some(&Value::Bool(true))
            && w.get("uniqueItems") != Some(&Value::Bool(true))
        {
            self.report("UNIQUE_ITEMS_ADDED", path, "'uniqueItems' was added");
        }
    }

    fn values(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        let allowed = |m: &Map<String, Value>| -> Option<Vec<Value>> {
            match (m.get("const"), m.get("enum")) {
                (Some(c), _) => Some(vec![c.clone()]),
                (None, Some(Value::Array(values))) => Some(values.clone()),
                _ => None,
            }
        };
        let Some(reader_values) = allowed(r) else {
            return;
        };
        let narrowed = match allowed(w) {
            None => true,
            Some(values) => values.iter().any(|v| !reader_values.contains(v)),
        };
        if narrowed {
            self.report(
                "ENUM_ARRAY_NARROWED",
                path,
                "The allowed values ('enum' or 'const') were narrowed or added",
            );
        }
    }

    fn objects(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        let props = |s: Side<'a>| s.get("properties").and_then(|p| p.object());
        let (wp, rp) = (props(writer), props(reader));
        // What an object may hold beyond its named properties: absent is anything.
        let writer_more = writer
            .get("additionalProperties")
            .unwrap_or(writer.at(&OPEN));
        let reader_more = reader
            .get("additionalProperties")
            .unwrap_or(reader.at(&OPEN));
        for (name, r_schema) in rp.into_iter().flatten() {
            let r_side = reader.at(r_schema);
            let p = format!("{path}/properties/{name}");
            if let Some(w_schema) = wp.and_then(|wp| wp.get(name)) {
                self.compare(writer.at(w_schema), r_side, p);
                continue;
            }
            // Added: the writer may have written it under a pattern or as an additional
            // property, and the reader must take what it could be.
            let Some(written_as) = self.beyond(writer, name, &p) else {
                continue;
            };
            if written_as.value == &Value::Bool(false) || r_side.is_open() {
                continue;
            }
            if written_as.is_open() {
                self.report(
                    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                    &p,
                    &format!("The property '{name}' was added to an open object"),
                );
            } else {
                self.compare(written_as, r_side, p);
            }
        }
        for (name, w_schema) in wp.into_iter().flatten() {
            if rp.is_some_and(|rp| rp.contains_key(name)) {
                continue;
            }
            // Removed: the reader now takes it under a pattern or as an additional property.
            let p = format!("{path}/properties/{name}");
            let Some(read_as) = self.beyond(reader, name, &p) else {
                continue;
            };
            let written = writer.at(w_schema);
            if read_as.value == &Value::Bool(false) && written.value != &Value::Bool(false) {
                self.report(
                    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                    &p,
                    &format!("The property '{name}' was removed from a closed object"),
                );
            } else {
                self.compare(written, read_as, p);
            }
        }
        if reader_more.value == &Value::Bool(false) && writer_more.value != &Value::Bool(false) {
            self.report(
                "ADDITIONAL_PROPERTIES_REMOVED",
                path,
                "The object was closed ('additionalProperties' false)",
            );
        } else if !reader_more.is_open() && reader_more.value != &Value::Bool(false) {
            self.compare(
                writer_more,
                reader_more,
                format!("{path}/additionalProperties"),
            );
        }
        // Each pattern of the reader: the writer's same pattern, else what the writer let
        // through beyond its properties.
        let patterns = |s: Side<'a>| s.get("patternProperties").and_then(|p| p.object());
        for (pattern, r_schema) in patterns(reader).into_iter().flatten() {
            let written = patterns(writer)
                .and_then(|w| w.get(pattern))
                .map_or(writer_more, |w| writer.at(w));
            self.compare(
                written,
                reader.at(r_schema),
                format!("{path}/patternProperties/{pattern}"),
            );
        }
        let required = |s: Side<'a>| -> Vec<&'a str> {
            s.get("required")
                .and_then(|r| r.value.as_array())
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        let writer_required = required(writer);
        // As Confluent: a requirement counts for the properties the reader declares.
        for name in required(reader) {
            let Some(declared) = rp.and_then(|rp| rp.get(name)) else {
                continue;
            };
            if !writer_required.contains(&name) && declared.get("default").is_none() {
                self.report(
                    "REQUIRED_PROPERTY_ADDED",
                    &format!("{path}/properties/{name}"),
                    &format!("The property '{name}' became required without a default"),
                );
            }
        }
    }

    /// The schema an object gives a property it does not name: the first of its patterns
    /// that matches, else `additionalProperties` (absent: anything). `None` (reported) when
    /// a pattern is beyond this check's regular expressions.
    fn beyond(&mut self, side: Side<'a>, name: &str, path: &str) -> Option<Side<'a>> {
        let patterns = side.get("patternProperties").and_then(|p| p.object());
        for (pattern, schema) in patterns.into_iter().flatten() {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(name) => return Some(side.at(schema)),
                Ok(_) => {}
                Err(_) => {
                    self.report(
                        "UNSUPPORTED_PATTERN",
                        path,
                        &format!("The pattern '{pattern}' cannot be matched by the check"),
                    );
                    return None;
                }
            }
        }
        Some(side.get("additionalProperties").unwrap_or(side.at(&OPEN)))
    }

    fn arrays(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        // Item i's schema: the tuple's, else `additionalItems` past its end; a single
        // `items` schema for every item; absent, anything.
        let tuple = |s: Side<'a>| s.get("items").and_then(|i| i.value.as_array());
        let rest = |s: Side<'a>| match (tuple(s), s.get("items")) {
            (Some(_), _) => s.get("additionalItems").unwrap_or(s.at(&OPEN)),
            (None, Some(items)) => items,
            (None, None) => s.at(&OPEN),
        };
        let item = |s: Side<'a>, i: usize| match tuple(s) {
            Some(list) => list.get(i).map_or_else(|| rest(s), |v| s.at(v)),
            None => rest(s),
        };
        let (w_tuple, r_tuple) = (tuple(writer), tuple(reader));
        if w_tuple.is_none() && r_tuple.is_none() {
            if let Some(r_items) = reader.get("items") {
                self.compare(rest(writer), r_items, format!("{path}/items"));
            }
            // Confluent compares `additionalItems` even where no tuple makes it apply.
            if let Some(r_more) = reader.get("additionalItems") {
                let w_more = writer.get("additionalItems").unwrap_or(writer.at(&OPEN));
                self.compare(w_more, r_more, format!("{path}/additionalItems"));
            }
            return;
        }
        let n = w_tuple.map_or(0, Vec::len).max(r_tuple.map_or(0, Vec::len));
        for i in 0..n {
            self.compare(
                item(writer, i),
                item(reader, i),
                format!("{path}/items/{i}"),
            );
        }
        self.compare(
            rest(writer),
            rest(reader),
            format!("{path}/additionalItems"),
        );
    }

    /// `not`: what the reader refuses, the writer must have refused too; `dependencies`
    /// (and `dependentRequired`/`dependentSchemas`): each the reader has, the writer had, at
    /// least as strict.
    fn negation_and_dependencies(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        if let Some(r_not) = reader.get("not") {
            let refused = match writer.get("not") {
                None => false,
                Some(w_not) => {
                    // Every document the reader's `not` matches, the writer's must: the
                    // same check with the sides (and their documents) swapped.
                    let mut swapped = Check {
                        reader: self.writer,
                        writer: self.reader,
                        reader_is: self.writer_is,
                        writer_is: self.reader_is,
                        seen: BTreeSet::new(),
                        messages: Vec::new(),
                    };
                    swapped.compare(r_not, w_not, format!("{path}/not"));
                    swapped.messages.is_empty()
                }
            };
            if !refused {
                self.report(
                    "NOT_TYPE_EXTENDED",
                    &format!("{path}/not"),
                    "'not' refuses documents the other schema allowed",
                );
            }
        }
        for key in ["dependencies", "dependentRequired", "dependentSchemas"] {
            let Some(r_deps) = reader.get(key).and_then(|d| d.object()) else {
                continue;
            };
            let w_deps = writer.get(key).and_then(|d| d.object());
            for (name, r_dep) in r_deps {
                let at = format!("{path}/{key}/{name}");
                let w_dep = w_deps.and_then(|w| w.get(name));
                match (w_dep, r_dep) {
                    (Some(Value::Array(w)), Value::Array(r)) => {
                        if r.iter().any(|n| !w.contains(n)) {
                            self.report(
                                "DEPENDENCY_ARRAY_EXTENDED",
                                &at,
                                "A dependency array grew",
                            );
                        }
                    }
                    (Some(w), r) if !w.is_array() && !r.is_array() => {
                        self.compare(writer.at(w), reader.at(r), at);
                    }
                    _ => self.report(
                        "DEPENDENCY_ADDED",
                        &at,
                        &format!("A dependency on '{name}' was added or changed form"),
                    ),
                }
            }
        }
    }

    fn combinators(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        let branches = |s: Side<'a>, key: &str| -> Option<Vec<Side<'a>>> {
            s.get(key).and_then(|v| {
                v.value
                    .as_array()
                    .map(|a| a.iter().map(|b| s.at(b)).collect())
            })
        };
        for key in ["anyOf", "oneOf"] {
            let Some(reader_branches) = branches(reader, key) else {
                continue;
            };
            // Each writer branch (or the writer itself) must fit some reader branch.
            let writer_branches = branches(writer, "anyOf")
                .or_else(|| branches(writer, "oneOf"))
                .unwrap_or_else(|| vec![writer]);
            for (i, w) in writer_branches.into_iter().enumerate() {
                if !reader_branches.iter().any(|r| self.accepts(w, *r)) {
                    self.report(
                        "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
                        &format!("{path}/{key}"),
                        &format!(
                            "No branch accepts the {} schema's branch {i}",
                            self.writer_is
                        ),
                    );
                }
            }
        }
        if let Some(reader_all) = branches(reader, "allOf") {
            let writer_all = branches(writer, "allOf").unwrap_or_default();
            for (i, r) in reader_all.into_iter().enumerate() {
                let ok = self.accepts(writer, r) || writer_all.iter().any(|w| self.accepts(*w, r));
                if !ok {
                    self.report(
                        "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
                        &format!("{path}/allOf/{i}"),
                        "A subschema of 'allOf' was added or narrowed",
                    );
                }
            }
        }
    }
}

/// Whether a schema with a `$ref` also has keywords of its own that constrain.
fn constrains_besides_ref(side: &Side<'_>) -> bool {
    side.object().is_some_and(|o| {
        o.keys()
            .any(|k| k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
    })
}

/// A JSON pointer from a URI fragment, percent-encoding undone; `None` when malformed.
fn percent_decoded(fragment: &str) -> Option<String> {
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = fragment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The types a schema allows (`None`: any).
fn types(schema: &Map<String, Value>) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}
