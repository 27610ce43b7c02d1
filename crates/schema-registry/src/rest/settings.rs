//! `/config` (the compatibility level) and `/mode`: one setting for the whole registry and
//! one per subject, each read, set and removed the same way.
//!
//! ```text
//!  GET    /config          {"compatibilityLevel":"BACKWARD"}   GET /mode   {"mode":"READWRITE"}
//!  PUT    /config/{s}      {"compatibility":"FULL"} ─▶ echoed   PUT /mode/{s} {"mode":"READONLY"}
//!  GET    /config/{s}      40408 unless the subject has its own (or ?defaultToGlobal=true)
//!  DELETE /config[/{s}]    back to the default; answers the setting it removed
//! ```

use super::*;
use crate::records::{ConfigValue, ModeValue};

/// A setting kept globally and per subject.
pub(super) trait Setting: Copy + Send + Sync + 'static {
    /// Its member in GET answers.
    const FIELD: &'static str;
    /// Its member in PUT answers (Confluent echoes the request's name).
    const PUT_FIELD: &'static str;
    fn key(subject: Option<&str>) -> Key;
    fn value(self) -> Vec<u8>;
    fn name(self) -> &'static str;
    fn of_subject(store: &Store, subject: &str) -> Option<Self>;
    fn global(store: &Store) -> Self;
    /// Parses a PUT body.
    fn from_body(bytes: &Bytes) -> Result<Self, RegistryError>;
    /// A subject without its own setting.
    fn missing(subject: &str) -> RegistryError;
}

/// The routes of one setting: `{path}` for the whole registry, `{path}/{s}` per subject.
pub(super) fn routes<S: Setting>(
    router: Router<Arc<Registry>>,
    path: &str,
) -> Router<Arc<Registry>> {
    router
        .route(
            path,
            get(global::<S>)
                .put(put_global::<S>)
                .delete(delete_global::<S>),
        )
        .route(
            &format!("{path}/{{s}}"),
            get(subject::<S>)
                .put(put_subject::<S>)
                .delete(delete_subject::<S>),
        )
}

/// A PUT /config body: Confluent's clients send `compatibility`, some `compatibilityLevel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigRequest {
    #[serde(default)]
    compatibility: Option<String>,
    #[serde(default)]
    compatibility_level: Option<String>,
}

impl Setting for Level {
    const FIELD: &'static str = "compatibilityLevel";
    const PUT_FIELD: &'static str = "compatibility";

    fn key(subject: Option<&str>) -> Key {
        Key::config(subject)
    }

    fn value(self) -> Vec<u8> {
        to_json(&ConfigValue {
            compatibility_level: Some(self.as_str().to_string()),
        })
    }

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn of_subject(store: &Store, subject: &str) -> Option<Self> {
        store.subject_level(subject)
    }

    fn global(store: &Store) -> Self {
        store.global_level()
    }

    fn from_body(bytes: &Bytes) -> Result<Self, RegistryError> {
        let request: ConfigRequest = body(bytes)?;
        let given = request
            .compatibility
            .or(request.compatibility_level)
            .unwrap_or_default();
        given
            .parse()
            .map_err(|_| RegistryError::invalid_level(&given))
    }

    fn missing(subject: &str) -> RegistryError {
        RegistryError::no_subject_level(subject)
    }
}

#[derive(Debug, Deserialize)]
struct ModeRequest {
    mode: String,
}

impl Setting for Mode {
    const FIELD: &'static str = "mode";
    const PUT_FIELD: &'static str = "mode";

    fn key(subject: Option<&str>) -> Key {
        Key::mode(subject)
    }

    fn value(self) -> Vec<u8> {
        to_json(&ModeValue {
            mode: self.as_str().to_string(),
        })
    }

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn of_subject(store: &Store, subject: &str) -> Option<Self> {
        store.subject_mode(subject)
    }

    fn global(store: &Store) -> Self {
        store.global_mode()
    }

    fn from_body(bytes: &Bytes) -> Result<Self, RegistryError> {
        let request: ModeRequest = body(bytes)?;
        request
            .mode
            .parse()
            .map_err(|_| RegistryError::invalid_mode(&request.mode))
    }

    fn missing(subject: &str) -> RegistryError {
        RegistryError::no_subject_mode(subject)
    }
}

fn answer<S: Setting>(field: &str, setting: S) -> Response {
    let mut v = json!({});
    set(&mut v, field, json!(setting.name()));
    ok(v)
}

async fn put<S: Setting>(r: &Registry, subject: Option<&str>, bytes: &Bytes) -> Answer {
    let setting = S::from_body(bytes)?;
    let writer = r.kafka.lock().await?;
    r.kafka
        .write(writer, vec![(S::key(subject), Some(setting.value()))])
        .await?;
    Ok(answer(S::PUT_FIELD, setting))
}

/// Removes a setting, answering the one it removed (`None`: the subject had none).
async fn delete<S: Setting>(r: &Registry, subject: Option<&str>) -> Answer {
    let writer = r.kafka.lock().await?;
    let previous = {
        let store = r.kafka.read();
        match subject {
            Some(s) => S::of_subject(&store, s).ok_or_else(|| S::missing(s))?,
            None => S::global(&store),
        }
    };
    r.kafka.write(writer, vec![(S::key(subject), None)]).await?;
    Ok(answer(S::FIELD, previous))
}

pub(super) async fn global<S: Setting>(State(r): Shared) -> Answer {
    Ok(answer(S::FIELD, S::global(&r.kafka.read())))
}

pub(super) async fn put_global<S: Setting>(State(r): Shared, bytes: Bytes) -> Answer {
    put::<S>(&r, None, &bytes).await
}

pub(super) async fn delete_global<S: Setting>(State(r): Shared) -> Answer {
    delete::<S>(&r, None).await
}

pub(super) async fn subject<S: Setting>(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(flags): Flags,
) -> Answer {
    let store = r.kafka.read();
    let setting = match S::of_subject(&store, &subject) {
        Some(setting) => setting,
        None if flag(&flags, "defaultToGlobal") => S::global(&store),
        None => return Err(S::missing(&subject)),
    };
    Ok(answer(S::FIELD, setting))
}

pub(super) async fn put_subject<S: Setting>(
    State(r): Shared,
    Path(subject): Path<String>,
    bytes: Bytes,
) -> Answer {
    check_subject(&subject)?;
    put::<S>(&r, Some(&subject), &bytes).await
}

pub(super) async fn delete_subject<S: Setting>(
    State(r): Shared,
    Path(subject): Path<String>,
) -> Answer {
    delete::<S>(&r, Some(&subject)).await
}
