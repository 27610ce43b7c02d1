//! SaslHandshake: v0–v1, on SASL listeners only.
//!
//! Picks the mechanism for the connection (or lists the enabled ones with
//! UNSUPPORTED_SASL_MECHANISM). With v1 the tokens follow in SaslAuthenticate requests; with
//! v0 they follow as raw size-prefixed frames, which the connection layer hands to the same
//! [`Authenticator`]. Served by the connection layer (it needs the connection's SASL state),
//! not by `handlers::dispatch`. A handshake on an authenticated connection starts a
//! re-authentication (KIP-368).

use streamctl_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};

use crate::security::sasl::{Authenticator, SaslSettings};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

/// Answers a SaslHandshake request.
pub fn handle(
    auth: &mut Authenticator,
    settings: &SaslSettings,
    req: &SaslHandshakeRequest,
    version: i16,
) -> SaslHandshakeResponse {
    let code = auth.handshake(settings, &req.mechanism, version);
    SaslHandshakeResponse {
        error_code: code.code(),
        mechanisms: settings
            .mechanisms
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        ..Default::default()
    }
}
