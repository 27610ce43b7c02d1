//! A client of a schema registry's REST API (Confluent's), with the caches serializers
//! need: a schema id never changes its schema, so every id is fetched once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use streamctl_client::TlsConfig;

use crate::SerdesError;

/// An error with what caused it, down the chain: reqwest's own text leaves out why (an
/// untrusted certificate, a refused connection).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The HTTP client: rustls with the ring provider, trusting what `tls` says; without it
/// (plain http:// registries), no root at all, so no certificate store is read.
fn http_client(tls: Option<&TlsConfig>) -> Result<reqwest::Client, SerdesError> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(tls) = tls {
        let rustls = tls
            .rustls_client_config()
            .map_err(|e| SerdesError::Config(format!("schema registry TLS: {e}")))?;
        builder = builder.use_preconfigured_tls(rustls);
    }
    builder
        .build()
        .map_err(|e| SerdesError::Config(e.to_string()))
}

/// How requests authenticate. Its `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP basic (`basic.auth.user.info=user:password`).
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A bearer token.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, password: <hidden> }}"),
            Auth::Bearer(_) => write!(f, "Bearer(<hidden>)"),
        }
    }
}

/// A reference from a schema to a subject's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The name the schema uses for it.
    pub name: String,
    /// The subject holding it.
    pub subject: String,
    /// Its version there.
    pub version: i32,
}

/// A schema as the registry gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// Its global id.
    pub id: u32,
    /// `AVRO`, `JSON` or `PROTOBUF`.
    pub schema_type: String,
    /// The schema text.
    pub schema: String,
    /// The schemas it refers to.
    pub references: Vec<Reference>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaAnswer {
    #[serde(default)]
    id: Option<u32>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

/// A schema registry client.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    urls: Vec<String>,
    auth: Option<Auth>,
    by_id: Mutex<HashMap<u32, Arc<RegisteredSchema>>>,
    /// (subject, type and text) → id.
    registered: Mutex<HashMap<(String, String), u32>>,
}

impl RegistryClient {
    /// A client of the registry at `urls` (comma-separated: the next is tried when one
    /// cannot be reached).
    pub fn new(urls: &str) -> Result<RegistryClient, SerdesError> {
        let urls: Vec<String> = urls
            .split(',')
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(SerdesError::Config("no schema registry URL".into()));
        }
        if let Some(bad) = urls
            .iter()
            .find(|u| !u.starts_with("http://") && !u.starts_with("https://"))
        {
            return Err(SerdesError::Config(format!(
                "{bad}: a registry URL is http:// or https://"
            )));
        }
        // The system's roots are read only when a registry is reached over TLS.
        let tls = urls
            .iter()
            .any(|u| u.starts_with("https://"))
            .then(TlsConfig::default);
        Ok(RegistryClient {
            http: http_client(tls.as_ref())?,
            urls,
            auth: None,
            by_id: Mutex::new(HashMap::new()),
            registered: Mutex::new(HashMap::new()),
        })
    }

    /// Authenticates every request.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Reaches https:// registries with these TLS settings (the CAs to trust, a client
    /// certificate) instead of the system's roots alone.
    pub fn with_tls(mut self, tls: &TlsConfig) -> Result<Self, SerdesError> {
        self.http = http_client(Some(tls))?;
        Ok(self)
    }

    /// The schema with this id (fetched once, then cached).
    pub async fn schema(&self, id: u32) -> Result<Arc<RegisteredSchema>, SerdesError> {
        if let Some(found) = self.cached(id) {
            return Ok(found);
        }
        let answer: SchemaAnswer = self
            .call("GET", &format!("/schemas/ids/{id}"), None)
            .await?;
        let schema = Arc::new(RegisteredSchema {
            id,
            schema_type: answer.schema_type.unwrap_or_else(|| "AVRO".into()),
            schema: answer.schema.unwrap_or_default(),
            references: answer.references,
        });
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, schema.clone());
        Ok(schema)
    }

    fn cached(&self, id: u32) -> Option<Arc<RegisteredSchema>> {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The latest version of `subject`: its number and schema.
    pub async fn latest(&self, subject: &str) -> Result<(i32, Arc<RegisteredSchema>), SerdesError> {
        self.version(subject, "latest").await
    }

    /// A version of `subject` (`"latest"` or a number).
    pub async fn version(
        &self,
        subject: &str,
        version: &str,
    ) -> Result<(i32, Arc<RegisteredSchema>), SerdesError> {
        // Soft-deleted versions too: a schema may refer to one.
        let path = format!(
            "/subjects/{}/versions/{}?deleted=true",
            encode_segment(subject),
            encode_segment(version)
        );
        let answer: SchemaAnswer = self.call("GET", &path, None).await?;
        let id = answer
            .id
            .ok_or_else(|| SerdesError::Registry("an answer without an id".into()))?;
        let schema = Arc::new(RegisteredSchema {
            id,
            schema_type: answer.schema_type.unwrap_or_else(|| "AVRO".into()),
            schema: answer.schema.unwrap_or_default(),
            references: answer.references,
        });
        Ok((answer.version.unwrap_or_default(), schema))
    }

    /// Every schema `schema` refers to, directly or not, as `(name, text)`, dependencies
    /// first.
    pub async fn referenced(
        &self,
        schema: &RegisteredSchema,
    ) -> Result<Vec<(String, String)>, SerdesError> {
        let mut out = Vec::new();
        let mut pending = schema.references.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = pending.pop() {
            if !seen.insert((r.subject.clone(), r.version)) {
                continue;
            }
            let (_, found) = self.version(&r.subject, &r.version.to_string()).await?;
            pending.extend(found.references.iter().cloned());
            out.insert(0, (r.name.clone(), found.schema.clone()));
        }
        Ok(out)
    }

    /// Registers `schema` under `subject` (or finds it registered) and returns its id.
    pub async fn register(
        &self,
        subject: &str,
        schema_type: &str,
        schema: &str,
        references: &[Reference],
    ) -> Result<u32, SerdesError> {
        let key = (subject.to_string(), format!("{schema_type}\n{schema}"));
        if let Some(id) = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(*id);
        }
        let body = json!({"schema": schema, "schemaType": schema_type, "references": references});
        let path = format!("/subjects/{}/versions", encode_segment(subject));
        let answer: SchemaAnswer = self.call("POST", &path, Some(body)).await?;
        let id = answer
            .id
            .ok_or_else(|| SerdesError::Registry("an answer without an id".into()))?;
        self.registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, id);
        Ok(id)
    }

    /// The (subject, version) pairs that hold schema `id`.
    pub async fn uses(&self, id: u32) -> Result<Vec<(String, i32)>, SerdesError> {
        #[derive(Deserialize)]
        struct Use {
            subject: String,
            version: i32,
        }
        let uses: Vec<Use> = self
            .call("GET", &format!("/schemas/ids/{id}/versions"), None)
            .await?;
        Ok(uses.into_iter().map(|u| (u.subject, u.version)).collect())
    }

    /// Every subject (with soft-deleted ones when `deleted`).
    pub async fn subjects(&self, deleted: bool) -> Result<Vec<String>, SerdesError> {
        self.call("GET", &format!("/subjects?deleted={deleted}"), None)
            .await
    }

    /// A subject's versions.
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>, SerdesError> {
        let path = format!("/subjects/{}/versions", encode_segment(subject));
        self.call("GET", &path, None).await
    }

    /// Whether `schema` may follow `version` (`"latest"` or a number) of `subject` at the
    /// subject's compatibility level, and the registry's reasons when it may not.
    pub async fn check(
        &self,
        subject: &str,
        version: &str,
        schema_type: &str,
        schema: &str,
        references: &[Reference],
    ) -> Result<(bool, Vec<String>), SerdesError> {
        #[derive(Deserialize)]
        struct Answer {
            is_compatible: bool,
            #[serde(default)]
            messages: Vec<String>,
        }
        let body = json!({"schema": schema, "schemaType": schema_type, "references": references});
        let path = format!(
            "/compatibility/subjects/{}/versions/{version}?verbose=true",
            encode_segment(subject)
        );
        let answer: Answer = self.call("POST", &path, Some(body)).await?;
        Ok((answer.is_compatible, answer.messages))
    }

    /// Deletes a subject (soft, or `permanent` after a soft delete); the versions it had.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, SerdesError> {
        let path = format!(
            "/subjects/{}?permanent={permanent}",
            encode_segment(subject)
        );
        self.call("DELETE", &path, None).await
    }

    /// Deletes one version (soft, or `permanent` after a soft delete).
    pub async fn delete_version(
        &self,
        subject: &str,
        version: &str,
        permanent: bool,
    ) -> Result<i32, SerdesError> {
        let path = format!(
            "/subjects/{}/versions/{version}?permanent={permanent}",
            encode_segment(subject)
        );
        self.call("DELETE", &path, None).await
    }

    /// One request, to each URL in turn until one answers; an error answer is the
    /// registry's own (`error_code` and message).
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, SerdesError> {
        let mut unreachable = Vec::new();
        for base in &self.urls {
            let url = format!("{base}{path}");
            let mut request = match method {
                "POST" => self.http.post(&url),
                "DELETE" => self.http.delete(&url),
                _ => self.http.get(&url),
            }
            .header("Accept", "application/vnd.schemaregistry.v1+json");
            if let Some(body) = &body {
                request = request
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(body.to_string());
            }
            request = match &self.auth {
                Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
                Some(Auth::Bearer(token)) => request.bearer_auth(token),
                None => request,
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if e.is_connect() || e.is_timeout() => {
                    unreachable.push(format!("{base}: {}", with_causes(&e)));
                    continue;
                }
                Err(e) => {
                    return Err(SerdesError::Unreachable(format!(
                        "{url}: {}",
                        with_causes(&e)
                    )))
                }
            };
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| SerdesError::Unreachable(format!("{url}: {e}")))?;
            if !status.is_success() {
                let detail: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                return Err(SerdesError::Rejected {
                    status: status.as_u16(),
                    code: detail
                        .get("error_code")
                        .and_then(Value::as_i64)
                        .unwrap_or(-1),
                    message: detail
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| text.clone(), str::to_string),
                });
            }
            return serde_json::from_str(&text)
                .map_err(|e| SerdesError::Registry(format!("{url}: unexpected answer: {e}")));
        }
        Err(SerdesError::Unreachable(unreachable.join("; ")))
    }
}

/// A path segment with `/`, `%`, `?`, `#` and spaces escaped (subjects may hold them).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a codec compiles from each schema it meets, by id: fetched and compiled once.
#[derive(Debug)]
pub(crate) struct Compiled<T>(Mutex<HashMap<u32, T>>);

impl<T: Clone> Compiled<T> {
    pub(crate) fn new() -> Self {
        Compiled(Mutex::new(HashMap::new()))
    }

    /// Schema `id`, which must be of `schema_type`, compiled by `compile` from its text and
    /// the `(name, text)` of every schema it references.
    pub(crate) async fn get(
        &self,
        registry: &RegistryClient,
        id: u32,
        schema_type: &str,
        compile: impl FnOnce(&str, &[(String, String)]) -> Result<T, String>,
    ) -> Result<T, SerdesError> {
        if let Some(found) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(found.clone());
        }
        let registered = registry.schema(id).await?;
        if registered.schema_type != schema_type {
            return Err(SerdesError::Decode(format!(
                "schema {id} is {}, not {schema_type}",
                registered.schema_type
            )));
        }
        let references = registry.referenced(&registered).await?;
        let compiled = compile(&registered.schema, &references)
            .map_err(|e| SerdesError::Decode(format!("schema {id} does not compile: {e}")))?;
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, compiled.clone());
        Ok(compiled)
    }
}
