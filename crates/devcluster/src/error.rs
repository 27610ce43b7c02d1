//! The error every broker-side operation returns: a Kafka error code and a message for the
//! client. Handlers put the code where their response has one (and the message where the
//! protocol has a message field).

use streamctl_protocol::ErrorCode;

/// An error that maps to a Kafka error code, with a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The Kafka error code to return.
    pub code: ErrorCode,
    /// A human-readable explanation (returned where the protocol has a message field).
    pub message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
