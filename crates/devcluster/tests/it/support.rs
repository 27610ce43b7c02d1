//! A tiny raw Kafka client for the dev cluster's own tests (the SDK is tested separately):
//! one request at a time over a TcpStream, using the protocol crate's frames.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use streamctl_devcluster::DevCluster;
use streamctl_protocol::compression::Compression;
use streamctl_protocol::frame::{self, FrameDecoder, RequestHeader};
use streamctl_protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
use streamctl_protocol::messages::metadata::MetadataRequestTopic;
use streamctl_protocol::messages::produce::{ProduceRequestPartitionData, ProduceRequestTopicData};
use streamctl_protocol::messages::{
    FetchRequest, FetchResponse, MetadataRequest, MetadataResponse, ProduceRequest,
    ProduceResponse, Request, RequestBody, ResponseBody,
};
use streamctl_protocol::record_batch::{RecordBatchBuilder, RecordBatches};
use streamctl_protocol::{ApiKey, ErrorCode};
use streamctl_testkit::{python, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

pub const STEP: Duration = Duration::from_secs(15);

/// Sends one request and reads its response; an error if the broker closed or stalled.
pub async fn call(
    addr: SocketAddr,
    api: ApiKey,
    version: i16,
    body: RequestBody,
) -> Result<ResponseBody, String> {
    let mut s = tokio::time::timeout(STEP, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out")?
        .map_err(|e| e.to_string())?;
    let header = RequestHeader {
        api_key: api.code(),
        api_version: version,
        correlation_id: 1,
        client_id: Some("test".into()),
        unknown_tagged_fields: Vec::new(),
    };
    let mut out = BytesMut::new();
    frame::encode_request(&header, &body, &mut out).map_err(|e| e.to_string())?;
    s.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut buf = BytesMut::new();
    let dec = FrameDecoder::default();
    loop {
        if let Some(f) = dec.decode(&mut buf).map_err(|e| e.to_string())? {
            let (h, b) = frame::decode_response(f, api, version).map_err(|e| e.to_string())?;
            if h.correlation_id != header.correlation_id {
                return Err(format!(
                    "correlation id {} answered {}",
                    header.correlation_id, h.correlation_id
                ));
            }
            return Ok(b);
        }
        let n = tokio::time::timeout(STEP, s.read_buf(&mut buf))
            .await
            .map_err(|_| "response timed out")?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
    }
}

/// Reads one frame, or `None` if the broker closed the connection; panics if it does neither
/// within `wait`.
pub async fn read_frame(s: &mut TcpStream, wait: Duration) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    let dec = FrameDecoder::default();
    loop {
        if let Some(f) = dec.decode(&mut buf).unwrap() {
            return Some(f);
        }
        let n = tokio::time::timeout(wait, s.read_buf(&mut buf))
            .await
            .expect("broker neither answered nor closed")
            .ok()?;
        if n == 0 {
            return None;
        }
    }
}

/// One typed request on a fresh connection; panics (with the API and version) if the broker
/// closes, stalls or answers something else.
pub async fn request<Req: Request>(addr: SocketAddr, req: Req, version: i16) -> Req::Response {
    let api = <Req as streamctl_protocol::Message>::API_KEY;
    let body = call(addr, api, version, req.into())
        .await
        .unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"));
    Req::response(body).expect("a response of another api")
}

/// The address of a running broker.
pub fn addr(cluster: &DevCluster, node_id: i32) -> SocketAddr {
    cluster.broker(node_id).expect("broker").addrs()[0]
}

/// Metadata for one topic from any running broker.
pub async fn metadata(cluster: &DevCluster, topic: &str) -> MetadataResponse {
    let live = cluster
        .brokers()
        .into_iter()
        .find(|b| b.is_running())
        .expect("a running broker");
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    match call(live.addrs()[0], ApiKey::Metadata, 12, req.into())
        .await
        .expect("metadata")
    {
        ResponseBody::Metadata(m) => m,
        other => panic!("{other:?}"),
    }
}

/// The leader of a partition according to metadata.
pub async fn leader(cluster: &DevCluster, topic: &str, partition: i32) -> i32 {
    let md = metadata(cluster, topic).await;
    md.topics[0]
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .expect("partition")
        .leader_id
}

/// `n` record values `{prefix}-0`, `{prefix}-1`, …
pub fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|j| format!("{prefix}-{j}")).collect()
}

/// One batch of records with values `values`.
pub fn batch(values: &[String]) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for v in values {
        b.push(0, None, Some(v.as_bytes()), &[]).expect("push");
    }
    b.build().expect("build")
}

/// The wall clock in milliseconds, for record timestamps: retention and producer expiration
/// go by them, so records stamped 1970 would be deleted or forgotten.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One idempotent batch (producer id, epoch, first sequence), stamped now: the broker
/// forgets a producer whose newest batch is older than `producer.id.expiration.ms` (by its
/// timestamp, as Kafka), so a batch stamped 1970 would be forgotten at the next check.
pub fn idempotent_batch(values: &[String], producer_id: i64, epoch: i16, sequence: i32) -> Bytes {
    let now = now_ms();
    let mut b = RecordBatchBuilder::new(Compression::None).producer(producer_id, epoch, sequence);
    for v in values {
        b.push(now, None, Some(v.as_bytes()), &[]).expect("push");
    }
    b.build().expect("build")
}

/// Produces one batch to a partition's leader at `addr`; the partition's error and base offset.
pub async fn produce(
    addr: SocketAddr,
    topic: &str,
    partition: i32,
    acks: i16,
    values: &[String],
) -> Result<(ErrorCode, i64), String> {
    produce_batch(addr, topic, partition, acks, batch(values)).await
}

/// Produces prepared record bytes; the partition's error and base offset.
pub async fn produce_batch(
    addr: SocketAddr,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Bytes,
) -> Result<(ErrorCode, i64), String> {
    let req = ProduceRequest {
        acks,
        timeout_ms: 10_000,
        topic_data: vec![ProduceRequestTopicData {
            name: topic.into(),
            partition_data: vec![ProduceRequestPartitionData {
                index: partition,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match call(addr, ApiKey::Produce, 9, req.into()).await? {
        ResponseBody::Produce(ProduceResponse { responses, .. }) => {
            let p = &responses[0].partition_responses[0];
            Ok((ErrorCode::from_code(p.error_code), p.base_offset))
        }
        other => Err(format!("{other:?}")),
    }
}

/// Reads every committed record value of a partition from its leader.
pub async fn read_all(
    addr: SocketAddr,
    topic: &str,
    partition: i32,
) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    let mut offset = 0;
    loop {
        let req = FetchRequest {
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 10 << 20,
            topics: vec![FetchRequestTopic {
                topic: topic.into(),
                partitions: vec![FetchRequestPartition {
                    partition,
                    fetch_offset: offset,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let ResponseBody::Fetch(FetchResponse { responses, .. }) =
            call(addr, ApiKey::Fetch, 12, req.into()).await?
        else {
            return Err("not a fetch response".into());
        };
        let p = &responses[0].partitions[0];
        if p.error_code != 0 {
            return Err(format!(
                "fetch error {}",
                ErrorCode::from_code(p.error_code)
            ));
        }
        let mut progressed = false;
        for b in RecordBatches::new(p.records.clone().unwrap_or_default()) {
            let b = b.map_err(|e| e.to_string())?;
            for r in b.records(64 << 20).map_err(|e| e.to_string())? {
                let r = r.map_err(|e| e.to_string())?;
                if r.offset >= offset {
                    values.push(String::from_utf8_lossy(&r.value.unwrap_or_default()).into_owned());
                    offset = r.offset + 1;
                    progressed = true;
                }
            }
        }
        if !progressed {
            return Ok(values);
        }
    }
}

/// Waits (on the controller's metadata watch, not by sleeping) until `cond` holds for the
/// partition's (leader, isr), or panics after `STEP`.
pub async fn wait_partition(
    cluster: &DevCluster,
    topic: &str,
    partition: i32,
    what: &str,
    cond: impl Fn(i32, &[i32]) -> bool,
) {
    let mut rx = cluster.controller().subscribe();
    let ok = tokio::time::timeout(STEP, async {
        loop {
            {
                let md = rx.borrow_and_update();
                if let Some(p) = md.partition(topic, partition) {
                    if cond(p.leader, &p.isr) {
                        return;
                    }
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    if ok.is_err() {
        // Say what every replica thinks, so a rare failure explains itself.
        let replicas: Vec<String> = cluster
            .brokers()
            .iter()
            .filter(|b| b.is_running())
            .filter_map(|b| {
                cluster.replica(b.node_id(), topic, partition).map(|r| {
                    let (start, hw, leo) = r.offsets();
                    format!(
                        "broker {}: {:?} start {start} hw {hw} leo {leo}",
                        b.node_id(),
                        r.role()
                    )
                })
            })
            .collect();
        panic!(
            "timed out waiting for {topic}-{partition}: {what}; now {:?}; replicas: {replicas:?}",
            cluster.controller().snapshot().partition(topic, partition)
        );
    }
}

pub use streamctl_testkit::HttpResponse;

/// One request to the cluster's admin plane.
pub async fn http(
    cluster: &DevCluster,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> HttpResponse {
    let addr = cluster.admin_addr().expect("admin plane enabled");
    streamctl_testkit::http(addr, method, path, body).await
}

// ---------------------------------------------------------------------------------------------
// Third-party clients: the Python scripts of tests/interop/
// ---------------------------------------------------------------------------------------------

/// The path of `tests/interop/<name>`.
pub fn interop_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// The `ok: …` summary line among `out`, the stdout lines of a script that `finished`;
/// panics, with the script's stderr, if it failed or printed no summary.
pub fn script_summary<'a>(finished: &std::process::Output, out: &'a [String]) -> &'a str {
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert!(
        finished.status.success(),
        "script failed: {stderr}\n{out:?}"
    );
    out.iter()
        .find(|l| l.starts_with("ok:"))
        .expect("no summary line")
}

/// Runs `tests/interop/<script>` with `args` under a Python that can import `module`, bounded
/// in time ([`streamctl_testkit::run`]); prints its `ok: …` summary line (panics without one)
/// and returns its stdout. `None` when no such Python is installed (see
/// [`streamctl_testkit::require`]).
pub async fn run_python(module: &str, script: &str, args: &[&str]) -> Option<String> {
    let py = python(module)?;
    let out = run(
        Command::new(py).arg(interop_script(script)).args(args),
        None,
    )
    .await;
    let summary = out
        .lines()
        .find(|l| l.starts_with("ok:"))
        .unwrap_or_else(|| panic!("no summary: {out}"));
    println!("{summary}");
    Some(out)
}
