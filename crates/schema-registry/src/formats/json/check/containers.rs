//! Objects and arrays: properties, patterns, `additionalProperties`, tuples and
//! `additionalItems`; `not` and dependencies.

use serde_json::Value;

use super::{Check, Side, OPEN};

impl<'a> Check<'a> {
    pub(super) fn objects(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
        let props = |s: Side<'a>| s.get("properties").and_then(|p| p.object());
        let (wp, rp) = (props(writer), props(reader));
        // What an object may hold beyond its named properties: absent is anything.
        let writer_more = writer
            .get("additionalProperties")
            .unwrap_or(writer.at(&OPEN));
        let reader_more = reader
            .get("additionalProperties")
            .unwrap_or(reader.at(&OPEN));
        // Every property either names: what the writer let it be (its own schema, else a
        // pattern's, else `additionalProperties`), against everything the reader applies
        // to it (its own schema and every pattern matching it, else `additionalProperties`).
        let mut names: Vec<&'a String> = wp.into_iter().flatten().map(|(k, _)| k).collect();
        names.extend(rp.into_iter().flatten().map(|(k, _)| k));
        names.sort();
        names.dedup();
        for name in names {
            let p = format!("{path}/properties/{name}");
            let declared_by_writer = wp.and_then(|w| w.get(name)).map(|v| writer.at(v));
            let declared_by_reader = rp.and_then(|r| r.get(name)).map(|v| reader.at(v));
            let written = match declared_by_writer {
                Some(w) => w,
                None => match self.applied(writer, name, &p) {
                    Some(mut applied) if !applied.is_empty() => applied.swap_remove(0),
                    _ => continue,
                },
            };
            let Some(mut read) = self.applied(reader, name, &p) else {
                continue;
            };
            if let Some(r) = declared_by_reader {
                // A declared property: its own schema, plus the patterns matching it.
                read.retain(|s| !std::ptr::eq(s.value, reader_more.value));
                read.insert(0, r);
            }
            if written.value == &Value::Bool(false) {
                continue;
            }
            for r in read {
                if r.is_open() {
                    continue;
                }
                if declared_by_writer.is_none() && written.is_open() {
                    self.report(
                        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                        &p,
                        &format!("The property '{name}' was added to an open object"),
                    );
                } else if declared_by_reader.is_none() && r.value == &Value::Bool(false) {
                    self.report(
                        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                        &p,
                        &format!("The property '{name}' was removed from a closed object"),
                    );
                } else {
                    self.compare(written, r, p.clone());
                }
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
        self.patterns(writer, reader, writer_more, reader_more, path);
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

    /// What an object applies to a property it does not declare: every pattern matching
    /// its name, else `additionalProperties` (absent: anything). `None` (reported) when a
    /// pattern is beyond this check's regular expressions.
    fn applied(&mut self, side: Side<'a>, name: &str, path: &str) -> Option<Vec<Side<'a>>> {
        let mut out = Vec::new();
        let patterns = side.get("patternProperties").and_then(|p| p.object());
        for (pattern, schema) in patterns.into_iter().flatten() {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(name) => out.push(side.at(schema)),
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
        if out.is_empty() {
            out.push(side.get("additionalProperties").unwrap_or(side.at(&OPEN)));
        }
        Some(out)
    }

    /// The names no side declares: pattern by pattern when both have the same patterns;
    /// one side's patterns against the other's `additionalProperties` when only it has
    /// any; different patterns on both sides cannot be compared here, and are reported.
    fn patterns(
        &mut self,
        writer: Side<'a>,
        reader: Side<'a>,
        writer_more: Side<'a>,
        reader_more: Side<'a>,
        path: &str,
    ) {
        let patterns = |s: Side<'a>| {
            s.get("patternProperties")
                .and_then(|p| p.object())
                .filter(|p| !p.is_empty())
        };
        let at = |pattern: &str| format!("{path}/patternProperties/{pattern}");
        match (patterns(writer), patterns(reader)) {
            (None, None) => {}
            (Some(w), Some(r)) if w.keys().eq(r.keys()) => {
                for (pattern, r_schema) in r {
                    if let Some(w_schema) = w.get(pattern) {
                        self.compare(writer.at(w_schema), reader.at(r_schema), at(pattern));
                    }
                }
            }
            (Some(_), Some(_)) => self.report(
                "PATTERN_PROPERTIES_CHANGED",
                path,
                "'patternProperties' changed on both sides",
            ),
            (None, Some(r)) => {
                for (pattern, r_schema) in r {
                    self.compare(writer_more, reader.at(r_schema), at(pattern));
                }
            }
            (Some(w), None) => {
                for (pattern, w_schema) in w {
                    let written = writer.at(w_schema);
                    if reader_more.value == &Value::Bool(false)
                        && written.value != &Value::Bool(false)
                    {
                        self.report(
                            "PATTERN_PROPERTIES_REMOVED",
                            &at(pattern),
                            "Properties matching the pattern were closed out",
                        );
                    } else {
                        self.compare(written, reader_more, at(pattern));
                    }
                }
            }
        }
    }

    pub(super) fn arrays(&mut self, writer: Side<'a>, reader: Side<'a>, path: &str) {
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
    pub(super) fn negation_and_dependencies(
        &mut self,
        writer: Side<'a>,
        reader: Side<'a>,
        path: &str,
    ) {
        if let Some(r_not) = reader.get("not") {
            let refused = match writer.get("not") {
                None => false,
                Some(w_not) => {
                    // Every document the reader's `not` matches, the writer's must: the
                    // same check with the sides (and their documents) swapped.
                    self.flip();
                    let passed = self.accepts(r_not, w_not);
                    self.flip();
                    passed
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
}
