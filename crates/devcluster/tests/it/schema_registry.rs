//! The dev cluster's schema registry with a registry client and serdes we did not write:
//! confluent-kafka's `SchemaRegistryClient`, `AvroSerializer` and `AvroDeserializer`, and the
//! Confluent wire format of what they write, checked byte by byte.

use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster_with, python, read_batches};

use crate::support::run_python;

const TOPIC: &str = "users";
const COUNT: usize = 50;

async fn avro_script(cluster: &DevCluster, mode: &str) {
    let url = cluster.schema_registry_url().unwrap();
    let count = COUNT.to_string();
    run_python(
        "fastavro",
        "confluent_avro.py",
        &[&cluster.bootstrap_servers(), &url, TOPIC, &count, mode],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_avro_serdes_register_evolve_and_read_back_through_the_registry() {
    if python("fastavro").is_none() {
        return;
    }
    let cluster = cluster_with(3, |b| b.schema_registry(true)).await;
    cluster.create_topic_with(TOPIC, 1, 3, &[]).unwrap();
    avro_script(&cluster, "produce").await;
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
    avro_script(&cluster, "consume").await;
    cluster.shutdown().await;
}
