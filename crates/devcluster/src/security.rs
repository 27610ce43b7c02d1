//! Secured listeners: TLS, SASL, and the internal listener replication uses.
//!
//! ```text
//!  client ──TLS?──▶ client listener (PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL)
//!                     before SASL authentication: ApiVersions, SaslHandshake, SaslAuthenticate only
//!  follower ───────▶ replication listener (127.0.0.1, plain TCP): replica Fetch and
//!                     OffsetForLeaderEpoch only; exists only when the client listener is secured
//! ```
//!
//! Why a separate replication listener rather than authenticating the followers: Kafka's own
//! answer to the same problem is an inter-broker listener (`inter.broker.listener.name`), and
//! it keeps the replica fetchers free of credentials and certificates. It binds to loopback
//! only and serves nothing but replication requests, so it opens no way around
//! authentication for clients.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub mod sasl;
pub mod tls;

pub use sasl::{Mechanism, SaslSettings};
pub use tls::{TlsFiles, TlsMaterial};

/// What the builder was asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecurityConfig {
    /// Serve TLS (with generated material unless `tls_material` is given).
    pub tls: bool,
    /// `ssl.client.auth=required`.
    pub tls_client_auth: bool,
    /// A given broker identity instead of generated certificates.
    pub tls_material: Option<TlsMaterial>,
    /// Where to write the TLS files (default: `<data dir>/tls`).
    pub tls_dir: Option<PathBuf>,
    /// SASL users (username, password); SASL is on when there is at least one.
    pub sasl_users: Vec<(String, String)>,
    /// Enabled mechanisms (default: all).
    pub sasl_mechanisms: Option<Vec<Mechanism>>,
    /// `connections.max.reauth.ms`.
    pub max_reauth: Option<Duration>,
}

/// What a broker's client listener does with a new connection.
#[derive(Debug, Clone, Default)]
pub struct ListenerSecurity {
    /// The TLS configuration, for SSL and SASL_SSL.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The SASL settings, for SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<Arc<SaslSettings>>,
}

impl ListenerSecurity {
    /// Kafka's name for the listener's security protocol.
    pub fn protocol(&self) -> &'static str {
        match (self.tls.is_some(), self.sasl.is_some()) {
            (false, false) => "PLAINTEXT",
            (true, false) => "SSL",
            (false, true) => "SASL_PLAINTEXT",
            (true, true) => "SASL_SSL",
        }
    }

    /// Whether clients need TLS or SASL (and followers a replication listener).
    pub fn is_secured(&self) -> bool {
        self.tls.is_some() || self.sasl.is_some()
    }
}

/// The cluster's security, as built at start.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClusterSecurity {
    /// What each broker's client listener does.
    pub listener: ListenerSecurity,
    /// The TLS material (for the CA and client certificate accessors).
    pub tls_material: Option<TlsMaterial>,
    /// Where the TLS files were written.
    pub tls_files: Option<TlsFiles>,
}

impl SecurityConfig {
    /// Builds the listener settings (generating and writing TLS material when asked).
    pub fn build(
        &self,
        host: &str,
        data_dir: Option<&std::path::Path>,
    ) -> Result<ClusterSecurity, String> {
        let mut out = ClusterSecurity::default();
        if self.tls {
            let dir = self
                .tls_dir
                .clone()
                .or_else(|| data_dir.map(|d| d.join("tls")));
            let material = match &self.tls_material {
                Some(m) => m.clone(),
                None => TlsMaterial::generate(host, dir.as_deref())?,
            };
            if let Some(dir) = &dir {
                out.tls_files =
                    Some(material.write_to(dir).map_err(|e| {
                        format!("cannot write TLS files to {}: {e}", dir.display())
                    })?);
            }
            out.listener.tls = Some(material.server_config(self.tls_client_auth)?);
            out.tls_material = Some(material);
        }
        if !self.sasl_users.is_empty() {
            let mut settings = SaslSettings::new(
                self.sasl_users
                    .iter()
                    .map(|(u, p)| (u.as_str(), p.as_str())),
            );
            if let Some(mechanisms) = &self.sasl_mechanisms {
                settings.mechanisms = mechanisms.clone();
            }
            settings.max_reauth = self.max_reauth;
            out.listener.sasl = Some(Arc::new(settings));
        }
        Ok(out)
    }
}
