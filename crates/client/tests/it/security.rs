//! TLS and SASL: our client against secured in-process dev clusters.
//!
//! Every mechanism produces and consumes through a 3-broker `SASL_SSL` cluster with
//! replication factor 3 (so the followers' replication listener is exercised too); wrong
//! passwords, untrusted, expired and misnamed certificates, missing client certificates
//! and plaintext clients are refused with the reason.

// The configs are built from defaults plus the client settings under test.
#![allow(clippy::field_reassign_with_default)]

use std::time::Duration;

use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::producer::{Producer, ProducerConfig, Record};
use streamctl_client::protocol::messages::MetadataRequest;
use streamctl_client::{
    Admin, ClientConfig, Connection, Consumer, Error, OauthBearerToken, OffsetReset, SaslMechanism,
    SecurityProtocol, TlsConfig, TokenProvider, TopicPartition,
};
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster, cluster_with};

use crate::support::bounded;

async fn sasl_ssl_cluster() -> DevCluster {
    cluster_with(3, |b| {
        b.tls(true)
            .sasl_user("alice", "alice-secret")
            .sasl_user("bob", "bob-secret")
    })
    .await
}

fn base(cluster: &DevCluster) -> ClientConfig {
    ClientConfig::new(&cluster.bootstrap_servers())
        .client_id("security-tests")
        .request_timeout(Duration::from_secs(10))
        .socket_connection_setup_timeout(Duration::from_secs(10))
}

fn trusting(cluster: &DevCluster) -> ClientConfig {
    base(cluster).tls(TlsConfig::default().ca_pem(cluster.tls_ca_pem().unwrap()))
}

/// Creates a replicated topic, produces three records with acks=all and reads them back.
async fn round_trip(config: ClientConfig, topic: &str) {
    let admin = Admin::connect(config.clone()).await.unwrap();
    admin.create_topic(topic, 1, 3, &[]).await.unwrap();

    let mut producer_config = ProducerConfig::default();
    producer_config.client = config.clone();
    let producer = Producer::with_config(producer_config)
        .build()
        .await
        .unwrap();
    for i in 0..3 {
        let value = format!("v{i}");
        producer
            .send(Record::new(topic).value(value.as_bytes()))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close(Duration::from_secs(5)).await.unwrap();

    let mut consumer_config = ConsumerConfig::default();
    consumer_config.client = config;
    consumer_config.auto_offset_reset = OffsetReset::Earliest;
    let consumer = Consumer::with_config(consumer_config)
        .build()
        .await
        .unwrap();
    consumer.assign([TopicPartition::new(topic, 0)]).unwrap();
    let mut values = Vec::new();
    while values.len() < 3 {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    assert_eq!(values, ["v0", "v1", "v2"]);
    consumer.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sasl_mechanism_works_over_tls_with_replication() {
    bounded(async {
        let dc = sasl_ssl_cluster().await;
        assert_eq!(dc.security_protocol(), "SASL_SSL");
        for (mechanism, topic) in [
            (SaslMechanism::Plain, "plain"),
            (SaslMechanism::ScramSha256, "scram-256"),
            (SaslMechanism::ScramSha512, "scram-512"),
        ] {
            let config = trusting(&dc).sasl(mechanism, "alice", "alice-secret");
            assert_eq!(config.security_protocol, SecurityProtocol::SaslSsl);
            round_trip(config, topic).await;
        }
        // OAUTHBEARER with a token-provider callback (unsecured tokens, as Kafka's default
        // validator accepts).
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let provider = TokenProvider::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {
                Ok(OauthBearerToken::unsecured(
                    "carol",
                    Duration::from_secs(60),
                ))
            }
        });
        round_trip(trusting(&dc).sasl_oauthbearer(provider), "oauth").await;
        assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        // The followers copied everything over the replication listener (acks=all alone
        // would not show it: a follower that cannot fetch just leaves the ISR).
        for topic in ["plain", "scram-256", "scram-512", "oauth"] {
            for node in 1..=3 {
                loop {
                    let replica = dc.replica(node, topic, 0);
                    if replica.is_some_and(|r| r.offsets().2 == 3) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let described = dc.state();
            let t = described.topics.iter().find(|t| t.name == topic).unwrap();
            assert_eq!(
                t.partitions[0].isr.len(),
                3,
                "{topic}: {:?}",
                t.partitions[0]
            );
        }
        dc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_configure_the_same_as_the_builder() {
    bounded(async {
        let dc = sasl_ssl_cluster().await;
        let dir = std::env::temp_dir().join(format!("streamctl-sec-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, dc.tls_ca_pem().unwrap()).unwrap();
        let config = ClientConfig::from_properties([
            ("bootstrap.servers", dc.bootstrap_servers().as_str()),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "bob"),
            ("sasl.password", "bob-secret"),
            ("ssl.ca.location", ca.to_str().unwrap()),
        ])
        .unwrap();
        round_trip(config, "props").await;
        let config = ClientConfig::from_properties([
            ("bootstrap.servers", dc.bootstrap_servers().as_str()),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=dave"),
            ("ssl.ca.location", ca.to_str().unwrap()),
        ])
        .unwrap();
        Admin::connect(config).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        dc.shutdown().await;
    })
    .await;
}

/// The error and all its sources, as the CLI prints them.
fn error_chain(e: &Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

fn assert_refused(e: &Error, needle: &str) {
    assert!(
        matches!(e, Error::Authentication { .. }),
        "expected an authentication error, got {e:?}"
    );
    assert!(!e.is_retriable());
    let text = e.to_string();
    assert!(text.contains(needle), "{text:?} lacks {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_at_once_without_leaking_them() {
    bounded(async {
        let dc = sasl_ssl_cluster().await;
        for mechanism in [
            SaslMechanism::Plain,
            SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512,
        ] {
            let e = Admin::connect(trusting(&dc).sasl(mechanism, "alice", "not-her-password"))
                .await
                .unwrap_err();
            assert_refused(&e, "SASL_AUTHENTICATION_FAILED");
            assert!(!format!("{e} {e:?}").contains("not-her-password"), "{e:?}");
            let e = Admin::connect(trusting(&dc).sasl(mechanism, "mallory", "x"))
                .await
                .unwrap_err();
            assert_refused(&e, "SASL_AUTHENTICATION_FAILED");
        }
        // An expired OAUTHBEARER token.
        let expired = TokenProvider::new(|| async {
            let b64 = |s: &str| {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
            };
            Ok(OauthBearerToken::new(format!(
                "{}.{}.",
                b64(r#"{"alg":"none"}"#),
                b64(r#"{"sub":"carol","exp":1}"#)
            )))
        });
        let e = Admin::connect(trusting(&dc).sasl_oauthbearer(expired))
            .await
            .unwrap_err();
        assert_refused(&e, "expired");
        // A mechanism the cluster does not enable.
        let dc2 = cluster_with(1, |b| {
            b.sasl_user("alice", "alice-secret")
                .sasl_mechanisms(["SCRAM-SHA-512"])
        })
        .await;
        let e = Admin::connect(base(&dc2).sasl(SaslMechanism::Plain, "alice", "alice-secret"))
            .await
            .unwrap_err();
        assert_refused(&e, "UNSUPPORTED_SASL_MECHANISM");
        assert!(e.to_string().contains("SCRAM-SHA-512"), "{e}");
        // Without SASL, nothing but ApiVersions is served: the Metadata request closes it.
        let e = Admin::connect(base(&dc2)).await.unwrap_err();
        assert!(!matches!(e, Error::Authentication { .. }), "{e:?}");
        Admin::connect(base(&dc2).sasl(SaslMechanism::ScramSha512, "alice", "alice-secret"))
            .await
            .unwrap();
        dc2.shutdown().await;
        dc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_is_refused_by_a_tls_listener() {
    bounded(async {
        let dc = cluster_with(1, |b| b.tls(true)).await;
        assert_eq!(dc.security_protocol(), "SSL");
        let e = Admin::connect(base(&dc)).await.unwrap_err();
        assert!(
            e.is_retriable(),
            "a closed connection, not a verdict: {e:?}"
        );
        // TLS against a plaintext listener fails in the handshake, with a hint.
        let plain = cluster(1).await;
        let e = Admin::connect(base(&plain).tls(TlsConfig::default().insecure_skip_verify(true)))
            .await
            .unwrap_err();
        let chain = error_chain(&e);
        assert!(chain.contains("is this a TLS listener?"), "{chain}");
        // And the right settings work.
        Admin::connect(trusting(&dc)).await.unwrap();
        plain.shutdown().await;
        dc.shutdown().await;
    })
    .await;
}

/// A CA and a certificate for localhost signed by it, valid in `[not_before, not_after]`.
fn ca_and_leaf(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    leaf.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_untrusted_and_misnamed_certificates_are_refused() {
    bounded(async {
        // Expired, though signed by the CA the client trusts.
        let (ca, chain, key) = ca_and_leaf((2019, 1, 1), (2020, 1, 1));
        let dc = cluster_with(1, |b| b.tls_identity(ca.clone(), chain, key)).await;
        let e = Admin::connect(base(&dc).tls(TlsConfig::default().ca_pem(ca)))
            .await
            .unwrap_err();
        assert_refused(&e, "certificate expired");
        dc.shutdown().await;

        // Valid, but the client trusts another CA (or the system roots).
        let dc = cluster_with(1, |b| b.tls(true)).await;
        let (other_ca, _, _) = ca_and_leaf((2020, 1, 1), (4000, 1, 1));
        let e = Admin::connect(base(&dc).tls(TlsConfig::default().ca_pem(other_ca)))
            .await
            .unwrap_err();
        assert_refused(&e, "UnknownIssuer");
        let e = Admin::connect(base(&dc).tls(TlsConfig::default()))
            .await
            .unwrap_err();
        assert_refused(&e, "UnknownIssuer");

        // Trusted, but not for the name the client expects; `none` skips only that check,
        // and the insecure switch skips everything.
        let ca = dc.tls_ca_pem().unwrap().to_string();
        let misnamed = TlsConfig::default()
            .ca_pem(ca.clone())
            .server_name("kafka.example.com");
        let e = Admin::connect(base(&dc).tls(misnamed.clone()))
            .await
            .unwrap_err();
        assert_refused(&e, "not valid for name");
        let mut no_hostname = misnamed;
        no_hostname.verify_hostname = false;
        Admin::connect(base(&dc).tls(no_hostname)).await.unwrap();
        Admin::connect(base(&dc).tls(TlsConfig::default().insecure_skip_verify(true)))
            .await
            .unwrap();
        dc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!("streamctl-mtls-{}", uuid::Uuid::new_v4()));
        let dc = cluster_with(1, |b| b.tls_client_auth(true).tls_dir(&dir)).await;
        let files = dc.tls_files().unwrap().clone();
        let (cert, key) = files.client.clone().unwrap();
        let with_cert = TlsConfig::default()
            .ca_location(&files.ca)
            .client_certificate(&cert, &key);
        Admin::connect(base(&dc).tls(with_cert)).await.unwrap();
        // Without one, the broker ends the handshake (TLS 1.3 reports it after the client's
        // Finished, so the client sees an alert or a closed connection).
        let e = Admin::connect(base(&dc).tls(TlsConfig::default().ca_location(&files.ca)))
            .await
            .unwrap_err();
        let chain = format!("{e:?}");
        assert!(!chain.contains("UnknownIssuer"), "{chain}");
        dc.shutdown().await;
        std::fs::remove_dir_all(&dir).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reauthenticate_when_the_broker_limits_sessions() {
    bounded(async {
        let dc = cluster_with(1, |b| {
            b.sasl_user("alice", "alice-secret")
                .connections_max_reauth(Duration::from_millis(500))
        })
        .await;
        let address = format!("127.0.0.1:{}", dc.broker(1).unwrap().addrs()[0].port());
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let provider = TokenProvider::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {
                Ok(OauthBearerToken::unsecured(
                    "alice",
                    Duration::from_secs(60),
                ))
            }
        });
        for config in [
            base(&dc).sasl(SaslMechanism::ScramSha256, "alice", "alice-secret"),
            base(&dc).sasl_oauthbearer(provider),
        ] {
            let connection = Connection::connect(&address, &config).await.unwrap();
            // Requests keep flowing on the same connection across several sessions: without
            // re-authentication the broker would close it after the first.
            while connection.reauthentications() < 3 {
                connection.call(MetadataRequest::default()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(!connection.is_closed());
            connection.call(MetadataRequest::default()).await.unwrap();
        }
        // OAUTHBEARER asked the provider for a fresh token every time.
        assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 4);
        dc.shutdown().await;
    })
    .await;
}
