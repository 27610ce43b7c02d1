//! The tail task against an in-process devcluster: every seek (beginning, N from the end, an
//! offset, a time, the end) and the partition choice read exactly the records they should.

use std::time::Duration;

use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_serdes::Format;
use tokio::sync::mpsc;

use crate::ui::app::{Action, Request, Seek, TailRequest};
use crate::ui::model::MessageView;
use crate::ui::tail;

/// Waits for `n` records (bounded), skipping other actions; panics on a tail error.
async fn records(actions: &mut mpsc::UnboundedReceiver<Action>, n: usize) -> Vec<MessageView> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while got.len() < n {
            match actions.recv().await.unwrap() {
                Action::Records(r) => got.extend(r),
                Action::Status(s) => panic!("tail error: {s}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} records: {got:?}", got.len()));
    got
}

fn offsets(records: &[MessageView]) -> Vec<(i32, i64)> {
    let mut o: Vec<(i32, i64)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    o.sort_unstable();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeks_and_partition_choice_read_the_right_records() {
    let cluster = DevCluster::builder()
        .brokers(1)
        .in_memory()
        .start()
        .await
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("orders", 3, 1).unwrap();
    let producer = Producer::builder(&bootstrap).build().await.unwrap();
    for p in 0..3 {
        for i in 0..10i64 {
            let value = format!("p{p}-{i}");
            producer
                .send(
                    Record::new("orders")
                        .partition(p)
                        .timestamp(1_000_000 + 1000 * i)
                        .value(value.as_bytes()),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }

    let mut config = crate::ui::tail_config().unwrap();
    config.set("bootstrap.servers", &bootstrap).unwrap();
    let (requests, rx) = mpsc::unbounded_channel();
    let (tx, mut actions) = mpsc::unbounded_channel();
    let task = tokio::spawn(tail::run(config, None, rx, tx));
    let tail = |partition, from| {
        Request::Tail(TailRequest {
            topic: "orders".into(),
            partition,
            from,
        })
    };

    requests.send(tail(None, Seek::Beginning)).unwrap();
    let got = records(&mut actions, 30).await;
    assert_eq!(offsets(&got).len(), 30);
    assert_eq!(got.iter().filter(|r| r.partition == 2).count(), 10);

    requests.send(tail(Some(1), Seek::FromEnd(2))).unwrap();
    let got = records(&mut actions, 2).await;
    assert_eq!(offsets(&got), [(1, 8), (1, 9)]);
    assert_eq!(got[1].value.as_deref(), Some(&b"p1-9"[..]));

    requests.send(tail(Some(2), Seek::Offset(7))).unwrap();
    let got = records(&mut actions, 3).await;
    assert_eq!(offsets(&got), [(2, 7), (2, 8), (2, 9)]);

    requests
        .send(tail(Some(0), Seek::Timestamp(1_006_000)))
        .unwrap();
    let got = records(&mut actions, 4).await;
    assert_eq!(offsets(&got), [(0, 6), (0, 7), (0, 8), (0, 9)]);

    // From the end only new records come, and the tail says which partitions it reads.
    requests.send(tail(None, Seek::End)).unwrap();
    let started = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Action::TailStarted { partitions, .. } = actions.recv().await.unwrap() {
                return partitions;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(started, [0, 1, 2]);
    producer
        .send(Record::new("orders").partition(1).value(b"fresh"))
        .await
        .unwrap()
        .await
        .unwrap();
    let got = records(&mut actions, 1).await;
    assert_eq!(offsets(&got), [(1, 10)]);
    assert_eq!(got[0].value.as_deref(), Some(&b"fresh"[..]));

    // A topic that does not exist is reported, not fatal.
    requests
        .send(Request::Tail(TailRequest {
            topic: "nosuch".into(),
            partition: None,
            from: Seek::End,
        }))
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Action::Status(s) = actions.recv().await.unwrap() {
                return s;
            }
        }
    })
    .await
    .unwrap();
    assert!(status.starts_with("tail nosuch:"), "{status}");

    drop(requests);
    task.await.unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_encoded_values_are_shown_decoded_with_their_subject_and_version() {
    let cluster = DevCluster::builder()
        .brokers(1)
        .in_memory()
        .schema_registry(true)
        .start()
        .await
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let url = cluster.schema_registry_url().unwrap();
    cluster.create_topic("readings", 1, 1).unwrap();
    let registry = std::sync::Arc::new(streamctl_serdes::RegistryClient::new(&url).unwrap());
    let schema = r#"{"type":"record","name":"R","fields":[{"name":"c","type":"double"}]}"#;
    let id = registry
        .register("readings-value", "AVRO", schema, &[])
        .await
        .unwrap();
    let proto = "syntax = \"proto3\"; message Alarm { string room = 1; }";
    let proto_id = registry
        .register("alarms-value", "PROTOBUF", proto, &[])
        .await
        .unwrap();
    let codecs = streamctl_serdes::Codecs::new(registry);
    let encoded = codecs
        .encode(Format::Avro, id, None, r#"{"c": 21.5}"#)
        .await
        .unwrap();
    // Each value decodes in the type its schema has: the tail is not told which.
    let alarm = codecs
        .encode(Format::Protobuf, proto_id, None, r#"{"room": "attic"}"#)
        .await
        .unwrap();
    let producer = Producer::builder(&bootstrap).build().await.unwrap();
    for value in [&encoded[..], b"plain", &alarm[..]] {
        let record = Record::new("readings").partition(0).value(value);
        producer.send(record).await.unwrap().await.unwrap();
    }
    let mut config = crate::ui::tail_config().unwrap();
    config.set("bootstrap.servers", &bootstrap).unwrap();
    let decoder = tail::TailDecoder::new(streamctl_serdes::RegistryClient::new(&url).unwrap());
    let (requests, rx) = mpsc::unbounded_channel();
    let (tx, mut actions) = mpsc::unbounded_channel();
    let task = tokio::spawn(tail::run(config, Some(decoder), rx, tx));
    requests
        .send(Request::Tail(TailRequest {
            topic: "readings".into(),
            partition: None,
            from: Seek::Beginning,
        }))
        .unwrap();
    let got = records(&mut actions, 3).await;
    let decoded = got[0].decoded.as_ref().expect("the Avro value decoded");
    assert_eq!(decoded.json, r#"{"c":21.5}"#);
    assert_eq!(decoded.schema, format!("readings-value v1 (id {id})"));
    assert!(got[1].decoded.is_none(), "a plain value is shown as stored");
    let decoded = got[2].decoded.as_ref().expect("the Protobuf value decoded");
    assert_eq!(decoded.json, r#"{"room":"attic"}"#);
    assert_eq!(decoded.schema, format!("alarms-value v1 (id {proto_id})"));
    drop(requests);
    task.await.unwrap();
    cluster.shutdown().await;
}
