//! The registry's errors, as Confluent's REST API reports them: an HTTP status and a body
//! `{"error_code": 40401, "message": "Subject 'x' not found."}`. Clients key off the code.

use crate::store::Which;

/// An error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (error code {code})")]
pub struct RegistryError {
    /// The HTTP status.
    pub status: u16,
    /// Confluent's error code.
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

impl RegistryError {
    pub(crate) fn new(status: u16, code: i32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn subject_not_found(subject: &str) -> Self {
        Self::new(404, 40401, format!("Subject '{subject}' not found."))
    }

    pub(crate) fn version_not_found(which: Which) -> Self {
        match which {
            Which::Latest => Self::new(404, 40402, "Version latest not found."),
            Which::Number(n) => Self::new(404, 40402, format!("Version {n} not found.")),
        }
    }

    pub(crate) fn schema_not_found(what: impl std::fmt::Display) -> Self {
        Self::new(404, 40403, format!("Schema {what} not found"))
    }

    pub(crate) fn subject_soft_deleted(subject: &str) -> Self {
        Self::new(
            404,
            40404,
            format!(
                "Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"
            ),
        )
    }

    pub(crate) fn subject_not_soft_deleted(subject: &str) -> Self {
        Self::new(
            404,
            40405,
            format!("Subject '{subject}' was not deleted first before being permanently deleted"),
        )
    }

    pub(crate) fn version_soft_deleted(subject: &str, version: i32) -> Self {
        Self::new(
            404,
            40406,
            format!(
                "Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently"
            ),
        )
    }

    pub(crate) fn version_not_soft_deleted(subject: &str, version: i32) -> Self {
        Self::new(
            404,
            40407,
            format!(
                "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
            ),
        )
    }

    pub(crate) fn no_subject_level(subject: &str) -> Self {
        Self::new(
            404,
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }

    pub(crate) fn no_subject_mode(subject: &str) -> Self {
        Self::new(
            404,
            40409,
            format!("Subject '{subject}' does not have subject-level mode configured"),
        )
    }

    pub(crate) fn incompatible(subject: &str, messages: &[String]) -> Self {
        Self::new(
            409,
            40901,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                messages.join(", ")
            ),
        )
    }

    pub(crate) fn invalid_schema(detail: impl std::fmt::Display) -> Self {
        Self::new(422, 42201, format!("Invalid schema, details: {detail}"))
    }

    pub(crate) fn invalid_version(given: &str) -> Self {
        Self::new(
            422,
            42202,
            format!(
                "The specified version '{given}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    pub(crate) fn invalid_level(given: &str) -> Self {
        Self::new(
            422,
            42203,
            format!(
                "Invalid compatibility level '{given}'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
            ),
        )
    }

    pub(crate) fn invalid_mode(given: &str) -> Self {
        Self::new(
            422,
            42204,
            format!("Invalid mode '{given}'. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT."),
        )
    }

    pub(crate) fn not_permitted(message: impl Into<String>) -> Self {
        Self::new(422, 42205, message)
    }

    pub(crate) fn referenced(subject: &str, version: i32) -> Self {
        Self::new(
            422,
            42206,
            format!("One or more references exist to the schema {{subject={subject},version={version}}}."),
        )
    }

    pub(crate) fn invalid_subject(subject: &str) -> Self {
        Self::new(
            422,
            42208,
            format!("The specified subject '{subject}' is not a valid."),
        )
    }

    pub(crate) fn store(detail: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            50001,
            format!("Error in the backend data store: {detail}"),
        )
    }

    pub(crate) fn timeout(detail: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            50002,
            format!("Timed out in the backend data store: {detail}"),
        )
    }
}
