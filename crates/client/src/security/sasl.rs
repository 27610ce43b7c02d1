//! SASL mechanisms as token exchanges: each turns the broker's last token into our next one.
//!
//! The connection sends the tokens in SaslAuthenticate requests (KIP-152) and stops at the
//! first error code; this module only knows what the tokens contain.

use base64::Engine as _;
use streamctl_protocol::sasl::scram::{ScramClient, ScramHash};

use super::{SaslConfig, SaslMechanism};

/// What to do after the broker's token.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this token next.
    Send(Vec<u8>),
    /// The mechanism is complete; the client is authenticated.
    Done,
}

/// One authentication exchange in progress.
#[derive(Debug)]
pub(crate) enum SaslSession {
    /// PLAIN (RFC 4616): one message, an empty answer.
    Plain { username: String, password: String },
    /// SCRAM: client-first, client-final, then the server's signature is checked.
    Scram {
        client: ScramClient,
        sent_final: bool,
    },
    /// OAUTHBEARER (RFC 7628): one message; a non-empty answer is the server's error, which
    /// the client acknowledges with a single `0x01` before the broker fails the exchange.
    OauthBearer { initial: Vec<u8>, failed: bool },
}

impl SaslSession {
    /// Starts an exchange (asking the token provider for OAUTHBEARER).
    pub(crate) async fn start(config: &SaslConfig) -> Result<Self, String> {
        Ok(match config.mechanism {
            SaslMechanism::Plain => Self::Plain {
                username: config.username.clone(),
                password: config.password.expose().to_string(),
            },
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let hash = if config.mechanism == SaslMechanism::ScramSha256 {
                    ScramHash::Sha256
                } else {
                    ScramHash::Sha512
                };
                let nonce = {
                    use rand::Rng as _;
                    let bytes: [u8; 24] = rand::rng().random();
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                };
                Self::Scram {
                    client: ScramClient::new(
                        hash,
                        &config.username,
                        config.password.expose(),
                        &nonce,
                    ),
                    sent_final: false,
                }
            }
            SaslMechanism::OauthBearer => {
                let provider = config
                    .token_provider
                    .as_ref()
                    .ok_or("OAUTHBEARER needs a token provider")?;
                let token = provider
                    .token()
                    .await
                    .map_err(|e| format!("the OAUTHBEARER token provider failed: {e}"))?;
                let mut message = format!("n,,\x01auth=Bearer {}", token.value.expose());
                for (k, v) in &token.extensions {
                    message.push_str(&format!("\x01{k}={v}"));
                }
                message.push_str("\x01\x01");
                Self::OauthBearer {
                    initial: message.into_bytes(),
                    failed: false,
                }
            }
        })
    }

    /// The first token.
    pub(crate) fn initial(&self) -> Vec<u8> {
        match self {
            Self::Plain { username, password } => format!("\0{username}\0{password}").into_bytes(),
            Self::Scram { client, .. } => client.client_first().into_bytes(),
            Self::OauthBearer { initial, .. } => initial.clone(),
        }
    }

    /// Takes the broker's token (of a successful SaslAuthenticate) and says what is next.
    pub(crate) fn step(&mut self, token: &[u8]) -> Result<Step, String> {
        match self {
            Self::Plain { .. } => Ok(Step::Done),
            Self::Scram { client, sent_final } if !*sent_final => {
                *sent_final = true;
                let client_final = client.client_final(token).map_err(|e| e.to_string())?;
                Ok(Step::Send(client_final.into_bytes()))
            }
            Self::Scram { client, .. } => client
                .verify_server_final(token)
                .map(|()| Step::Done)
                .map_err(|e| e.to_string()),
            Self::OauthBearer { failed, .. } if token.is_empty() && !*failed => Ok(Step::Done),
            Self::OauthBearer { failed, .. } if !*failed => {
                *failed = true;
                Ok(Step::Send(vec![0x01]))
            }
            Self::OauthBearer { .. } => Err(format!(
                "the broker refused the token: {}",
                String::from_utf8_lossy(token)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::security::{OauthBearerToken, Secret, TokenProvider};

    #[tokio::test]
    async fn plain_sends_authzid_user_password() {
        let config = SaslConfig {
            mechanism: SaslMechanism::Plain,
            username: "alice".into(),
            password: Secret::new("pw"),
            token_provider: None,
        };
        let mut s = SaslSession::start(&config).await.unwrap();
        assert_eq!(s.initial(), b"\0alice\0pw");
        assert!(matches!(s.step(b""), Ok(Step::Done)));
    }

    #[tokio::test]
    async fn oauthbearer_sends_the_token_and_extensions() {
        let config = SaslConfig {
            mechanism: SaslMechanism::OauthBearer,
            token_provider: Some(TokenProvider::new(|| async {
                Ok(OauthBearerToken::new("tok").extension("logicalCluster", "lkc-1"))
            })),
            ..Default::default()
        };
        let mut s = SaslSession::start(&config).await.unwrap();
        assert_eq!(
            s.initial(),
            b"n,,\x01auth=Bearer tok\x01logicalCluster=lkc-1\x01\x01"
        );
        assert!(matches!(s.step(br#"{"status":"invalid_token"}"#), Ok(Step::Send(t)) if t == [1]));

        let failing = SaslConfig {
            mechanism: SaslMechanism::OauthBearer,
            token_provider: Some(TokenProvider::new(|| async { Err("idp down".to_string()) })),
            ..Default::default()
        };
        let e = SaslSession::start(&failing).await.unwrap_err();
        assert!(e.contains("idp down"), "{e}");
        let _ = TokenProvider::unsecured("x", Duration::from_secs(1));
    }
}
