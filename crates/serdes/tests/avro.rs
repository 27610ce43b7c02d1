//! Avro through the dev cluster's registry: JSON encoded against a registered schema decodes
//! to the same JSON under every version that wrote it, and each failure says what it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use serde_json::json;
use streamctl_serdes::{wire, AvroCodec, RegistryClient, SerdesError, SubjectNameStrategy};
use streamctl_testkit::cluster_with;

const V1: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"tags","type":{"type":"array","items":"string"}}]}"#;
const V2: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"note","type":["null","string"],"default":null}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_round_trips_through_registered_avro_schemas() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let registry = Arc::new(RegistryClient::new(&dc.schema_registry_url().unwrap()).unwrap());
    let subject = SubjectNameStrategy::Topic.subject("orders", false, "shop.Order");
    assert_eq!(subject, "orders-value");
    let v1 = registry.register(&subject, "AVRO", V1, &[]).await.unwrap();
    let v2 = registry.register(&subject, "AVRO", V2, &[]).await.unwrap();
    assert_ne!(v1, v2);
    let codec = AvroCodec::new(registry.clone());

    let old = json!({"id": 1, "item": "tea", "tags": ["hot"]});
    let new = json!({"id": 2, "item": "cake", "tags": [], "note": "birthday"});
    let old_bytes = codec.encode(v1, &old).await.unwrap();
    let new_bytes = codec.encode(v2, &new).await.unwrap();
    assert_eq!(wire::unframe(&old_bytes).unwrap().0, v1);
    assert_eq!(codec.decode(&old_bytes).await.unwrap(), (v1, old));
    assert_eq!(codec.decode(&new_bytes).await.unwrap(), (v2, new));
    // The JSON text written straight from the datum is the same JSON, fields in order.
    let (_, text) = codec.decode_to_json_text(&new_bytes).await.unwrap();
    assert_eq!(
        text,
        r#"{"id":2,"item":"cake","tags":[],"note":"birthday"}"#
    );
    // A union left out takes its default when encoding against v2.
    let defaulted = codec
        .encode(v2, &json!({"id": 3, "item": "pie", "tags": []}))
        .await
        .unwrap();
    assert_eq!(
        codec.decode(&defaulted).await.unwrap().1["note"],
        json!(null)
    );

    // Each failure names itself.
    let wrong = codec.encode(v1, &json!({"id": "one"})).await.unwrap_err();
    assert!(matches!(wrong, SerdesError::Encode(_)), "{wrong}");
    let unknown = codec.decode(&wire::frame(999, &[2])).await.unwrap_err();
    assert!(
        matches!(unknown, SerdesError::Rejected { code: 40403, .. }),
        "{unknown}"
    );
    let plain = codec.decode(b"{\"id\":1}").await.unwrap_err();
    assert!(matches!(plain, SerdesError::NotFramed(_)), "{plain}");
    let truncated = codec
        .decode(&old_bytes[..old_bytes.len() - 2])
        .await
        .unwrap_err();
    assert!(matches!(truncated, SerdesError::Decode(_)), "{truncated}");
    dc.shutdown().await;

    // A registry that is down: a clear error, not a hang.
    let gone = AvroCodec::new(registry);
    let down = gone.decode(&wire::frame(12345, &[0])).await.unwrap_err();
    assert!(matches!(down, SerdesError::Unreachable(_)), "{down}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_avro_type_decodes_to_the_same_json_both_ways() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let registry = Arc::new(RegistryClient::new(&dc.schema_registry_url().unwrap()).unwrap());
    let schema = r#"{"type":"record","name":"All","fields":[
        {"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},
        {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},
        {"name":"raw","type":"bytes"},{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
        {"name":"a","type":{"type":"array","items":"int"}},{"name":"m","type":{"type":"map","values":"long"}},
        {"name":"u","type":["null","string","long"]},
        {"name":"nested","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":"string"}]}}]}"#;
    let id = registry
        .register("all-value", "AVRO", schema, &[])
        .await
        .unwrap();
    let codec = AvroCodec::new(registry);
    let value = json!({"b": true, "i": -7, "l": 1_i64 << 40, "f": 1.5, "d": -0.25, "s": "é\"\n",
        "raw": [0, 255], "e": "B", "a": [1, 2], "m": {"z": 1, "a": 2}, "u": 42,
        "nested": {"x": "in"}});
    let bytes = codec.encode(id, &value).await.unwrap();
    let (_, tree) = codec.decode(&bytes).await.unwrap();
    let (_, text) = codec.decode_to_json_text(&bytes).await.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        tree,
        "{text}"
    );
    assert_eq!(tree, value);
    dc.shutdown().await;
}
