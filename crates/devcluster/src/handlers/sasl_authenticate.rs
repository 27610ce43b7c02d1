//! SaslAuthenticate: v0–v2, on SASL listeners only.
//!
//! Carries one token of the mechanism chosen by SaslHandshake each way. Success from v1 on
//! tells the client how long its session lasts (`connections.max.reauth.ms`, KIP-368); a
//! refusal answers SASL_AUTHENTICATION_FAILED with a message and the connection layer
//! closes the connection after sending it, as Kafka does. Served by the connection layer,
//! not by `handlers::dispatch`.

use bytes::Bytes;
use streamctl_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};

use crate::security::sasl::{Authenticator, Outcome, SaslSettings};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// Answers a SaslAuthenticate request; the second value is `Some(reason)` when the
/// connection must be closed after the answer.
pub fn handle(
    auth: &mut Authenticator,
    settings: &SaslSettings,
    req: &SaslAuthenticateRequest,
) -> (SaslAuthenticateResponse, Option<String>) {
    match auth.authenticate(settings, &req.auth_bytes) {
        Outcome::Continue(token) => (
            SaslAuthenticateResponse {
                auth_bytes: Bytes::from(token),
                ..Default::default()
            },
            None,
        ),
        Outcome::Success {
            token,
            session_lifetime_ms,
        } => (
            SaslAuthenticateResponse {
                auth_bytes: Bytes::from(token),
                session_lifetime_ms,
                ..Default::default()
            },
            None,
        ),
        Outcome::Failure(code, message) => (
            SaslAuthenticateResponse {
                error_code: code.code(),
                error_message: Some(message.clone()),
                ..Default::default()
            },
            Some(format!("SASL authentication failed ({code}): {message}")),
        ),
    }
}
