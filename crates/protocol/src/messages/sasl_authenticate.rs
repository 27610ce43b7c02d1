//! SaslAuthenticate (API key 36): v0–v2, flexible from v2.
//!
//! Carries one SASL token each way after a v1 SaslHandshake (KIP-152); repeated until the
//! mechanism completes. v1 adds `session_lifetime_ms` for re-authentication (KIP-368).

use bytes::Bytes;

kafka_message! {
    /// Sends the client's next SASL token.
    pub struct SaslAuthenticateRequest: SaslAuthenticate, versions 0..=2, flexible 2 {
        /// The SASL token, as the mechanism defines it.
        auth_bytes: Bytes [0..],
    }
}

kafka_message! {
    /// The broker's SASL token, or why authentication failed.
    pub struct SaslAuthenticateResponse: SaslAuthenticate, versions 0..=2, flexible 2 {
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0.., default Some(String::new())],
        /// The broker's SASL token.
        auth_bytes: Bytes [0..],
        /// How long the session may last before the client must re-authenticate, in ms, or 0 (v1+).
        session_lifetime_ms: i64 [1.., default 0],
    }
}
