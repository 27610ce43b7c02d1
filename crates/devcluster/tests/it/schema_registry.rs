//! The dev cluster's schema registry with a registry client and serdes we did not write:
//! confluent-kafka's `SchemaRegistryClient`, `AvroSerializer` and `AvroDeserializer`; the
//! Confluent wire format of what they write, checked byte by byte; our codec reading what
//! they wrote, and their deserializer reading what ours wrote.

use std::sync::Arc;

use serde_json::json;
use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_serdes::{AvroCodec, RegistryClient};
use streamctl_testkit::{cluster_with, python, read_batches};

use crate::support::run_python;

const TOPIC: &str = "users";
const COUNT: usize = 50;

async fn avro_script(cluster: &DevCluster, topic: &str, mode: &str) {
    let url = cluster.schema_registry_url().unwrap();
    let count = COUNT.to_string();
    run_python(
        "fastavro",
        "confluent_avro.py",
        &[&cluster.bootstrap_servers(), &url, topic, &count, mode],
    )
    .await;
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
    let client = streamctl_client::Cluster::connect(streamctl_client::ClientConfig::new(
        &cluster.bootstrap_servers(),
    ))
    .await
    .unwrap();
    let values: Vec<bytes::Bytes> = read_batches(&client, TOPIC, 0)
        .await
        .iter()
        .flat_map(|b| {
            b.records(usize::MAX)
                .unwrap()
                .map(|r| r.unwrap().value.unwrap())
        })
        .collect();
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
    cluster.create_topic_with("ours", 1, 3, &[]).unwrap();
    let producer = Producer::builder(&cluster.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for (i, theirs) in values.iter().enumerate() {
        let id = if i < COUNT { 1 } else { 2 };
        let bytes = codec.encode(id, &user(i)).await.unwrap();
        assert_eq!(
            &bytes[..],
            &theirs[..],
            "record {i}: not byte-identical to confluent-kafka's"
        );
        let record = Record::new("ours").partition(0).value(&bytes);
        producer.send(record).await.unwrap().await.unwrap();
    }
    avro_script(&cluster, "ours", "consume").await;
    cluster.shutdown().await;
}
