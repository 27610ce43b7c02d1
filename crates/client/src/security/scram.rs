//! The client side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka uses it.
//!
//! ```text
//!  client-first  n,,n=user,r=<client nonce>                         ──▶
//!  server-first  r=<client nonce><server nonce>,s=<salt>,i=<iters>  ◀──
//!  client-final  c=biws,r=<nonce>,p=<proof>                          ──▶
//!  server-final  v=<server signature>   (or e=<error>)               ◀──
//! ```
//!
//! The password never travels: the proof shows the client knows the salted password, and the
//! server signature shows the server knows it too, so a fake broker is caught.
//! No channel binding (`n,,`), as in Kafka; usernames are escaped (`=2C`, `=3D`) but not
//! SASLprep-normalised, as in Kafka's Java client.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Kafka's brokers refuse fewer iterations than this, and so do we (a downgrade guard).
pub const MIN_ITERATIONS: u32 = 4096;
/// More than this is refused: a hostile server could otherwise make the client spin.
pub const MAX_ITERATIONS: u32 = 1_000_000;

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
        match self {
            // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
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

/// A SCRAM exchange from the client's side.
#[derive(Debug)]
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    /// The server signature the last message must carry, once the proof is sent.
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// Starts an exchange with a fresh random nonce.
    pub fn new(hash: ScramHash, username: &str, password: &str) -> Self {
        use rand::Rng as _;
        let nonce: [u8; 24] = rand::rng().random();
        Self::with_nonce(hash, username, password, &B64.encode(nonce))
    }

    /// Starts an exchange with a given nonce (for the RFC test vectors).
    pub fn with_nonce(hash: ScramHash, username: &str, password: &str, nonce: &str) -> Self {
        let user = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            hash,
            password: password.to_string(),
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={user},r={nonce}"),
            expected_server_signature: None,
        }
    }

    /// The client-first message.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Answers the server-first message with the client-final message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<String, String> {
        let server_first =
            std::str::from_utf8(server_first).map_err(|_| "server-first message is not UTF-8")?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(B64.decode(v).map_err(|_| "server salt is not base64")?);
                }
                Some(("i", v)) => {
                    iterations = Some(v.parse::<u32>().map_err(|_| "bad iteration count")?);
                }
                Some(("m", _)) => return Err("server requires an unknown SCRAM extension".into()),
                Some(("e", v)) => return Err(format!("server refused: {v}")),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err("server-first message lacks the nonce, salt or iteration count".into());
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("server nonce does not extend the client nonce".into());
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!(
                "server asks for {iterations} iterations (allowed {MIN_ITERATIONS}..={MAX_ITERATIONS})"
            ));
        }
        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message: the server must prove it knows the password too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let server_final =
            std::str::from_utf8(server_final).map_err(|_| "server-final message is not UTF-8")?;
        let Some(expected) = &self.expected_server_signature else {
            return Err("server-final message before client-final".into());
        };
        for attr in server_final.split(',') {
            match attr.split_once('=') {
                Some(("e", v)) => return Err(format!("server refused: {v}")),
                Some(("v", v)) => {
                    let signature = B64
                        .decode(v)
                        .map_err(|_| "server signature is not base64")?;
                    return if &signature == expected {
                        Ok(())
                    } else {
                        Err("the server's signature is wrong: it does not know the password".into())
                    };
                }
                _ => {}
            }
        }
        Err("server-final message has no signature".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn rfc7677_sha256_example() {
        let mut c =
            ScramClient::with_nonce(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            c.client_final(server_first.as_bytes()).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let e = c
            .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(e.contains("does not know the password"), "{e}");
    }

    #[test]
    fn hostile_server_first_messages_are_refused() {
        for bad in [
            "r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",
            "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4000000000",
            "r=abcdef,s=***,i=4096",
            "r=abcdef,i=4096",
            "m=ext,r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "e=unknown-user",
        ] {
            let mut c = ScramClient::with_nonce(ScramHash::Sha512, "u", "p", "abc");
            assert!(c.client_final(bad.as_bytes()).is_err(), "{bad}");
        }
        let mut c = ScramClient::with_nonce(ScramHash::Sha512, "u", "p", "abc");
        assert!(c.client_final(&[0xff, 0xfe]).is_err());
        assert!(c.verify_server_final(b"v=abc").is_err());
    }

    #[test]
    fn usernames_are_escaped() {
        let c = ScramClient::with_nonce(ScramHash::Sha256, "a=b,c", "p", "n");
        assert_eq!(c.client_first(), "n,,n=a=3Db=2Cc,r=n");
    }
}
