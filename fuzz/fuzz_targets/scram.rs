//! Any bytes as a SCRAM message, on either side of the exchange: the first byte picks the
//! step, the rest is the other side's message. Every step must answer Ok or a typed error.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use streamctl_protocol::sasl::scram::{ScramClient, ScramCredential, ScramHash, ScramServer};

/// A server after server-first and a client after client-final (PBKDF2 once, not per input;
/// one iteration on the server's side keeps the setup cheap, the client refuses it anyway).
fn exchange() -> &'static (ScramCredential, ScramServer, ScramClient) {
    static EXCHANGE: OnceLock<(ScramCredential, ScramServer, ScramClient)> = OnceLock::new();
    EXCHANGE.get_or_init(|| {
        let credential = ScramCredential::new(ScramHash::Sha256, "pencil", vec![1; 16], 1);
        let (server, _) = ScramServer::server_first(
            ScramHash::Sha256,
            b"n,,n=user,r=cnonce",
            |_| Some(credential.clone()),
            "snonce",
        )
        .unwrap_or_else(|e| panic!("setup: {e}"));
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", "cnonce");
        client
            .client_final(b"r=cnoncesnonce,s=AQEBAQEBAQEBAQEBAQEBAQ==,i=4096")
            .unwrap_or_else(|e| panic!("setup: {e}"));
        (credential, server, client)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((step, message)) = data.split_first() else {
        return;
    };
    let (credential, server, client) = exchange();
    match step % 4 {
        0 => {
            let _ = ScramServer::server_first(
                ScramHash::Sha512,
                message,
                |_| Some(credential.clone()),
                "snonce",
            );
        }
        1 => {
            let _ = server.server_final(message);
        }
        2 => {
            let _ = ScramClient::new(ScramHash::Sha256, "user", "pencil", "cnonce")
                .client_final(message);
        }
        _ => {
            let _ = client.verify_server_final(message);
        }
    }
});
