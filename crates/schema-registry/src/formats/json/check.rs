//! The keyword-by-keyword check behind [`can_read`](super::can_read).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::JsonSchema;

mod containers;

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
        flipped: false,
        verdicts: HashMap::new(),
        journal: Vec::new(),
        work: 0,
        messages: Vec::new(),
    };
    if nested_ids_with_refs(reader) || nested_ids_with_refs(writer) {
        check.report(
            "UNSUPPORTED_NESTED_ID",
            "#",
            "A '$ref' under a nested '$id' cannot be followed by the check",
        );
        return check.messages;
    }
    check.compare(
        Side::root(&writer.root),
        Side::root(&reader.root),
        "#".into(),
    );
    check.messages
}

/// How many subschema pairs one check may compare: schemas that share definitions can ask
/// for exponentially many, and a registration must be answered.
const WORK_LIMIT: usize = 200_000;

/// Whether a schema has a `$id` (or draft 4 `id`) below its root and `$ref`s at all: refs
/// would then resolve against a base this check does not track.
fn nested_ids_with_refs(schema: &JsonSchema) -> bool {
    fn walk(v: &Value, root: bool, ids: &mut bool, refs: &mut bool) {
        match v {
            Value::Object(o) => {
                if !root
                    && (o.get("$id").is_some_and(Value::is_string)
                        || o.get("id").is_some_and(Value::is_string))
                {
                    *ids = true;
                }
                if o.contains_key("$ref") {
                    *refs = true;
                }
                for child in o.values() {
                    walk(child, false, ids, refs);
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, false, ids, refs)),
            _ => {}
        }
    }
    let (mut ids, mut refs) = (false, false);
    walk(&schema.root, true, &mut ids, &mut refs);
    for document in schema.documents.values() {
        walk(document, true, &mut ids, &mut refs);
    }
    ids && refs
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

/// Keywords that change what the modelled ones mean; not modelled.
const STRUCTURAL: &[&str] = &[
    "unevaluatedProperties",
    "unevaluatedItems",
    "prefixItems",
    "$dynamicRef",
    "$recursiveRef",
];

/// Whether a value holds a `$ref` anywhere.
fn contains_ref(value: &Value) -> bool {
    match value {
        Value::Object(o) => o.contains_key("$ref") || o.values().any(contains_ref),
        Value::Array(a) => a.iter().any(contains_ref),
        _ => false,
    }
}

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
    /// Comparing inside a `not`: the roles of the two schemas are swapped.
    flipped: bool,
    /// (writer, reader, flipped) subschema pairs by address, and whether the writer's
    /// documents pass the reader. A pair being compared counts as passing (recursive
    /// schemas); a finished one is not compared again (shared definitions).
    verdicts: HashMap<(usize, usize, bool), bool>,
    /// The pairs given a verdict, in order: a trial that fails takes back the verdicts it
    /// gave, which may rest on an assumption it disproved.
    journal: Vec<(usize, usize, bool)>,
    /// Pairs compared so far, against [`WORK_LIMIT`].
    work: usize,
    messages: Vec<String>,
}

impl<'a> Check<'a> {
    fn report(&mut self, error_type: &str, path: &str, what: &str) {
        self.messages.push(format!(
            "{{errorType:'{error_type}', description:'{what} at path '{path}' in the {} schema (reading what the {} schema allows)'}}",
            self.reader_is, self.writer_is
        ));
    }

    /// Swaps the roles of the two schemas (for `not`).
    fn flip(&mut self) {
        std::mem::swap(&mut self.reader, &mut self.writer);
        std::mem::swap(&mut self.reader_is, &mut self.writer_is);
        self.flipped = !self.flipped;
    }

    /// Whether `writer`'s documents all satisfy `reader`, without reporting.
    fn accepts(&mut self, writer: Side<'a>, reader: Side<'a>) -> bool {
        let (before, judged) = (self.messages.len(), self.journal.len());
        self.compare(writer, reader, String::new());
        let ok = self.messages.len() == before && self.work < WORK_LIMIT;
        self.messages.truncate(before);
        if !ok {
            for pair in self.journal.drain(judged..) {
                self.verdicts.remove(&pair);
            }
        }
        ok
    }

    /// Follows `$ref`s to the subschema they name.
    /// Follows `$ref`s to the subschema they name; `Err` with the reference this check
    /// cannot follow (an anchor, a URI it does not know), which is then reported rather
    /// than taken to accept anything.
    fn resolve(&self, side: Side<'a>, of_reader: bool) -> Result<Side<'a>, String> {
        self.resolve_hops(side, of_reader, &mut Vec::new())
    }

    /// As [`resolve`](Self::resolve), collecting each schema on the way that has keywords
    /// of its own beside its `$ref` (they apply too, from draft 2019-09).
    fn resolve_hops(
        &self,
        mut side: Side<'a>,
        of_reader: bool,
        hops: &mut Vec<Side<'a>>,
    ) -> Result<Side<'a>, String> {
        let schema = if of_reader { self.reader } else { self.writer };
        for _ in 0..32 {
            let Some(target) = side.value.get("$ref").and_then(Value::as_str) else {
                return Ok(side);
            };
            if constrains_besides_ref(&side) {
                hops.push(side);
            }
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
        let mut hops = Vec::new();
        let resolved = (
            self.resolve(writer, false),
            self.resolve_hops(reader, true, &mut hops),
        );
        let (writer, reader) = match resolved {
            (Ok(writer), Ok(resolved)) => {
                // Keywords beside a `$ref` apply too (from draft 2019-09): the reader's,
                // at every hop, are checked as well as its target.
                for hop in hops {
                    self.compare_resolved(writer, hop, &path);
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
            self.flipped,
        );
        if let Some(passed) = self.verdicts.get(&pair) {
            if !passed {
                self.report(
                    "INCOMPATIBLE_SUBSCHEMA",
                    &path,
                    "A subschema found incompatible elsewhere is used",
                );
            }
            return;
        }
        self.work += 1;
        if self.work == WORK_LIMIT {
            self.report(
                "TOO_COMPLEX",
                &path,
                "The schemas ask for more comparisons than the check makes",
            );
        }
        if self.work >= WORK_LIMIT {
            return;
        }
        self.verdicts.insert(pair, true);
        self.journal.push(pair);
        let before = self.messages.len();
        self.compare_resolved(writer, reader, &path);
        let passed = self.messages.len() == before;
        self.verdicts.insert(pair, passed);
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
        // Keywords this check does not model must be unchanged, and hold no `$ref` (whose
        // target may have changed behind an unchanged text).
        for (key, value) in r {
            let modelled = MODELLED.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str());
            if !modelled && (w.get(key) != Some(value) || contains_ref(value)) {
                self.report(
                    "KEYWORD_CHANGED",
                    path,
                    &format!("The keyword '{key}' was added or changed, or refers elsewhere"),
                );
            }
        }
        // These change what the modelled keywords mean (what counts as evaluated, which
        // items a tuple holds): wherever either side has one, both must be the same.
        let structural = |m: &Map<String, Value>| STRUCTURAL.iter().any(|k| m.contains_key(*k));
        if (structural(w) || structural(r)) && (w != r || r.values().any(contains_ref)) {
            self.report(
                "UNEVALUATED_OR_PREFIX_ITEMS_CHANGED",
                path,
                "A schema with 'unevaluated*', 'prefixItems' or a dynamic reference changed",
            );
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
