//! SASL mechanisms' messages, without I/O: what the SaslAuthenticate tokens (KIP-152) carry.
//!
//! ```text
//!  client ── SaslAuthenticate(token) ──▶ broker
//!    ScramClient::client_first/client_final      ScramServer::server_first/server_final
//!    ScramClient::verify_server_final       ◀──  (the broker's token)
//! ```
//!
//! The client crate and the dev cluster drive the same state machines from their own
//! connections, so both ends of an exchange compute proofs and signatures with one code path.

pub mod scram;

/// Compares two secrets in time that depends only on their lengths (which are not secret), so
/// a refused password or proof does not tell how many leading bytes were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
