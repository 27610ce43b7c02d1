use proptest::prelude::*;

use super::*;

const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
const SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

fn rfc_credential(hash: ScramHash) -> ScramCredential {
    ScramCredential::new(hash, "pencil", B64.decode(SALT).unwrap(), 4096)
}

/// RFC 7677, section 3, from the client's side.
#[test]
fn rfc7677_sha256_example_client() {
    let mut c = ScramClient::new(ScramHash::Sha256, "user", "pencil", CLIENT_NONCE);
    assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_eq!(
        c.client_final(SERVER_FIRST.as_bytes()).unwrap(),
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        .unwrap();
    let e = c
        .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        .unwrap_err();
    assert_eq!(e, ScramError::ServerSignatureMismatch);
    assert!(e.to_string().contains("does not know the password"), "{e}");
}

/// RFC 7677, section 3, from the server's side.
#[test]
fn rfc7677_sha256_example_server() {
    let credential = rfc_credential(ScramHash::Sha256);
    let (server, reply) = ScramServer::server_first(
        ScramHash::Sha256,
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        |u| (u == "user").then(|| credential.clone()),
        SERVER_NONCE,
    )
    .unwrap();
    assert_eq!(reply, SERVER_FIRST);
    assert_eq!(server.username(), "user");
    let last = server
        .server_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        .unwrap();
    assert_eq!(last, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    // One bit of the proof changed: refused.
    assert_eq!(
        server.server_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU="),
        Err(ScramError::InvalidCredentials)
    );
}

/// RFC 7677's exchange with SHA-512; the expected values come from Python's `hashlib`
/// (`pbkdf2_hmac`, `hmac`), an implementation independent of this one, which reproduces the
/// RFC's SHA-256 values from the same script.
#[test]
fn sha512_example_matches_an_independent_implementation() {
    let proof =
        "gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==";
    let signature = "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==";
    let mut c = ScramClient::new(ScramHash::Sha512, "user", "pencil", CLIENT_NONCE);
    let client_final = c.client_final(SERVER_FIRST.as_bytes()).unwrap();
    assert_eq!(
        client_final,
        format!("c=biws,r={CLIENT_NONCE}{SERVER_NONCE},p={proof}")
    );
    c.verify_server_final(signature.as_bytes()).unwrap();

    let credential = rfc_credential(ScramHash::Sha512);
    let (server, _) = ScramServer::server_first(
        ScramHash::Sha512,
        c.client_first().as_bytes(),
        |_| Some(credential),
        SERVER_NONCE,
    )
    .unwrap();
    assert_eq!(
        server.server_final(client_final.as_bytes()).unwrap(),
        signature
    );
}

#[test]
fn client_and_server_agree_and_refuse_a_wrong_password() {
    for hash in [ScramHash::Sha256, ScramHash::Sha512] {
        let credential = ScramCredential::new(hash, "s3cret", vec![7; 16], DEFAULT_ITERATIONS);
        assert_eq!(credential.salt(), [7; 16]);
        assert_eq!(credential.iterations(), DEFAULT_ITERATIONS);
        for (password, accepted) in [("s3cret", true), ("s3cret!", false)] {
            let mut client = ScramClient::new(hash, "a=b,c", password, "cnonce");
            let (server, server_first) = ScramServer::server_first(
                hash,
                client.client_first().as_bytes(),
                |u| (u == "a=b,c").then(|| credential.clone()),
                "snonce",
            )
            .unwrap();
            let client_final = client.client_final(server_first.as_bytes()).unwrap();
            match server.server_final(client_final.as_bytes()) {
                Ok(server_final) => {
                    assert!(accepted, "{hash:?}: a wrong password was accepted");
                    client.verify_server_final(server_final.as_bytes()).unwrap();
                }
                Err(e) => {
                    assert!(!accepted, "{hash:?}: {e}");
                    assert_eq!(e, ScramError::InvalidCredentials);
                }
            }
        }
    }
}

#[test]
fn unknown_users_look_like_wrong_passwords() {
    let e = ScramServer::server_first(ScramHash::Sha256, b"n,,n=nobody,r=a", |_| None, "s")
        .unwrap_err();
    assert_eq!(e, ScramError::InvalidCredentials);
    assert_eq!(e.to_string(), "Authentication failed: invalid credentials");
}

#[test]
fn hostile_server_first_messages_are_refused() {
    for (bad, expected) in [
        (
            "r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            ScramError::NonceNotExtended,
        ),
        (
            "r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            ScramError::NonceNotExtended,
        ),
        (
            "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",
            ScramError::IterationsOutOfRange(4095),
        ),
        (
            "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4000000000",
            ScramError::IterationsOutOfRange(4_000_000_000),
        ),
        (
            "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
            ScramError::BadIterationCount,
        ),
        (
            "r=abcdef,s=***,i=4096",
            ScramError::NotBase64("server salt"),
        ),
        (
            "r=abcdef,i=4096",
            ScramError::Missing {
                message: ScramMessage::ServerFirst,
                attribute: "salt",
            },
        ),
        (
            "m=ext,r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            ScramError::UnsupportedExtension(ScramMessage::ServerFirst),
        ),
        (
            "e=unknown-user",
            ScramError::ServerError("unknown-user".into()),
        ),
    ] {
        let mut c = ScramClient::new(ScramHash::Sha512, "u", "p", "abc");
        assert_eq!(c.client_final(bad.as_bytes()), Err(expected), "{bad}");
    }
    let mut c = ScramClient::new(ScramHash::Sha512, "u", "p", "abc");
    assert_eq!(
        c.client_final(&[0xff, 0xfe]),
        Err(ScramError::NotUtf8(ScramMessage::ServerFirst))
    );
    assert_eq!(
        c.verify_server_final(b"v=abc"),
        Err(ScramError::ServerFinalTooEarly)
    );
}

#[test]
fn bad_server_final_messages_are_refused() {
    let mut c = ScramClient::new(ScramHash::Sha256, "user", "pencil", CLIENT_NONCE);
    c.client_final(SERVER_FIRST.as_bytes()).unwrap();
    for (bad, expected) in [
        (
            &b"e=other-error"[..],
            ScramError::ServerError("other-error".into()),
        ),
        (b"v=***", ScramError::NotBase64("server signature")),
        (b"v=", ScramError::ServerSignatureMismatch),
        (
            b"x=1",
            ScramError::Missing {
                message: ScramMessage::ServerFinal,
                attribute: "signature",
            },
        ),
        (&[0xc3], ScramError::NotUtf8(ScramMessage::ServerFinal)),
    ] {
        assert_eq!(c.verify_server_final(bad), Err(expected), "{bad:?}");
    }
}

#[test]
fn usernames_are_escaped() {
    let c = ScramClient::new(ScramHash::Sha256, "a=b,c", "p", "n");
    assert_eq!(c.client_first(), "n,,n=a=3Db=2Cc,r=n");
    let credential = ScramCredential::new(ScramHash::Sha256, "p", vec![1; 16], 4096);
    let (server, _) = ScramServer::server_first(
        ScramHash::Sha256,
        c.client_first().as_bytes(),
        |_| Some(credential.clone()),
        "s",
    )
    .unwrap();
    assert_eq!(server.username(), "a=b,c");
    // The authorization id, when given, must name the same user.
    let (server, _) = ScramServer::server_first(
        ScramHash::Sha256,
        b"n,a=u,n=u,r=n",
        |_| Some(credential),
        "s",
    )
    .unwrap();
    assert_eq!(server.username(), "u");
}

#[test]
fn malformed_client_messages_are_refused() {
    let cred = ScramCredential::new(ScramHash::Sha512, "p", vec![1; 16], DEFAULT_ITERATIONS);
    let lookup = |_: &str| Some(cred.clone());
    let missing = |message, attribute| ScramError::Missing { message, attribute };
    for (bad, expected) in [
        (&b""[..], ScramError::MalformedClientFirst),
        (b"n", ScramError::MalformedClientFirst),
        (b"p=x,,n=u,r=a", ScramError::ChannelBindingNotSupported),
        (b"n,,n=u", missing(ScramMessage::ClientFirst, "nonce")),
        (b"n,,n=u,r=", missing(ScramMessage::ClientFirst, "nonce")),
        (b"n,,r=a", missing(ScramMessage::ClientFirst, "username")),
        (b"n,a=x,n=u,r=a", ScramError::AuthzidMismatch),
        (
            b"n,,m=x,n=u,r=a",
            ScramError::UnsupportedExtension(ScramMessage::ClientFirst),
        ),
        (&[0xff], ScramError::NotUtf8(ScramMessage::ClientFirst)),
    ] {
        assert_eq!(
            ScramServer::server_first(ScramHash::Sha512, bad, lookup, "s").unwrap_err(),
            expected,
            "{bad:?}"
        );
    }
    let (server, _) =
        ScramServer::server_first(ScramHash::Sha512, b"n,,n=u,r=a", lookup, "s").unwrap();
    for (bad, expected) in [
        (
            &b"c=biws,r=as"[..],
            missing(ScramMessage::ClientFinal, "proof"),
        ),
        (b"c=biws,r=other,p=AAAA", ScramError::NonceMismatch),
        (
            b"r=as,p=AAAA",
            missing(ScramMessage::ClientFinal, "channel binding"),
        ),
        (b"c=biws,r=as,p=***", ScramError::NotBase64("client proof")),
        (b"c=biws,r=as,p=AAAA", ScramError::InvalidCredentials),
        (&[0xff], ScramError::NotUtf8(ScramMessage::ClientFinal)),
    ] {
        assert_eq!(server.server_final(bad), Err(expected), "{bad:?}");
    }
}

/// Text that looks like SCRAM messages (known attribute names, separators, base64 and digits),
/// so the parsers' deeper branches are reached, not only the UTF-8 check.
fn scram_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("n,,".to_string()),
        Just("y,,".to_string()),
        Just("n,a=u,".to_string()),
        "[nrsicpvem]=[A-Za-z0-9+/=%$]{0,24}",
        "i=[0-9]{1,11}",
        Just(format!("r={CLIENT_NONCE}")),
        Just(",".to_string()),
        Just(",p=".to_string()),
        Just("=".to_string()),
        Just("=2C=3D".to_string()),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|parts| parts.concat().into_bytes())
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..256), scram_like()]
}

/// A server after server-first and a client after client-final, built once: PBKDF2 in a debug
/// build is too slow to run per case.
fn exchange() -> &'static (ScramCredential, ScramServer, ScramClient) {
    static EXCHANGE: std::sync::OnceLock<(ScramCredential, ScramServer, ScramClient)> =
        std::sync::OnceLock::new();
    EXCHANGE.get_or_init(|| {
        let credential = rfc_credential(ScramHash::Sha256);
        let mut client = ScramClient::new(ScramHash::Sha256, "user", "pencil", CLIENT_NONCE);
        let (server, server_first) = ScramServer::server_first(
            ScramHash::Sha256,
            client.client_first().as_bytes(),
            |_| Some(credential.clone()),
            SERVER_NONCE,
        )
        .unwrap();
        client.client_final(server_first.as_bytes()).unwrap();
        (credential, server, client)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the other side sends, every step returns Ok or a typed error.
    #[test]
    fn parsers_never_panic(first in any_input(), last in any_input()) {
        let (credential, server, client) = exchange();
        let _ = ScramServer::server_first(
            ScramHash::Sha256,
            &first,
            |_| Some(credential.clone()),
            SERVER_NONCE,
        );
        let _ = server.server_final(&last);
        let _ = client.verify_server_final(&last);
        let mut fresh = ScramClient::new(ScramHash::Sha256, "user", "pencil", CLIENT_NONCE);
        let _ = fresh.client_final(&first);
        let _ = fresh.verify_server_final(&last);
    }
}
