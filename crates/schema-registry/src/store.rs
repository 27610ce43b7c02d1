//! The registry's state, rebuilt from the `_schemas` topic: every record is applied in offset
//! order, the last write of a key wins, and nothing else changes the state. A write becomes
//! visible only once it has come back through the topic (see `kafka.rs`), so what the REST
//! API answers is always what a restarted registry would read back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::RegistryError;
use crate::formats::{self, Referenced};
use crate::records::{
    ConfigValue, DeleteSubjectValue, Key, KeyType, ModeValue, Reference, SchemaValue, Write,
};
use crate::{Level, Mode};

/// A schema as stored under its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Stored {
    /// AVRO, JSON or PROTOBUF.
    pub schema_type: String,
    /// The canonical text (what registering it again must match).
    pub schema: String,
    pub references: Vec<Reference>,
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version {
    pub id: u32,
    pub deleted: bool,
}

/// Which version a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Latest,
    Number(i32),
}

/// The largest id or version number: Java clients read them as signed 32-bit numbers.
pub(crate) const MAX_NUMBER: u32 = i32::MAX as u32;

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Each id's schema as its record wrote it (and as it is served).
    schemas: BTreeMap<u32, Stored>,
    /// Each id's schema in canonical form: what a registration of it matches, and what
    /// another record for the id must agree with. Records another registry wrote render
    /// schemas its own way; parsed again, they match what this one registers.
    identities: BTreeMap<u32, Stored>,
    /// Canonical schemas, with the ids their references resolved to when they were
    /// written, to their id: the same text whose references now name other schemas is
    /// another schema.
    ids: HashMap<(Stored, Vec<u32>), u32>,
    subjects: BTreeMap<String, BTreeMap<i32, Version>>,
    global_level: Option<Level>,
    levels: HashMap<String, Level>,
    global_mode: Option<Mode>,
    modes: HashMap<String, Mode>,
    max_id: u32,
}

impl Store {
    /// Applies one record of `_schemas`. Records it cannot read are skipped (and logged by
    /// the caller): a registry must come up on a topic holding records of newer versions.
    pub(crate) fn apply(&mut self, key: &Key, value: Option<&[u8]>) -> Result<(), String> {
        let subject = key.subject.as_deref();
        match key.keytype {
            KeyType::Schema => {
                let (Some(subject), Some(version)) = (subject, key.version) else {
                    return Err("a SCHEMA key without subject or version".into());
                };
                match value {
                    None => {
                        if let Some(versions) = self.subjects.get_mut(subject) {
                            versions.remove(&version);
                            if versions.is_empty() {
                                self.subjects.remove(subject);
                            }
                        }
                    }
                    Some(bytes) => {
                        let v: SchemaValue =
                            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                        let stored = Stored {
                            schema_type: v.schema_type,
                            schema: v.schema,
                            references: v.references,
                        };
                        // An id names one schema for good: a record giving it another is
                        // refused (and logged by the caller), never allowed to redefine it.
                        let identity = self.identity(&stored);
                        if self.identities.get(&v.id).is_some_and(|s| *s != identity) {
                            return Err(format!(
                                "id {} already holds another schema; {} version {} ignored",
                                v.id, subject, version
                            ));
                        }
                        let key = (identity.clone(), self.reference_ids(&identity));
                        self.ids.entry(key).or_insert(v.id);
                        self.identities.entry(v.id).or_insert(identity);
                        self.schemas.entry(v.id).or_insert(stored);
                        self.max_id = self.max_id.max(v.id);
                        self.subjects
                            .entry(subject.to_string())
                            .or_default()
                            .insert(
                                version,
                                Version {
                                    id: v.id,
                                    deleted: v.deleted,
                                },
                            );
                    }
                }
            }
            KeyType::Config => match value {
                None => match subject {
                    Some(s) => drop(self.levels.remove(s)),
                    None => self.global_level = None,
                },
                Some(bytes) => {
                    let v: ConfigValue =
                        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                    let level: Option<Level> =
                        v.compatibility_level.map(|l| l.parse()).transpose()?;
                    match (subject, level) {
                        (Some(s), Some(level)) => drop(self.levels.insert(s.to_string(), level)),
                        (Some(s), None) => drop(self.levels.remove(s)),
                        (None, level) => self.global_level = level,
                    }
                }
            },
            KeyType::Mode => match value {
                None => match subject {
                    Some(s) => drop(self.modes.remove(s)),
                    None => self.global_mode = None,
                },
                Some(bytes) => {
                    let v: ModeValue = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                    let mode: Mode = v.mode.parse()?;
                    match subject {
                        Some(s) => drop(self.modes.insert(s.to_string(), mode)),
                        None => self.global_mode = Some(mode),
                    }
                }
            },
            KeyType::DeleteSubject => {
                if let Some(bytes) = value {
                    let v: DeleteSubjectValue =
                        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                    if let Some(versions) = self.subjects.get_mut(&v.subject) {
                        for (_, version) in versions.range_mut(..=v.version) {
                            version.deleted = true;
                        }
                    }
                }
            }
            KeyType::ClearSubject => {
                if let Some(versions) = subject.and_then(|s| self.subjects.get_mut(s)) {
                    versions.retain(|_, v| !v.deleted);
                }
            }
            KeyType::Noop | KeyType::Other => {}
        }
        Ok(())
    }

    pub(crate) fn schema(&self, id: u32) -> Option<&Stored> {
        self.schemas.get(&id)
    }

    /// The schemas `references` name (each a subject's version, deleted or not), and those they
    /// name in turn: dependencies first, each once.
    pub(crate) fn resolve(
        &self,
        references: &[Reference],
    ) -> Result<Vec<Referenced>, RegistryError> {
        fn visit(
            store: &Store,
            r: &Reference,
            seen: &mut Vec<(String, i32)>,
            out: &mut Vec<Referenced>,
        ) -> Result<(), RegistryError> {
            let key = (r.subject.clone(), r.version);
            if seen.contains(&key) {
                return Ok(());
            }
            seen.push(key);
            let (_, v) = store
                .version(&r.subject, Which::Number(r.version), true)
                .map_err(|_| {
                    RegistryError::invalid_schema(format!(
                        "reference {} ({} version {}) not found",
                        r.name, r.subject, r.version
                    ))
                })?;
            let schema = store
                .schema(v.id)
                .ok_or_else(|| RegistryError::schema_not_found(v.id))?;
            for nested in &schema.references {
                visit(store, nested, seen, out)?;
            }
            out.push(Referenced {
                name: r.name.clone(),
                schema_type: schema.schema_type.clone(),
                text: schema.schema.clone(),
            });
            Ok(())
        }
        let (mut seen, mut out) = (Vec::new(), Vec::new());
        for r in references {
            visit(self, r, &mut seen, &mut out)?;
        }
        Ok(out)
    }

    /// `stored` with its text in canonical form; as it is when it does not parse (a type this
    /// registry does not serve, a reference it lacks).
    fn identity(&self, stored: &Stored) -> Stored {
        let canonical = self.resolve(&stored.references).and_then(|references| {
            formats::parse(&stored.schema_type, &stored.schema, &references)
        });
        match canonical {
            Ok((_, schema)) => Stored {
                schema,
                ..stored.clone()
            },
            Err(_) => stored.clone(),
        }
    }

    /// The schema `id` holds, in canonical form.
    pub(crate) fn identity_of(&self, id: u32) -> Option<&Stored> {
        self.identities.get(&id)
    }

    /// The id a schema (in canonical form) already has, in any subject.
    pub(crate) fn id_of(&self, stored: &Stored) -> Option<u32> {
        let key = (stored.clone(), self.reference_ids(stored));
        self.ids.get(&key).copied()
    }

    /// The ids `stored`'s references name now (0 for one that names nothing).
    fn reference_ids(&self, stored: &Stored) -> Vec<u32> {
        stored
            .references
            .iter()
            .map(|r| {
                self.version(&r.subject, Which::Number(r.version), true)
                    .map_or(0, |(_, v)| v.id)
            })
            .collect()
    }

    /// The next id to give: one past the largest ever seen.
    pub(crate) fn next_id(&self) -> Result<u32, RegistryError> {
        self.max_id
            .checked_add(1)
            .filter(|id| *id <= MAX_NUMBER)
            .ok_or_else(|| RegistryError::store("no schema id is left"))
    }

    /// Subjects with a live version (or any version, with `deleted`), sorted.
    pub(crate) fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, versions)| deleted || versions.values().any(|v| !v.deleted))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// A subject's versions, or 40401 if it has none to show.
    pub(crate) fn versions(
        &self,
        subject: &str,
        deleted: bool,
    ) -> Result<Vec<(i32, Version)>, RegistryError> {
        let shown: Vec<(i32, Version)> = self
            .subjects
            .get(subject)
            .into_iter()
            .flat_map(|versions| versions.iter())
            .filter(|(_, v)| deleted || !v.deleted)
            .map(|(n, v)| (*n, *v))
            .collect();
        if shown.is_empty() {
            return Err(RegistryError::subject_not_found(subject));
        }
        Ok(shown)
    }

    /// One version: 40401 when the subject has none to show, 40402 when that one is missing.
    pub(crate) fn version(
        &self,
        subject: &str,
        which: Which,
        deleted: bool,
    ) -> Result<(i32, Version), RegistryError> {
        let versions = self.versions(subject, deleted)?;
        let found = match which {
            Which::Latest => versions.last().copied(),
            Which::Number(n) => versions.iter().find(|(v, _)| *v == n).copied(),
        };
        found.ok_or_else(|| RegistryError::version_not_found(which))
    }

    /// The version of `subject` holding this schema (live ones, or any with `deleted`).
    pub(crate) fn find(&self, subject: &str, stored: &Stored, deleted: bool) -> Option<(i32, u32)> {
        let id = self.id_of(stored)?;
        self.subjects
            .get(subject)?
            .iter()
            .rev()
            .find(|(_, v)| v.id == id && (deleted || !v.deleted))
            .map(|(n, v)| (*n, v.id))
    }

    /// The number a new version of `subject` gets: one past every version it ever had that
    /// is still in the topic (soft-deleted ones count).
    pub(crate) fn next_version(&self, subject: &str) -> Result<i32, RegistryError> {
        match self
            .subjects
            .get(subject)
            .and_then(|v| v.keys().next_back())
        {
            None => Ok(1),
            Some(v) => v
                .checked_add(1)
                .ok_or_else(|| RegistryError::store(format!("{subject} has no version left"))),
        }
    }

    /// Every (subject, version) holding `id`, live ones only unless `deleted`.
    pub(crate) fn uses_of(&self, id: u32, deleted: bool) -> Vec<(String, i32)> {
        let mut uses = Vec::new();
        for (subject, versions) in &self.subjects {
            for (n, v) in versions {
                if v.id == id && (deleted || !v.deleted) {
                    uses.push((subject.clone(), *n));
                }
            }
        }
        uses
    }

    /// Whether some version refers to `subject` version `version`: a live one, or with
    /// `deleted` a soft-deleted one too.
    pub(crate) fn referenced(&self, subject: &str, version: i32, deleted: bool) -> bool {
        !self.referenced_by(subject, version, deleted).is_empty()
    }

    /// The ids of the schemas that live versions (with `deleted`, soft-deleted ones too)
    /// hold and that refer to `subject` version `version`, ascending.
    pub(crate) fn referenced_by(&self, subject: &str, version: i32, deleted: bool) -> Vec<u32> {
        let mut live_ids = BTreeSet::new();
        for versions in self.subjects.values() {
            live_ids.extend(
                versions
                    .values()
                    .filter(|v| deleted || !v.deleted)
                    .map(|v| v.id),
            );
        }
        live_ids
            .into_iter()
            .filter(|id| {
                self.schemas.get(id).is_some_and(|s| {
                    s.references
                        .iter()
                        .any(|r| r.subject == subject && r.version == version)
                })
            })
            .collect()
    }

    /// The level set on the subject itself.
    pub(crate) fn subject_level(&self, subject: &str) -> Option<Level> {
        self.levels.get(subject).copied()
    }

    pub(crate) fn global_level(&self) -> Level {
        self.global_level.unwrap_or(Level::Backward)
    }

    /// The level that applies to a subject: its own, else the global one.
    pub(crate) fn level(&self, subject: &str) -> Level {
        self.subject_level(subject)
            .unwrap_or_else(|| self.global_level())
    }

    pub(crate) fn subject_mode(&self, subject: &str) -> Option<Mode> {
        self.modes.get(subject).copied()
    }

    pub(crate) fn global_mode(&self) -> Mode {
        self.global_mode.unwrap_or(Mode::ReadWrite)
    }

    pub(crate) fn mode(&self, subject: &str) -> Mode {
        self.subject_mode(subject)
            .unwrap_or_else(|| self.global_mode())
    }

    /// The records that soft-delete a whole subject (one DELETE_SUBJECT record, as Confluent
    /// writes) or hard-delete its soft-deleted versions (a tombstone each, then its config
    /// and mode).
    pub(crate) fn subject_deletion(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<(Vec<i32>, Vec<Write>), RegistryError> {
        let all = self.versions(subject, true)?;
        let live: Vec<i32> = all
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(n, _)| *n)
            .collect();
        if !permanent {
            let Some(last) = live.last().copied() else {
                return Err(RegistryError::subject_soft_deleted(subject));
            };
            // A live schema elsewhere still needs these versions to be read.
            if let Some(n) = live.iter().find(|n| self.referenced(subject, **n, false)) {
                return Err(RegistryError::referenced(subject, *n));
            }
            let value = DeleteSubjectValue {
                subject: subject.to_string(),
                version: last,
            };
            let record = (Key::delete_subject(subject), Some(to_json(&value)));
            return Ok((live, vec![record]));
        }
        if !live.is_empty() {
            return Err(RegistryError::subject_not_soft_deleted(subject));
        }
        // Gone for good while a schema, even a soft-deleted one, still names it: that schema
        // could no longer be read, and a new version under the number would change it.
        if let Some((n, _)) = all.iter().find(|(n, _)| self.referenced(subject, *n, true)) {
            return Err(RegistryError::referenced(subject, *n));
        }
        let numbers: Vec<i32> = all.iter().map(|(n, _)| *n).collect();
        let mut records: Vec<Write> = numbers
            .iter()
            .map(|n| (Key::schema(subject, *n), None))
            .collect();
        records.extend(self.settings_removal(subject));
        Ok((numbers, records))
    }

    /// The tombstones for a subject's own level and mode, once its last version is gone
    /// for good (as Confluent's registry writes them).
    pub(crate) fn settings_removal(&self, subject: &str) -> Vec<Write> {
        let mut records = Vec::new();
        if self.levels.contains_key(subject) {
            records.push((Key::config(Some(subject)), None));
        }
        if self.modes.contains_key(subject) {
            records.push((Key::mode(Some(subject)), None));
        }
        records
    }
}

/// A record value as JSON bytes.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_record(subject: &str, version: i32, id: u32, schema: &str) -> (Key, Vec<u8>) {
        let value = SchemaValue {
            subject: subject.into(),
            version,
            id,
            schema_type: "AVRO".into(),
            schema: schema.into(),
            references: Vec::new(),
            deleted: false,
        };
        (Key::schema(subject, version), to_json(&value))
    }

    #[test]
    fn a_schema_another_registry_rendered_is_found_by_its_canonical_form() {
        // Java's rendering: spaces, and the namespace after the fields.
        let theirs = r#"{"type": "record", "name": "User", "fields": [{"name": "id", "type": "long"}], "namespace": "demo"}"#;
        let mut store = Store::default();
        let (key, value) = schema_record("users-value", 1, 7, theirs);
        store.apply(&key, Some(&value)).unwrap();
        let (_, ours) = formats::parse("AVRO", theirs, &[]).unwrap();
        assert_ne!(ours, theirs);
        let registering = Stored {
            schema_type: "AVRO".into(),
            schema: ours,
            references: Vec::new(),
        };
        assert_eq!(store.id_of(&registering), Some(7));
        assert_eq!(store.find("users-value", &registering, false), Some((1, 7)));
        // Served as written.
        assert_eq!(store.schema(7).unwrap().schema, theirs);
        // The same schema under its id in another rendering is no redefinition.
        let (key, value) = schema_record("other-value", 1, 7, &registering.schema);
        store.apply(&key, Some(&value)).unwrap();
    }

    #[test]
    fn replaying_builds_subjects_ids_and_deletions() {
        let mut store = Store::default();
        for (key, value) in [
            schema_record("a-value", 1, 1, "\"string\""),
            schema_record("a-value", 2, 2, "\"long\""),
            schema_record("b-value", 1, 1, "\"string\""),
        ] {
            store.apply(&key, Some(&value)).unwrap();
        }
        assert_eq!(store.subjects(false), vec!["a-value", "b-value"]);
        assert_eq!(
            store.version("a-value", Which::Latest, false).unwrap().1.id,
            2
        );
        assert_eq!(store.next_id().unwrap(), 3);
        assert_eq!(store.uses_of(1, false).len(), 2);

        let (versions, records) = store.subject_deletion("a-value", false).unwrap();
        assert_eq!(versions, vec![1, 2]);
        for (key, value) in &records {
            store.apply(key, value.as_deref()).unwrap();
        }
        assert_eq!(store.subjects(false), vec!["b-value"]);
        assert_eq!(store.subjects(true), vec!["a-value", "b-value"]);
        assert_eq!(
            store.next_version("a-value").unwrap(),
            3,
            "soft-deleted versions keep their numbers"
        );
        // Deleted schemas stay readable by id.
        assert!(store.schema(2).is_some());

        let (_, records) = store.subject_deletion("a-value", true).unwrap();
        for (key, value) in &records {
            store.apply(key, value.as_deref()).unwrap();
        }
        assert_eq!(store.subjects(true), vec!["b-value"]);
        assert_eq!(
            store.next_version("a-value").unwrap(),
            1,
            "a hard-deleted subject starts again"
        );
        assert_eq!(
            store.next_id().unwrap(),
            3,
            "a deleted id is not given again"
        );
    }

    #[test]
    fn an_id_is_never_redefined_by_a_later_record() {
        let mut store = Store::default();
        let (key, value) = schema_record("a-value", 1, 1, "\"string\"");
        store.apply(&key, Some(&value)).unwrap();
        let (key, value) = schema_record("b-value", 1, 1, "\"long\"");
        assert!(store.apply(&key, Some(&value)).is_err());
        assert_eq!(store.schema(1).unwrap().schema, "\"string\"");
        assert!(store.versions("b-value", true).is_err());
    }

    #[test]
    fn hard_deletion_needs_a_soft_deletion_first() {
        let mut store = Store::default();
        let (key, value) = schema_record("a-value", 1, 1, "\"string\"");
        store.apply(&key, Some(&value)).unwrap();
        let err = store.subject_deletion("a-value", true).unwrap_err();
        assert_eq!(err.code, 40405);
        let err = store.subject_deletion("nope", false).unwrap_err();
        assert_eq!(err.code, 40401);
    }
}
