//! The broker side of SASL, byte by byte: what is served before authentication, what a wrong
//! password gets, the v0 raw-token framing, session expiry (KIP-368), and the replication
//! listener serving replica fetches only.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use streamctl_devcluster::DevCluster;
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader};
use streamctl_protocol::messages::{
    ApiVersionsRequest, MetadataRequest, RequestBody, ResponseBody, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use streamctl_testkit::{cluster, cluster_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STEP: Duration = Duration::from_secs(15);

/// One raw connection: requests in order, one at a time.
struct Raw {
    stream: TcpStream,
    buf: BytesMut,
    correlation_id: i32,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: BytesMut::new(),
            correlation_id: 0,
        }
    }

    async fn read_frame(&mut self) -> Option<Bytes> {
        let decoder = FrameDecoder::default();
        loop {
            if let Some(f) = decoder.decode(&mut self.buf).unwrap() {
                return Some(f);
            }
            let n = tokio::time::timeout(STEP, self.stream.read_buf(&mut self.buf))
                .await
                .expect("the broker neither answered nor closed")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    /// Sends a request; `None` when the broker closed the connection instead of answering.
    async fn call(&mut self, api: ApiKey, version: i16, body: RequestBody) -> Option<ResponseBody> {
        self.correlation_id += 1;
        let header = RequestHeader {
            api_key: api.code(),
            api_version: version,
            correlation_id: self.correlation_id,
            client_id: Some("raw".into()),
            unknown_tagged_fields: Vec::new(),
        };
        let mut out = BytesMut::new();
        frame::encode_request(&header, &body, &mut out).unwrap();
        if self.stream.write_all(&out).await.is_err() {
            return None;
        }
        let f = self.read_frame().await?;
        let (h, b) = frame::decode_response(f, api, version).unwrap();
        assert_eq!(h.correlation_id, self.correlation_id);
        Some(b)
    }

    async fn metadata(&mut self) -> Option<ResponseBody> {
        self.call(
            ApiKey::Metadata,
            12,
            RequestBody::Metadata(MetadataRequest::default()),
        )
        .await
    }

    async fn api_keys(&mut self) -> Vec<i16> {
        let Some(ResponseBody::ApiVersions(r)) = self
            .call(
                ApiKey::ApiVersions,
                3,
                RequestBody::ApiVersions(ApiVersionsRequest::default()),
            )
            .await
        else {
            panic!("no ApiVersions answer")
        };
        r.api_keys.iter().map(|k| k.api_key).collect()
    }

    async fn handshake(&mut self, version: i16, mechanism: &str) -> i16 {
        let Some(ResponseBody::SaslHandshake(r)) = self
            .call(
                ApiKey::SaslHandshake,
                version,
                RequestBody::SaslHandshake(SaslHandshakeRequest {
                    mechanism: mechanism.into(),
                    ..Default::default()
                }),
            )
            .await
        else {
            panic!("no SaslHandshake answer")
        };
        r.error_code
    }

    /// SaslAuthenticate v2 with a PLAIN token: (error code, session lifetime).
    async fn plain(&mut self, user: &str, password: &str) -> (i16, i64) {
        let Some(ResponseBody::SaslAuthenticate(r)) = self
            .call(
                ApiKey::SaslAuthenticate,
                2,
                RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
                    auth_bytes: Bytes::from(format!("\0{user}\0{password}")),
                    ..Default::default()
                }),
            )
            .await
        else {
            panic!("no SaslAuthenticate answer")
        };
        (r.error_code, r.session_lifetime_ms)
    }
}

fn addr(cluster: &DevCluster) -> SocketAddr {
    cluster.broker(1).unwrap().addrs()[0]
}

async fn sasl_cluster(reauth: Option<Duration>) -> DevCluster {
    cluster_with(1, |b| {
        let b = b.sasl_user("alice", "alice-secret");
        match reauth {
            Some(d) => b.connections_max_reauth(d),
            None => b,
        }
    })
    .await
}

#[tokio::test]
async fn only_api_versions_and_sasl_are_served_before_authentication() {
    let dc = sasl_cluster(None).await;
    assert_eq!(dc.security_protocol(), "SASL_PLAINTEXT");
    let mut c = Raw::connect(addr(&dc)).await;
    let keys = c.api_keys().await;
    assert!(
        keys.contains(&ApiKey::SaslHandshake.code())
            && keys.contains(&ApiKey::SaslAuthenticate.code())
    );
    assert!(
        c.metadata().await.is_none(),
        "Metadata before authentication must close"
    );

    let mut c = Raw::connect(addr(&dc)).await;
    assert_eq!(
        c.handshake(1, "GSSAPI").await,
        ErrorCode::UnsupportedSaslMechanism.code()
    );
    assert_eq!(c.handshake(1, "PLAIN").await, 0);
    assert_eq!(c.plain("alice", "alice-secret").await, (0, 0));
    assert!(matches!(
        c.metadata().await,
        Some(ResponseBody::Metadata(_))
    ));

    // A wrong password: SASL_AUTHENTICATION_FAILED, then the connection is closed.
    let mut c = Raw::connect(addr(&dc)).await;
    c.handshake(1, "PLAIN").await;
    let (code, _) = c.plain("alice", "wrong").await;
    assert_eq!(code, ErrorCode::SaslAuthenticationFailed.code());
    assert!(
        c.read_frame().await.is_none(),
        "the connection stays open after a refusal"
    );

    // A plaintext cluster does not advertise the SASL APIs and refuses them.
    let plain = cluster(1).await;
    let mut c = Raw::connect(addr(&plain)).await;
    let keys = c.api_keys().await;
    assert!(!keys.contains(&ApiKey::SaslHandshake.code()), "{keys:?}");
    plain.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn handshake_v0_takes_raw_tokens() {
    let dc = sasl_cluster(None).await;
    let mut c = Raw::connect(addr(&dc)).await;
    assert_eq!(c.handshake(0, "PLAIN").await, 0);
    // The token as a bare size-prefixed frame; the answer is an empty one.
    let token = b"\0alice\0alice-secret";
    let mut out = (token.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(token);
    c.stream.write_all(&out).await.unwrap();
    assert_eq!(c.read_frame().await.unwrap().len(), 0);
    assert!(matches!(
        c.metadata().await,
        Some(ResponseBody::Metadata(_))
    ));

    let mut c = Raw::connect(addr(&dc)).await;
    c.handshake(0, "PLAIN").await;
    let token = b"\0alice\0nope";
    let mut out = (token.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(token);
    c.stream.write_all(&out).await.unwrap();
    assert!(c.read_frame().await.is_none());
    dc.shutdown().await;
}

#[tokio::test]
async fn a_session_that_is_not_renewed_is_closed_and_one_that_is_lives_on() {
    let lifetime = Duration::from_millis(400);
    let dc = sasl_cluster(Some(lifetime)).await;
    let mut c = Raw::connect(addr(&dc)).await;
    c.handshake(1, "PLAIN").await;
    assert_eq!(c.plain("alice", "alice-secret").await, (0, 400));
    // Keep using the connection without re-authenticating: the broker closes it once the
    // session is over (bounded by the test's patience, not asserted in time).
    let mut served = 0;
    let deadline = tokio::time::Instant::now() + STEP;
    while c.metadata().await.is_some() {
        served += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served >= 1);

    // Re-authenticating on the same connection before the end keeps it open.
    let mut c = Raw::connect(addr(&dc)).await;
    c.handshake(1, "PLAIN").await;
    c.plain("alice", "alice-secret").await;
    for _ in 0..4 {
        tokio::time::sleep(lifetime / 4).await;
        assert_eq!(c.handshake(1, "PLAIN").await, 0);
        assert_eq!(c.plain("alice", "alice-secret").await.0, 0);
        assert!(c.metadata().await.is_some());
    }
    // …but not as somebody else.
    let dc2 = cluster_with(1, |b| b.sasl_user("alice", "a").sasl_user("bob", "b")).await;
    let mut c = Raw::connect(addr(&dc2)).await;
    c.handshake(1, "PLAIN").await;
    c.plain("alice", "a").await;
    c.handshake(1, "PLAIN").await;
    assert_eq!(
        c.plain("bob", "b").await.0,
        ErrorCode::SaslAuthenticationFailed.code()
    );
    dc2.shutdown().await;
    dc.shutdown().await;
}

#[tokio::test]
async fn the_replication_listener_serves_replica_fetches_only() {
    let dc = sasl_cluster(None).await;
    let port = dc.controller().snapshot().brokers[&1]
        .replication_port
        .expect("a secured cluster has a replication listener");
    let mut c = Raw::connect(SocketAddr::from(([127, 0, 0, 1], port))).await;
    assert!(c.metadata().await.is_none());
    // A plaintext cluster has none: followers use the client listener.
    let plain = cluster(1).await;
    assert_eq!(
        plain.controller().snapshot().brokers[&1].replication_port,
        None
    );
    plain.shutdown().await;
    dc.shutdown().await;
}
