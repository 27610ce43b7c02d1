//! TLS connections with rustls (ring provider): trust, client certificates, name checks.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tracing::warn;

use super::TlsConfig;
use crate::error::{Error, Result};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(property: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::invalid_config(property, value, reason)
}

fn read_file(property: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| config_error(property, &path.display().to_string(), e.to_string()))
}

fn certificates(property: &str, value: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| config_error(property, value, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(config_error(property, value, "no PEM certificate found"));
    }
    Ok(certs)
}

/// The certificates to trust: the configured CAs, else the system's roots (Mozilla's bundle
/// when the system has none).
fn root_store(tls: &TlsConfig) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let mut configured = Vec::new();
    if let Some(path) = &tls.ca_location {
        let pem = read_file("ssl.ca.location", path)?;
        configured.extend(certificates(
            "ssl.ca.location",
            &path.display().to_string(),
            &pem,
        )?);
    }
    if let Some(pem) = &tls.ca_pem {
        configured.extend(certificates("ssl.ca.pem", "(PEM text)", pem.as_bytes())?);
    }
    if configured.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        return Ok(roots);
    }
    for cert in configured {
        roots.add(cert).map_err(|e| {
            config_error(
                "ssl.ca.location",
                "",
                format!("unusable CA certificate: {e}"),
            )
        })?;
    }
    Ok(roots)
}

/// The client certificate and key for mutual TLS, when configured.
fn client_identity(
    tls: &TlsConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let chain = match (&tls.certificate_location, &tls.certificate_pem) {
        (Some(path), _) => Some(certificates(
            "ssl.certificate.location",
            &path.display().to_string(),
            &read_file("ssl.certificate.location", path)?,
        )?),
        (None, Some(pem)) => Some(certificates(
            "ssl.certificate.pem",
            "(PEM text)",
            pem.as_bytes(),
        )?),
        (None, None) => None,
    };
    let key = match (&tls.key_location, &tls.key_pem) {
        (Some(path), _) => Some(
            PrivateKeyDer::from_pem_slice(&read_file("ssl.key.location", path)?).map_err(|e| {
                config_error(
                    "ssl.key.location",
                    &path.display().to_string(),
                    format!("no usable private key: {e}"),
                )
            })?,
        ),
        (None, Some(pem)) => Some(
            PrivateKeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(|e| {
                config_error(
                    "ssl.key.pem",
                    "[redacted]",
                    format!("no usable private key: {e}"),
                )
            })?,
        ),
        (None, None) => None,
    };
    match (chain, key) {
        (Some(chain), Some(key)) => Ok(Some((chain, key))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(config_error(
            "ssl.key.location",
            "",
            "a client certificate needs its key",
        )),
        (None, Some(_)) => Err(config_error(
            "ssl.certificate.location",
            "",
            "a client key needs its certificate",
        )),
    }
}

/// Builds the rustls client configuration from the `ssl.*` settings.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("security.protocol", "SSL", e.to_string()))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
    } else {
        let roots = Arc::new(root_store(tls)?);
        if tls.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| config_error("ssl.ca.location", "", e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(IgnoreHostname { inner }))
        }
    };
    match client_identity(tls)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| config_error("ssl.certificate.location", "", e.to_string())),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Runs the TLS handshake on a connected socket.
///
/// A certificate the client does not accept (untrusted, expired, wrong name) and a broker
/// refusing ours are [`Error::Authentication`], which is not retried: the next attempt would
/// fail the same way. Anything else (the broker closing the socket) is a connection error.
pub(crate) async fn connect(
    tcp: TcpStream,
    broker: &str,
    tls: &TlsConfig,
) -> Result<TlsStream<TcpStream>> {
    let config = client_config(tls)?;
    if tls.insecure_skip_verify {
        warn!(broker, "TLS certificate verification is disabled (enable.ssl.certificate.verification=false): for development only");
    }
    let host = match &tls.server_name {
        Some(name) => name.as_str(),
        None => host_of(broker),
    };
    let server_name = ServerName::try_from(host.to_string()).map_err(|_| {
        config_error(
            "ssl.server.name",
            host,
            "not a valid DNS name or IP address",
        )
    })?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|e| {
            let rustls_error = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            match rustls_error {
                Some(error) => Error::Authentication {
                    broker: broker.to_string(),
                    reason: format!("TLS handshake failed: {error}"),
                },
                None => Error::Connect {
                    broker: broker.to_string(),
                    source: Arc::new(std::io::Error::new(
                        e.kind(),
                        format!("TLS handshake failed (is this a TLS listener?): {e}"),
                    )),
                },
            }
        })
}

/// The host part of `host:port` or `[v6]:port`.
fn host_of(broker: &str) -> &str {
    let host = broker.rsplit_once(':').map_or(broker, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// `ssl.endpoint.identification.algorithm=none`: the chain must still lead to a trusted CA,
/// only the name in the certificate is not compared with the broker's.
#[derive(Debug)]
struct IgnoreHostname {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for IgnoreHostname {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `enable.ssl.certificate.verification=false`: any certificate is accepted (the handshake
/// signatures are still checked, so the session keys belong to whoever holds that key).
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_port_and_brackets() {
        assert_eq!(host_of("localhost:9092"), "localhost");
        assert_eq!(host_of("[::1]:9092"), "::1");
        assert_eq!(host_of("10.0.0.1:1"), "10.0.0.1");
    }

    #[test]
    fn missing_or_bad_files_name_the_property() {
        let tls = TlsConfig::default().ca_location("/nonexistent/ca.pem");
        let e = client_config(&tls).unwrap_err();
        assert!(e.to_string().contains("ssl.ca.location"), "{e}");
        let tls = TlsConfig::default().ca_pem("not pem");
        let e = client_config(&tls).unwrap_err();
        assert!(e.to_string().contains("ssl.ca.pem"), "{e}");
        let tls = TlsConfig {
            certificate_pem: Some("x".into()),
            ..TlsConfig::default()
        };
        assert!(client_config(&tls).is_err());
    }

    #[test]
    fn default_trust_has_roots() {
        assert!(!root_store(&TlsConfig::default()).unwrap().is_empty());
    }
}
