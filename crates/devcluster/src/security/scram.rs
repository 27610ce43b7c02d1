//! The server side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as Kafka's brokers run it.
//!
//! A user's password is kept only as SCRAM credentials (salt, iterations, stored key,
//! server key), computed once at start, as Kafka stores them in its metadata.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Iterations for stored credentials: Kafka's minimum, and its default in `kafka-configs`.
pub const ITERATIONS: u32 = 4096;

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail.
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

/// What the broker keeps of a password for one SCRAM mechanism.
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
        let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        Self {
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
            salt,
            iterations,
        }
    }
}

/// Where a server-side exchange is.
#[derive(Debug)]
pub enum ScramServer {
    /// Sent server-first; waiting for client-final.
    SentFirst {
        /// The user named in client-first.
        username: String,
        /// The combined nonce the client must echo.
        nonce: String,
        /// client-first-bare, server-first (for the AuthMessage).
        client_first_bare: String,
        /// The server-first message sent.
        server_first: String,
    },
}

/// Why an exchange failed; `Unknown user` and `bad proof` give the same message to the
/// client, so usernames cannot be probed.
pub type ScramError = String;

/// Reads client-first and answers server-first. `lookup` finds the user's credential.
pub fn server_first(
    client_first: &[u8],
    lookup: impl Fn(&str) -> Option<ScramCredential>,
    server_nonce: &str,
) -> Result<(ScramServer, Vec<u8>, ScramCredential), ScramError> {
    let text = std::str::from_utf8(client_first).map_err(|_| "client-first is not UTF-8")?;
    // gs2 header: "n,," or "n,a=authzid," (no channel binding, as Kafka).
    let mut parts = text.splitn(3, ',');
    let (Some(cbind), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("client-first message is malformed".into());
    };
    if cbind != "n" && cbind != "y" {
        return Err("channel binding is not supported".into());
    }
    let mut username = None;
    let mut client_nonce = None;
    for attr in bare.split(',') {
        match attr.split_once('=') {
            Some(("n", v)) => username = Some(v.replace("=2C", ",").replace("=3D", "=")),
            Some(("r", v)) if !v.is_empty() => client_nonce = Some(v),
            Some(("m", _)) => return Err("unsupported SCRAM extension".into()),
            _ => {}
        }
    }
    let (Some(username), Some(client_nonce)) = (username, client_nonce) else {
        return Err("client-first message lacks the username or nonce".into());
    };
    if let Some(authzid) = authzid.strip_prefix("a=") {
        if authzid != username {
            return Err("authorization id differs from the username".into());
        }
    }
    let credential = lookup(&username).ok_or("Authentication failed: invalid credentials")?;
    let nonce = format!("{client_nonce}{server_nonce}");
    let server_first = format!(
        "r={nonce},s={},i={}",
        B64.encode(&credential.salt),
        credential.iterations
    );
    let reply = server_first.clone().into_bytes();
    Ok((
        ScramServer::SentFirst {
            username,
            nonce,
            client_first_bare: bare.to_string(),
            server_first,
        },
        reply,
        credential,
    ))
}

/// Checks client-final against the credential; on success returns the user and server-final.
pub fn server_final(
    hash: ScramHash,
    state: &ScramServer,
    credential: &ScramCredential,
    client_final: &[u8],
) -> Result<(String, Vec<u8>), ScramError> {
    let ScramServer::SentFirst {
        username,
        nonce,
        client_first_bare,
        server_first,
    } = state;
    let text = std::str::from_utf8(client_final).map_err(|_| "client-final is not UTF-8")?;
    let (without_proof, proof) = text
        .rsplit_once(",p=")
        .ok_or("client-final message has no proof")?;
    let mut channel_binding = None;
    let mut echoed_nonce = None;
    for attr in without_proof.split(',') {
        match attr.split_once('=') {
            Some(("c", v)) => channel_binding = Some(v),
            Some(("r", v)) => echoed_nonce = Some(v),
            _ => {}
        }
    }
    // "biws" is base64("n,,"); Kafka's clients send "n,a=user," sometimes ("bixhPX...").
    if channel_binding.is_none() {
        return Err("client-final message has no channel binding".into());
    }
    // Kafka accepts a nonce that merely ends with the combined one, and so do we: librdkafka
    // 2.0 (kcat in Debian) prefixes its own nonce once more. The proof still covers exactly
    // what the client sent.
    if !echoed_nonce.is_some_and(|n| n.ends_with(nonce.as_str())) {
        return Err("client-final nonce does not match".into());
    }
    let proof = B64
        .decode(proof)
        .map_err(|_| "client proof is not base64")?;
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let client_signature = hash.hmac(&credential.stored_key, auth_message.as_bytes());
    if proof.len() != client_signature.len() {
        return Err("Authentication failed: invalid credentials".into());
    }
    let client_key: Vec<u8> = proof
        .iter()
        .zip(&client_signature)
        .map(|(p, s)| p ^ s)
        .collect();
    let computed = hash.hash(&client_key);
    // Constant time: the comparison must not say how many bytes matched.
    let differ = computed
        .iter()
        .zip(&credential.stored_key)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differ != 0 || computed.len() != credential.stored_key.len() {
        return Err("Authentication failed: invalid credentials".into());
    }
    let server_signature = hash.hmac(&credential.server_key, auth_message.as_bytes());
    Ok((
        username.clone(),
        format!("v={}", B64.encode(server_signature)).into_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3, from the server's side.
    #[test]
    fn rfc7677_sha256_example() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential = ScramCredential::new(ScramHash::Sha256, "pencil", salt, 4096);
        let (state, reply, credential) = server_first(
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            |u| (u == "user").then(|| credential.clone()),
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        )
        .unwrap();
        assert_eq!(
            reply,
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let (user, last) = server_final(
            ScramHash::Sha256,
            &state,
            &credential,
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        )
        .unwrap();
        assert_eq!(user, "user");
        assert_eq!(last, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        // One bit of the proof changed: refused.
        assert!(server_final(
            ScramHash::Sha256,
            &state,
            &credential,
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
        )
        .is_err());
    }

    #[test]
    fn malformed_messages_are_refused() {
        let cred = ScramCredential::new(ScramHash::Sha512, "p", vec![1; 16], ITERATIONS);
        let lookup = |_: &str| Some(cred.clone());
        for bad in [
            &b""[..],
            b"n",
            b"p=x,,n=u,r=a",
            b"n,,n=u",
            b"n,,r=a",
            b"n,a=x,n=u,r=a",
            &[0xff],
        ] {
            assert!(server_first(bad, lookup, "s").is_err(), "{bad:?}");
        }
        let (state, _, cred) = server_first(b"n,,n=u,r=a", lookup, "s").unwrap();
        for bad in [
            &b"c=biws,r=as"[..],
            b"c=biws,r=other,p=AAAA",
            b"r=as,p=AAAA",
            b"c=biws,r=as,p=***",
        ] {
            assert!(
                server_final(ScramHash::Sha512, &state, &cred, bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
