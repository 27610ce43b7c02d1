//! Settings shared by every client: where the cluster is, who we are, and how long to wait.
//!
//! Fields are typed (`Duration`, not `_ms` integers). Kafka property names are accepted as
//! strings too, so a `client.properties` people already have can be pasted in:
//!
//! ```
//! # use streamctl_client::ClientConfig;
//! let mut config = ClientConfig::new("localhost:9092");
//! config.set("request.timeout.ms", "5000")?;
//! assert_eq!(config.request_timeout, std::time::Duration::from_secs(5));
//! # Ok::<(), streamctl_client::Error>(())
//! ```
//!
//! Layering: the producer's and the consumer's configs wrap a `ClientConfig`. Their own `set`
//! first offers a property to [`ClientConfig::try_set`], which answers `Ok(false)` for a name it
//! does not own, then handles it themselves, and only the outermost layer turns a name nobody
//! owns into [`Error::UnknownProperty`]. [`ClientConfig::set`] is that outermost layer for code
//! that only needs a `ClientConfig`.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::security::{
    SaslConfig, SaslMechanism, Secret, SecurityProtocol, TlsConfig, TokenProvider,
};

/// Settings shared by the producer, the consumer and the admin client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` addresses to learn the cluster from; any one that
    /// answers is enough, the rest of the cluster comes from metadata.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`: sent in every request header; brokers use it in logs and quotas.
    pub client_id: String,
    /// `request.timeout.ms`: how long to wait for a response before failing the request (and,
    /// as in Kafka, closing its connection). Default 30 s.
    pub request_timeout: Duration,
    /// `metadata.max.age.ms`: cached topic metadata older than this is refreshed before use,
    /// so new partitions and moved leaders are found even without an error. Default 5 min.
    pub metadata_max_age: Duration,
    /// `retry.backoff.ms`: first pause before retrying a failed request. Default 100 ms.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the pause doubles per failed attempt up to this. Default 1 s.
    pub retry_backoff_max: Duration,
    /// `reconnect.backoff.ms`: first pause before reconnecting to a broker that failed.
    /// Default 50 ms.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`: the reconnect pause doubles up to this. Default 1 s.
    pub reconnect_backoff_max: Duration,
    /// `socket.connection.setup.timeout.ms`: how long a TCP connect (and the ApiVersions
    /// exchange that follows it) may take. Default 10 s.
    pub socket_connection_setup_timeout: Duration,
    /// `allow.auto.create.topics`: whether metadata requests ask the broker to create topics
    /// that do not exist (the broker decides whether it allows that). Default true, as in
    /// Kafka's producer and consumer.
    pub allow_auto_create_topics: bool,
    /// `security.protocol`: `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: SecurityProtocol,
    /// The `ssl.*` settings, used with `SSL` and `SASL_SSL`.
    pub tls: TlsConfig,
    /// The `sasl.*` settings, used with `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: SaslConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: Vec::new(),
            client_id: "streamctl".to_string(),
            request_timeout: Duration::from_secs(30),
            metadata_max_age: Duration::from_secs(5 * 60),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            socket_connection_setup_timeout: Duration::from_secs(10),
            allow_auto_create_topics: true,
            security_protocol: SecurityProtocol::Plaintext,
            tls: TlsConfig::default(),
            sasl: SaslConfig::default(),
        }
    }
}

impl ClientConfig {
    /// Every property name this layer owns, besides the security ones
    /// ([`ClientConfig::SECURITY_PROPERTIES`]).
    pub const PROPERTIES: &'static [&'static str] = &[
        "bootstrap.servers",
        "client.id",
        "request.timeout.ms",
        "metadata.max.age.ms",
        "retry.backoff.ms",
        "retry.backoff.max.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "socket.connection.setup.timeout.ms",
        "allow.auto.create.topics",
    ];

    /// The security property names this layer owns (`security.protocol`, `ssl.*`, `sasl.*`).
    pub const SECURITY_PROPERTIES: &'static [&'static str] = crate::security::PROPERTIES;

    /// Properties whose values are secrets (`sasl.password`, …): callers that echo property
    /// values (a CLI, logs) must not echo these.
    pub const SECRET_PROPERTIES: &'static [&'static str] = crate::security::SECRET_PROPERTIES;

    /// Defaults with `bootstrap.servers` taken from a comma-separated list.
    ///
    /// Entries are not validated here (a builder should not fail); an invalid address shows
    /// up as a connection error naming it. Use [`ClientConfig::set`] to validate.
    pub fn new(bootstrap_servers: &str) -> Self {
        Self {
            bootstrap_servers: split_list(bootstrap_servers),
            ..Self::default()
        }
    }

    /// Builds a config from `(property, value)` pairs; any unknown property is an error.
    pub fn from_properties<K, V>(properties: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = Self::default();
        for (key, value) in properties {
            config.set(key.as_ref(), value.as_ref())?;
        }
        Ok(config)
    }

    /// Sets a property by its Kafka name; an unknown name is [`Error::UnknownProperty`].
    pub fn set(&mut self, property: &str, value: &str) -> Result<&mut Self> {
        if self.try_set(property, value)? {
            Ok(self)
        } else {
            Err(Error::UnknownProperty {
                property: property.to_string(),
            })
        }
    }

    /// Sets a property this layer owns and returns `Ok(true)`; returns `Ok(false)` and changes
    /// nothing for a name it does not own, so wrapping configs can chain (see the module docs).
    /// An invalid value for an owned property is [`Error::InvalidConfig`].
    pub fn try_set(&mut self, property: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match property {
            "bootstrap.servers" => self.bootstrap_servers = parse_bootstrap(property, v)?,
            "client.id" => self.client_id = v.to_string(),
            "request.timeout.ms" => self.request_timeout = parse_ms(property, v, 1)?,
            "metadata.max.age.ms" => self.metadata_max_age = parse_ms(property, v, 0)?,
            "retry.backoff.ms" => self.retry_backoff = parse_ms(property, v, 0)?,
            "retry.backoff.max.ms" => self.retry_backoff_max = parse_ms(property, v, 0)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(property, v, 0)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = parse_ms(property, v, 0)?,
            "socket.connection.setup.timeout.ms" => {
                self.socket_connection_setup_timeout = parse_ms(property, v, 1)?;
            }
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(property, v)?,
            _ => return crate::security::try_set(self, property, value),
        }
        Ok(true)
    }

    /// Sets `bootstrap.servers`.
    pub fn bootstrap_servers(mut self, servers: &str) -> Self {
        self.bootstrap_servers = split_list(servers);
        self
    }

    /// Sets `client.id`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets `request.timeout.ms`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets `metadata.max.age.ms`.
    pub fn metadata_max_age(mut self, age: Duration) -> Self {
        self.metadata_max_age = age;
        self
    }

    /// Sets `retry.backoff.ms` and `retry.backoff.max.ms`.
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_backoff = initial;
        self.retry_backoff_max = max;
        self
    }

    /// Sets `reconnect.backoff.ms` and `reconnect.backoff.max.ms`.
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.reconnect_backoff = initial;
        self.reconnect_backoff_max = max;
        self
    }

    /// Sets `socket.connection.setup.timeout.ms`.
    pub fn socket_connection_setup_timeout(mut self, timeout: Duration) -> Self {
        self.socket_connection_setup_timeout = timeout;
        self
    }

    /// Sets `allow.auto.create.topics`.
    pub fn allow_auto_create_topics(mut self, allow: bool) -> Self {
        self.allow_auto_create_topics = allow;
        self
    }

    /// Sets `security.protocol`.
    pub fn security_protocol(mut self, protocol: SecurityProtocol) -> Self {
        self.security_protocol = protocol;
        self
    }

    /// Uses TLS with these settings: `security.protocol` becomes `SSL`, or `SASL_SSL` when
    /// SASL is on.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self.security_protocol = if self.security_protocol.uses_sasl() {
            SecurityProtocol::SaslSsl
        } else {
            SecurityProtocol::Ssl
        };
        self
    }

    /// Authenticates with SASL PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512: `security.protocol`
    /// becomes `SASL_PLAINTEXT`, or `SASL_SSL` when TLS is on.
    pub fn sasl(
        mut self,
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        self.sasl = SaslConfig {
            mechanism,
            username: username.into(),
            password: password.into(),
            token_provider: None,
        };
        self.security_protocol = self.with_sasl_protocol();
        self
    }

    /// Authenticates with SASL OAUTHBEARER, asking `provider` for a token for each new
    /// connection: `security.protocol` becomes `SASL_PLAINTEXT`, or `SASL_SSL` with TLS.
    ///
    /// ```
    /// # use streamctl_client::{ClientConfig, OauthBearerToken, TokenProvider};
    /// let config = ClientConfig::new("broker:9093").sasl_oauthbearer(TokenProvider::new(|| async {
    ///     // Ask the identity provider here, and cache the token until it nearly expires.
    ///     Ok(OauthBearerToken::new("eyJ..."))
    /// }));
    /// ```
    pub fn sasl_oauthbearer(mut self, provider: TokenProvider) -> Self {
        self.sasl = SaslConfig {
            mechanism: SaslMechanism::OauthBearer,
            token_provider: Some(provider),
            ..SaslConfig::default()
        };
        self.security_protocol = self.with_sasl_protocol();
        self
    }

    fn with_sasl_protocol(&self) -> SecurityProtocol {
        if self.security_protocol.uses_tls() {
            SecurityProtocol::SaslSsl
        } else {
            SecurityProtocol::SaslPlaintext
        }
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `host:port,host:port`, accepting `[v6addr]:port`, as Kafka's `ClientUtils` does.
fn parse_bootstrap(property: &str, value: &str) -> Result<Vec<String>> {
    let servers = split_list(value);
    if servers.is_empty() {
        return Err(Error::invalid_config(
            property,
            value,
            "expected at least one host:port",
        ));
    }
    for server in &servers {
        let Some((host, port)) = server.rsplit_once(':') else {
            return Err(Error::invalid_config(
                property,
                value,
                format!("{server} has no port (expected host:port)"),
            ));
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(Error::invalid_config(
                property,
                value,
                format!("{server} has no host"),
            ));
        }
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(Error::invalid_config(
                property,
                value,
                format!("{server} has an invalid port"),
            ));
        }
    }
    Ok(servers)
}

pub(crate) fn parse_ms(property: &str, value: &str, min: u64) -> Result<Duration> {
    match value.parse::<u64>() {
        Ok(ms) if ms >= min => Ok(Duration::from_millis(ms)),
        Ok(_) => Err(Error::invalid_config(
            property,
            value,
            format!("must be at least {min} ms"),
        )),
        Err(_) => Err(Error::invalid_config(
            property,
            value,
            "expected a whole number of milliseconds",
        )),
    }
}

pub(crate) fn parse_bool(property: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::invalid_config(
            property,
            value,
            "expected true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka() {
        let c = ClientConfig::default();
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.metadata_max_age, Duration::from_secs(300));
        assert_eq!(c.retry_backoff, Duration::from_millis(100));
        assert_eq!(c.retry_backoff_max, Duration::from_millis(1000));
        assert_eq!(c.reconnect_backoff, Duration::from_millis(50));
        assert_eq!(c.reconnect_backoff_max, Duration::from_millis(1000));
        assert_eq!(c.socket_connection_setup_timeout, Duration::from_secs(10));
    }

    #[test]
    fn every_listed_property_is_owned() {
        for property in ClientConfig::PROPERTIES {
            let value = match *property {
                "bootstrap.servers" => "a:1",
                "client.id" => "x",
                "allow.auto.create.topics" => "false",
                _ => "7",
            };
            assert!(
                ClientConfig::default().try_set(property, value).unwrap(),
                "{property}"
            );
        }
    }

    #[test]
    fn set_parses_kafka_property_names() {
        let c = ClientConfig::from_properties([
            ("bootstrap.servers", " a:9092, [::1]:9093 ,"),
            ("client.id", "svc"),
            ("request.timeout.ms", "1500"),
            ("metadata.max.age.ms", "0"),
            ("retry.backoff.ms", "10"),
            ("retry.backoff.max.ms", "20"),
            ("reconnect.backoff.ms", "30"),
            ("reconnect.backoff.max.ms", "40"),
            ("socket.connection.setup.timeout.ms", "50"),
            ("allow.auto.create.topics", "FALSE"),
        ])
        .unwrap();
        assert_eq!(c.bootstrap_servers, ["a:9092", "[::1]:9093"]);
        assert_eq!(c.client_id, "svc");
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.metadata_max_age, Duration::ZERO);
        assert_eq!(c.retry_backoff, Duration::from_millis(10));
        assert_eq!(c.retry_backoff_max, Duration::from_millis(20));
        assert_eq!(c.reconnect_backoff, Duration::from_millis(30));
        assert_eq!(c.reconnect_backoff_max, Duration::from_millis(40));
        assert_eq!(c.socket_connection_setup_timeout, Duration::from_millis(50));
        assert!(!c.allow_auto_create_topics);
    }

    #[test]
    fn unknown_and_invalid_properties_name_the_property() {
        let mut c = ClientConfig::default();
        assert!(!c.try_set("linger.ms", "5").unwrap());
        assert_eq!(c, ClientConfig::default());
        let e = c.set("linger.ms", "5").unwrap_err();
        assert_eq!(e.to_string(), "unknown property linger.ms");

        for (property, value) in [
            ("request.timeout.ms", "abc"),
            ("request.timeout.ms", "-1"),
            ("request.timeout.ms", "0"),
            ("bootstrap.servers", ""),
            ("bootstrap.servers", "host"),
            ("bootstrap.servers", "host:x"),
            ("bootstrap.servers", ":9092"),
            ("allow.auto.create.topics", "yes"),
        ] {
            let e = c.set(property, value).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidConfig { property: p, .. } if p == property),
                "{e}"
            );
            assert!(e.to_string().contains(property), "{e}");
        }
    }
}
