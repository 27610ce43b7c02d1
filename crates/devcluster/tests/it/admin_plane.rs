//! The HTTP admin plane and the fault-injection and metrics controls behind it: cluster state,
//! broker kill/stop/start over HTTP, injected latency, injected error codes, dropped
//! connections, Prometheus metrics, and the error answers. Waits are on the controller's
//! metadata watch or on the requests themselves, never on sleeps.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use serde_json::{json, Value};
use streamctl_devcluster::DevCluster;
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader};
use streamctl_protocol::messages::describe_configs::DescribeConfigsResource;
use streamctl_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use streamctl_protocol::messages::{
    ApiVersionsRequest, DescribeConfigsRequest, ListOffsetsRequest, MetadataRequest, ResponseBody,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use streamctl_testkit::cluster_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    addr, call, http, leader, metadata, produce, read_all, values, wait_partition, STEP,
};

fn partition<'a>(state: &'a Value, topic: &str, partition: i64) -> &'a Value {
    state["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == topic)
        .unwrap_or_else(|| panic!("topic {topic} in {state}"))["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partition"] == partition)
        .unwrap()
}

fn broker(state: &Value, id: i32) -> &Value {
    state["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
}

/// The value of one sample line (`name{labels} value`) of the metrics text.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_plane_is_off_by_default_and_on_loopback_when_asked() {
    let plain = DevCluster::builder().brokers(1).start().await.unwrap();
    assert_eq!(plain.admin_url(), None);
    plain.shutdown().await;
    let cluster = DevCluster::builder()
        .brokers(1)
        .admin_http(true)
        .start()
        .await
        .unwrap();
    let url = cluster.admin_url().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(cluster.admin_addr().unwrap().ip().is_loopback());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_state_shows_brokers_topics_and_watermarks() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    cluster.create_topic("s", 2, 3).unwrap();
    let l = leader(&cluster, "s", 0).await;
    let (err, base) = produce(addr(&cluster, l), "s", 0, -1, &values("v", 7))
        .await
        .unwrap();
    assert_eq!((err, base), (ErrorCode::None, 0));

    let r = http(&cluster, "GET", "/v1/cluster", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("application/json"));
    let state = r.json();
    let md = cluster.controller().snapshot();
    assert_eq!(state["cluster_id"], md.cluster_id.as_str());
    assert_eq!(state["controller"], md.controller_id);
    assert_eq!(state["brokers"].as_array().unwrap().len(), 3);
    for id in 1..=3 {
        let b = broker(&state, id);
        assert_eq!(b["running"], true);
        assert_eq!(b["host"], "127.0.0.1");
        assert_eq!(b["port"], addr(&cluster, id).port());
    }
    let topic = state["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "s")
        .unwrap();
    assert_eq!(
        topic["topic_id"],
        md.topic("s").unwrap().topic_id.to_string()
    );
    assert_eq!(topic["internal"], false);
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 2);
    let p0 = partition(&state, "s", 0);
    let meta = md.partition("s", 0).unwrap();
    assert_eq!(p0["leader"], l);
    assert_eq!(p0["leader_epoch"], meta.leader_epoch);
    assert_eq!(p0["replicas"], json!(meta.replicas));
    assert_eq!(p0["isr"], json!(meta.isr));
    assert_eq!(p0["isr"].as_array().unwrap().len(), 3);
    // acks=all was answered, so the leader's high watermark covers all 7 records.
    assert_eq!(p0["high_watermark"], 7);
    assert_eq!(p0["log_end_offset"], 7);
    assert_eq!(p0["log_start_offset"], 0);
    // The Rust handle serves the same view.
    assert_eq!(
        serde_json::to_value(cluster.state()).unwrap()["topics"],
        state["topics"]
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_start_over_http_move_leadership_and_rejoin_the_isr() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    cluster.create_topic("k", 1, 3).unwrap();
    let first = leader(&cluster, "k", 0).await;
    produce(addr(&cluster, first), "k", 0, -1, &values("a", 10))
        .await
        .unwrap();
    let epoch_before = partition(
        &http(&cluster, "GET", "/v1/cluster", None).await.json(),
        "k",
        0,
    )["leader_epoch"]
        .as_i64()
        .unwrap();

    let r = http(&cluster, "POST", &format!("/v1/brokers/{first}/kill"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["running"], false);
    let state = http(&cluster, "GET", "/v1/cluster", None).await.json();
    assert_eq!(broker(&state, first)["running"], false);
    let p = partition(&state, "k", 0);
    let new_leader = p["leader"].as_i64().unwrap();
    assert!(new_leader >= 1 && new_leader != i64::from(first), "{p}");
    assert!(p["leader_epoch"].as_i64().unwrap() > epoch_before, "{p}");
    assert!(!p["isr"].as_array().unwrap().contains(&json!(first)));
    // The new leader has everything acks=all acknowledged (its high watermark may still lag
    // until the remaining follower fetches, as in Kafka).
    assert_eq!(p["log_end_offset"], 10);

    let r = http(
        &cluster,
        "POST",
        &format!("/v1/brokers/{first}/start"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["running"], true);
    wait_partition(
        &cluster,
        "k",
        0,
        "restarted broker back in the ISR",
        |_, isr| isr.len() == 3,
    )
    .await;
    let state = http(&cluster, "GET", "/v1/cluster", None).await.json();
    assert_eq!(broker(&state, first)["running"], true);
    assert!(partition(&state, "k", 0)["isr"]
        .as_array()
        .unwrap()
        .contains(&json!(first)));
    // The leader counts the expansion right after the controller accepted it: wait for that
    // step (bounded), not for a fixed time.
    let expands = || -> u64 {
        (1..=3)
            .map(|n| {
                cluster
                    .metrics(n)
                    .unwrap()
                    .isr_expands
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    };
    tokio::time::timeout(STEP, async {
        while expands() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the rejoin is counted as an ISR expansion");

    // A clean stop over HTTP too.
    let other = (1..=3).find(|n| *n != first).unwrap();
    let r = http(&cluster, "POST", &format!("/v1/brokers/{other}/stop"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["running"], false);
    assert!(!cluster.broker(other).unwrap().is_running());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_latency_delays_every_answer_until_cleared() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    let latency = Duration::from_millis(300);
    let r = http(
        &cluster,
        "POST",
        "/v1/brokers/2/faults",
        Some(r#"{"latency_ms":300}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["latency_ms"], 300);
    assert_eq!(cluster.faults(2).unwrap().latency, Some(latency));

    let started = Instant::now();
    let answer = call(
        addr(&cluster, 2),
        ApiKey::Metadata,
        12,
        MetadataRequest::default().into(),
    )
    .await
    .unwrap();
    assert!(matches!(answer, ResponseBody::Metadata(_)));
    let elapsed = started.elapsed();
    assert!(elapsed >= latency, "answered after {elapsed:?}");

    // Faults belong to the broker slot: they survive a restart.
    cluster.kill_broker(2).await.unwrap();
    cluster.start_broker(2).await.unwrap();
    assert_eq!(cluster.faults(2).unwrap().latency, Some(latency));

    let r = http(&cluster, "DELETE", "/v1/brokers/2/faults", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["latency_ms"], 0);
    assert_eq!(cluster.faults(2).unwrap().latency, None);

    // The Rust handle has the same control.
    cluster
        .inject_latency(3, Duration::from_millis(200))
        .unwrap();
    let started = Instant::now();
    call(
        addr(&cluster, 3),
        ApiKey::ApiVersions,
        3,
        ApiVersionsRequest::default().into(),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    cluster.clear_faults(3).unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_produce_errors_fail_without_writing_then_clear() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    cluster.create_topic("e", 1, 3).unwrap();
    let l = leader(&cluster, "e", 0).await;
    let body = json!({"errors": {"api_key": 0, "error_code": 6, "count": 2}}).to_string();
    let r = http(
        &cluster,
        "POST",
        &format!("/v1/brokers/{l}/faults"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let view = r.json();
    assert_eq!(view["errors"][0]["api"], "Produce");
    assert_eq!(view["errors"][0]["error"], "NOT_LEADER_OR_FOLLOWER");
    assert_eq!(view["errors"][0]["remaining"], 2);

    for attempt in 0..2 {
        let (err, base) = produce(addr(&cluster, l), "e", 0, -1, &values("x", 4))
            .await
            .unwrap();
        assert_eq!(err, ErrorCode::NotLeaderOrFollower, "attempt {attempt}");
        assert_eq!(base, -1);
    }
    // The failed requests wrote nothing: the first success starts at offset 0.
    let (err, base) = produce(addr(&cluster, l), "e", 0, -1, &values("ok", 4))
        .await
        .unwrap();
    assert_eq!((err, base), (ErrorCode::None, 0));
    let (_, hw, leo) = cluster.replica(l, "e", 0).unwrap().offsets();
    assert_eq!((hw, leo), (4, 4));
    assert_eq!(
        read_all(addr(&cluster, l), "e", 0).await.unwrap(),
        values("ok", 4)
    );
    let view = http(&cluster, "GET", &format!("/v1/brokers/{l}/faults"), None)
        .await
        .json();
    assert_eq!(view["errors"], json!([]));
    let m = cluster.metrics(l).unwrap();
    assert_eq!(m.errors(ApiKey::Produce, ErrorCode::NotLeaderOrFollower), 2);
    let text = http(&cluster, "GET", "/metrics", None).await.body;
    assert_eq!(
        sample(
            &text,
            &format!(
                "streamctl_broker_errors_total{{broker=\"{l}\",api=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"}}"
            )
        ),
        Some(2.0),
        "{text}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_of_other_apis_use_their_error_fields() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    cluster.create_topic("o", 1, 3).unwrap();
    let l = leader(&cluster, "o", 0).await;
    produce(addr(&cluster, l), "o", 0, -1, &values("v", 3))
        .await
        .unwrap();

    // Fetch: every partition carries the error, once.
    cluster
        .inject_errors(l, ApiKey::Fetch, ErrorCode::FencedLeaderEpoch, 1)
        .unwrap();
    let err = read_all(addr(&cluster, l), "o", 0).await.unwrap_err();
    assert!(err.contains("FENCED_LEADER_EPOCH"), "{err}");
    assert_eq!(read_all(addr(&cluster, l), "o", 0).await.unwrap().len(), 3);

    // Metadata: every requested topic (names given by error code name over HTTP).
    let body = json!({"errors": {"api_key": "Metadata", "error_code": "UNKNOWN_SERVER_ERROR", "count": 1}});
    for id in 1..=3 {
        let r = http(
            &cluster,
            "POST",
            &format!("/v1/brokers/{id}/faults"),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let md = metadata(&cluster, "o").await;
    assert_eq!(
        md.topics[0].error_code,
        ErrorCode::UnknownServerError.code()
    );
    assert!(!md.brokers.is_empty(), "brokers are still listed");
    for id in 1..=3 {
        cluster.clear_faults(id).unwrap();
    }
    assert_eq!(metadata(&cluster, "o").await.topics[0].error_code, 0);

    // ListOffsets: every partition.
    cluster
        .inject_errors(l, ApiKey::ListOffsets, ErrorCode::LeaderNotAvailable, 1)
        .unwrap();
    let req = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: "o".into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::ListOffsets(r) = call(
        addr(&cluster, l),
        ApiKey::ListOffsets,
        7,
        req.clone().into(),
    )
    .await
    .unwrap() else {
        panic!("not a ListOffsets answer")
    };
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        ErrorCode::LeaderNotAvailable.code()
    );
    let ResponseBody::ListOffsets(r) = call(addr(&cluster, l), ApiKey::ListOffsets, 7, req.into())
        .await
        .unwrap()
    else {
        panic!("not a ListOffsets answer")
    };
    assert_eq!(r.topics[0].partitions[0].offset, 3);

    // DescribeConfigs: every resource.
    cluster
        .inject_errors(l, ApiKey::DescribeConfigs, ErrorCode::UnknownServerError, 1)
        .unwrap();
    let req = DescribeConfigsRequest {
        resources: vec![DescribeConfigsResource {
            resource_type: 2,
            resource_name: "o".into(),
            configuration_keys: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::DescribeConfigs(r) =
        call(addr(&cluster, l), ApiKey::DescribeConfigs, 4, req.into())
            .await
            .unwrap()
    else {
        panic!("not a DescribeConfigs answer")
    };
    assert_eq!(
        r.results[0].error_code,
        ErrorCode::UnknownServerError.code()
    );
    assert_eq!(r.results[0].resource_name, "o");

    // acks=0 gets no answer, so the injected fault closes the connection, as Kafka does on
    // an acks=0 error, and writes nothing.
    cluster
        .inject_errors(l, ApiKey::Produce, ErrorCode::NotLeaderOrFollower, 1)
        .unwrap();
    let closed = produce(addr(&cluster, l), "o", 0, 0, &values("lost", 2)).await;
    assert_eq!(closed.unwrap_err(), "connection closed");
    let (_, _, leo) = cluster.replica(l, "o", 0).unwrap().offsets();
    assert_eq!(leo, 3);
    let m = cluster.metrics(l).unwrap();
    assert_eq!(m.errors(ApiKey::Produce, ErrorCode::NotLeaderOrFollower), 1);
    assert_eq!(
        m.errors(ApiKey::DescribeConfigs, ErrorCode::UnknownServerError),
        1
    );
    cluster.shutdown().await;
}

/// Sends an ApiVersions request on `stream` and reads its answer.
async fn api_versions(stream: &mut TcpStream, correlation_id: i32) -> Result<(), String> {
    let header = RequestHeader {
        api_key: ApiKey::ApiVersions.code(),
        api_version: 3,
        correlation_id,
        client_id: Some("admin-plane-test".into()),
        unknown_tagged_fields: Vec::new(),
    };
    let mut out = BytesMut::new();
    frame::encode_request(&header, &ApiVersionsRequest::default().into(), &mut out)
        .map_err(|e| e.to_string())?;
    stream.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut buf = BytesMut::new();
    loop {
        if let Some(f) = FrameDecoder::default()
            .decode(&mut buf)
            .map_err(|e| e.to_string())?
        {
            frame::decode_response(f, ApiKey::ApiVersions, 3).map_err(|e| e.to_string())?;
            return Ok(());
        }
        let n = tokio::time::timeout(STEP, stream.read_buf(&mut buf))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_connections_closes_open_connections_only() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    let mut open = TcpStream::connect(addr(&cluster, 1)).await.unwrap();
    api_versions(&mut open, 1).await.unwrap();

    let r = http(
        &cluster,
        "POST",
        "/v1/brokers/1/faults",
        Some(r#"{"drop_connections":true}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The broker closes its end: the next read sees EOF (or a reset), not a timeout.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(STEP, open.read(&mut byte))
        .await
        .expect("the broker closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // New connections are served as usual.
    let mut fresh = TcpStream::connect(addr(&cluster, 1)).await.unwrap();
    api_versions(&mut fresh, 2).await.unwrap();
    // A broker's drop leaves the others' connections alone.
    let mut elsewhere = TcpStream::connect(addr(&cluster, 2)).await.unwrap();
    api_versions(&mut elsewhere, 3).await.unwrap();
    cluster.drop_connections(1).unwrap();
    api_versions(&mut elsewhere, 4).await.unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_traffic_per_broker() {
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    cluster.create_topic("m", 1, 3).unwrap();
    let l = leader(&cluster, "m", 0).await;
    for i in 0..3 {
        produce(addr(&cluster, l), "m", 0, -1, &values(&format!("b{i}"), 10))
            .await
            .unwrap();
    }
    assert_eq!(read_all(addr(&cluster, l), "m", 0).await.unwrap().len(), 30);

    let r = http(&cluster, "GET", "/metrics", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        r.content_type
    );
    let text = r.body;
    for name in [
        "streamctl_broker_up",
        "streamctl_broker_bytes_in_total",
        "streamctl_broker_messages_in_total",
        "streamctl_broker_bytes_out_total",
        "streamctl_broker_messages_out_total",
        "streamctl_broker_requests_total",
        "streamctl_broker_errors_total",
        "streamctl_broker_under_replicated_partitions",
        "streamctl_broker_isr_shrinks_total",
        "streamctl_broker_isr_expands_total",
        "streamctl_broker_produce_latency_ms",
        "streamctl_broker_fetch_latency_ms",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    let of = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    for id in 1..=3 {
        assert_eq!(of(&format!("streamctl_broker_up{{broker=\"{id}\"}}")), 1.0);
    }
    assert!(
        of(&format!(
            "streamctl_broker_bytes_in_total{{broker=\"{l}\"}}"
        )) > 0.0
    );
    assert_eq!(
        of(&format!(
            "streamctl_broker_messages_in_total{{broker=\"{l}\"}}"
        )),
        30.0
    );
    assert!(
        of(&format!(
            "streamctl_broker_bytes_out_total{{broker=\"{l}\"}}"
        )) > 0.0
    );
    assert!(
        of(&format!(
            "streamctl_broker_messages_out_total{{broker=\"{l}\"}}"
        )) >= 30.0
    );
    assert_eq!(
        of(&format!(
            "streamctl_broker_requests_total{{broker=\"{l}\",api=\"Produce\"}}"
        )),
        3.0
    );
    assert_eq!(
        of(&format!(
            "streamctl_broker_produce_latency_ms_count{{broker=\"{l}\"}}"
        )),
        3.0
    );
    assert_eq!(
        of(&format!(
            "streamctl_broker_produce_latency_ms_bucket{{broker=\"{l}\",le=\"+Inf\"}}"
        )),
        3.0
    );
    let follower = (1..=3).find(|n| *n != l).unwrap();
    assert!(
        of(&format!(
            "streamctl_broker_replication_bytes_in_total{{broker=\"{follower}\"}}"
        )) > 0.0
    );
    assert_eq!(
        of(&format!(
            "streamctl_broker_under_replicated_partitions{{broker=\"{l}\"}}"
        )),
        0.0
    );

    // A follower down: the leader reports the partition under-replicated.
    cluster.kill_broker(follower).await.unwrap();
    wait_partition(&cluster, "m", 0, "follower out of the ISR", |_, isr| {
        isr.len() == 2
    })
    .await;
    let text = http(&cluster, "GET", "/metrics", None).await.body;
    assert_eq!(
        sample(
            &text,
            &format!("streamctl_broker_under_replicated_partitions{{broker=\"{l}\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("streamctl_broker_up{{broker=\"{follower}\"}}")
        ),
        Some(0.0)
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_brokers_are_404_and_bad_bodies_are_400() {
    let cluster = cluster_with(1, |b| b.admin_http(true)).await;
    for (method, path) in [
        ("POST", "/v1/brokers/99/kill"),
        ("POST", "/v1/brokers/99/stop"),
        ("POST", "/v1/brokers/abc/start"),
        ("GET", "/v1/brokers/99/faults"),
        ("DELETE", "/v1/brokers/-1/faults"),
        ("GET", "/v2/nothing"),
    ] {
        let r = http(&cluster, method, path, None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert!(r.json()["error"].is_string(), "{method} {path}: {}", r.body);
    }
    // The broker is checked before the body.
    let r = http(&cluster, "POST", "/v1/brokers/7/faults", Some("nonsense")).await;
    assert_eq!(r.status, 404, "{}", r.body);

    for body in [
        "",
        "not json",
        "{}",
        r#"{"latency_ms":"soon"}"#,
        r#"{"latency_ms":-5}"#,
        r#"{"latency_ms":86400000}"#,
        r#"{"unknown":1}"#,
        r#"{"drop_connections":false}"#,
        r#"{"errors":{"api_key":0,"error_code":6}}"#,
        r#"{"errors":{"api_key":0,"error_code":6,"count":0}}"#,
        r#"{"errors":{"api_key":0,"error_code":0,"count":1}}"#,
        r#"{"errors":{"api_key":4,"error_code":6,"count":1}}"#,
        r#"{"errors":{"api_key":"Nope","error_code":6,"count":1}}"#,
        r#"{"errors":{"api_key":0,"error_code":"NOPE","count":1}}"#,
        r#"{"latency_ms":10,"errors":{"api_key":999,"error_code":6,"count":1}}"#,
    ] {
        let r = http(&cluster, "POST", "/v1/brokers/1/faults", Some(body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.json()["error"].is_string(), "{body}: {}", r.body);
    }
    // A refused request changed nothing.
    assert_eq!(cluster.faults(1).unwrap(), Default::default());

    let r = http(&cluster, "GET", "/v1/brokers/1/kill", None).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(r.json()["error"].is_string());
    cluster.shutdown().await;
}
