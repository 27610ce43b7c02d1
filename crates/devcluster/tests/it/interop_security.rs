//! Third-party clients against secured dev clusters: confluent-kafka (librdkafka) with SASL
//! PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER over TLS, TLS alone with the generated
//! CA, and wrong passwords refused; kcat (librdkafka's CLI) with SCRAM over TLS.
//!
//! Clusters listen on `localhost` (librdkafka checks the certificate's name against it) and
//! write their CA to a temporary directory, as `streamctl dev up --tls` writes it to the data
//! directory. Missing tools fail the tests under `CI=true`, as in `interop.rs`.

use std::path::Path;

use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster_with, kcat, run, TempDir};
use tokio::process::Command;

use crate::support::run_python;

async fn secured(tls_dir: &Path, tls: bool, sasl: bool) -> DevCluster {
    cluster_with(3, |mut b| {
        b = b.host("localhost");
        if tls {
            b = b.tls(true).tls_dir(tls_dir);
        }
        if sasl {
            b = b.sasl_user("alice", "alice-secret");
        }
        b
    })
    .await
}

async fn confluent(
    cluster: &DevCluster,
    topic: &str,
    settings: serde_json::Value,
    expect_failure: bool,
) {
    let (bootstrap, settings) = (cluster.bootstrap_servers(), settings.to_string());
    let mut args = vec![bootstrap.as_str(), topic, settings.as_str()];
    if expect_failure {
        args.push("--expect-auth-failure");
    }
    run_python("confluent_kafka", "confluent_secured.py", &args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_authenticates_with_every_mechanism_over_tls() {
    let dir = TempDir::new("interop");
    let cluster = secured(dir.path(), true, true).await;
    let ca = cluster.tls_files().unwrap().ca.display().to_string();
    for (mechanism, topic) in [
        ("PLAIN", "plain"),
        ("SCRAM-SHA-256", "scram256"),
        ("SCRAM-SHA-512", "scram512"),
    ] {
        let settings = serde_json::json!({
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": mechanism,
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
            "ssl.ca.location": ca,
        });
        confluent(&cluster, topic, settings, false).await;
    }
    let oauth = serde_json::json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "OAUTHBEARER",
        "enable.sasl.oauthbearer.unsecure.jwt": true,
        "sasl.oauthbearer.config": "principal=alice",
        "ssl.ca.location": ca,
    });
    confluent(&cluster, "oauth", oauth, false).await;
    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        let wrong = serde_json::json!({
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": mechanism,
            "sasl.username": "alice",
            "sasl.password": "wrong",
            "ssl.ca.location": ca,
        });
        confluent(&cluster, "unused", wrong, true).await;
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_trusts_the_generated_ca_presents_a_client_certificate_and_uses_sasl_plaintext(
) {
    let dir = TempDir::new("interop");
    let cluster = secured(dir.path(), true, false).await;
    let ca = cluster.tls_files().unwrap().ca.display().to_string();
    confluent(
        &cluster,
        "ssl-only",
        serde_json::json!({"security.protocol": "SSL", "ssl.ca.location": ca}),
        false,
    )
    .await;
    cluster.shutdown().await;

    // Mutual TLS: the broker requires a certificate from its CA; librdkafka presents the
    // generated client certificate.
    let mtls_dir = TempDir::new("interop");
    let cluster = cluster_with(3, |b| {
        b.host("localhost")
            .tls_client_auth(true)
            .tls_dir(mtls_dir.path())
    })
    .await;
    let files = cluster.tls_files().unwrap().clone();
    let (cert, key) = files.client.clone().unwrap();
    confluent(
        &cluster,
        "mtls",
        serde_json::json!({
            "security.protocol": "SSL",
            "ssl.ca.location": files.ca.display().to_string(),
            "ssl.certificate.location": cert.display().to_string(),
            "ssl.key.location": key.display().to_string(),
        }),
        false,
    )
    .await;
    cluster.shutdown().await;

    let cluster = secured(dir.path(), false, true).await;
    confluent(
        &cluster,
        "sasl-plaintext",
        serde_json::json!({
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
        }),
        false,
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_reauthenticates_when_sessions_expire() {
    let cluster = cluster_with(1, |b| {
        b.host("localhost")
            .sasl_user("alice", "alice-secret")
            .connections_max_reauth(std::time::Duration::from_millis(1000))
    })
    .await;
    cluster.create_topic("reauth", 1, 1).unwrap();
    let settings = serde_json::json!({
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
    });
    // Four session lifetimes.
    run_python(
        "confluent_kafka",
        "confluent_reauth.py",
        &[
            &cluster.bootstrap_servers(),
            "reauth",
            &settings.to_string(),
            "4",
        ],
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_produces_and_consumes_with_scram_over_tls() {
    let Some(kcat) = kcat() else { return };
    let dir = TempDir::new("interop");
    let cluster = secured(dir.path(), true, true).await;
    cluster.create_topic("kcat-secured", 1, 3).unwrap();
    let ca = cluster.tls_files().unwrap().ca.display().to_string();
    let b = cluster.bootstrap_servers();
    let settings = [
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=alice",
        "-X",
        "sasl.password=alice-secret",
        "-X",
    ];
    let ca_setting = format!("ssl.ca.location={ca}");
    let input: String = (0..50).map(|i| format!("k{i}:v{i}\n")).collect();
    run(
        Command::new(kcat)
            .args(["-b", &b])
            .args(settings)
            .arg(&ca_setting)
            .args(["-P", "-t", "kcat-secured", "-K:"]),
        Some(input.as_bytes()),
    )
    .await;
    let out = run(
        Command::new(kcat)
            .args(["-b", &b])
            .args(settings)
            .arg(&ca_setting)
            .args(["-C", "-t", "kcat-secured", "-e", "-f", "%k:%s\n"]),
        None,
    )
    .await;
    assert_eq!(out, input);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_transactions_on_a_secured_cluster() {
    // Markers travel between brokers on the replication listener, which must serve them when
    // the client listener needs TLS and SASL.
    let dir = TempDir::new("interop");
    let cluster = secured(dir.path(), true, true).await;
    let ca = cluster.tls_files().unwrap().ca.display().to_string();
    let settings = serde_json::json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
        "ssl.ca.location": ca,
    })
    .to_string();
    run_python(
        "confluent_kafka",
        "confluent_txn.py",
        &[&cluster.bootstrap_servers(), "secured-txn", &settings],
    )
    .await;
    cluster.shutdown().await;
}
