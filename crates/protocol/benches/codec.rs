//! Codec throughput: encoding a ProduceRequest of 1,000 × 100-byte records (building the
//! record batch included) and decoding a FetchResponse carrying the same records (iterating
//! every record included). Criterion prints the throughput in MiB/s of record payload.
//!
//! `cargo bench -p streamctl-protocol --bench codec`

#![allow(clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamctl_protocol::compression::Compression;
use streamctl_protocol::frame::{self, RequestHeader};
use streamctl_protocol::messages::fetch::{FetchResponsePartition, FetchResponseTopic};
use streamctl_protocol::messages::produce::{ProduceRequestPartitionData, ProduceRequestTopicData};
use streamctl_protocol::messages::{FetchResponse, ProduceRequest, RequestBody, ResponseBody};
use streamctl_protocol::record_batch::{RecordBatchBuilder, RecordBatches};
use streamctl_protocol::ApiKey;

const RECORDS: usize = 1_000;
const RECORD_SIZE: usize = 100;
const MAX_DECOMPRESSED: usize = 64 << 20;

fn batch(compression: Compression, value: &[u8]) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression);
    for i in 0..RECORDS {
        let key = (i as u32).to_be_bytes();
        b.push(1_700_000_000_000 + i as i64, Some(&key), Some(value), &[])
            .expect("push");
    }
    b.build().expect("build")
}

fn produce_frame(records: Bytes, out: &mut BytesMut) {
    let req = ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![ProduceRequestTopicData {
            name: "bench".into(),
            partition_data: vec![ProduceRequestPartitionData {
                index: 0,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let header = RequestHeader {
        api_key: ApiKey::Produce.code(),
        api_version: 11,
        correlation_id: 1,
        client_id: Some("bench".into()),
        unknown_tagged_fields: Vec::new(),
    };
    frame::encode_request(&header, &RequestBody::from(req), out).expect("encode");
}

fn fetch_frame(records: Bytes) -> Bytes {
    let resp = FetchResponse {
        responses: vec![FetchResponseTopic {
            topic: "bench".into(),
            partitions: vec![FetchResponsePartition {
                partition_index: 0,
                high_watermark: RECORDS as i64,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut out = BytesMut::new();
    frame::encode_response(1, 16, &ResponseBody::from(resp), &mut out).expect("encode");
    out.freeze().slice(4..)
}

fn consume(frame: Bytes) -> usize {
    let (_, body) = frame::decode_response(frame, ApiKey::Fetch, 16).expect("decode");
    let ResponseBody::Fetch(resp) = body else {
        return 0;
    };
    let mut n = 0;
    for t in &resp.responses {
        for p in &t.partitions {
            for batch in RecordBatches::new(p.records.clone().unwrap_or_default()) {
                let batch = batch.expect("batch");
                batch.verify_crc().expect("crc");
                for r in batch.records(MAX_DECOMPRESSED).expect("records") {
                    n += r.expect("record").value.map_or(0, |v| v.len());
                }
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let value = vec![b'x'; RECORD_SIZE];
    println!(
        "setup: {RECORDS} records x {RECORD_SIZE} B values, 4 B keys, one batch, one partition; throughput counts value bytes"
    );
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes((RECORDS * RECORD_SIZE) as u64));
    for compression in [Compression::None, Compression::Lz4] {
        let name = compression.name();
        g.bench_function(format!("encode_produce_request/{name}"), |b| {
            let mut out = BytesMut::with_capacity(256 * 1024);
            b.iter(|| {
                out.clear();
                produce_frame(batch(compression, &value), &mut out);
                out.len()
            });
        });
        let frame = fetch_frame(batch(compression, &value));
        g.bench_function(format!("decode_fetch_response/{name}"), |b| {
            b.iter(|| consume(frame.clone()));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
