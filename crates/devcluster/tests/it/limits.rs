//! Connection limits against slow and hostile clients: `max.connections`,
//! `connections.max.idle.ms`, the per-connection in-flight limit and `socket.request.max.bytes`.
//! In each test a well-formed client is still served while the hostile one misbehaves.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use streamctl_devcluster::{DevCluster, DevClusterBuilder};
use streamctl_protocol::frame::{self, RequestHeader};
use streamctl_protocol::messages::{ApiVersionsRequest, RequestBody};
use streamctl_protocol::ApiKey;
use streamctl_testkit::cluster_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::read_frame;

/// Longest wait for anything in these tests: a broker that neither answers nor closes.
const STEP: Duration = Duration::from_secs(20);

/// One broker with `settings`, and its address.
async fn start(
    settings: impl FnOnce(DevClusterBuilder) -> DevClusterBuilder,
) -> (DevCluster, SocketAddr) {
    let cluster = cluster_with(1, settings).await;
    let addr = cluster.broker(1).unwrap().addrs()[0];
    (cluster, addr)
}

fn api_versions_frame(correlation_id: i32) -> BytesMut {
    let mut buf = BytesMut::new();
    frame::encode_request(
        &RequestHeader {
            api_key: ApiKey::ApiVersions.code(),
            api_version: 3,
            correlation_id,
            client_id: Some("limits-test".into()),
            unknown_tagged_fields: Vec::new(),
        },
        &RequestBody::from(ApiVersionsRequest::default()),
        &mut buf,
    )
    .unwrap();
    buf
}

/// One ApiVersions round trip on a new connection: whether the broker served it.
async fn served(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    if s.write_all(&api_versions_frame(7)).await.is_err() {
        return false;
    }
    read_frame(&mut s, STEP).await.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_refuses_extra_ones_and_idle_ones_give_their_places_back() {
    let (cluster, addr) = start(|b| {
        b.max_connections(8)
            .connections_max_idle(Duration::from_millis(400))
    })
    .await;
    // A hostile client takes every place and sits on it.
    let mut hoard = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // Served once, so the place is surely taken before the next connect.
        s.write_all(&api_versions_frame(1)).await.unwrap();
        assert!(read_frame(&mut s, STEP).await.is_some());
        hoard.push(s);
    }
    // One more is closed at once.
    assert!(!served(addr).await, "a ninth connection was served");
    // The hoarded connections go idle and are closed, so a well-formed client gets in.
    for s in &mut hoard {
        assert!(
            read_frame(s, STEP).await.is_none(),
            "an idle connection stayed open"
        );
    }
    assert!(served(addr).await);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalled_connections_are_closed_after_the_idle_timeout() {
    let (cluster, addr) = start(|b| b.connections_max_idle(Duration::from_millis(300))).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut staller = TcpStream::connect(addr).await.unwrap();
    // Announce 1000 bytes, send 10, go quiet.
    staller.write_all(&1000i32.to_be_bytes()).await.unwrap();
    staller.write_all(&[0u8; 10]).await.unwrap();
    assert!(served(addr).await, "others are served meanwhile");
    assert!(read_frame(&mut silent, STEP).await.is_none());
    assert!(read_frame(&mut staller, STEP).await.is_none());
    assert!(served(addr).await);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pipelining_without_reading_is_not_read_from_and_is_cut_off() {
    const REQUESTS: usize = 200_000;
    let (cluster, addr) = start(|b| {
        b.max_in_flight_requests_per_connection(10)
            .connections_max_idle(Duration::from_millis(500))
    })
    .await;
    let hostile = TcpStream::connect(addr).await.unwrap();
    let (mut read_half, mut write_half) = hostile.into_split();
    let flood = tokio::spawn(async move {
        let mut all = BytesMut::new();
        for i in 0..REQUESTS {
            all.extend_from_slice(&api_versions_frame(i as i32));
        }
        // Blocks once the broker stops reading; fails once the broker gives up on us.
        let _ = tokio::time::timeout(STEP, write_half.write_all(&all)).await;
        write_half
    });
    for _ in 0..5 {
        assert!(served(addr).await, "a well-formed client was starved");
    }
    let _write_half = flood.await.unwrap();
    // The broker stopped reading when the answers piled up, then closed the connection.
    let answered = cluster.metrics(1).unwrap().requests(ApiKey::ApiVersions) as usize;
    println!("hostile pipeliner: {REQUESTS} requests sent, the broker answered {answered} in all");
    assert!(
        answered < REQUESTS,
        "the broker kept reading a client that takes no answers"
    );
    // Drain what was answered: the stream ends (closed), it does not hang.
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(STEP, read_half.read(&mut sink))
            .await
            .expect("the hostile connection was never closed")
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert!(served(addr).await);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_socket_request_max_bytes_closes_its_connection_only() {
    let (cluster, addr) = start(|b| b.max_request_size(1024)).await;
    let mut big = TcpStream::connect(addr).await.unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(2048);
    frame.put_slice(&[0u8; 2048]);
    big.write_all(&frame).await.unwrap();
    assert!(read_frame(&mut big, STEP).await.is_none());
    assert!(served(addr).await, "a small request is still served");
    cluster.shutdown().await;
}
