//! The dev cluster's schema registry with a registry client and serdes we did not write:
//! confluent-kafka's `SchemaRegistryClient` with its Avro, JSON Schema and Protobuf
//! serializers and deserializers; the Confluent wire format of what they write, checked byte
//! by byte; our codecs reading what they wrote, and their deserializers reading what ours
//! wrote.

use std::sync::Arc;

use serde_json::json;
use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_serdes::{AvroCodec, JsonCodec, ProtobufCodec, RegistryClient};
use streamctl_testkit::{cluster_with, python, read_batches};

use crate::support::run_python;

const TOPIC: &str = "users";
const COUNT: usize = 50;

/// Runs `tests/interop/<script>` (which needs the Python module `needs`) in `mode`.
async fn script(cluster: &DevCluster, needs: &str, script: &str, topic: &str, mode: &str) {
    let url = cluster.schema_registry_url().unwrap();
    let count = COUNT.to_string();
    run_python(
        needs,
        script,
        &[&cluster.bootstrap_servers(), &url, topic, &count, mode],
    )
    .await;
}

async fn avro_script(cluster: &DevCluster, topic: &str, mode: &str) {
    script(cluster, "fastavro", "confluent_avro.py", topic, mode).await;
}

/// The values of partition 0 of `topic`, in order.
async fn values(cluster: &DevCluster, topic: &str) -> Vec<bytes::Bytes> {
    let client = streamctl_client::Cluster::connect(streamctl_client::ClientConfig::new(
        &cluster.bootstrap_servers(),
    ))
    .await
    .unwrap();
    read_batches(&client, topic, 0)
        .await
        .iter()
        .flat_map(|b| {
            b.records(usize::MAX)
                .unwrap()
                .map(|r| r.unwrap().value.unwrap())
        })
        .collect()
}

fn same_bytes(i: usize, ours: &[u8], theirs: &[u8]) {
    assert_eq!(
        ours, theirs,
        "record {i}: not byte-identical to confluent-kafka's"
    );
}

/// Writes `values` to partition 0 of a new `topic`.
async fn write(cluster: &DevCluster, topic: &str, values: &[Vec<u8>]) {
    cluster.create_topic_with(topic, 1, 3, &[]).unwrap();
    let producer = Producer::builder(&cluster.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for value in values {
        let record = Record::new(topic).partition(0).value(value);
        producer.send(record).await.unwrap().await.unwrap();
    }
}

/// The i-th user the script writes (the second half with the v2 field).
fn user(i: usize) -> serde_json::Value {
    if i < COUNT {
        json!({"id": i, "name": format!("user-{i}")})
    } else {
        json!({"id": i, "name": format!("user-{i}"), "email": format!("u{i}@example.com")})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_avro_serdes_register_evolve_and_read_back_through_the_registry() {
    if python("fastavro").is_none() {
        return;
    }
    let cluster = cluster_with(3, |b| b.schema_registry(true)).await;
    cluster.create_topic_with(TOPIC, 1, 3, &[]).unwrap();
    avro_script(&cluster, TOPIC, "produce").await;
    // Confluent's wire format: magic byte 0, the schema id (big-endian), then the Avro datum.
    let values = values(&cluster, TOPIC).await;
    assert_eq!(values.len(), 2 * COUNT);
    for (i, value) in values.iter().enumerate() {
        let id = if i < COUNT { 1 } else { 2 };
        assert_eq!(value.first(), Some(&0), "record {i}: magic byte");
        assert_eq!(
            value.get(1..5),
            Some(&[0, 0, 0, id][..]),
            "record {i}: schema id"
        );
        // The datum starts with the id, a zig-zag varint long.
        let zigzag = (i as u64) << 1;
        assert_eq!(
            u64::from(value[5]),
            zigzag & 0x7f | if zigzag > 0x7f { 0x80 } else { 0 }
        );
    }
    avro_script(&cluster, TOPIC, "consume").await;

    // Ours reads theirs, and theirs reads ours: the same users, under the same schema ids.
    let registry = Arc::new(RegistryClient::new(&cluster.schema_registry_url().unwrap()).unwrap());
    let codec = AvroCodec::new(registry);
    for (i, value) in values.iter().enumerate() {
        let (id, decoded) = codec.decode(value).await.unwrap();
        assert_eq!(
            (id, decoded),
            (if i < COUNT { 1 } else { 2 }, user(i)),
            "record {i}"
        );
    }
    let mut ours = Vec::new();
    for (i, theirs) in values.iter().enumerate() {
        let id = if i < COUNT { 1 } else { 2 };
        let bytes = codec.encode(id, &user(i)).await.unwrap();
        same_bytes(i, &bytes, theirs);
        ours.push(bytes);
    }
    write(&cluster, "ours", &ours).await;
    avro_script(&cluster, "ours", "consume").await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_json_schema_serdes_and_ours_write_the_same_bytes() {
    if python("jsonschema").is_none() {
        return;
    }
    let cluster = cluster_with(3, |b| b.schema_registry(true)).await;
    cluster.create_topic_with(TOPIC, 1, 3, &[]).unwrap();
    script(
        &cluster,
        "jsonschema",
        "confluent_json.py",
        TOPIC,
        "produce",
    )
    .await;
    let values = values(&cluster, TOPIC).await;
    assert_eq!(values.len(), 2 * COUNT);
    let registry = Arc::new(RegistryClient::new(&cluster.schema_registry_url().unwrap()).unwrap());
    let codec = JsonCodec::new(registry);
    let mut ours = Vec::new();
    for (i, theirs) in values.iter().enumerate() {
        let id = if i < COUNT { 1 } else { 2 };
        // The document as the script builds it, key order included.
        let text = if i < COUNT {
            format!(r#"{{"id": {i}, "name": "user-{i}", "tags": ["a", "é{i}"]}}"#)
        } else {
            format!(
                r#"{{"id": {i}, "name": "user-{i}", "tags": ["a", "é{i}"], "email": "u{i}@example.com"}}"#
            )
        };
        let (decoded_id, decoded) = codec.decode(theirs).await.unwrap();
        assert_eq!(decoded_id, id, "record {i}");
        assert_eq!(
            decoded,
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        );
        let bytes = codec.encode(id, &text).await.unwrap();
        same_bytes(i, &bytes, theirs);
        ours.push(bytes);
    }
    // A document that breaks the schema is refused, naming where.
    let err = codec
        .encode(1, r#"{"id": "seven", "name": "x"}"#)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/id"), "{err}");
    write(&cluster, "ours", &ours).await;
    script(
        &cluster,
        "jsonschema",
        "confluent_json.py",
        "ours",
        "consume",
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_protobuf_serdes_and_ours_write_the_same_bytes() {
    if python("google.protobuf").is_none() {
        return;
    }
    let cluster = cluster_with(3, |b| b.schema_registry(true)).await;
    cluster.create_topic_with("orders", 1, 3, &[]).unwrap();
    script(
        &cluster,
        "google.protobuf",
        "confluent_protobuf.py",
        "orders",
        "produce",
    )
    .await;
    let values = values(&cluster, "orders").await;
    assert_eq!(values.len(), COUNT);
    let registry = Arc::new(RegistryClient::new(&cluster.schema_registry_url().unwrap()).unwrap());
    let codec = ProtobufCodec::new(registry);
    let mut ours = Vec::new();
    for (i, theirs) in values.iter().enumerate() {
        // Every fifth record is the file's second message: indexes [1], written 02 02; the
        // first message's [0] is written as one 00.
        let refund = i % 5 == 4;
        let indexes: &[u8] = if refund { &[2, 2] } else { &[0] };
        assert_eq!(&theirs[5..5 + indexes.len()], indexes, "record {i}");
        let (id, message, json) = codec.decode(theirs).await.unwrap();
        if refund {
            assert_eq!(message, "shop.Refund");
            assert_eq!(json["orderId"], format!("o-{}", i - 1));
        } else {
            assert_eq!(message, "shop.Order");
            assert_eq!(json["id"], format!("o-{i}"));
            assert_eq!(json["price"]["cents"], (250 * i + 1).to_string());
        }
        let bytes = codec.encode(id, Some(&message), &json).await.unwrap();
        same_bytes(i, &bytes, theirs);
        ours.push(bytes);
    }
    write(&cluster, "ours", &ours).await;
    script(
        &cluster,
        "google.protobuf",
        "confluent_protobuf.py",
        "ours",
        "consume",
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_tls_and_sasl_cluster_the_registry_serves_https_and_stores_over_sasl_ssl() {
    if python("fastavro").is_none() {
        return;
    }
    let dir = streamctl_testkit::TempDir::new("registry-tls");
    let cluster = cluster_with(3, |b| {
        b.host("localhost")
            .tls(true)
            .tls_dir(dir.path())
            .sasl_user("alice", "alice-secret")
            .schema_registry(true)
    })
    .await;
    let url = cluster.schema_registry_url().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = cluster.tls_files().unwrap().ca.display().to_string();
    let settings = json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
        "ssl.ca.location": ca,
    });
    run_python(
        "fastavro",
        "confluent_registry_tls.py",
        &[
            &cluster.bootstrap_servers(),
            &url,
            &ca,
            "readings",
            &settings.to_string(),
        ],
    )
    .await;

    // Ours, trusting the cluster's CA, reads what theirs registered.
    let mut tls = streamctl_client::ClientConfig::new("");
    tls.set("ssl.ca.location", &ca).unwrap();
    let registry = RegistryClient::new(&url)
        .unwrap()
        .with_tls(&tls.tls)
        .unwrap();
    let (version, schema) = registry.latest("readings-value").await.unwrap();
    assert_eq!((version, schema.schema_type.as_str()), (1, "AVRO"));
    // Without the CA, the certificate is not trusted, and the error says so.
    let untrusting = RegistryClient::new(&url).unwrap();
    let err = untrusting.latest("readings-value").await.unwrap_err();
    assert!(
        matches!(err, streamctl_serdes::SerdesError::Unreachable(_))
            && err.to_string().contains("certificate"),
        "{err}"
    );
    cluster.shutdown().await;
}
