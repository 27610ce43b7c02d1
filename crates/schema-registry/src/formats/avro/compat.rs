//! Whether an Avro reader schema reads what a writer schema wrote: the specification's
//! resolution rules, checked as Apache Avro's Java `SchemaCompatibility` does (which is what
//! Confluent's registry runs), with its error types and locations.
//!
//! - Same primitive: fine. Promotions: int → long, float, double; long → float, double;
//!   float → double; string ↔ bytes. Logical types count as their underlying type.
//! - Named types (record, enum, fixed) match on the unqualified name, or a reader alias naming
//!   the writer's full name.
//! - Record: each reader field is found in the writer by name, else by one of its aliases;
//!   one found nowhere needs a default. Writer fields the reader lacks are skipped.
//! - Enum: every writer symbol is a reader symbol, unless the reader has a default.
//! - Fixed: the same size. Array items and map values are checked in turn.
//! - Union writer: every branch is read. Union reader of a non-union: some branch reads it.
//! - A named type used again, or brought in by a reference, is followed through its name; a
//!   pair of types already being compared counts as readable (recursive types).
//!
//! Locations are JSON pointers into the reader schema (`/fields/1/type/symbols`).

use std::collections::HashMap;

use apache_avro::schema::{
    EnumSchema, FixedSchema, InnerDecimalSchema, NamesRef, RecordSchema, ResolvedSchema, UuidSchema,
};
use apache_avro::Schema;

use super::AvroSchema;

/// A schema as the rules see it: references followed, logical types as their underlying type.
enum Shape<'a> {
    Primitive(&'static str),
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a [Schema]),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed(&'a FixedSchema),
}

impl Shape<'_> {
    /// Java's name for the type (`STRING`, `RECORD`, …).
    fn name(&self) -> &'static str {
        match self {
            Shape::Primitive(name) => name,
            Shape::Array(_) => "ARRAY",
            Shape::Map(_) => "MAP",
            Shape::Union(_) => "UNION",
            Shape::Record(_) => "RECORD",
            Shape::Enum(_) => "ENUM",
            Shape::Fixed(_) => "FIXED",
        }
    }
}

fn shape<'a>(schema: &'a Schema, names: &NamesRef<'a>) -> Shape<'a> {
    match schema {
        Schema::Null => Shape::Primitive("NULL"),
        Schema::Boolean => Shape::Primitive("BOOLEAN"),
        Schema::Int | Schema::Date | Schema::TimeMillis => Shape::Primitive("INT"),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Shape::Primitive("LONG"),
        Schema::Float => Shape::Primitive("FLOAT"),
        Schema::Double => Shape::Primitive("DOUBLE"),
        Schema::Bytes | Schema::BigDecimal => Shape::Primitive("BYTES"),
        Schema::String => Shape::Primitive("STRING"),
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Fixed(f) => Shape::Fixed(f),
            InnerDecimalSchema::Bytes => Shape::Primitive("BYTES"),
        },
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) | Schema::Fixed(f) => {
            Shape::Fixed(f)
        }
        Schema::Uuid(UuidSchema::Bytes) => Shape::Primitive("BYTES"),
        Schema::Uuid(UuidSchema::String) => Shape::Primitive("STRING"),
        Schema::Array(a) => Shape::Array(&a.items),
        Schema::Map(m) => Shape::Map(&m.types),
        Schema::Union(u) => Shape::Union(u.variants()),
        Schema::Record(r) => Shape::Record(r),
        Schema::Enum(e) => Shape::Enum(e),
        Schema::Ref { name } => match names.get(name) {
            Some(named) if !matches!(named, Schema::Ref { .. }) => shape(named, names),
            // A name the parser resolved cannot be missing; were it, nothing would match it.
            _ => Shape::Primitive("UNRESOLVED"),
        },
    }
}

/// How many type pairs one check may compare: a bound on the work a registration causes.
const WORK_LIMIT: usize = 200_000;

/// One incompatibility: Java's type, where in the reader, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Incompatibility {
    pub kind: &'static str,
    pub location: String,
    pub message: String,
}

/// Every reason `reader` cannot read what `writer` wrote (empty: it can).
pub(super) fn incompatibilities(reader: &AvroSchema, writer: &AvroSchema) -> Vec<Incompatibility> {
    fn names(s: &AvroSchema) -> NamesRef<'_> {
        let mut all: Vec<&Schema> = s.referenced.iter().collect();
        all.push(&s.schema);
        ResolvedSchema::new_with_schemata(all)
            .map(|r| r.get_names().clone())
            .unwrap_or_default()
    }
    let mut checker = Checker {
        reader_names: names(reader),
        writer_names: names(writer),
        verdicts: HashMap::new(),
        journal: Vec::new(),
        work: 0,
        found: Vec::new(),
        location: Vec::new(),
    };
    checker.check(&reader.schema, &writer.schema);
    checker.found
}

/// What a finished (or, while compared, assumed) pair came to: readable, or not, with the
/// first incompatibility found in it.
enum Verdict {
    Readable,
    Unreadable(&'static str, String),
}

struct Checker<'a> {
    reader_names: NamesRef<'a>,
    writer_names: NamesRef<'a>,
    /// (reader, writer) pairs of schemas (named ones by their definition) by address, and
    /// whether the reader reads the writer. A pair being compared counts as readable
    /// (recursive types, as Java's checker); a finished one is not compared again (a named
    /// type used many times).
    verdicts: HashMap<(usize, usize), Verdict>,
    /// The pairs given a verdict, in order: a trial that fails takes back the verdicts it
    /// gave, which may rest on an assumption it disproved.
    journal: Vec<(usize, usize)>,
    /// Pairs compared so far, against [`WORK_LIMIT`].
    work: usize,
    found: Vec<Incompatibility>,
    location: Vec<String>,
}

impl<'a> Checker<'a> {
    fn report(&mut self, kind: &'static str, message: String) {
        self.found.push(Incompatibility {
            kind,
            location: format!("/{}", self.location.join("/")),
            message,
        });
    }

    /// Compares under `step` of the location.
    fn check_at(&mut self, step: impl ToString, reader: &'a Schema, writer: &'a Schema) -> bool {
        self.location.push(step.to_string());
        let ok = self.check(reader, writer);
        self.location.pop();
        ok
    }

    /// Whether `reader` reads `writer`, without reporting why not.
    fn reads(&mut self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let (before, judged) = (self.found.len(), self.journal.len());
        let ok = self.check(reader, writer);
        self.found.truncate(before);
        if !ok {
            for pair in self.journal.drain(judged..) {
                self.verdicts.remove(&pair);
            }
        }
        ok
    }

    fn check(&mut self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let address = |s: &Schema, names: &NamesRef<'a>| match s {
            Schema::Ref { name } => names.get(name).map_or(s as *const Schema as usize, |d| {
                *d as *const Schema as usize
            }),
            _ => s as *const Schema as usize,
        };
        let pair = (
            address(reader, &self.reader_names),
            address(writer, &self.writer_names),
        );
        match self.verdicts.get(&pair) {
            Some(Verdict::Readable) => return true,
            Some(Verdict::Unreadable(kind, at)) => {
                let (kind, message) = (*kind, format!("as at {at}"));
                self.report(kind, message);
                return false;
            }
            None => {}
        }
        self.work += 1;
        if self.work >= WORK_LIMIT {
            if self.work == WORK_LIMIT {
                self.report(
                    "TOO_COMPLEX",
                    "the schemas ask for more comparisons than the check makes".into(),
                );
            }
            return false;
        }
        self.verdicts.insert(pair, Verdict::Readable);
        self.journal.push(pair);
        let before = self.found.len();
        let ok = self.compare(reader, writer);
        let verdict = match self.found.get(before) {
            Some(first) if !ok => Verdict::Unreadable(first.kind, first.location.clone()),
            _ if !ok => Verdict::Unreadable("TYPE_MISMATCH", self.location.join("/")),
            _ => Verdict::Readable,
        };
        self.verdicts.insert(pair, verdict);
        ok
    }

    fn compare(&mut self, reader_schema: &'a Schema, writer_schema: &'a Schema) -> bool {
        let reader = shape(reader_schema, &self.reader_names);
        let writer = shape(writer_schema, &self.writer_names);
        match (&reader, &writer) {
            (Shape::Primitive(r), Shape::Primitive(w)) if r == w && *r != "UNRESOLVED" => true,
            (Shape::Array(r), Shape::Array(w)) => self.check_at("items", r, w),
            (Shape::Map(r), Shape::Map(w)) => self.check_at("values", r, w),
            (Shape::Fixed(r), Shape::Fixed(w)) => {
                if !self.same_name(&r.name, &r.aliases, &w.name) {
                    return false;
                }
                if r.size != w.size {
                    self.location.push("size".into());
                    self.report(
                        "FIXED_SIZE_MISMATCH",
                        format!("expected: {}, found: {}", w.size, r.size),
                    );
                    self.location.pop();
                    return false;
                }
                true
            }
            (Shape::Enum(r), Shape::Enum(w)) => {
                if !self.same_name(&r.name, &r.aliases, &w.name) {
                    return false;
                }
                let missing: Vec<&str> = w
                    .symbols
                    .iter()
                    .filter(|s| !r.symbols.contains(s))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() || r.default.is_some() {
                    return true;
                }
                self.location.push("symbols".into());
                self.report("MISSING_ENUM_SYMBOLS", format!("[{}]", missing.join(", ")));
                self.location.pop();
                false
            }
            (Shape::Record(r), Shape::Record(w)) => {
                if !self.same_name(&r.name, &r.aliases, &w.name) {
                    return false;
                }
                self.fields(r, w)
            }
            (_, Shape::Union(writer_branches)) => {
                // Every branch the writer may have written must be read.
                let mut ok = true;
                for (i, branch) in writer_branches.iter().enumerate() {
                    self.location.push(i.to_string());
                    if !self.reads(reader_schema, branch) {
                        let branch_type = shape(branch, &self.writer_names).name();
                        self.report(
                            "MISSING_UNION_BRANCH",
                            format!("reader union lacking writer type: {branch_type}"),
                        );
                        ok = false;
                    }
                    self.location.pop();
                }
                ok
            }
            (Shape::Union(reader_branches), _) => {
                if reader_branches.iter().any(|b| self.reads(b, writer_schema)) {
                    return true;
                }
                self.report(
                    "MISSING_UNION_BRANCH",
                    format!("reader union lacking writer type: {}", writer.name()),
                );
                false
            }
            (Shape::Primitive(r), Shape::Primitive(w)) if promotes(w, r) => true,
            _ => {
                self.report(
                    "TYPE_MISMATCH",
                    format!(
                        "reader type: {} not compatible with writer type: {}",
                        reader.name(),
                        writer.name()
                    ),
                );
                false
            }
        }
    }

    /// Named types match on the unqualified name, or a reader alias of the writer's full name.
    fn same_name(
        &mut self,
        reader: &apache_avro::schema::Name,
        aliases: &apache_avro::schema::Aliases,
        writer: &apache_avro::schema::Name,
    ) -> bool {
        let aliased = aliases
            .iter()
            .flatten()
            .any(|a| a.fullname(None) == writer.to_string());
        if reader.name() == writer.name() || aliased {
            return true;
        }
        self.location.push("name".into());
        self.report("NAME_MISMATCH", format!("expected: {writer}"));
        self.location.pop();
        false
    }

    fn fields(&mut self, reader: &'a RecordSchema, writer: &'a RecordSchema) -> bool {
        let mut ok = true;
        self.location.push("fields".into());
        for (i, field) in reader.fields.iter().enumerate() {
            self.location.push(i.to_string());
            let written = writer
                .fields
                .iter()
                .find(|w| w.name == field.name)
                .or_else(|| {
                    field
                        .aliases
                        .iter()
                        .find_map(|a| writer.fields.iter().find(|w| &w.name == a))
                });
            match written {
                Some(w) => ok &= self.check_at("type", &field.schema, &w.schema),
                None if field.default.is_some() => {}
                None => {
                    self.report("READER_FIELD_MISSING_DEFAULT_VALUE", field.name.clone());
                    ok = false;
                }
            }
            self.location.pop();
        }
        self.location.pop();
        ok
    }
}

/// Whether a `reader` primitive reads a `writer` one by the specification's promotions.
fn promotes(writer: &str, reader: &str) -> bool {
    matches!(
        (writer, reader),
        ("INT", "LONG" | "FLOAT" | "DOUBLE")
            | ("LONG", "FLOAT" | "DOUBLE")
            | ("FLOAT", "DOUBLE")
            | ("STRING", "BYTES")
            | ("BYTES", "STRING")
    )
}
