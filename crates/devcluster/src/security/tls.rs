//! The dev cluster's TLS material: a CA, a broker certificate and a client certificate, made
//! at start with rcgen and written where other clients can find them.
//!
//! ```text
//!  <tls dir>/ca.pem           trust this (ssl.ca.location)
//!  <tls dir>/ca-key.pem       kept so a restart signs with the same CA (clients keep trusting it)
//!  <tls dir>/broker.pem, broker-key.pem    what every broker presents
//!  <tls dir>/client.pem, client-key.pem    for mutual TLS (ssl.certificate.location, ssl.key.location)
//! ```
//!
//! One broker certificate serves every broker: they share a host and differ by port, and a
//! certificate names hosts, not ports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

/// Why TLS could not be set up.
pub type TlsError = String;

/// PEM texts of the cluster's TLS identities.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The CA certificate clients trust.
    pub ca_pem: String,
    /// The certificate chain every broker presents.
    pub broker_chain_pem: String,
    /// Its private key.
    pub broker_key_pem: String,
    /// A client certificate signed by the CA, for mutual TLS (`None` with a given identity).
    pub client_pem: Option<String>,
    /// Its private key.
    pub client_key_pem: Option<String>,
    /// The CA's key, kept so a restart on the same directory signs with the same CA.
    ca_key_pem: Option<String>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "streamctl dev cluster CA");
    dn.push(DnType::OrganizationName, "streamctl");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn leaf_params(
    names: &[String],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    Ok(params)
}

/// The names every broker certificate carries: loopback in all spellings, plus `host`.
pub fn broker_names(host: &str) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !host.is_empty() && !names.iter().any(|n| n == host) {
        names.push(host.to_string());
    }
    names
}

impl TlsMaterial {
    /// A CA (the one stored in `dir` when there is one) and fresh broker and client
    /// certificates for `host`.
    pub fn generate(host: &str, dir: Option<&Path>) -> Result<Self, TlsError> {
        let stored = dir.and_then(|d| {
            let ca = std::fs::read_to_string(d.join("ca.pem")).ok()?;
            let key = std::fs::read_to_string(d.join("ca-key.pem")).ok()?;
            Some((ca, key))
        });
        let (ca_key, ca_pem) = match stored {
            Some((ca_pem, key_pem)) => (
                KeyPair::from_pem(&key_pem).map_err(|e| e.to_string())?,
                Some(ca_pem),
            ),
            None => (KeyPair::generate().map_err(|e| e.to_string())?, None),
        };
        // Re-signing the same subject with the same key gives an issuer that certificates
        // chain to the stored ca.pem through (names and key identifiers match).
        let ca = ca_params()?
            .self_signed(&ca_key)
            .map_err(|e| e.to_string())?;
        let ca_pem = ca_pem.unwrap_or_else(|| ca.pem());

        let broker_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let broker = leaf_params(
            &broker_names(host),
            "streamctl dev broker",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?
        .signed_by(&broker_key, &ca, &ca_key)
        .map_err(|e| e.to_string())?;
        let client_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let client = leaf_params(
            &[],
            "streamctl dev client",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?
        .signed_by(&client_key, &ca, &ca_key)
        .map_err(|e| e.to_string())?;
        Ok(Self {
            ca_pem,
            broker_chain_pem: broker.pem(),
            broker_key_pem: broker_key.serialize_pem(),
            client_pem: Some(client.pem()),
            client_key_pem: Some(client_key.serialize_pem()),
            ca_key_pem: Some(ca_key.serialize_pem()),
        })
    }

    /// Uses a given broker certificate (chain and key, PEM) and CA instead of generating them.
    pub fn from_pem(ca_pem: String, broker_chain_pem: String, broker_key_pem: String) -> Self {
        Self {
            ca_pem,
            broker_chain_pem,
            broker_key_pem,
            client_pem: None,
            client_key_pem: None,
            ca_key_pem: None,
        }
    }

    /// Writes the files listed in the module docs into `dir` (keys readable by the owner only).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<TlsFiles> {
        std::fs::create_dir_all(dir)?;
        let write = |name: &str, text: &str, secret: bool| -> std::io::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            #[cfg(unix)]
            if secret {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            #[cfg(not(unix))]
            let _ = secret;
            Ok(path)
        };
        let ca = write("ca.pem", &self.ca_pem, false)?;
        if let Some(key) = &self.ca_key_pem {
            write("ca-key.pem", key, true)?;
        }
        write("broker.pem", &self.broker_chain_pem, false)?;
        write("broker-key.pem", &self.broker_key_pem, true)?;
        let client = match (&self.client_pem, &self.client_key_pem) {
            (Some(cert), Some(key)) => Some((
                write("client.pem", cert, false)?,
                write("client-key.pem", key, true)?,
            )),
            _ => None,
        };
        Ok(TlsFiles {
            dir: dir.to_path_buf(),
            ca,
            client,
        })
    }

    /// The rustls server configuration; with `client_auth`, clients must present a certificate
    /// signed by the CA (`ssl.client.auth=required`).
    pub fn server_config(&self, client_auth: bool) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_slice_iter(self.broker_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("broker certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(self.broker_key_pem.as_bytes())
            .map_err(|e| format!("broker key: {e}"))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if client_auth {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
                roots
                    .add(cert.map_err(|e| format!("CA certificate: {e}"))?)
                    .map_err(|e| format!("CA certificate: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| format!("broker certificate: {e}"))?;
        Ok(Arc::new(config))
    }
}

/// Where the TLS files were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The directory.
    pub dir: PathBuf,
    /// The CA certificate (`ssl.ca.location`).
    pub ca: PathBuf,
    /// The client certificate and key for mutual TLS, when generated.
    pub client: Option<(PathBuf, PathBuf)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_makes_a_server_config_and_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("streamctl-tls-{}", uuid::Uuid::new_v4()));
        let first = TlsMaterial::generate("localhost", Some(&dir)).unwrap();
        first.server_config(true).unwrap();
        first.write_to(&dir).unwrap();
        let second = TlsMaterial::generate("localhost", Some(&dir)).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem, "a restart keeps the CA");
        assert_ne!(first.broker_chain_pem, second.broker_chain_pem);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn broker_names_cover_loopback_and_host() {
        assert_eq!(broker_names("127.0.0.1"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(broker_names("dev.local").last().unwrap(), "dev.local");
    }
}
