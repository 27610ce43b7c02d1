//! SASL on a connection: the exchange after ApiVersions (KIP-152) and re-authentication when
//! the broker limits sessions (KIP-368).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use streamctl_protocol::{ApiKey, ErrorCode};
use tracing::{debug, warn};

use super::{Inner, Shared};
use crate::config::ClientConfig;
use crate::error::{Disconnect, Error, Result};
use crate::security::sasl::{SaslSession, Step};

impl Inner {
    /// SASL authentication after ApiVersions: SaslHandshake v1 names the mechanism, then
    /// SaslAuthenticate requests carry its tokens (KIP-152) until it completes. Any refusal
    /// is [`Error::Authentication`] with the broker's message, and the connection is closed.
    /// Returns the session's lifetime when the broker limits it (KIP-368).
    pub(super) async fn authenticate(&self, config: &ClientConfig) -> Result<Option<Duration>> {
        let result = self.sasl_exchange(config).await;
        if result.is_err() {
            self.shared.fail(Disconnect::ClosedByClient);
        }
        result
    }

    /// The SASL exchange. Its requests bypass the re-authentication gate: at connect nobody
    /// else can send yet, and a re-authentication holds the gate itself.
    async fn sasl_exchange(&self, config: &ClientConfig) -> Result<Option<Duration>> {
        let broker = &self.shared.broker;
        let refused = |reason: String| Error::Authentication {
            broker: broker.clone(),
            reason,
        };
        let mechanism = config.sasl.mechanism;
        let handshake_version = self
            .versions
            .negotiated
            .get(&ApiKey::SaslHandshake)
            .copied();
        let authenticate_version = self
            .versions
            .negotiated
            .get(&ApiKey::SaslAuthenticate)
            .copied();
        let (Some(handshake_version @ 1..), Some(authenticate_version)) =
            (handshake_version, authenticate_version)
        else {
            return Err(refused(
                "the broker does not offer SaslHandshake v1 and SaslAuthenticate (KIP-152); \
                 is this a SASL listener?"
                    .into(),
            ));
        };
        let handshake = self
            .call_ungated(
                SaslHandshakeRequest {
                    mechanism: mechanism.name().to_string(),
                    ..Default::default()
                },
                handshake_version,
            )
            .await?;
        let code = ErrorCode::from_code(handshake.error_code);
        if !code.is_ok() {
            return Err(refused(format!(
                "{code}: the broker offers {} but not {mechanism}",
                handshake.mechanisms.join(", ")
            )));
        }
        let mut session = SaslSession::start(&config.sasl).await.map_err(refused)?;
        let mut token = session.initial();
        loop {
            let response = self
                .call_ungated(
                    SaslAuthenticateRequest {
                        auth_bytes: Bytes::from(std::mem::take(&mut token)),
                        ..Default::default()
                    },
                    authenticate_version,
                )
                .await?;
            let code = ErrorCode::from_code(response.error_code);
            if !code.is_ok() {
                let message = response.error_message.filter(|m| !m.is_empty());
                return Err(refused(match message {
                    Some(m) => format!("{code}: {m}"),
                    None => code.to_string(),
                }));
            }
            match session.step(&response.auth_bytes).map_err(refused)? {
                Step::Send(next) => token = next,
                Step::Done => {
                    debug!(broker = %broker, %mechanism, session_lifetime_ms = response.session_lifetime_ms, "authenticated");
                    let lifetime = u64::try_from(response.session_lifetime_ms)
                        .ok()
                        .filter(|&ms| ms > 0)
                        .map(Duration::from_millis);
                    return Ok(lifetime);
                }
            }
        }
    }
}

/// Re-authenticates (KIP-368) at 85–95% of each session's lifetime, as Kafka's Java client
/// does, until the connection closes; a failure closes the connection.
pub(super) async fn reauthenticate_loop(
    inner: std::sync::Weak<Inner>,
    shared: Arc<Shared>,
    config: ClientConfig,
    mut lifetime: Duration,
) {
    use rand::Rng as _;
    loop {
        let factor = rand::rng().random_range(0.85..0.95);
        let wait = lifetime.mul_f64(factor);
        tokio::select! {
            () = shared.closed.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        // Every handle gone: nothing to keep alive.
        let Some(inner) = inner.upgrade() else { return };
        let result = {
            // No new request may start until the exchange is over.
            let _gate = inner.reauth_gate.write().await;
            inner.sasl_exchange(&config).await
        };
        match result {
            Ok(next) => {
                inner.reauthentications.fetch_add(1, Ordering::Relaxed);
                debug!(broker = %shared.broker, "re-authenticated");
                match next {
                    Some(next) => lifetime = next,
                    None => return,
                }
            }
            Err(e) => {
                warn!(broker = %shared.broker, error = %e, "re-authentication failed; closing the connection");
                shared.fail(Disconnect::ClosedByClient);
                return;
            }
        }
    }
}
