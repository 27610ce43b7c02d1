//! Who the client is and how it proves it: `security.protocol`, TLS and SASL settings.
//!
//! ```text
//!  TCP connect ──▶ TLS handshake (SSL, SASL_SSL) ──▶ ApiVersions ──▶ SaslHandshake v1
//!                                                                   └▶ SaslAuthenticate × n
//!                                                                      (SASL_PLAINTEXT, SASL_SSL)
//! ```
//!
//! - TLS is rustls with the ring provider: trust comes from `ssl.ca.location`/`ssl.ca.pem`
//!   or, without them, the system's roots (Mozilla's bundle when the system has none); a
//!   client certificate (`ssl.certificate.*`, `ssl.key.*`) gives mutual TLS.
//! - SASL mechanisms: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802/7677, the protocol
//!   crate's `sasl::scram`), and OAUTHBEARER (KIP-255) with a token from a
//!   [`TokenProvider`] callback.
//! - Tokens travel in SaslAuthenticate requests (KIP-152); a broker too old for them is
//!   refused with a clear error rather than spoken to in the raw v0 framing.
//!
//! Secrets are kept in [`Secret`], whose `Debug` never shows them, and no error message of
//! this crate contains one.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::error::{Error, Result};

pub(crate) mod sasl;
pub(crate) mod tls;

/// `security.protocol`: whether connections use TLS, SASL, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// `PLAINTEXT`: neither (the default).
    #[default]
    Plaintext,
    /// `SSL`: TLS, no SASL.
    Ssl,
    /// `SASL_PLAINTEXT`: SASL over plain TCP (the password travels in the clear with PLAIN).
    SaslPlaintext,
    /// `SASL_SSL`: SASL inside TLS, what managed clusters use.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections start with a TLS handshake.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL after ApiVersions.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    /// Kafka's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err("expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".into()),
        }
    }
}

/// A password or key that must not be printed: `Debug` shows `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the code that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty (not set).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// TLS settings (`ssl.*`), used when `security.protocol` is `SSL` or `SASL_SSL`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// `ssl.ca.location`: a PEM file of CA certificates to trust instead of the system's.
    pub ca_location: Option<PathBuf>,
    /// `ssl.ca.pem`: CA certificates as PEM text (added to `ca_location`'s).
    pub ca_pem: Option<String>,
    /// `ssl.certificate.location`: the client's certificate chain (PEM) for mutual TLS.
    pub certificate_location: Option<PathBuf>,
    /// `ssl.certificate.pem`: the same as PEM text.
    pub certificate_pem: Option<String>,
    /// `ssl.key.location`: the client certificate's private key (PEM, unencrypted).
    pub key_location: Option<PathBuf>,
    /// `ssl.key.pem`: the same as PEM text.
    pub key_pem: Option<Secret>,
    /// `ssl.server.name` (a streamctl extension): the name the broker's certificate must
    /// carry and the SNI sent, instead of the host of the address dialled. For brokers
    /// reached through a tunnel or by IP.
    pub server_name: Option<String>,
    /// `ssl.endpoint.identification.algorithm`: `https` (default) checks that the certificate
    /// names the broker; `none` checks only that a trusted CA signed it.
    pub verify_hostname: bool,
    /// `enable.ssl.certificate.verification=false`: accept any certificate. For development
    /// only: anyone on the path can read and change the traffic.
    pub insecure_skip_verify: bool,
}

impl TlsConfig {
    /// The rustls client configuration these settings make (ring provider, the system's
    /// roots unless CAs are given): for other TLS clients that share the `ssl.*` settings,
    /// such as a schema registry client.
    pub fn rustls_client_config(&self) -> Result<rustls::ClientConfig> {
        tls::client_config(self)
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            ca_location: None,
            ca_pem: None,
            certificate_location: None,
            certificate_pem: None,
            key_location: None,
            key_pem: None,
            server_name: None,
            verify_hostname: true,
            insecure_skip_verify: false,
        }
    }
}

impl TlsConfig {
    /// Trusts the CA certificates in this PEM file.
    pub fn ca_location(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_location = Some(path.into());
        self
    }

    /// Trusts these PEM CA certificates.
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Presents this client certificate chain and key (PEM files) for mutual TLS.
    pub fn client_certificate(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.certificate_location = Some(certificate.into());
        self.key_location = Some(key.into());
        self
    }

    /// Presents this client certificate chain and key (PEM text) for mutual TLS.
    pub fn client_certificate_pem(
        mut self,
        certificate: impl Into<String>,
        key: impl Into<Secret>,
    ) -> Self {
        self.certificate_pem = Some(certificate.into());
        self.key_pem = Some(key.into());
        self
    }

    /// Expects this name in the broker's certificate (and sends it as SNI).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Accepts any certificate without checking it. **Development only.**
    pub fn insecure_skip_verify(mut self, skip: bool) -> Self {
        self.insecure_skip_verify = skip;
        self
    }
}

/// `sasl.mechanism`: how a SASL client proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN`: username and password in one message (use it inside TLS only). The default:
    /// what managed clusters hand out API keys for.
    #[default]
    Plain,
    /// `SCRAM-SHA-256`: a salted challenge–response; the password never travels.
    ScramSha256,
    /// `SCRAM-SHA-512`: the same with SHA-512.
    ScramSha512,
    /// `OAUTHBEARER`: a bearer token from a [`TokenProvider`].
    OauthBearer,
}

impl SaslMechanism {
    /// The mechanism's IANA name, as sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OauthBearer => "OAUTHBEARER",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            "OAUTHBEARER" => Ok(Self::OauthBearer),
            "GSSAPI" => Err("GSSAPI (Kerberos) is not supported".into()),
            _ => Err("expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER".into()),
        }
    }
}

/// A bearer token for OAUTHBEARER, as a [`TokenProvider`] returns it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OauthBearerToken {
    /// The token (usually a JWT), sent as `auth=Bearer <value>`.
    pub value: Secret,
    /// SASL extensions sent with it (KIP-342), e.g. Confluent Cloud's `logicalCluster`.
    pub extensions: BTreeMap<String, String>,
}

impl OauthBearerToken {
    /// A token without extensions.
    pub fn new(value: impl Into<Secret>) -> Self {
        Self {
            value: value.into(),
            extensions: BTreeMap::new(),
        }
    }

    /// Adds a SASL extension.
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// An unsecured JWS token (`alg: none`) naming `principal`, valid for `lifetime`: what
    /// Kafka's default OAUTHBEARER validator accepts, for development clusters only.
    pub fn unsecured(principal: &str, lifetime: Duration) -> Self {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let iat = now.as_secs();
        let exp = iat.saturating_add(lifetime.as_secs().max(1));
        let header = b64.encode(br#"{"alg":"none"}"#);
        let claims = format!(
            r#"{{"sub":{},"iat":{iat},"exp":{exp}}}"#,
            json_string(principal)
        );
        Self::new(format!("{header}.{}.", b64.encode(claims)))
    }
}

impl fmt::Debug for OauthBearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OauthBearerToken")
            .field("value", &self.value)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// What a [`TokenProvider`] returns: a token, or why there is none.
pub type TokenFuture =
    Pin<Box<dyn Future<Output = std::result::Result<OauthBearerToken, String>> + Send>>;

/// The OAUTHBEARER callback: called for every new connection (and re-authentication), so it
/// should cache the token until shortly before it expires.
#[derive(Clone)]
pub struct TokenProvider(Arc<dyn Fn() -> TokenFuture + Send + Sync>);

impl TokenProvider {
    /// Wraps an async callback.
    pub fn new<F, Fut>(provide: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<OauthBearerToken, String>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(provide())))
    }

    /// A provider of fresh unsecured tokens for `principal` (see
    /// [`OauthBearerToken::unsecured`]).
    pub fn unsecured(principal: impl Into<String>, lifetime: Duration) -> Self {
        let principal = principal.into();
        Self::new(move || {
            let token = OauthBearerToken::unsecured(&principal, lifetime);
            async move { Ok(token) }
        })
    }

    pub(crate) fn token(&self) -> TokenFuture {
        (self.0)()
    }
}

impl PartialEq for TokenProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenProvider {}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider(..)")
    }
}

/// SASL settings (`sasl.*`), used when `security.protocol` is `SASL_PLAINTEXT` or `SASL_SSL`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SaslConfig {
    /// `sasl.mechanism` (also `sasl.mechanisms`, librdkafka's name).
    pub mechanism: SaslMechanism,
    /// `sasl.username`, for PLAIN and SCRAM.
    pub username: String,
    /// `sasl.password`, for PLAIN and SCRAM.
    pub password: Secret,
    /// The OAUTHBEARER token source; set by [`ClientConfig::sasl_oauthbearer`](crate::ClientConfig::sasl_oauthbearer)
    /// or, for unsecured development tokens, by `sasl.oauthbearer.config=principal=NAME`.
    pub token_provider: Option<TokenProvider>,
}

/// The property names [`try_set`] owns.
pub(crate) const PROPERTIES: &[&str] = &[
    "security.protocol",
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.server.name",
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "sasl.jaas.config",
    "sasl.oauthbearer.config",
    "enable.sasl.oauthbearer.unsecure.jwt",
];

/// Properties whose values are secrets: their values never appear in errors.
pub const SECRET_PROPERTIES: &[&str] = &[
    "sasl.password",
    "sasl.jaas.config",
    "ssl.key.pem",
    "ssl.key.password",
];

/// How long unsecured development tokens live unless `lifeSeconds` says otherwise.
const UNSECURED_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Sets a security property; `Ok(false)` for a name this layer does not own.
pub(crate) fn try_set(
    config: &mut crate::ClientConfig,
    property: &str,
    value: &str,
) -> Result<bool> {
    let v = value.trim();
    let invalid = |reason: &str| Error::invalid_config(property, value, reason);
    let path = |v: &str| (!v.is_empty()).then(|| PathBuf::from(v));
    let text = |v: &str| (!v.is_empty()).then(|| v.to_string());
    match property {
        "security.protocol" => {
            config.security_protocol = v.parse().map_err(|e: String| invalid(&e))?
        }
        "ssl.ca.location" => config.tls.ca_location = path(v),
        "ssl.ca.pem" => config.tls.ca_pem = text(v),
        "ssl.certificate.location" => config.tls.certificate_location = path(v),
        "ssl.certificate.pem" => config.tls.certificate_pem = text(v),
        "ssl.key.location" => config.tls.key_location = path(v),
        "ssl.key.pem" => config.tls.key_pem = (!v.is_empty()).then(|| Secret::new(v)),
        "ssl.key.password" if v.is_empty() => {}
        "ssl.key.password" => {
            return Err(Error::invalid_config(
                property,
                "[redacted]",
                "encrypted private keys are not supported; decrypt the key file first \
                 (openssl pkey -in key.pem -out plain-key.pem)",
            ))
        }
        "ssl.server.name" => config.tls.server_name = text(v),
        "ssl.endpoint.identification.algorithm" => {
            config.tls.verify_hostname = match v.to_ascii_lowercase().as_str() {
                "https" => true,
                "none" | "" => false,
                _ => return Err(invalid("expected https or none")),
            }
        }
        "enable.ssl.certificate.verification" => {
            config.tls.insecure_skip_verify = !crate::config::parse_bool(property, v)?;
        }
        "sasl.mechanism" | "sasl.mechanisms" => {
            config.sasl.mechanism = v.parse().map_err(|e: String| invalid(&e))?;
        }
        "sasl.username" => config.sasl.username = v.to_string(),
        // Not trimmed: a password may start or end with a space.
        "sasl.password" => config.sasl.password = Secret::new(value),
        "sasl.jaas.config" => {
            let (username, password) = parse_jaas(value)
                .map_err(|reason| Error::invalid_config(property, "[redacted]", reason))?;
            config.sasl.username = username;
            config.sasl.password = Secret::new(password);
        }
        "enable.sasl.oauthbearer.unsecure.jwt" => {
            // The unsecured provider is installed by sasl.oauthbearer.config; this switch
            // only says it is allowed, as in librdkafka.
            crate::config::parse_bool(property, v)?;
        }
        "sasl.oauthbearer.config" => {
            let (principal, lifetime) = parse_oauthbearer_config(v).map_err(|e| invalid(&e))?;
            config.sasl.token_provider = Some(TokenProvider::unsecured(principal, lifetime));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// librdkafka's unsecured-JWT settings: `principal=NAME [lifeSeconds=N] [scope=...]`.
fn parse_oauthbearer_config(v: &str) -> std::result::Result<(String, Duration), String> {
    let mut principal = None;
    let mut lifetime = UNSECURED_TOKEN_LIFETIME;
    for part in v.split_whitespace() {
        match part.split_once('=') {
            Some(("principal", p)) if !p.is_empty() => principal = Some(p.to_string()),
            Some(("lifeSeconds", s)) => {
                let secs: u64 = s
                    .parse()
                    .map_err(|_| "lifeSeconds must be a whole number".to_string())?;
                lifetime = Duration::from_secs(secs.max(1));
            }
            // Scopes and extensions are accepted and not sent: the unsecured token only
            // names a principal.
            Some((_, _)) => {}
            None => return Err(format!("expected key=value, found {part:?}")),
        }
    }
    let principal = principal.ok_or("expected principal=NAME")?;
    Ok((principal, lifetime))
}

/// Takes `username="…"` and `password="…"` from a Java `sasl.jaas.config` line, e.g.
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
/// (what managed clusters hand out for Java clients).
fn parse_jaas(v: &str) -> std::result::Result<(String, String), &'static str> {
    let field = |name: &str| -> Option<String> {
        let start = v.find(&format!("{name}=\""))? + name.len() + 2;
        let rest = v.get(start..)?;
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        None
    };
    match (field("username"), field("password")) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => Err("expected a login module line with username=\"...\" and password=\"...\""),
    }
}

/// A JSON string literal (for the token's claims).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks the security settings before any connection is tried.
pub(crate) fn validate(config: &crate::ClientConfig) -> Result<()> {
    if config.security_protocol.uses_sasl() {
        let sasl = &config.sasl;
        match sasl.mechanism {
            SaslMechanism::OauthBearer if sasl.token_provider.is_none() => {
                return Err(Error::invalid_config(
                    "sasl.mechanism",
                    "OAUTHBEARER",
                    "needs a token provider (ClientConfig::sasl_oauthbearer, or \
                     sasl.oauthbearer.config=principal=NAME for unsecured development tokens)",
                ));
            }
            SaslMechanism::OauthBearer => {}
            _ if sasl.username.is_empty() => {
                return Err(Error::invalid_config(
                    "sasl.username",
                    "",
                    format!("{} needs a username", sasl.mechanism),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;

    #[test]
    fn parses_kafka_security_properties() {
        let c = ClientConfig::from_properties([
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", " s3cret "),
            ("ssl.ca.location", "/tmp/ca.pem"),
            ("ssl.endpoint.identification.algorithm", "none"),
            ("ssl.server.name", "broker.internal"),
        ])
        .unwrap();
        assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(c.sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(c.sasl.username, "alice");
        assert_eq!(c.sasl.password.expose(), " s3cret ");
        assert_eq!(c.tls.ca_location, Some(PathBuf::from("/tmp/ca.pem")));
        assert!(!c.tls.verify_hostname);
        assert_eq!(c.tls.server_name.as_deref(), Some("broker.internal"));
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
    }

    #[test]
    fn jaas_config_gives_username_and_password() {
        let mut c = ClientConfig::default();
        c.set(
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="KEY" password="p\"w";"#,
        )
        .unwrap();
        assert_eq!(c.sasl.username, "KEY");
        assert_eq!(c.sasl.password.expose(), "p\"w");
        let e = c
            .set(
                "sasl.jaas.config",
                "PlainLoginModule required password=\"hunter2\";",
            )
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        let mut c = ClientConfig::default();
        let e = c.set("ssl.key.password", "hunter2").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(c
            .set("sasl.mechanism", "GSSAPI")
            .unwrap_err()
            .to_string()
            .contains("Kerberos"));
        assert!(c.set("security.protocol", "TLS").is_err());
    }

    #[test]
    fn unsecured_tokens_carry_the_principal() {
        let mut c = ClientConfig::default();
        c.set(
            "sasl.oauthbearer.config",
            "principal=bob lifeSeconds=60 scope=x",
        )
        .unwrap();
        assert!(c.sasl.token_provider.is_some());
        let token = OauthBearerToken::unsecured("bob", Duration::from_secs(60));
        let parts: Vec<&str> = token.value.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let claims = String::from_utf8(claims).unwrap();
        assert!(claims.starts_with(r#"{"sub":"bob","iat":"#), "{claims}");
        assert!(c.set("sasl.oauthbearer.config", "scope=x").is_err());
    }

    #[test]
    fn sasl_without_credentials_is_refused_before_connecting() {
        let mut c = ClientConfig::default();
        c.set("security.protocol", "SASL_PLAINTEXT").unwrap();
        assert!(validate(&c).is_err());
        c.set("sasl.username", "u").unwrap();
        assert!(validate(&c).is_ok());
        c.set("sasl.mechanism", "OAUTHBEARER").unwrap();
        assert!(validate(&c).is_err());
    }
}
