//! Confluent's REST API over the registry's state.
//!
//! ```text
//!  GET    /  /schemas/types  /contexts  /associations/resources/{ns}/{name}
//!  POST   /subjects/{s}/versions              register ─▶ {"id","version","schemaType","schema"}
//!  POST   /subjects/{s}                       look up   ─▶ the version holding the schema
//!  GET    /schemas/ids/{id}[/schema|/versions|/subjects]
//!  GET    /subjects  /subjects/{s}/versions  /subjects/{s}/versions/{v}[/schema]
//!  DELETE /subjects/{s}  /subjects/{s}/versions/{v}        ?permanent=true after a soft delete
//!  POST   /compatibility/subjects/{s}/versions[/{v}]       ?verbose=true
//!  GET|PUT|DELETE /config[/{s}]   GET|PUT|DELETE /mode[/{s}]
//! ```
//!
//! Bodies are JSON whatever their content type; query flags are read as Java reads them
//! (`true` in any case is true, anything else false), because Python clients send `True`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

mod settings;

use crate::error::RegistryError;
use crate::formats::{self, Parsed, ParsedCache};
use crate::kafka::KafkaStore;
use crate::records::{Key, Reference, SchemaValue};
use crate::store::{to_json, Store, Stored, Which, MAX_NUMBER};
use crate::{Level, Mode};

/// The registry behind the routes.
#[derive(Debug)]
pub(crate) struct Registry {
    kafka: KafkaStore,
    parsed: ParsedCache,
}

impl Registry {
    pub(crate) fn new(kafka: KafkaStore) -> Self {
        Self {
            kafka,
            parsed: ParsedCache::default(),
        }
    }

    pub(crate) async fn close(self) {
        self.kafka.close().await;
    }
}

type Shared = State<Arc<Registry>>;
type Flags = Query<HashMap<String, String>>;
type Answer = Result<Response, RegistryError>;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

pub(crate) fn router(registry: Arc<Registry>) -> Router {
    let router = settings::routes::<Level>(Router::new(), "/config");
    settings::routes::<Mode>(router, "/mode")
        .route(
            "/",
            get(|| async { ok(json!({})) }).post(|| async { ok(json!({})) }),
        )
        .route(
            "/schemas/types",
            get(|| async { ok(json!(formats::TYPES)) }),
        )
        .route("/contexts", get(|| async { ok(json!(["."])) }))
        .route(
            "/associations/resources/{ns}/{name}",
            get(|| async { ok(json!([])) }),
        )
        .route("/subjects", get(subjects))
        .route("/subjects/{s}", post(lookup).delete(delete_subject))
        .route("/subjects/{s}/versions", get(versions).post(register))
        .route(
            "/subjects/{s}/versions/{v}",
            get(version).delete(delete_version),
        )
        .route("/subjects/{s}/versions/{v}/schema", get(version_schema))
        .route(
            "/subjects/{s}/versions/{v}/referencedby",
            get(referenced_by),
        )
        .route("/schemas/ids/{id}", get(by_id))
        .route("/schemas/ids/{id}/schema", get(by_id_schema))
        .route("/schemas/ids/{id}/versions", get(by_id_versions))
        .route("/schemas/ids/{id}/subjects", get(by_id_subjects))
        .route(
            "/compatibility/subjects/{s}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{s}/versions/{v}",
            post(compatibility_one),
        )
        .fallback(|| async { error(&RegistryError::new(404, 404, "HTTP 404 Not Found")) })
        .method_not_allowed_fallback(|| async {
            error(&RegistryError::new(405, 405, "HTTP 405 Method Not Allowed"))
        })
        .with_state(registry)
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        error(&self)
    }
}

fn ok(body: Value) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

fn error(e: &RegistryError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error_code": e.code, "message": e.message});
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

/// Adds a member to a JSON object.
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(members) = object.as_object_mut() {
        members.insert(key.to_string(), value);
    }
}

fn flag(flags: &HashMap<String, String>, name: &str) -> bool {
    flags
        .get(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn which(v: &str) -> Result<Which, RegistryError> {
    if v.eq_ignore_ascii_case("latest") || v == "-1" {
        return Ok(Which::Latest);
    }
    match v.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(Which::Number(n)),
        _ => Err(RegistryError::invalid_version(v)),
    }
}

fn check_subject(subject: &str) -> Result<(), RegistryError> {
    if subject.chars().any(char::is_control) || subject == "__GLOBAL" || subject == "__EMPTY" {
        return Err(RegistryError::invalid_subject(subject));
    }
    Ok(())
}

fn id_param(id: &str) -> Result<u32, RegistryError> {
    id.parse().map_err(|_| RegistryError::schema_not_found(id))
}

/// A register, look-up or compatibility body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRequest {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    version: Option<i32>,
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::new(422, 422, format!("Unrecognized request body: {e}")))
}

/// Parses a request's schema into what would be stored.
fn parse_request(
    store: &Store,
    request: &SchemaRequest,
) -> Result<(Parsed, Stored), RegistryError> {
    let schema_type = request
        .schema_type
        .as_deref()
        .unwrap_or("AVRO")
        .to_ascii_uppercase();
    let texts = store.resolve(&request.references)?;
    let (parsed, canonical) = formats::parse(&schema_type, &request.schema, &texts)?;
    Ok((
        parsed,
        Stored {
            schema_type,
            schema: canonical,
            references: request.references.clone(),
        },
    ))
}

/// The live versions of a subject a check compares against, newest first, parsed: version
/// `only`, else those the subject's level reads. A version of another type is a violation
/// of its own.
fn previous(
    store: &Store,
    cache: &ParsedCache,
    subject: &str,
    schema_type: &str,
    only: Option<i32>,
) -> Result<Vec<(i32, Arc<Parsed>)>, Vec<String>> {
    let mut parsed = Vec::new();
    let mut live = store.versions(subject, false).unwrap_or_default();
    live.retain(|(n, _)| only.is_none_or(|only| *n == only));
    let wanted = formats::versions_checked(store.level(subject)).unwrap_or(live.len());
    for (n, v) in live.into_iter().rev().take(wanted) {
        let Some(stored) = store.schema(v.id) else {
            continue;
        };
        if stored.schema_type != schema_type {
            return Err(vec![format!(
                "Incompatible because of different schema type (version {n} is {})",
                stored.schema_type
            )]);
        }
        let p = parsed_schema(store, cache, v.id, stored).map_err(|e| vec![e.message])?;
        parsed.push((n, p));
    }
    Ok(parsed)
}

/// Schema `id` (stored as `stored`) parsed, once per id.
fn parsed_schema(
    store: &Store,
    cache: &ParsedCache,
    id: u32,
    stored: &Stored,
) -> Result<Arc<Parsed>, RegistryError> {
    cache.get_or_parse(id, || {
        let texts = store.resolve(&stored.references)?;
        formats::parse(&stored.schema_type, &stored.schema, &texts).map(|(p, _)| p)
    })
}

/// Schema `id`'s text in the `format` a request asks for (`?format=serialized`).
fn text_in(
    store: &Store,
    cache: &ParsedCache,
    id: u32,
    stored: &Stored,
    format: Option<&str>,
) -> Result<String, RegistryError> {
    match format {
        None => Ok(stored.schema.clone()),
        Some(format) => {
            let parsed = parsed_schema(store, cache, id, stored)?;
            Ok(formats::render(&parsed, &stored.schema, format))
        }
    }
}

fn entity(
    store: &Store,
    cache: &ParsedCache,
    subject: &str,
    version: i32,
    id: u32,
    format: Option<&str>,
) -> Result<Value, RegistryError> {
    let stored = store
        .schema(id)
        .ok_or_else(|| RegistryError::schema_not_found(id))?;
    let mut v = json!({
        "subject": subject,
        "version": version,
        "id": id,
        "schemaType": stored.schema_type,
        "schema": text_in(store, cache, id, stored, format)?,
    });
    if !stored.references.is_empty() {
        set(&mut v, "references", json!(stored.references));
    }
    Ok(v)
}

async fn register(State(r): Shared, Path(subject): Path<String>, bytes: Bytes) -> Answer {
    check_subject(&subject)?;
    let request: SchemaRequest = body(&bytes)?;
    let writer = r.kafka.lock().await?;
    let (record, answer) = {
        let store = r.kafka.read();
        let mode = store.mode(&subject);
        match (mode, request.id) {
            (Mode::ReadOnly | Mode::ReadOnlyOverride, _) => {
                return Err(RegistryError::not_permitted(format!(
                    "Subject {subject} is in read-only mode"
                )))
            }
            (Mode::ReadWrite, Some(id)) if id >= 0 => {
                return Err(RegistryError::not_permitted(
                    "A schema id can only be given in IMPORT mode",
                ))
            }
            _ => {}
        }
        let (parsed, stored) = parse_request(&store, &request)?;
        if let Some((version, id)) = store.find(&subject, &stored, false) {
            return Ok(ok(entity(&store, &r.parsed, &subject, version, id, None)?));
        }
        let import = mode == Mode::Import;
        if !import {
            let level = store.level(&subject);
            let violations = match previous(&store, &r.parsed, &subject, &stored.schema_type, None)
            {
                Ok(previous) => formats::violations(level, &parsed, &previous),
                Err(messages) if level != Level::None => messages,
                Err(_) => Vec::new(),
            };
            if !violations.is_empty() {
                return Err(RegistryError::incompatible(&subject, &violations));
            }
        }
        let (id, version) = if import {
            imported(&store, &subject, &stored, &request)?
        } else {
            let id = match store.id_of(&stored) {
                Some(id) => id,
                None => store.next_id()?,
            };
            (id, store.next_version(&subject)?)
        };
        let value = SchemaValue {
            subject: subject.clone(),
            version,
            id,
            schema_type: stored.schema_type.clone(),
            schema: stored.schema.clone(),
            references: stored.references.clone(),
            deleted: false,
        };
        let answer = json!({
            "id": id,
            "version": version,
            "schemaType": stored.schema_type,
            "schema": stored.schema,
        });
        (
            (Key::schema(&subject, version), Some(to_json(&value))),
            answer,
        )
    };
    r.kafka.write(writer, vec![record]).await?;
    Ok(ok(answer))
}

/// The id and version an IMPORT-mode registration gives, checked as Confluent checks them:
/// an id is required, and neither an id nor a version may be given a second meaning.
fn imported(
    store: &Store,
    subject: &str,
    stored: &Stored,
    request: &SchemaRequest,
) -> Result<(u32, i32), RegistryError> {
    let id = request
        .id
        .and_then(|id| u32::try_from(id).ok())
        .filter(|id| (1..=MAX_NUMBER).contains(id))
        .ok_or_else(|| {
            RegistryError::not_permitted(format!(
                "Subject {subject} is in IMPORT mode: a registration gives its id (1 to 2^31-1)"
            ))
        })?;
    if store.identity_of(id).is_some_and(|s| s != stored) {
        return Err(RegistryError::not_permitted(format!(
            "Overwrite new schema with id {id} is not permitted."
        )));
    }
    let version = match request.version {
        Some(v) if v >= 1 => v,
        Some(v) => return Err(RegistryError::invalid_version(&v.to_string())),
        None => store.next_version(subject)?,
    };
    if store
        .version(subject, Which::Number(version), true)
        .is_ok_and(|(_, v)| v.id != id)
    {
        return Err(RegistryError::not_permitted(format!(
            "Overwrite of {subject} version {version} with another schema is not permitted."
        )));
    }
    Ok((id, version))
}

async fn lookup(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(flags): Flags,
    bytes: Bytes,
) -> Answer {
    let request: SchemaRequest = body(&bytes)?;
    let store = r.kafka.read();
    let deleted = flag(&flags, "deleted");
    store.versions(&subject, deleted)?;
    let (_, stored) = parse_request(&store, &request)?;
    let (version, id) = store
        .find(&subject, &stored, deleted)
        .ok_or_else(|| RegistryError::schema_not_found("in this subject"))?;
    Ok(ok(entity(&store, &r.parsed, &subject, version, id, None)?))
}

async fn subjects(State(r): Shared, Query(flags): Flags) -> Answer {
    let store = r.kafka.read();
    let deleted_only = flag(&flags, "deletedOnly") || flag(&flags, "deleted_only");
    let deleted = flag(&flags, "deleted") || deleted_only;
    let live: BTreeSet<String> = store.subjects(false).into_iter().collect();
    let prefix = flags
        .get("subjectPrefix")
        .or_else(|| flags.get("subject"))
        .cloned()
        .unwrap_or_default();
    let list: Vec<String> = store
        .subjects(deleted)
        .into_iter()
        .filter(|s| s.starts_with(&prefix))
        .filter(|s| !deleted_only || !live.contains(s))
        .collect();
    Ok(ok(json!(list)))
}

async fn versions(State(r): Shared, Path(subject): Path<String>, Query(flags): Flags) -> Answer {
    let store = r.kafka.read();
    let list: Vec<i32> = store
        .versions(&subject, flag(&flags, "deleted"))?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    Ok(ok(json!(list)))
}

async fn version(
    State(r): Shared,
    Path((subject, v)): Path<(String, String)>,
    Query(flags): Flags,
) -> Answer {
    let store = r.kafka.read();
    let (n, version) = store.version(&subject, which(&v)?, flag(&flags, "deleted"))?;
    let format = flags.get("format").map(String::as_str);
    Ok(ok(entity(
        &store, &r.parsed, &subject, n, version.id, format,
    )?))
}

/// The ids of the live schemas that refer to a version.
async fn referenced_by(State(r): Shared, Path((subject, v)): Path<(String, String)>) -> Answer {
    let store = r.kafka.read();
    let (n, _) = store.version(&subject, which(&v)?, true)?;
    Ok(ok(json!(store.referenced_by(&subject, n, false))))
}

async fn version_schema(
    State(r): Shared,
    Path((subject, v)): Path<(String, String)>,
    Query(flags): Flags,
) -> Answer {
    let store = r.kafka.read();
    let (_, version) = store.version(&subject, which(&v)?, flag(&flags, "deleted"))?;
    let stored = store
        .schema(version.id)
        .ok_or_else(|| RegistryError::schema_not_found(version.id))?;
    let text = text_in(
        &store,
        &r.parsed,
        version.id,
        stored,
        flags.get("format").map(String::as_str),
    )?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

async fn by_id(State(r): Shared, Path(id): Path<String>, Query(flags): Flags) -> Answer {
    let id = id_param(&id)?;
    let store = r.kafka.read();
    let stored = store
        .schema(id)
        .ok_or_else(|| RegistryError::schema_not_found(id))?;
    let text = text_in(
        &store,
        &r.parsed,
        id,
        stored,
        flags.get("format").map(String::as_str),
    )?;
    let mut v = json!({"schema": text, "schemaType": stored.schema_type});
    if !stored.references.is_empty() {
        set(&mut v, "references", json!(stored.references));
    }
    Ok(ok(v))
}

async fn by_id_schema(State(r): Shared, Path(id): Path<String>, Query(flags): Flags) -> Answer {
    let id = id_param(&id)?;
    let store = r.kafka.read();
    let stored = store
        .schema(id)
        .ok_or_else(|| RegistryError::schema_not_found(id))?;
    let text = text_in(
        &store,
        &r.parsed,
        id,
        stored,
        flags.get("format").map(String::as_str),
    )?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

fn uses(
    store: &Store,
    id: u32,
    flags: &HashMap<String, String>,
) -> Result<Vec<(String, i32)>, RegistryError> {
    let uses = store.uses_of(id, flag(flags, "deleted"));
    if uses.is_empty() {
        return Err(RegistryError::schema_not_found(id));
    }
    Ok(uses)
}

async fn by_id_versions(State(r): Shared, Path(id): Path<String>, Query(flags): Flags) -> Answer {
    let id = id_param(&id)?;
    let store = r.kafka.read();
    let list: Vec<Value> = uses(&store, id, &flags)?
        .into_iter()
        .map(|(subject, version)| json!({"subject": subject, "version": version}))
        .collect();
    Ok(ok(json!(list)))
}

async fn by_id_subjects(State(r): Shared, Path(id): Path<String>, Query(flags): Flags) -> Answer {
    let id = id_param(&id)?;
    let store = r.kafka.read();
    let list: BTreeSet<String> = uses(&store, id, &flags)?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    Ok(ok(json!(list)))
}

fn writable(store: &Store, subject: &str) -> Result<(), RegistryError> {
    match store.mode(subject) {
        Mode::ReadOnly | Mode::ReadOnlyOverride => Err(RegistryError::not_permitted(format!(
            "Subject {subject} is in read-only mode"
        ))),
        _ => Ok(()),
    }
}

async fn delete_subject(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(flags): Flags,
) -> Answer {
    let writer = r.kafka.lock().await?;
    let (versions, records) = {
        let store = r.kafka.read();
        writable(&store, &subject)?;
        store.subject_deletion(&subject, flag(&flags, "permanent"))?
    };
    r.kafka.write(writer, records).await?;
    Ok(ok(json!(versions)))
}

async fn delete_version(
    State(r): Shared,
    Path((subject, v)): Path<(String, String)>,
    Query(flags): Flags,
) -> Answer {
    let permanent = flag(&flags, "permanent");
    let writer = r.kafka.lock().await?;
    let (n, records) = {
        let store = r.kafka.read();
        writable(&store, &subject)?;
        let which = which(&v)?;
        let (n, version) = if permanent {
            store.version(&subject, which, true)?
        } else {
            match store.version(&subject, which, false) {
                Ok(found) => found,
                Err(e) => match (which, store.version(&subject, which, true)) {
                    (Which::Number(n), Ok(_)) => {
                        return Err(RegistryError::version_soft_deleted(&subject, n))
                    }
                    _ => return Err(e),
                },
            }
        };
        if permanent && !version.deleted {
            return Err(RegistryError::version_not_soft_deleted(&subject, n));
        }
        // A live schema needs it to stay; to go for good, no schema may name it.
        if store.referenced(&subject, n, permanent) {
            return Err(RegistryError::referenced(&subject, n));
        }
        let records = if permanent {
            let mut records = vec![(Key::schema(&subject, n), None)];
            // The subject's last version: its own level and mode go with it.
            if store
                .versions(&subject, true)
                .is_ok_and(|all| all.len() == 1)
            {
                records.extend(store.settings_removal(&subject));
            }
            records
        } else {
            let stored = store
                .schema(version.id)
                .ok_or_else(|| RegistryError::schema_not_found(version.id))?;
            let value = SchemaValue {
                subject: subject.clone(),
                version: n,
                id: version.id,
                schema_type: stored.schema_type.clone(),
                schema: stored.schema.clone(),
                references: stored.references.clone(),
                deleted: true,
            };
            vec![(Key::schema(&subject, n), Some(to_json(&value)))]
        };
        (n, records)
    };
    r.kafka.write(writer, records).await?;
    Ok(ok(json!(n)))
}

/// Checks a schema against one version (`Some`) or all live ones, at the subject's level.
fn compatibility(
    store: &Store,
    cache: &ParsedCache,
    subject: &str,
    which: Option<Which>,
    request: &SchemaRequest,
    verbose: bool,
) -> Answer {
    let (parsed, stored) = parse_request(store, request)?;
    let level = store.level(subject);
    let previous = match which {
        // Nothing to be incompatible with yet (Confluent's answer for `latest`).
        Some(Which::Latest) if store.versions(subject, false).is_err() => Ok(Vec::new()),
        Some(which) => {
            let (n, _) = store.version(subject, which, false)?;
            previous(store, cache, subject, &stored.schema_type, Some(n))
        }
        // Every version, as the level reads them (a plain level: the latest only).
        None => previous(store, cache, subject, &stored.schema_type, None),
    };
    let messages = match previous {
        Ok(previous) => formats::violations(level, &parsed, &previous),
        Err(messages) if level != Level::None => messages,
        Err(_) => Vec::new(),
    };
    let mut v = json!({"is_compatible": messages.is_empty()});
    if verbose {
        set(&mut v, "messages", json!(messages));
    }
    Ok(ok(v))
}

async fn compatibility_all(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(flags): Flags,
    bytes: Bytes,
) -> Answer {
    let request: SchemaRequest = body(&bytes)?;
    let store = r.kafka.read();
    compatibility(
        &store,
        &r.parsed,
        &subject,
        None,
        &request,
        flag(&flags, "verbose"),
    )
}

async fn compatibility_one(
    State(r): Shared,
    Path((subject, v)): Path<(String, String)>,
    Query(flags): Flags,
    bytes: Bytes,
) -> Answer {
    let request: SchemaRequest = body(&bytes)?;
    let which = which(&v)?;
    let store = r.kafka.read();
    compatibility(
        &store,
        &r.parsed,
        &subject,
        Some(which),
        &request,
        flag(&flags, "verbose"),
    )
}
