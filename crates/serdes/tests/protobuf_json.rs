//! Protobuf and JSON Schema through the dev cluster's registry: nested messages placed by
//! their indexes, references compiled in, and each failure saying what it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use serde_json::json;
use streamctl_serdes::{
    protobuf, wire, JsonCodec, ProtobufCodec, Reference, RegistryClient, SerdesError,
};
use streamctl_testkit::cluster_with;

const MONEY: &str = "syntax = \"proto3\"; package common; message Money { int64 cents = 1; }";
const SHOP: &str = r#"syntax = "proto3";
package shop;
import "common/money.proto";
message Order {
  string id = 1;
  common.Money price = 2;
  map<string, int32> counts = 3;
  message Line { string sku = 1; repeated Line parts = 2; }
  repeated Line lines = 4;
}
message Refund { string order_id = 1; }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_messages_round_trip_by_their_place_in_the_file() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let registry = Arc::new(RegistryClient::new(&dc.schema_registry_url().unwrap()).unwrap());
    registry
        .register("common/money.proto", "PROTOBUF", MONEY, &[])
        .await
        .unwrap();
    let references = [Reference {
        name: "common/money.proto".into(),
        subject: "common/money.proto".into(),
        version: 1,
    }];
    let id = registry
        .register("orders-value", "PROTOBUF", SHOP, &references)
        .await
        .unwrap();
    let codec = ProtobufCodec::new(registry.clone());

    let order = json!({"id": "o-1", "price": {"cents": "250"}, "counts": {"a": 2},
        "lines": [{"sku": "x", "parts": [{"sku": "y"}]}]});
    let bytes = codec.encode(id, Some("shop.Order"), &order).await.unwrap();
    assert_eq!(bytes[5], 0, "the first message's indexes are one 0 byte");
    assert_eq!(
        codec.decode(&bytes).await.unwrap(),
        (id, "shop.Order".into(), order)
    );
    // A nested message: [0, 1] (the map entry type is [0, 0]) is count 2, then 0 and 1,
    // zig-zag.
    let line = json!({"sku": "z"});
    let bytes = codec
        .encode(id, Some("shop.Order.Line"), &line)
        .await
        .unwrap();
    assert_eq!(&bytes[5..8], &[4, 0, 2]);
    let (_, name, decoded) = codec.decode(&bytes).await.unwrap();
    assert_eq!((name.as_str(), decoded), ("shop.Order.Line", line));
    // Without a name, the file's first message; JSON names are lowerCamelCase.
    let bytes = codec.encode(id, None, &json!({"id": "o-2"})).await.unwrap();
    let (_, text) = codec.decode_to_json_text(&bytes).await.unwrap();
    assert_eq!(text, r#"{"id":"o-2"}"#);
    let refund = codec
        .encode(id, Some("shop.Refund"), &json!({"orderId": "o-1"}))
        .await
        .unwrap();
    assert_eq!(&refund[5..7], &[2, 2]);

    // The indexes computed and followed agree for every message in the file.
    let file = protobuf::compile(SHOP, &[("common/money.proto".into(), MONEY.into())]).unwrap();
    for message in file.messages() {
        let at = protobuf::indexes_of(&message);
        assert_eq!(
            protobuf::message_at(&file, &at).unwrap().full_name(),
            message.full_name()
        );
    }

    // Each failure names itself.
    let wrong = codec
        .encode(id, Some("shop.Order"), &json!({"id": 7}))
        .await
        .unwrap_err();
    assert!(matches!(wrong, SerdesError::Encode(_)), "{wrong}");
    let missing = codec
        .encode(id, Some("shop.Nothing"), &json!({}))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no message"), "{missing}");
    let mut beyond = wire::frame(id, &wire::encode_indexes(&[5]));
    beyond.push(0);
    let err = codec.decode(&beyond).await.unwrap_err();
    assert!(
        err.to_string().contains("no message at indexes [5]"),
        "{err}"
    );
    let garbage = wire::frame(id, &[0, 0x0a, 0xff]);
    let err = codec.decode(&garbage).await.unwrap_err();
    assert!(matches!(err, SerdesError::Decode(_)), "{err}");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_documents_are_checked_against_their_schema_both_ways() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let registry = Arc::new(RegistryClient::new(&dc.schema_registry_url().unwrap()).unwrap());
    let address =
        r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#;
    registry
        .register("address", "JSON", address, &[])
        .await
        .unwrap();
    let user = r#"{"type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}},"required":["name"]}"#;
    let references = [Reference {
        name: "address.json".into(),
        subject: "address".into(),
        version: 1,
    }];
    let id = registry
        .register("users-value", "JSON", user, &references)
        .await
        .unwrap();
    let avro_id = registry
        .register("other-value", "AVRO", "\"string\"", &[])
        .await
        .unwrap();
    let codec = JsonCodec::new(registry);

    let text = r#"{ "name": "ada", "home": { "city": "London" } }"#;
    let bytes = codec.encode(id, text).await.unwrap();
    assert_eq!(
        &bytes[5..],
        br#"{"name":"ada","home":{"city":"London"}}"#,
        "the text as written, without its spaces"
    );
    let (_, decoded) = codec.decode(&bytes).await.unwrap();
    assert_eq!(decoded["home"]["city"], "London");

    // The referenced schema is applied: a home without a city does not match.
    let err = codec
        .encode(id, r#"{"name": "ada", "home": {}}"#)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/home"), "{err}");
    let bad = wire::frame(id, br#"{"home": {"city": "Paris"}}"#);
    let err = codec.decode(&bad).await.unwrap_err();
    assert!(err.to_string().contains("does not match schema"), "{err}");
    let err = codec
        .decode(&wire::frame(id, b"{not json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    let err = codec
        .decode(&wire::frame(avro_id, b"\"x\""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    dc.shutdown().await;
}
