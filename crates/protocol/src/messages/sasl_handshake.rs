//! SaslHandshake (API key 17): v0–v1, never flexible.
//!
//! Picks the SASL mechanism. With v0 the SASL tokens follow as raw length-prefixed frames;
//! with v1 (KIP-152) they travel in SaslAuthenticate requests, so errors can be reported.

kafka_message! {
    /// Names the SASL mechanism the client wants.
    pub struct SaslHandshakeRequest: SaslHandshake, versions 0..=1, flexible none {
        /// The SASL mechanism, e.g. `PLAIN` or `SCRAM-SHA-256`.
        mechanism: String [0..],
    }
}

kafka_message! {
    /// Accepts the mechanism, or lists the ones the broker has enabled.
    pub struct SaslHandshakeResponse: SaslHandshake, versions 0..=1, flexible none {
        /// The error code, or 0 (`UNSUPPORTED_SASL_MECHANISM` if not enabled).
        error_code: i16 [0..],
        /// The mechanisms enabled on the broker.
        mechanisms: Vec<String> [0..],
    }
}
