//! 100,000 malformed request frames over several connections to a live broker, which must
//! then still serve well-formed clients: ours (producer and consumer) and kcat.
//!
//! Frames are valid requests mutated (bytes flipped, cut, inserted, fields overwritten) or
//! random bytes, always behind a correct size prefix so each one reaches the decoder; eight
//! connections at a time, one frame each (the broker closes a connection at its first
//! undecodable frame) followed by a frame the broker must refuse (negative or oversized
//! size). The client reads until the broker closes, or gives up after a quiet second: a
//! mutated Fetch may be a legitimate long poll of up to 30 s.
//! Reproducible from a seed (printed; `STREAMCTL_CHAOS_SEED` replays one).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::protocol::frame::{self, RequestHeader};
use streamctl_client::protocol::messages::{
    ApiVersionsRequest, FetchRequest, FindCoordinatorRequest, HeartbeatRequest, JoinGroupRequest,
    ListOffsetsRequest, MetadataRequest, ProduceRequest, RequestBody,
};
use streamctl_client::protocol::{ApiKey, Message};
use streamctl_testkit::{cluster, kcat, kcat_consume, seed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FRAMES: usize = 100_000;
const CONNECTIONS: usize = 8;

/// A well-formed request (header + body, no size prefix) of a random API and version.
fn valid_body(rng: &mut StdRng) -> BytesMut {
    let (api, body, min, max): (ApiKey, RequestBody, i16, i16) = match rng.random_range(0..8) {
        0 => (
            ApiKey::ApiVersions,
            ApiVersionsRequest::default().into(),
            ApiVersionsRequest::MIN_VERSION,
            ApiVersionsRequest::MAX_VERSION,
        ),
        1 => (
            ApiKey::Metadata,
            MetadataRequest::default().into(),
            MetadataRequest::MIN_VERSION,
            MetadataRequest::MAX_VERSION,
        ),
        2 => (
            ApiKey::Produce,
            ProduceRequest::default().into(),
            ProduceRequest::MIN_VERSION,
            ProduceRequest::MAX_VERSION,
        ),
        3 => (
            ApiKey::Fetch,
            FetchRequest::default().into(),
            FetchRequest::MIN_VERSION,
            FetchRequest::MAX_VERSION,
        ),
        4 => (
            ApiKey::ListOffsets,
            ListOffsetsRequest::default().into(),
            ListOffsetsRequest::MIN_VERSION,
            ListOffsetsRequest::MAX_VERSION,
        ),
        5 => (
            ApiKey::FindCoordinator,
            FindCoordinatorRequest::default().into(),
            FindCoordinatorRequest::MIN_VERSION,
            FindCoordinatorRequest::MAX_VERSION,
        ),
        6 => (
            ApiKey::JoinGroup,
            JoinGroupRequest::default().into(),
            JoinGroupRequest::MIN_VERSION,
            JoinGroupRequest::MAX_VERSION,
        ),
        _ => (
            ApiKey::Heartbeat,
            HeartbeatRequest::default().into(),
            HeartbeatRequest::MIN_VERSION,
            HeartbeatRequest::MAX_VERSION,
        ),
    };
    let header = RequestHeader {
        api_key: api.code(),
        api_version: rng.random_range(min..=max),
        correlation_id: rng.random(),
        client_id: Some("random-frames".into()),
        unknown_tagged_fields: Vec::new(),
    };
    let mut framed = BytesMut::new();
    frame::encode_request(&header, &body, &mut framed).unwrap();
    framed.split_off(4)
}

/// A malformed frame body: a mutated valid request or random bytes.
fn malformed_body(rng: &mut StdRng) -> Vec<u8> {
    if rng.random_bool(0.2) {
        let len = rng.random_range(0..64);
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut b = valid_body(rng).to_vec();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..5) {
            // Flip a byte.
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= rng.random_range(1..=255u8);
            }
            // Cut the tail.
            1 if !b.is_empty() => {
                let keep = rng.random_range(0..b.len());
                b.truncate(keep);
            }
            // Insert bytes.
            2 => {
                let at = rng.random_range(0..=b.len());
                let extra: Vec<u8> = (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                b.splice(at..at, extra);
            }
            // A length or count field turned huge or negative.
            3 if b.len() >= 4 => {
                let at = rng.random_range(0..=b.len() - 4);
                let v: i32 = if rng.random_bool(0.5) { -2 } else { i32::MAX };
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            // The api key or version overwritten.
            _ if b.len() >= 4 => {
                let v: i16 = rng.random_range(-3..120);
                let at = if rng.random_bool(0.5) { 0 } else { 2 };
                b[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
            _ => b.push(rng.random()),
        }
    }
    b
}

/// Sends `frames` malformed frames, each on a fresh connection (the broker closes a
/// connection at its first undecodable frame, so one frame per connection is what makes every
/// frame reach the decoder), each followed by a frame the broker must refuse. Returns
/// (connections, connections given up on while a request was still being served, bytes of
/// answers read).
async fn batter(addr: SocketAddr, seed: u64, frames: usize) -> (usize, usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut connections, mut abandoned, mut answers_bytes) = (0, 0, 0usize);
    for _ in 0..frames {
        let mut s = TcpStream::connect(addr).await.unwrap();
        connections += 1;
        let mut burst = BytesMut::new();
        let body = malformed_body(&mut rng);
        burst.put_i32(body.len() as i32);
        burst.put_slice(&body);
        // The terminator: a negative or oversized size (beyond socket.request.max.bytes).
        burst.put_i32(if rng.random_bool(0.5) { -1 } else { i32::MAX });
        // The broker may close before taking everything: a failed write is fine.
        let _ = s.write_all(&burst).await;
        let mut sink = vec![0u8; 16 * 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(1), s.read(&mut sink)).await {
                // A mutated field can make a request legitimately slow (a Fetch long poll of
                // up to 30 s): give up on it as an impatient client would.
                Err(_) => {
                    abandoned += 1;
                    break;
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => answers_bytes += n,
            }
        }
    }
    (connections, abandoned, answers_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_battered_with_100k_malformed_frames_still_serves_clients() {
    let seed = seed("random frames");
    tokio::time::timeout(Duration::from_secs(300), async {
        let dc = cluster(3).await;
        dc.create_topic("after", 3, 3).unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                // Every broker gets its share.
                let addr = dc.broker(1 + (i % 3) as i32).unwrap().addrs()[0];
                tokio::spawn(batter(addr, seed + i as u64, FRAMES / CONNECTIONS))
            })
            .collect();
        let (mut connections, mut abandoned, mut answered) = (0, 0, 0);
        for t in tasks {
            let (c, g, a) = t.await.unwrap();
            connections += c;
            abandoned += g;
            answered += a;
        }
        println!(
            "random frames: {FRAMES} malformed frames over {connections} connections ({CONNECTIONS} at a time, {abandoned} left while a request was served) in {:.1} s; {answered} bytes of answers",
            started.elapsed().as_secs_f64()
        );

        // Our producer and consumer, through every broker.
        let producer = Producer::builder(&dc.bootstrap_servers()).build().await.unwrap();
        let mut last = None;
        for i in 0..300 {
            let v = format!("v{i}");
            last = Some(
                producer
                    .send(Record::new("after").partition(i % 3).value(v.as_bytes()))
                    .await
                    .unwrap(),
            );
        }
        last.unwrap().await.unwrap();
        producer.close(Duration::from_secs(5)).await.unwrap();
        let consumer = Consumer::builder(&dc.bootstrap_servers())
            .auto_offset_reset(OffsetReset::Earliest)
            .build()
            .await
            .unwrap();
        consumer
            .assign((0..3).map(|p| TopicPartition::new("after", p)))
            .unwrap();
        let mut got = 0;
        while got < 300 {
            got += consumer.poll(Duration::from_millis(200)).await.unwrap().len();
        }
        assert_eq!(got, 300);
        consumer.close(Duration::from_secs(5)).await.unwrap();

        // And librdkafka, when installed (CI installs it).
        if kcat().is_some() {
            let out = kcat_consume(&dc.bootstrap_servers(), "after", "%s\n").await;
            assert_eq!(out.lines().count(), 300);
        }
        dc.shutdown().await;
    })
    .await
    .unwrap();
}
