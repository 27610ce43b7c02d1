//! The registry served by a dev cluster, driven through its REST API as Confluent's clients
//! drive it: ids, versions, compatibility, deletion, and what survives the failover of the
//! broker leading `_schemas` and a new registry reading the topic back.

// Test code: a failed step fails the test, saying why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{json, Value};
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster_with, http};

const USER_V1: &str =
    r#"{"type":"record","name":"User","namespace":"demo","fields":[{"name":"id","type":"long"}]}"#;
const USER_V2: &str = r#"{"type":"record","name":"User","namespace":"demo","fields":[{"name":"id","type":"long"},{"name":"name","type":"string","default":""}]}"#;
/// A field without a default: data written with v1/v2 cannot be read with it.
const USER_BAD: &str = r#"{"type":"record","name":"User","namespace":"demo","fields":[{"name":"id","type":"long"},{"name":"email","type":"string"}]}"#;

fn addr(dc: &DevCluster) -> SocketAddr {
    let url = dc.schema_registry_url().expect("a registry");
    url.trim_start_matches("http://")
        .parse()
        .expect("host:port")
}

async fn call(dc: &DevCluster, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let answer = http(addr(dc), method, path, body.as_deref()).await;
    let value = serde_json::from_str(&answer.body).unwrap_or(Value::String(answer.body));
    (answer.status, value)
}

fn schema(text: &str) -> Option<Value> {
    Some(json!({"schema": text, "schemaType": "AVRO", "references": []}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_versions_compatibility_and_deletion_follow_confluents_rules() {
    let dc = cluster_with(3, |b| b.schema_registry(true)).await;
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions?normalize=False",
        schema(USER_V1),
    )
    .await;
    assert_eq!(
        (status, &v["id"], &v["version"]),
        (200, &json!(1), &json!(1)),
        "{v}"
    );
    // The same schema written differently is the same schema: same id, no new version.
    let spaced = USER_V1.replace(',', ", ");
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(&spaced),
    )
    .await;
    assert_eq!((&v["id"], &v["version"]), (&json!(1), &json!(1)), "{v}");
    // Under another subject it keeps its id and starts that subject at version 1.
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/other-value/versions",
        schema(USER_V1),
    )
    .await;
    assert_eq!((&v["id"], &v["version"]), (&json!(1), &json!(1)), "{v}");
    // A compatible evolution (a field with a default) is version 2 with a new id.
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_V2),
    )
    .await;
    assert_eq!(
        (status, &v["id"], &v["version"]),
        (200, &json!(2), &json!(2)),
        "{v}"
    );
    // An incompatible one is refused with 409 / 40901 and says which field broke it.
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_BAD),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (409, &json!(40901)), "{v}");
    assert!(v["message"].as_str().unwrap().contains("email"), "{v}");
    let (_, v) = call(
        &dc,
        "POST",
        "/compatibility/subjects/users-value/versions/latest?verbose=True",
        schema(USER_BAD),
    )
    .await;
    assert_eq!(v["is_compatible"], json!(false), "{v}");
    assert!(
        v["messages"]
            .to_string()
            .contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{v}"
    );
    // With NONE on the subject it goes in.
    let (status, _) = call(
        &dc,
        "PUT",
        "/config/users-value",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, v) = call(&dc, "GET", "/config/users-value", None).await;
    assert_eq!(v, json!({"compatibilityLevel": "NONE"}));
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_BAD),
    )
    .await;
    assert_eq!((status, &v["version"]), (200, &json!(3)), "{v}");

    // Reads: by id, by version, the lists, and a lookup.
    let (_, v) = call(&dc, "GET", "/schemas/ids/2?subject=users-value", None).await;
    assert_eq!(v["schemaType"], json!("AVRO"));
    assert!(v["schema"].as_str().unwrap().contains("\"name\""), "{v}");
    let (_, v) = call(&dc, "GET", "/subjects", None).await;
    assert_eq!(v, json!(["other-value", "users-value"]));
    let (_, v) = call(&dc, "GET", "/subjects/users-value/versions", None).await;
    assert_eq!(v, json!([1, 2, 3]));
    let (_, v) = call(&dc, "GET", "/schemas/ids/1/versions", None).await;
    assert_eq!(
        v,
        json!([{"subject": "other-value", "version": 1}, {"subject": "users-value", "version": 1}])
    );
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/users-value?deleted=False",
        schema(USER_V2),
    )
    .await;
    assert_eq!((&v["id"], &v["version"]), (&json!(2), &json!(2)), "{v}");
    let (status, v) = call(&dc, "GET", "/subjects/nope/versions/latest", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40401)));
    let (status, v) = call(&dc, "GET", "/subjects/users-value/versions/9", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40402)));
    let (status, v) = call(&dc, "GET", "/schemas/ids/99", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40403)));
    let (status, v) = call(&dc, "GET", "/subjects/users-value/versions/zero", None).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42202)));
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema("{\"type\":\"nope\"}"),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42201)), "{v}");

    // Deletion: soft first, then hard; a deleted schema stays readable by id.
    let (status, v) = call(&dc, "DELETE", "/subjects/other-value?permanent=true", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40405)));
    let (_, v) = call(&dc, "DELETE", "/subjects/other-value", None).await;
    assert_eq!(v, json!([1]));
    let (_, v) = call(&dc, "GET", "/subjects", None).await;
    assert_eq!(v, json!(["users-value"]));
    let (_, v) = call(&dc, "GET", "/subjects?deleted=true", None).await;
    assert_eq!(v, json!(["other-value", "users-value"]));
    let (_, v) = call(&dc, "DELETE", "/subjects/other-value?permanent=true", None).await;
    assert_eq!(v, json!([1]));
    let (_, v) = call(&dc, "DELETE", "/subjects/users-value/versions/3", None).await;
    assert_eq!(v, json!(3));
    let (_, v) = call(&dc, "GET", "/subjects/users-value/versions/latest", None).await;
    assert_eq!(v["version"], json!(2));
    let (status, _) = call(&dc, "GET", "/schemas/ids/3", None).await;
    assert_eq!(status, 200);
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_schemas_survive_the_failover_of_schemas_leader_and_a_new_registry() {
    let dir = streamctl_testkit::TempDir::new("registry");
    let dc = cluster_with(3, |b| b.schema_registry(true).data_dir(dir.path())).await;
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_V1),
    )
    .await;
    assert_eq!(v["id"], json!(1));
    let leader = dc
        .state()
        .topics
        .iter()
        .find(|t| t.name == "_schemas")
        .and_then(|t| t.partitions.first())
        .map(|p| p.leader)
        .expect("_schemas has a leader");
    dc.kill_broker(leader).await.unwrap();
    // Written while its old leader is down: the new leader takes it.
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_V2),
    )
    .await;
    assert_eq!((status, &v["id"]), (200, &json!(2)), "{v}");
    dc.shutdown().await;
    // The whole cluster again on its data: a new registry reads the same state back.
    let dc = cluster_with(3, |b| b.schema_registry(true).data_dir(dir.path())).await;
    let (_, v) = call(&dc, "GET", "/subjects/users-value/versions", None).await;
    assert_eq!(v, json!([1, 2]));
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/users-value?deleted=False",
        schema(USER_V2),
    )
    .await;
    assert_eq!((&v["id"], &v["version"]), (&json!(2), &json!(2)), "{v}");
    // Ids carry on from the largest one read back.
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/orders-value/versions",
        schema(r#""string""#),
    )
    .await;
    assert_eq!(v["id"], json!(3), "{v}");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_and_mode_are_global_and_per_subject() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let (_, v) = call(&dc, "GET", "/config", None).await;
    assert_eq!(v, json!({"compatibilityLevel": "BACKWARD"}));
    let (status, v) = call(&dc, "GET", "/config/s", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40408)));
    let (_, v) = call(&dc, "GET", "/config/s?defaultToGlobal=True", None).await;
    assert_eq!(v, json!({"compatibilityLevel": "BACKWARD"}));
    let (status, v) = call(
        &dc,
        "PUT",
        "/config",
        Some(json!({"compatibility": "full_transitive"})),
    )
    .await;
    assert_eq!(
        (status, v),
        (200, json!({"compatibility": "FULL_TRANSITIVE"}))
    );
    let (status, v) = call(
        &dc,
        "PUT",
        "/config",
        Some(json!({"compatibility": "SIDEWAYS"})),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42203)));
    let (_, v) = call(&dc, "DELETE", "/config", None).await;
    assert_eq!(v, json!({"compatibilityLevel": "FULL_TRANSITIVE"}));
    let (_, v) = call(&dc, "GET", "/config", None).await;
    assert_eq!(v, json!({"compatibilityLevel": "BACKWARD"}));

    // A read-only subject refuses registration; the others do not.
    let (status, _) = call(
        &dc,
        "PUT",
        "/mode/frozen",
        Some(json!({"mode": "READONLY"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, v) = call(&dc, "POST", "/subjects/frozen/versions", schema(USER_V1)).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42205)), "{v}");
    let (status, _) = call(&dc, "POST", "/subjects/open/versions", schema(USER_V1)).await;
    assert_eq!(status, 200);
    let (_, v) = call(&dc, "DELETE", "/mode/frozen", None).await;
    assert_eq!(v, json!({"mode": "READONLY"}));
    let (status, _) = call(&dc, "POST", "/subjects/frozen/versions", schema(USER_V1)).await;
    assert_eq!(status, 200);
    // What Confluent's clients ask besides.
    let (_, v) = call(&dc, "GET", "/schemas/types", None).await;
    assert_eq!(v, json!(["JSON", "PROTOBUF", "AVRO"]));
    let (status, v) = call(
        &dc,
        "GET",
        "/associations/resources/-/users?resourceType=topic&associationType=value",
        None,
    )
    .await;
    assert_eq!((status, v), (200, json!([])));
    let (status, v) = call(&dc, "GET", "/no/such/route", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(404)));
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_get_distinct_versions_and_ids() {
    let dc = Arc::new(cluster_with(3, |b| b.schema_registry(true)).await);
    call(
        &dc,
        "PUT",
        "/config",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let dc = dc.clone();
            tokio::spawn(async move {
                let text = format!(r#"{{"type":"fixed","name":"F{i}","size":{}}}"#, i + 1);
                call(&dc, "POST", "/subjects/many/versions", schema(&text)).await
            })
        })
        .collect();
    let mut versions = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        versions.insert(v["version"].as_i64().unwrap());
        ids.insert(v["id"].as_i64().unwrap());
    }
    assert_eq!(versions, (1..=10).collect());
    assert_eq!(ids.len(), 10);
    let (_, listed) = call(&dc, "GET", "/subjects/many/versions", None).await;
    assert_eq!(listed, json!((1..=10).collect::<Vec<_>>()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_mode_takes_given_ids_but_never_redefines_one() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let (_, v) = call(&dc, "POST", "/subjects/a/versions", schema(USER_V1)).await;
    assert_eq!(v["id"], json!(1));
    call(&dc, "PUT", "/mode", Some(json!({"mode": "IMPORT"}))).await;
    // Without an id, or giving id 1 (taken by another schema) another meaning: refused.
    let (status, v) = call(&dc, "POST", "/subjects/b/versions", schema(USER_V2)).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42205)), "{v}");
    let mut with_id = schema(USER_V2).unwrap();
    with_id["id"] = json!(1);
    let (status, v) = call(&dc, "POST", "/subjects/b/versions", Some(with_id.clone())).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42205)), "{v}");
    with_id["id"] = json!(100);
    with_id["version"] = json!(5);
    let (status, v) = call(&dc, "POST", "/subjects/b/versions", Some(with_id)).await;
    assert_eq!(
        (status, &v["id"], &v["version"]),
        (200, &json!(100), &json!(5)),
        "{v}"
    );
    // Back in READWRITE, ids carry on past the imported one.
    call(&dc, "PUT", "/mode", Some(json!({"mode": "READWRITE"}))).await;
    let (_, v) = call(&dc, "POST", "/subjects/c/versions", schema(r#""int""#)).await;
    assert_eq!(v["id"], json!(101), "{v}");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_resolve_through_every_level_and_new_subjects_are_compatible() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let c = r#"{"type":"record","name":"C","fields":[{"name":"x","type":"int"}]}"#;
    let b = r#"{"type":"record","name":"B","fields":[{"name":"c","type":"C"}]}"#;
    let a = r#"{"type":"record","name":"A","fields":[{"name":"b","type":"B"}]}"#;
    let (_, v) = call(&dc, "POST", "/subjects/c/versions", schema(c)).await;
    assert_eq!(v["version"], json!(1), "{v}");
    let with = |text: &str, name: &str, subject: &str| {
        Some(
            json!({"schema": text, "references": [{"name": name, "subject": subject, "version": 1}]}),
        )
    };
    let (status, v) = call(&dc, "POST", "/subjects/b/versions", with(b, "C", "c")).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = call(&dc, "POST", "/subjects/a/versions", with(a, "B", "b")).await;
    assert_eq!(status, 200, "A -> B -> C: {v}");
    // A subject with no version yet: anything is compatible with its `latest`.
    let (status, v) = call(
        &dc,
        "POST",
        "/compatibility/subjects/fresh/versions/latest",
        schema(c),
    )
    .await;
    assert_eq!((status, &v["is_compatible"]), (200, &json!(true)), "{v}");
    let (_, b_id) = call(&dc, "GET", "/subjects/b/versions/1", None).await;
    let (status, v) = call(&dc, "GET", "/subjects/c/versions/1/referencedby", None).await;
    assert_eq!((status, v), (200, json!([b_id["id"]])));
    // A referenced subject or version is not deleted while a live schema needs it.
    let (status, v) = call(&dc, "DELETE", "/subjects/c", None).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42206)), "{v}");
    let (status, v) = call(&dc, "DELETE", "/subjects/b/versions/1", None).await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42206)), "{v}");
    // Once A goes, B may; and the last version of a subject deleted for good takes the
    // subject's own level with it.
    let (status, _) = call(
        &dc,
        "PUT",
        "/config/a",
        Some(json!({"compatibility": "FULL"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(&dc, "DELETE", "/subjects/a/versions/1", None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&dc, "DELETE", "/subjects/a/versions/1?permanent=true", None).await;
    assert_eq!(status, 200);
    let (status, v) = call(&dc, "GET", "/config/a", None).await;
    assert_eq!((status, &v["error_code"]), (404, &json!(40408)), "{v}");
    let (status, v) = call(&dc, "DELETE", "/subjects/b", None).await;
    assert_eq!((status, &v), (200, &json!([1])), "{v}");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schemas_topic_that_could_lose_schemas_is_refused() {
    let dir = streamctl_testkit::TempDir::new("registry-policy");
    let dc = cluster_with(1, |b| b.data_dir(dir.path())).await;
    dc.create_topic_with("_schemas", 1, 1, &[("cleanup.policy", "delete")])
        .unwrap();
    dc.shutdown().await;
    let refused = DevCluster::builder()
        .brokers(1)
        .data_dir(dir.path())
        .schema_registry(true)
        .start()
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("cleanup.policy=delete"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_and_json_schemas_are_one_schema_however_written_and_checked() {
    let dc = cluster_with(1, |b| b.schema_registry(true)).await;
    let typed = |text: &str, schema_type: &str| {
        Some(json!({"schema": text, "schemaType": schema_type, "references": []}))
    };
    let proto =
        "syntax = \"proto3\";\npackage shop;\nmessage Order { string id = 1; int32 count = 2; }\n";
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/orders-value/versions",
        typed(proto, "PROTOBUF"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_u64().unwrap();
    // Stored as printed from the descriptor; served as a base64 descriptor on request, as
    // Confluent's Protobuf deserializers ask, and that descriptor is the same schema.
    let (_, v) = call(&dc, "GET", &format!("/schemas/ids/{id}"), None).await;
    let stored = v["schema"].as_str().unwrap().to_string();
    assert!(stored.contains("int32 count = 2;"), "{stored}");
    let (_, v) = call(
        &dc,
        "GET",
        &format!("/schemas/ids/{id}?format=serialized"),
        None,
    )
    .await;
    let serialized = v["schema"].as_str().unwrap().to_string();
    assert!(!serialized.contains("syntax"), "{serialized}");
    let (_, v) = call(
        &dc,
        "POST",
        "/subjects/orders-value/versions",
        typed(&serialized, "PROTOBUF"),
    )
    .await;
    assert_eq!((&v["id"], &v["version"]), (&json!(id), &json!(1)), "{v}");
    let (_, v) = call(
        &dc,
        "GET",
        "/subjects/orders-value/versions/1?format=serialized",
        None,
    )
    .await;
    assert_eq!(v["schema"], json!(serialized));
    // int32 → sint32 changes the wire encoding: refused, and the reason names the field.
    let bad = proto.replace("int32 count", "sint32 count");
    let (status, v) = call(
        &dc,
        "POST",
        "/compatibility/subjects/orders-value/versions/latest?verbose=true",
        typed(&bad, "PROTOBUF"),
    )
    .await;
    assert_eq!((status, &v["is_compatible"]), (200, &json!(false)), "{v}");
    assert!(
        v["messages"]
            .to_string()
            .contains("FIELD_SCALAR_KIND_CHANGED"),
        "{v}"
    );
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/orders-value/versions",
        typed(&bad, "PROTOBUF"),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (409, &json!(40901)), "{v}");
    // An import nobody registered, and a type that does not parse, are invalid schemas.
    let importing = "syntax = \"proto3\"; import \"missing.proto\"; message A { Missing m = 1; }";
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/a-value/versions",
        typed(importing, "PROTOBUF"),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42201)), "{v}");
    // JSON Schema: stored without insignificant whitespace; another type in the same subject
    // is incompatible whatever the level.
    let user = r#"{"type": "object", "properties": {"id": {"type": "integer"}}}"#;
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        typed(user, "JSON"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = call(&dc, "GET", "/subjects/users-value/versions/latest", None).await;
    assert_eq!(
        (&v["schema"], &v["schemaType"]),
        (
            &json!(r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#),
            &json!("JSON")
        ),
        "{v}"
    );
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/users-value/versions",
        schema(USER_V1),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (409, &json!(40901)), "{v}");
    let (status, v) = call(
        &dc,
        "POST",
        "/subjects/bad-value/versions",
        typed(r#"{"type": 5}"#, "JSON"),
    )
    .await;
    assert_eq!((status, &v["error_code"]), (422, &json!(42201)), "{v}");
    dc.shutdown().await;
}
