//! SASL on a broker connection: the users, the mechanisms, and one connection's progress.
//!
//! ```text
//!  Start ──SaslHandshake(mech)──▶ Handshaken ──SaslAuthenticate──▶ (SCRAM: ScramFirst ──▶) Done
//!    ▲                                                     │ wrong password
//!    └──────── re-authentication (KIP-368) ◀── Done        ▼
//!                                            SASL_AUTHENTICATION_FAILED, connection closed
//! ```
//!
//! Mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (credentials derived at start, as Kafka
//! stores them), and OAUTHBEARER with unsecured JWS tokens (`alg: none`), which is what
//! Kafka's default validator accepts: fine for a dev cluster, never for production.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use streamctl_protocol::sasl::constant_time_eq;
use streamctl_protocol::sasl::scram::{self, ScramCredential, ScramHash, ScramServer};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;

/// A SASL mechanism the dev cluster can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// OAUTHBEARER (RFC 7628, KIP-255) with unsecured JWS tokens.
    OauthBearer,
}

impl Mechanism {
    /// Every mechanism, in the order brokers list them.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::OauthBearer,
    ];

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OauthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism with this name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// One user's credentials.
#[derive(Clone)]
struct User {
    password: String,
    sha256: ScramCredential,
    sha512: ScramCredential,
}

/// The cluster's SASL settings: users, enabled mechanisms, re-authentication.
#[derive(Clone)]
pub struct SaslSettings {
    /// Enabled mechanisms (`sasl.enabled.mechanisms`).
    pub mechanisms: Vec<Mechanism>,
    users: BTreeMap<String, User>,
    /// `connections.max.reauth.ms`: sessions last this long; clients must re-authenticate
    /// (KIP-368) or have their connection closed at the next request. `None`: forever.
    pub max_reauth: Option<Duration>,
}

impl std::fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanisms", &self.mechanisms)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("max_reauth", &self.max_reauth)
            .finish()
    }
}

impl SaslSettings {
    /// Settings with these `(username, password)` users and every mechanism enabled.
    pub fn new<'a>(users: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        use rand::Rng as _;
        let users = users
            .into_iter()
            .map(|(name, password)| {
                let mut rng = rand::rng();
                let salt256: [u8; 16] = rng.random();
                let salt512: [u8; 16] = rng.random();
                (
                    name.to_string(),
                    User {
                        password: password.to_string(),
                        sha256: ScramCredential::new(
                            ScramHash::Sha256,
                            password,
                            salt256.to_vec(),
                            scram::DEFAULT_ITERATIONS,
                        ),
                        sha512: ScramCredential::new(
                            ScramHash::Sha512,
                            password,
                            salt512.to_vec(),
                            scram::DEFAULT_ITERATIONS,
                        ),
                    },
                )
            })
            .collect();
        Self {
            mechanisms: Mechanism::ALL.to_vec(),
            users,
            max_reauth: None,
        }
    }

    /// The user names.
    pub fn usernames(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }
}

/// What one SaslAuthenticate token leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send this token and wait for the next.
    Continue(Vec<u8>),
    /// Authenticated: send this last token; the session lasts `session_lifetime`.
    Success {
        /// The last token (empty for PLAIN and OAUTHBEARER).
        token: Vec<u8>,
        /// How long until the client must re-authenticate (0: no limit).
        session_lifetime_ms: i64,
    },
    /// Refused: answer with this error and close the connection.
    Failure(ErrorCode, String),
}

#[derive(Debug)]
enum State {
    /// Nothing yet (or a session that may re-authenticate).
    Start,
    /// The mechanism is chosen; its first token is next.
    Handshaken(Mechanism),
    /// SCRAM: server-first sent, client-final next.
    ScramFirst(ScramServer),
    /// OAUTHBEARER: the error challenge was sent; the client's 0x01 is next.
    OauthFailed(String),
}

/// One connection's SASL progress.
#[derive(Debug)]
pub struct Authenticator {
    state: State,
    /// Whether the tokens come as raw frames (after SaslHandshake v0).
    raw: bool,
    /// The authenticated user, once there is one.
    principal: Option<String>,
    /// When the session ends (KIP-368).
    session_expires: Option<Instant>,
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    /// A connection that has not authenticated.
    pub fn new() -> Self {
        Self {
            state: State::Start,
            raw: false,
            principal: None,
            session_expires: None,
        }
    }

    /// The authenticated user, if any.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// Whether requests other than ApiVersions and SASL may be served.
    pub fn is_authenticated(&self) -> bool {
        self.principal.is_some() && !self.session_expired()
    }

    /// Whether the session outlived `connections.max.reauth.ms` without re-authenticating.
    pub fn session_expired(&self) -> bool {
        self.session_expires.is_some_and(|at| Instant::now() >= at)
    }

    /// Whether the next frame is a raw SASL token (the SaslHandshake v0 framing).
    pub fn expects_raw_token(&self) -> bool {
        self.raw && !matches!(self.state, State::Start)
    }

    /// SaslHandshake: picks the mechanism, or answers UNSUPPORTED_SASL_MECHANISM (or
    /// ILLEGAL_SASL_STATE in the middle of an exchange).
    pub fn handshake(
        &mut self,
        settings: &SaslSettings,
        mechanism: &str,
        version: i16,
    ) -> ErrorCode {
        if !matches!(self.state, State::Start) {
            return ErrorCode::IllegalSaslState;
        }
        match Mechanism::from_name(mechanism).filter(|m| settings.mechanisms.contains(m)) {
            Some(m) => {
                self.state = State::Handshaken(m);
                self.raw = version == 0;
                ErrorCode::None
            }
            None => ErrorCode::UnsupportedSaslMechanism,
        }
    }

    /// SaslAuthenticate (or a raw token): advances the mechanism.
    pub fn authenticate(&mut self, settings: &SaslSettings, token: &[u8]) -> Outcome {
        let outcome = match std::mem::replace(&mut self.state, State::Start) {
            State::Start => {
                return Outcome::Failure(
                    ErrorCode::IllegalSaslState,
                    "SaslAuthenticate before SaslHandshake".into(),
                )
            }
            State::Handshaken(Mechanism::Plain) => {
                plain(settings, token).map(|user| (user, Vec::new()))
            }
            State::Handshaken(m @ (Mechanism::ScramSha256 | Mechanism::ScramSha512)) => {
                let hash = if m == Mechanism::ScramSha256 {
                    ScramHash::Sha256
                } else {
                    ScramHash::Sha512
                };
                let nonce = {
                    use rand::Rng as _;
                    let bytes: [u8; 18] = rand::rng().random();
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                };
                let lookup = |name: &str| {
                    settings.users.get(name).map(|u| match hash {
                        ScramHash::Sha256 => u.sha256.clone(),
                        ScramHash::Sha512 => u.sha512.clone(),
                    })
                };
                return match ScramServer::server_first(hash, token, lookup, &nonce) {
                    Ok((server, reply)) => {
                        self.state = State::ScramFirst(server);
                        Outcome::Continue(reply.into_bytes())
                    }
                    Err(e) => self.fail(m, &e),
                };
            }
            State::ScramFirst(server) => server
                .server_final(token)
                .map(|last| (server.username().to_string(), last.into_bytes()))
                .map_err(|e| e.to_string()),
            State::Handshaken(Mechanism::OauthBearer) => match oauthbearer(token) {
                Ok(user) => Ok((user, Vec::new())),
                Err(reason) => {
                    // RFC 7628: an error challenge first; the client answers 0x01.
                    self.state = State::OauthFailed(reason);
                    return Outcome::Continue(br#"{"status":"invalid_token"}"#.to_vec());
                }
            },
            State::OauthFailed(reason) => Err(reason),
        };
        match outcome {
            Ok((user, token)) => self.succeed(settings, user, token),
            Err(reason) => Outcome::Failure(ErrorCode::SaslAuthenticationFailed, reason),
        }
    }

    fn fail(&mut self, mechanism: Mechanism, reason: &scram::ScramError) -> Outcome {
        Outcome::Failure(
            ErrorCode::SaslAuthenticationFailed,
            format!(
                "Authentication failed with SASL mechanism {}: {reason}",
                mechanism.name()
            ),
        )
    }

    fn succeed(&mut self, settings: &SaslSettings, user: String, token: Vec<u8>) -> Outcome {
        // KIP-368: re-authentication must keep the principal.
        if let Some(previous) = &self.principal {
            if previous != &user {
                return Outcome::Failure(
                    ErrorCode::SaslAuthenticationFailed,
                    format!("re-authentication as {user} on a connection of {previous}"),
                );
            }
        }
        self.principal = Some(user);
        self.raw = false;
        self.session_expires = settings.max_reauth.map(|d| Instant::now() + d);
        let session_lifetime_ms = settings
            .max_reauth
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Outcome::Success {
            token,
            session_lifetime_ms,
        }
    }
}

/// PLAIN: `authzid NUL user NUL password`, with an empty authzid or one equal to the user.
fn plain(settings: &SaslSettings, token: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(token).map_err(|_| "PLAIN token is not UTF-8".to_string())?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("PLAIN token is malformed".into());
    };
    if !authzid.is_empty() && authzid != user {
        return Err("authorization id differs from the username".into());
    }
    match settings.users.get(user) {
        Some(u) if constant_time_eq(u.password.as_bytes(), password.as_bytes()) => {
            Ok(user.to_string())
        }
        _ => Err("Authentication failed: Invalid username or password".into()),
    }
}

/// OAUTHBEARER's client-first message: `gs2-header 0x01 auth=Bearer <token> 0x01 (k=v 0x01)* 0x01`,
/// with an unsecured JWS token whose `sub` names the user and whose `exp` is in the future.
fn oauthbearer(message: &[u8]) -> Result<String, String> {
    let text =
        std::str::from_utf8(message).map_err(|_| "OAUTHBEARER message is not UTF-8".to_string())?;
    let mut parts = text.split('\x01');
    let gs2 = parts.next().unwrap_or_default();
    if !gs2.starts_with("n,") && !gs2.starts_with("y,") {
        return Err("OAUTHBEARER message has no GS2 header".into());
    }
    let token = parts
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "auth")
        .and_then(|(_, v)| v.strip_prefix("Bearer "))
        .ok_or("OAUTHBEARER message has no bearer token")?;
    let mut pieces = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err("the token is not a JWS (header.claims.signature)".into());
    };
    let decode = |part: &str| -> Result<serde_json::Value, String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| "a token part is not base64url".to_string())?;
        serde_json::from_slice(&bytes).map_err(|_| "a token part is not JSON".to_string())
    };
    let header = decode(header)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("none") || !signature.is_empty() {
        return Err("only unsecured tokens (alg none) are accepted by the dev cluster".into());
    }
    let claims = decode(claims)?;
    let sub = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .ok_or("the token has no sub claim")?;
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .ok_or("the token has no exp claim")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    if exp <= now {
        return Err("the token has expired".into());
    }
    Ok(sub.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SaslSettings {
        SaslSettings::new([("alice", "alice-secret")])
    }

    #[test]
    fn plain_accepts_the_password_and_refuses_others() {
        let s = settings();
        let mut a = Authenticator::new();
        assert_eq!(a.handshake(&s, "plain", 1), ErrorCode::None);
        assert!(matches!(
            a.authenticate(&s, b"\0alice\0alice-secret"),
            Outcome::Success { .. }
        ));
        assert!(a.is_authenticated());

        for bad in [
            &b"\0alice\0wrong"[..],
            b"\0bob\0alice-secret",
            b"x\0alice\0alice-secret",
            b"alice",
            &[0xff],
        ] {
            let mut a = Authenticator::new();
            a.handshake(&s, "PLAIN", 1);
            assert!(
                matches!(
                    a.authenticate(&s, bad),
                    Outcome::Failure(ErrorCode::SaslAuthenticationFailed, _)
                ),
                "{bad:?}"
            );
            assert!(!a.is_authenticated());
        }
    }

    #[test]
    fn handshake_refuses_unknown_and_disabled_mechanisms() {
        let mut s = settings();
        s.mechanisms = vec![Mechanism::Plain];
        let mut a = Authenticator::new();
        assert_eq!(
            a.handshake(&s, "GSSAPI", 1),
            ErrorCode::UnsupportedSaslMechanism
        );
        assert_eq!(
            a.handshake(&s, "SCRAM-SHA-256", 1),
            ErrorCode::UnsupportedSaslMechanism
        );
        assert!(matches!(
            a.authenticate(&s, b""),
            Outcome::Failure(ErrorCode::IllegalSaslState, _)
        ));
    }

    #[test]
    fn oauthbearer_checks_alg_sub_and_exp() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let message = |claims: &str, alg: &str| {
            format!(
                "n,,\x01auth=Bearer {}.{}.\x01\x01",
                b64(&format!(r#"{{"alg":"{alg}"}}"#)),
                b64(claims)
            )
        };
        assert_eq!(
            oauthbearer(message(r#"{"sub":"bob","exp":99999999999}"#, "none").as_bytes()).unwrap(),
            "bob"
        );
        for (claims, alg) in [
            (r#"{"sub":"bob","exp":1}"#, "none"),
            (r#"{"exp":99999999999}"#, "none"),
            (r#"{"sub":"bob"}"#, "none"),
            (r#"{"sub":"bob","exp":99999999999}"#, "RS256"),
        ] {
            assert!(
                oauthbearer(message(claims, alg).as_bytes()).is_err(),
                "{claims} {alg}"
            );
        }
        assert!(oauthbearer(b"n,,\x01auth=Basic x\x01\x01").is_err());
        // The error challenge, then the client's 0x01, then the failure.
        let s = settings();
        let mut a = Authenticator::new();
        a.handshake(&s, "OAUTHBEARER", 1);
        assert!(matches!(
            a.authenticate(&s, message(r#"{"sub":"bob","exp":1}"#, "none").as_bytes()),
            Outcome::Continue(_)
        ));
        assert!(matches!(
            a.authenticate(&s, b"\x01"),
            Outcome::Failure(ErrorCode::SaslAuthenticationFailed, _)
        ));
    }
}
