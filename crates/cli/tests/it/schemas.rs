//! `streamctl consume -s value=avro`: records in Confluent's framing, written under two
//! schema versions, printed as JSON (text and -J), against the registry `dev up` serves;
//! a record that does not decode stops the read naming it, or is skipped on request.

use std::sync::Arc;

use serde_json::{json, Value};
use streamctl_client::producer::{Producer, Record};
use streamctl_serdes::{AvroCodec, RegistryClient};

use streamctl_testkit::TempDir;

use crate::support::{dev_up_printing, stdout_of, streamctl_with};

const V1: &str = r#"{"type":"record","name":"Reading","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"}]}"#;
const V2: &str = r#"{"type":"record","name":"Reading","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},{"name":"unit","type":{"type":"enum","name":"Unit","symbols":["C","F"]},"default":"C"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_decodes_avro_values_and_names_a_record_that_does_not_decode() {
    // A config file of its own: `dev up` writes its profile there.
    let dir = TempDir::new("schemas-cli");
    let config = dir.path().join("config.toml");
    let (_dev, printed) = dev_up_printing(
        &config,
        &["--in-memory"],
        std::time::Duration::from_secs(30),
    )
    .await;
    let brokers = printed["BROKERS"].clone();
    let url = printed["SCHEMA_REGISTRY"].clone();
    let registry = Arc::new(RegistryClient::new(&url).unwrap());
    let v1 = registry
        .register("readings-value", "AVRO", V1, &[])
        .await
        .unwrap();
    let v2 = registry
        .register("readings-value", "AVRO", V2, &[])
        .await
        .unwrap();
    let codec = AvroCodec::new(registry);
    let producer = Producer::builder(&brokers).build().await.unwrap();
    let values = [
        (v1, json!({"sensor": "attic", "celsius": 21.5})),
        (
            v2,
            json!({"sensor": "cellar", "celsius": 12.0, "unit": "F"}),
        ),
    ];
    for (id, value) in &values {
        let bytes = codec.encode(*id, value).await.unwrap();
        let record = Record::new("readings").partition(0).key(b"k").value(&bytes);
        producer.send(record).await.unwrap().await.unwrap();
    }
    let text = stdout_of(
        &streamctl_with(
            &config,
            &[
                "-b",
                &brokers,
                "consume",
                "readings",
                "-e",
                "-s",
                "value=avro",
                "-r",
                &url,
                "-f",
                "%k %s\n",
            ],
            b"",
        )
        .await,
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for ((_, expected), line) in values.iter().zip(&lines) {
        let (key, json) = line.split_once(' ').unwrap();
        assert_eq!(key, "k");
        assert_eq!(
            serde_json::from_str::<Value>(json).unwrap(),
            *expected,
            "{line}"
        );
    }
    // -J: the value is JSON itself, with its schema id; the registry URL from a property.
    let property = format!("schema.registry.url={url}");
    let text = stdout_of(
        &streamctl_with(
            &config,
            &[
                "-b",
                &brokers,
                "-X",
                &property,
                "consume",
                "readings",
                "-e",
                "-s",
                "value=avro",
                "-J",
            ],
            b"",
        )
        .await,
    );
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["value"], values[0].1);
    assert_eq!(first["value_schema_id"], json!(v1));
    assert_eq!(first["key"], json!("k"), "the key was not asked for");

    // A plain record among them: named, then skipped on request.
    producer
        .send(Record::new("readings").partition(0).value(b"plain text"))
        .await
        .unwrap()
        .await
        .unwrap();
    let bytes = codec.encode(v1, &values[0].1).await.unwrap();
    producer
        .send(Record::new("readings").partition(0).value(&bytes))
        .await
        .unwrap()
        .await
        .unwrap();
    let failed = streamctl_with(
        &config,
        &[
            "-b",
            &brokers,
            "consume",
            "readings",
            "-e",
            "-s",
            "value=avro",
            "-r",
            &url,
        ],
        b"",
    )
    .await;
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("readings/0/2") && stderr.contains("magic byte"),
        "{stderr}"
    );
    let skipped = streamctl_with(
        &config,
        &[
            "-b",
            &brokers,
            "consume",
            "readings",
            "-e",
            "-s",
            "value=avro",
            "-r",
            &url,
            "--skip-undecodable",
        ],
        b"",
    )
    .await;
    assert!(skipped.status.success());
    assert_eq!(stdout_of(&skipped).lines().count(), 3);
    assert!(String::from_utf8_lossy(&skipped.stderr).contains("skipping record readings/0/2"));

    // `dev up` wrote brokers and registry into the dev profile: neither -b nor -r needed.
    let text = stdout_of(
        &streamctl_with(
            &config,
            &["consume", "readings", "-e", "-c", "2", "-s", "value=avro"],
            b"",
        )
        .await,
    );
    assert_eq!(text.lines().count(), 2, "{text}");

    // Asking to decode without a registry says how to name one.
    let out = streamctl_with(
        &dir.path().join("none.toml"),
        &["-b", &brokers, "consume", "readings", "-e", "-s", "avro"],
        b"",
    )
    .await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-r URL"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_subcommands_register_check_list_get_and_delete() {
    let dir = TempDir::new("schema-cmd");
    let config = dir.path().join("config.toml");
    let (_dev, printed) = dev_up_printing(
        &config,
        &["--in-memory"],
        std::time::Duration::from_secs(30),
    )
    .await;
    let url = printed["SCHEMA_REGISTRY"].clone();
    let v1 = dir.path().join("v1.avsc");
    let bad = dir.path().join("bad.avsc");
    std::fs::write(&v1, V1).unwrap();
    std::fs::write(
        &bad,
        V1.replace(
            r#"{"name":"celsius","type":"double"}"#,
            r#"{"name":"celsius","type":"double"},{"name":"room","type":"string"}"#,
        ),
    )
    .unwrap();
    let run = |args: Vec<String>| {
        let config = config.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            streamctl_with(&config, &args, b"").await
        }
    };
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let v1_path = v1.to_str().unwrap();
    let bad_path = bad.to_str().unwrap();

    let out = run(s(&["schema", "register", "readings-value", v1_path])).await;
    assert!(out.status.success(), "{out:?}");
    assert!(stdout_of(&out).contains("id 1"), "{out:?}");
    // The profile names the registry; -r does too.
    let out = run(s(&[
        "schema",
        "-r",
        &url,
        "check",
        "readings-value",
        bad_path,
    ]))
    .await;
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT compatible") && text.contains("room"),
        "{text}"
    );
    let out = run(s(&["--format", "json", "schema", "list"])).await;
    let listed: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(listed[0]["subject"], json!("readings-value"));
    assert_eq!(listed[0]["id"], json!("1"));
    let out = run(s(&["schema", "get", "--id", "1"])).await;
    assert!(stdout_of(&out).contains("\"celsius\""), "{out:?}");
    // produce -s: JSON lines encoded with the subject's latest schema, read back decoded;
    // a line that does not fit the schema is named and left out.
    let input = b"{\"sensor\":\"hall\",\"celsius\":19.5}\n{\"sensor\":\"bad\"}\n{\"sensor\":\"roof\",\"celsius\":-3.0}\n";
    let produced =
        streamctl_with(&config, &["produce", "readings", "-s", "value=avro"], input).await;
    assert!(!produced.status.success(), "a line was left out");
    let stderr = String::from_utf8_lossy(&produced.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    let out = run(s(&["consume", "readings", "-e", "-s", "value=avro"])).await;
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"sensor": "hall", "celsius": 19.5}),
            json!({"sensor": "roof", "celsius": -3.0})
        ]
    );
    // Keys too: a JSON object key holds the delimiter, and still ends where its JSON does.
    let key_schema = dir.path().join("key.avsc");
    std::fs::write(
        &key_schema,
        r#"{"type":"record","name":"Key","fields":[{"name":"room","type":"string"}]}"#,
    )
    .unwrap();
    let out = run(s(&[
        "schema",
        "register",
        "keyed-key",
        key_schema.to_str().unwrap(),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = run(s(&["schema", "register", "keyed-value", v1_path])).await;
    assert!(out.status.success(), "{out:?}");
    let line = b"{\"room\":\"a:1\"}:{\"sensor\":\"s\",\"celsius\":1.0}\n";
    let produced = streamctl_with(
        &config,
        &["produce", "keyed", "-s", "avro", "-K", ":"],
        line,
    )
    .await;
    assert!(produced.status.success(), "{produced:?}");
    let out = run(s(&[
        "consume", "keyed", "-e", "-s", "avro", "-f", "%k|%s\n",
    ]))
    .await;
    assert_eq!(
        stdout_of(&out).trim(),
        r#"{"room":"a:1"}|{"sensor":"s","celsius":1.0}"#
    );

    let out = run(s(&[
        "schema",
        "delete",
        "readings-value",
        "--permanent",
        "--yes",
    ]))
    .await;
    assert!(
        !out.status.success(),
        "a hard delete needs a soft one first"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("40405"),
        "{out:?}"
    );
    let out = run(s(&["schema", "delete", "readings-value", "--yes"])).await;
    assert!(stdout_of(&out).contains("versions 1"), "{out:?}");
    let out = run(s(&["schema", "list"])).await;
    assert!(!stdout_of(&out).contains("readings-value"), "{out:?}");
}

const MONEY_PROTO: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Money { int64 cents = 1; }\n";
const ORDER_PROTO: &str = r#"syntax = "proto3";
package shop;
import "common/money.proto";
message Order { string id = 1; common.Money price = 2; repeated string tags = 3; }
message Refund { string order_id = 1; }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_and_json_schema_records_are_produced_and_consumed_as_json() {
    let dir = TempDir::new("schemas-formats");
    let config = dir.path().join("config.toml");
    let (_dev, _) = dev_up_printing(
        &config,
        &["--in-memory"],
        std::time::Duration::from_secs(30),
    )
    .await;
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let money = file("money.proto", MONEY_PROTO);
    let order = file("order.proto", ORDER_PROTO);
    let run = |args: &[&str], input: &'static [u8]| {
        let config = config.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            streamctl_with(&config, &args, input).await
        }
    };

    // A .proto file is registered as Protobuf, its import as a reference.
    let out = run(&["schema", "register", "common/money.proto", &money], b"").await;
    assert!(out.status.success(), "{out:?}");
    let out = run(
        &[
            "schema",
            "register",
            "orders-value",
            &order,
            "--reference",
            "common/money.proto=common/money.proto:1",
        ],
        b"",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = run(&["schema", "get", "orders-value"], b"").await;
    assert!(
        stdout_of(&out).contains("message Refund"),
        "stored as .proto text: {out:?}"
    );

    // The schema's first message by default, another by name.
    let out = run(
        &["produce", "orders", "-s", "value=protobuf"],
        b"{\"id\":\"o-1\",\"price\":{\"cents\":250},\"tags\":[\"a\"]}\n",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = run(
        &["produce", "orders", "-s", "value=protobuf:shop.Refund"],
        b"{\"orderId\":\"o-1\"}\n{\"nope\":1}\n",
    )
    .await;
    assert!(!out.status.success(), "a line that does not fit is named");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{out:?}"
    );
    let out = run(
        &["consume", "orders", "-e", "-s", "value=protobuf", "-J"],
        b"",
    )
    .await;
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert_eq!(
        lines[0]["value"],
        json!({"id": "o-1", "price": {"cents": "250"}, "tags": ["a"]})
    );
    assert_eq!(lines[0]["value_encoding"], json!("protobuf"));
    assert_eq!(lines[1]["value"], json!({"orderId": "o-1"}));
    // Asked for as another format, a record names its schema's type.
    let out = run(&["consume", "orders", "-e", "-s", "value=avro"], b"").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("orders/0/0") && stderr.contains("PROTOBUF, not AVRO"),
        "{stderr}"
    );

    // JSON Schema: documents checked against it on the way in and out.
    let user = file(
        "user.json",
        r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"required":["name"]}"#,
    );
    let out = run(
        &["schema", "register", "users-value", &user, "--type", "json"],
        b"",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = run(
        &["produce", "users", "-s", "value=json"],
        b"{\"name\": \"ada\", \"age\": 36}\n{\"age\": -1}\n",
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("line 2") && stderr.contains("does not match"),
        "{stderr}"
    );
    let out = run(
        &["consume", "users", "-e", "-s", "value=json", "-f", "%s\n"],
        b"",
    )
    .await;
    assert_eq!(stdout_of(&out).trim(), r#"{"name":"ada","age":36}"#);
}
