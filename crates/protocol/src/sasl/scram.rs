//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses them (KIP-84): both
//! sides of the exchange, and the credentials a broker keeps instead of passwords.
//!
//! ```text
//!  ScramClient                                                          ScramServer
//!  client_first   n,,n=user,r=<client nonce>                        ──▶ server_first
//!  client_final ◀ r=<client nonce><server nonce>,s=<salt>,i=<iters>  ◀──
//!                 c=biws,r=<nonce>,p=<proof>                        ──▶ server_final
//!  verify_server_final ◀ v=<server signature>   (or e=<error>)      ◀──
//! ```
//!
//! The password never travels: the proof shows the client knows the salted password, and the
//! server signature shows the server knows it too, so a fake broker is caught. A broker keeps
//! only a [`ScramCredential`] (salt, iterations, stored key, server key), as Kafka stores them.
//! No channel binding (`n,,`), as in Kafka; usernames are escaped (`=2C`, `=3D`) but not
//! SASLprep-normalised, as in Kafka's Java client.
//!
//! No I/O and no randomness: the callers pick the nonces. Every message is parsed without
//! panicking; anything malformed, unexpected or wrong is a [`ScramError`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::constant_time_eq;

/// Kafka's brokers refuse fewer iterations than this, and so does the client (a downgrade guard).
pub const MIN_ITERATIONS: u32 = 4096;
/// More than this is refused by the client: a hostile server could otherwise make it spin.
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// Iterations for new credentials: Kafka's minimum, and its default in `kafka-configs`.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Which hash the mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
        match self {
            Self::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            Self::Sha512 => Hmac::<Sha512>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi()` of RFC 5802: PBKDF2 with HMAC of this hash.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            Self::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

/// Which message of the exchange an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramMessage {
    /// `n,,n=<user>,r=<client nonce>`.
    ClientFirst,
    /// `r=<nonce>,s=<salt>,i=<iterations>`.
    ServerFirst,
    /// `c=<channel binding>,r=<nonce>,p=<proof>`.
    ClientFinal,
    /// `v=<server signature>` or `e=<error>`.
    ServerFinal,
}

impl ScramMessage {
    fn lacks(self, attribute: &'static str) -> ScramError {
        ScramError::Missing {
            message: self,
            attribute,
        }
    }
}

impl std::fmt::Display for ScramMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ClientFirst => "client-first",
            Self::ServerFirst => "server-first",
            Self::ClientFinal => "client-final",
            Self::ServerFinal => "server-final",
        })
    }
}

/// Why a SCRAM exchange failed.
///
/// On the server, an unknown user and a wrong proof are both [`ScramError::InvalidCredentials`],
/// so usernames cannot be probed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScramError {
    /// The message is not UTF-8.
    #[error("{0} message is not UTF-8")]
    NotUtf8(ScramMessage),
    /// client-first does not start with a GS2 header (`n,,`).
    #[error("client-first message is malformed")]
    MalformedClientFirst,
    /// The client asked for channel binding (`p=`), which Kafka does not support.
    #[error("channel binding is not supported")]
    ChannelBindingNotSupported,
    /// A required attribute is missing.
    #[error("{message} message has no {attribute}")]
    Missing {
        /// The message.
        message: ScramMessage,
        /// What is missing (`nonce`, `salt`, `proof`, ...).
        attribute: &'static str,
    },
    /// The message asks for an extension (`m=`), which Kafka does not define.
    #[error("{0} message requires an unsupported SCRAM extension")]
    UnsupportedExtension(ScramMessage),
    /// A base64 attribute is not base64.
    #[error("{0} is not base64")]
    NotBase64(&'static str),
    /// The iteration count is not a number.
    #[error("bad iteration count")]
    BadIterationCount,
    /// The server asks for too few (a downgrade) or too many (a denial of service) iterations.
    #[error("server asks for {0} iterations (allowed {MIN_ITERATIONS}..={MAX_ITERATIONS})")]
    IterationsOutOfRange(u32),
    /// The server's nonce does not start with the client's, or adds nothing to it.
    #[error("server nonce does not extend the client nonce")]
    NonceNotExtended,
    /// client-final does not echo the combined nonce.
    #[error("client-final nonce does not match")]
    NonceMismatch,
    /// client-first names an authorization id other than the user.
    #[error("authorization id differs from the username")]
    AuthzidMismatch,
    /// The server answered with an error (`e=`).
    #[error("server refused: {0}")]
    ServerError(String),
    /// Unknown user or wrong proof (Kafka's words, so clients show what Kafka shows).
    #[error("Authentication failed: invalid credentials")]
    InvalidCredentials,
    /// The server's signature is wrong: it does not know the password.
    #[error("the server's signature is wrong: it does not know the password")]
    ServerSignatureMismatch,
    /// server-final arrived before the client sent client-final.
    #[error("server-final message before client-final")]
    ServerFinalTooEarly,
}

/// What a broker keeps of a password for one SCRAM mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// Derives the credential from a password with this salt.
    pub fn new(hash: ScramHash, password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        derive(hash, password, salt, iterations).1
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
}

/// The client key (which only the client keeps) and the credential of a password.
fn derive(
    hash: ScramHash,
    password: &str,
    salt: Vec<u8>,
    iterations: u32,
) -> (Vec<u8>, ScramCredential) {
    let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let credential = ScramCredential {
        stored_key: hash.hash(&client_key),
        server_key: hash.hmac(&salted, b"Server Key"),
        salt,
        iterations,
    };
    (client_key, credential)
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

fn utf8(bytes: &[u8], message: ScramMessage) -> Result<&str, ScramError> {
    std::str::from_utf8(bytes).map_err(|_| ScramError::NotUtf8(message))
}

/// The `k=v` attributes of a message; anything without `=` is skipped.
fn attributes(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(',').filter_map(|attr| attr.split_once('='))
}

fn escape_username(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

fn unescape_username(username: &str) -> String {
    username.replace("=2C", ",").replace("=3D", "=")
}

/// A SCRAM exchange from the client's side.
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    /// The server signature the last message must carry, once the proof is sent.
    expected_server_signature: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("client_first_bare", &self.client_first_bare)
            .field("sent_final", &self.expected_server_signature.is_some())
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// Starts an exchange. `nonce` must be fresh and random for every exchange, printable
    /// ASCII without `,` (RFC 5802); base64 of 18 or more random bytes is what Kafka sends.
    pub fn new(hash: ScramHash, username: &str, password: &str, nonce: &str) -> Self {
        Self {
            hash,
            password: password.to_string(),
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={},r={nonce}", escape_username(username)),
            expected_server_signature: None,
        }
    }

    /// The client-first message.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Answers the server-first message with the client-final message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<String, ScramError> {
        let server_first = utf8(server_first, ScramMessage::ServerFirst)?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for (name, value) in attributes(server_first) {
            match name {
                "r" => nonce = Some(value),
                "s" => {
                    salt = Some(
                        B64.decode(value)
                            .map_err(|_| ScramError::NotBase64("server salt"))?,
                    );
                }
                "i" => {
                    iterations = Some(
                        value
                            .parse::<u32>()
                            .map_err(|_| ScramError::BadIterationCount)?,
                    );
                }
                "m" => return Err(ScramError::UnsupportedExtension(ScramMessage::ServerFirst)),
                "e" => return Err(ScramError::ServerError(value.to_string())),
                _ => {}
            }
        }
        let lacks = |attribute| ScramMessage::ServerFirst.lacks(attribute);
        let nonce = nonce.ok_or_else(|| lacks("nonce"))?;
        let salt = salt.ok_or_else(|| lacks("salt"))?;
        let iterations = iterations.ok_or_else(|| lacks("iteration count"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError::NonceNotExtended);
        }
        // Checked before PBKDF2 runs, so a hostile count costs nothing.
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::IterationsOutOfRange(iterations));
        }
        let hash = self.hash;
        let (client_key, credential) = derive(hash, &self.password, salt, iterations);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hash.hmac(&credential.stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &client_signature);
        self.expected_server_signature =
            Some(hash.hmac(&credential.server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message: the server must prove it knows the password too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let server_final = utf8(server_final, ScramMessage::ServerFinal)?;
        let Some(expected) = &self.expected_server_signature else {
            return Err(ScramError::ServerFinalTooEarly);
        };
        for (name, value) in attributes(server_final) {
            match name {
                "e" => return Err(ScramError::ServerError(value.to_string())),
                "v" => {
                    let signature = B64
                        .decode(value)
                        .map_err(|_| ScramError::NotBase64("server signature"))?;
                    return if constant_time_eq(&signature, expected) {
                        Ok(())
                    } else {
                        Err(ScramError::ServerSignatureMismatch)
                    };
                }
                _ => {}
            }
        }
        Err(ScramMessage::ServerFinal.lacks("signature"))
    }
}

/// A SCRAM exchange from the server's side, after server-first was sent.
#[derive(Debug)]
pub struct ScramServer {
    hash: ScramHash,
    /// The user named in client-first, and what is kept of their password.
    username: String,
    credential: ScramCredential,
    /// The combined nonce client-final must echo.
    nonce: String,
    /// client-first-bare and server-first, the start of the AuthMessage.
    client_first_bare: String,
    server_first: String,
}

impl ScramServer {
    /// Reads client-first and answers server-first. `lookup` finds the user's credential;
    /// `server_nonce` must be fresh and random for every exchange (printable ASCII, no `,`).
    pub fn server_first(
        hash: ScramHash,
        client_first: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
        server_nonce: &str,
    ) -> Result<(Self, String), ScramError> {
        let text = utf8(client_first, ScramMessage::ClientFirst)?;
        // GS2 header: "n,," or "n,a=authzid," (no channel binding, as Kafka).
        let mut parts = text.splitn(3, ',');
        let (Some(cbind), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ScramError::MalformedClientFirst);
        };
        if cbind != "n" && cbind != "y" {
            return Err(ScramError::ChannelBindingNotSupported);
        }
        let (mut username, mut client_nonce) = (None, None);
        for (name, value) in attributes(bare) {
            match name {
                "n" => username = Some(unescape_username(value)),
                "r" if !value.is_empty() => client_nonce = Some(value),
                "m" => return Err(ScramError::UnsupportedExtension(ScramMessage::ClientFirst)),
                _ => {}
            }
        }
        let username = username.ok_or_else(|| ScramMessage::ClientFirst.lacks("username"))?;
        let client_nonce = client_nonce.ok_or_else(|| ScramMessage::ClientFirst.lacks("nonce"))?;
        if authzid.strip_prefix("a=").is_some_and(|a| a != username) {
            return Err(ScramError::AuthzidMismatch);
        }
        let credential = lookup(&username).ok_or(ScramError::InvalidCredentials)?;
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        let server = Self {
            hash,
            username,
            credential,
            nonce,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
        };
        Ok((server, server_first))
    }

    /// The user named in client-first (authenticated only once [`Self::server_final`] succeeds).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Checks client-final's proof against the credential; on success answers server-final.
    pub fn server_final(&self, client_final: &[u8]) -> Result<String, ScramError> {
        let text = utf8(client_final, ScramMessage::ClientFinal)?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| ScramMessage::ClientFinal.lacks("proof"))?;
        let (mut channel_binding, mut echoed_nonce) = (None, None);
        for (name, value) in attributes(without_proof) {
            match name {
                "c" => channel_binding = Some(value),
                "r" => echoed_nonce = Some(value),
                _ => {}
            }
        }
        // "biws" is base64("n,,"); Kafka's clients send "n,a=user," sometimes ("bixhPX...").
        if channel_binding.is_none() {
            return Err(ScramMessage::ClientFinal.lacks("channel binding"));
        }
        // Kafka accepts a nonce that merely ends with the combined one, and so do we: librdkafka
        // 2.0 (kcat in Debian) prefixes its own nonce once more. The proof still covers exactly
        // what the client sent.
        if !echoed_nonce.is_some_and(|n| n.ends_with(self.nonce.as_str())) {
            return Err(ScramError::NonceMismatch);
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::NotBase64("client proof"))?;
        let hash = self.hash;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let client_signature = hash.hmac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(ScramError::InvalidCredentials);
        }
        let client_key = xor(&proof, &client_signature);
        if !constant_time_eq(&hash.hash(&client_key), &self.credential.stored_key) {
            return Err(ScramError::InvalidCredentials);
        }
        let server_signature = hash.hmac(&self.credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests;
