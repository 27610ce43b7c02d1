//! The registry client's authentication, seen from the server: a registry on 127.0.0.1 that
//! records each request's `Authorization` header and answers like Confluent's, or refuses
//! with 401.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;

use streamctl_serdes::{Auth, RegistryClient, SerdesError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Serves one request with `status` and `body`; sends back the request's `Authorization`
/// header (or an empty string).
async fn one_request(
    status: &'static str,
    body: &'static str,
) -> (SocketAddr, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let authorization = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("authorization")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default();
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        let _ = tx.send(authorization);
    });
    (addr, rx)
}

const SCHEMA: &str = r#"{"schema":"\"string\"","schemaType":"AVRO"}"#;

#[tokio::test]
async fn basic_and_bearer_credentials_are_sent_and_never_shown() {
    let (addr, seen) = one_request("200 OK", SCHEMA).await;
    let auth = Auth::Basic {
        user: "ada".into(),
        password: "s3cret".into(),
    };
    assert!(!format!("{auth:?}").contains("s3cret"));
    let client = RegistryClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_auth(auth);
    assert_eq!(client.schema(1).await.unwrap().schema, "\"string\"");
    // base64("ada:s3cret")
    assert_eq!(seen.await.unwrap(), "Basic YWRhOnMzY3JldA==");

    let (addr, seen) = one_request("200 OK", SCHEMA).await;
    let auth = Auth::Bearer("t0ken".into());
    assert!(!format!("{auth:?}").contains("t0ken"));
    let client = RegistryClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_auth(auth);
    client.schema(1).await.unwrap();
    assert_eq!(seen.await.unwrap(), "Bearer t0ken");
}

#[tokio::test]
async fn a_refused_credential_is_the_registrys_answer() {
    let (addr, _) = one_request(
        "401 Unauthorized",
        r#"{"error_code":401,"message":"Unauthorized"}"#,
    )
    .await;
    let client = RegistryClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_auth(Auth::Bearer("wrong".into()));
    let err = client.schema(1).await.unwrap_err();
    assert!(
        matches!(err, SerdesError::Rejected { status: 401, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"), "{err}");
}
