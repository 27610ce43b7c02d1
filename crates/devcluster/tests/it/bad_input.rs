//! Hostile and broken input against a live broker: each case gets an error response or a
//! closed connection, never a panic, and never disturbs other connections.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_devcluster::DevCluster;
use streamctl_protocol::frame::{self, RequestHeader};
use streamctl_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, RequestBody, ResponseBody,
};
use streamctl_protocol::{ApiKey, ErrorCode, Message};
use streamctl_testkit::cluster;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::read_frame;

const STEP: Duration = Duration::from_secs(10);

async fn start() -> (DevCluster, SocketAddr) {
    let cluster = cluster(1).await;
    let addr = cluster.broker(1).unwrap().addrs()[0];
    (cluster, addr)
}

/// Sends raw bytes as one frame body (size prefix added).
async fn send_frame(s: &mut TcpStream, body: &[u8]) {
    let mut buf = BytesMut::new();
    buf.put_i32(body.len() as i32);
    buf.put_slice(body);
    s.write_all(&buf).await.unwrap();
}

fn header(api: ApiKey, version: i16, correlation_id: i32) -> RequestHeader {
    RequestHeader {
        api_key: api.code(),
        api_version: version,
        correlation_id,
        client_id: Some("bad-input-test".into()),
        unknown_tagged_fields: Vec::new(),
    }
}

/// A well-formed ApiVersions round trip: proves a connection is served.
async fn healthy(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut buf = BytesMut::new();
    frame::encode_request(
        &header(ApiKey::ApiVersions, 3, 77),
        &RequestBody::from(ApiVersionsRequest::default()),
        &mut buf,
    )
    .unwrap();
    s.write_all(&buf).await.unwrap();
    let f = read_frame(&mut s, STEP)
        .await
        .expect("healthy connection closed");
    let (h, body) = frame::decode_response(f, ApiKey::ApiVersions, 3).unwrap();
    assert_eq!(h.correlation_id, 77);
    let ResponseBody::ApiVersions(r) = body else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert!(r.api_keys.iter().any(|k| k.api_key == ApiKey::Fetch.code()));
}

async fn assert_closed(s: &mut TcpStream) {
    assert!(
        read_frame(s, STEP).await.is_none(),
        "broker answered instead of closing"
    );
}

#[tokio::test]
async fn garbage_body_closes_only_that_connection() {
    let (cluster, addr) = start().await;
    let mut bad = TcpStream::connect(addr).await.unwrap();
    // A Metadata v9 header followed by a compact array claiming 2^28 topics.
    let mut body = BytesMut::new();
    header(ApiKey::Metadata, 9, 1).encode_to(&mut body).unwrap();
    body.put_slice(&[0xff, 0xff, 0xff, 0x7f, 0x01]);
    send_frame(&mut bad, &body).await;
    assert_closed(&mut bad).await;
    healthy(addr).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn truncated_header_and_unknown_api_key_close_the_connection() {
    let (cluster, addr) = start().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    send_frame(&mut s, &[0x00, 0x03, 0x00]).await;
    assert_closed(&mut s).await;

    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut body = BytesMut::new();
    body.put_i16(9999);
    body.put_i16(0);
    body.put_i32(5);
    body.put_i16(-1);
    send_frame(&mut s, &body).await;
    assert_closed(&mut s).await;
    healthy(addr).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn unsupported_version_of_a_known_api_closes_the_connection() {
    let (cluster, addr) = start().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut body = BytesMut::new();
    header(ApiKey::Metadata, 99, 1)
        .encode_to(&mut body)
        .unwrap();
    MetadataRequest::default().encode_to(&mut body, 12).unwrap();
    send_frame(&mut s, &body).await;
    assert_closed(&mut s).await;
    healthy(addr).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn api_versions_from_the_future_gets_error_35_and_our_ranges_in_v0() {
    let (cluster, addr) = start().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // ApiVersions v127 with a body we cannot know the shape of.
    let mut body = BytesMut::new();
    body.put_i16(ApiKey::ApiVersions.code());
    body.put_i16(127);
    body.put_i32(42);
    body.put_i16(-1);
    body.put_slice(b"\x00future fields");
    send_frame(&mut s, &body).await;
    let mut f = read_frame(&mut s, STEP)
        .await
        .expect("no answer to future ApiVersions");
    let h = frame::ResponseHeader::decode(&mut f, 0).unwrap();
    assert_eq!(h.correlation_id, 42);
    let r = ApiVersionsResponse::decode_from(&mut f, 0).unwrap();
    assert_eq!(r.error_code, ErrorCode::UnsupportedVersion.code());
    let av = r
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions.code())
        .unwrap();
    assert_eq!((av.min_version, av.max_version), (0, 4));
    cluster.shutdown().await;
}

#[tokio::test]
async fn oversized_and_negative_frames_close_the_connection() {
    let (cluster, addr) = start().await;
    for size in [i32::MAX, -5, 200 * 1024 * 1024] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&size.to_be_bytes()).await.unwrap();
        s.write_all(&[0u8; 16]).await.unwrap();
        assert_closed(&mut s).await;
    }
    healthy(addr).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_client_stalling_mid_frame_does_not_block_others() {
    let (cluster, addr) = start().await;
    let mut staller = TcpStream::connect(addr).await.unwrap();
    // Announce 1000 bytes, send 10, then go quiet.
    staller.write_all(&1000i32.to_be_bytes()).await.unwrap();
    staller.write_all(&[0u8; 10]).await.unwrap();
    for _ in 0..5 {
        healthy(addr).await;
    }
    // The staller finishing its frame later with garbage only closes its own connection.
    staller.write_all(&[0xffu8; 990]).await.unwrap();
    assert_closed(&mut staller).await;
    healthy(addr).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn corrupt_record_batch_gets_corrupt_message_and_is_not_stored() {
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::messages::produce::{
        ProduceRequestPartitionData, ProduceRequestTopicData,
    };
    use streamctl_protocol::messages::ProduceRequest;
    use streamctl_protocol::record_batch::RecordBatchBuilder;

    let (cluster, addr) = start().await;
    cluster.create_topic("t", 1, 1).unwrap();
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(0, Some(b"k"), Some(b"v"), &[]).unwrap();
    let good = b.build().unwrap();
    let mut bad = BytesMut::from(&good[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff; // breaks the CRC
    let produce = |records: Bytes| ProduceRequest {
        acks: 1,
        timeout_ms: 5000,
        topic_data: vec![ProduceRequestTopicData {
            name: "t".into(),
            partition_data: vec![ProduceRequestPartitionData {
                index: 0,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut s = TcpStream::connect(addr).await.unwrap();
    for (i, (records, want)) in [
        (bad.freeze(), ErrorCode::CorruptMessage),
        (good.slice(..30), ErrorCode::CorruptMessage),
        (good.clone(), ErrorCode::None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut buf = BytesMut::new();
        frame::encode_request(
            &header(ApiKey::Produce, 9, i as i32),
            &RequestBody::from(produce(records)),
            &mut buf,
        )
        .unwrap();
        s.write_all(&buf).await.unwrap();
        let f = read_frame(&mut s, STEP).await.unwrap();
        let (_, ResponseBody::Produce(r)) = frame::decode_response(f, ApiKey::Produce, 9).unwrap()
        else {
            panic!()
        };
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(ErrorCode::from_code(p.error_code), want, "case {i}: {p:?}");
        if want == ErrorCode::None {
            // Only the good batch was stored: it got offset 0.
            assert_eq!(p.base_offset, 0);
        }
    }
    cluster.shutdown().await;
}
