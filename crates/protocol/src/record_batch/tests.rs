use super::*;
use proptest::prelude::*;

/// Records as owned tuples, to compare decoders without caring about `Bytes` identity.
type Flat = (
    i64,
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn flat(r: &Record) -> Flat {
    (
        r.offset,
        r.timestamp,
        r.key.as_ref().map(|b| b.to_vec()),
        r.value.as_ref().map(|b| b.to_vec()),
        r.headers
            .iter()
            .map(|h| (h.key.clone(), h.value.as_ref().map(|b| b.to_vec())))
            .collect(),
    )
}

fn decode_all(batch: &RecordBatch) -> Vec<Flat> {
    batch
        .records(1 << 24)
        .unwrap()
        .map(|r| flat(&r.unwrap()))
        .collect()
}

/// A few records covering null keys, null values, empty values, duplicate and null-valued
/// headers and a timestamp that goes backwards.
fn sample_records(base_offset: i64) -> Vec<Flat> {
    let dup: Vec<(String, Option<Vec<u8>>)> = vec![
        ("trace".into(), Some(b"a".to_vec())),
        ("trace".into(), Some(b"b".to_vec())),
        ("empty".into(), None),
    ];
    vec![
        (
            base_offset,
            1_000,
            Some(b"k1".to_vec()),
            Some(b"v1".to_vec()),
            vec![],
        ),
        (base_offset + 1, 1_005, None, Some(vec![7; 300]), dup),
        (base_offset + 2, 999, Some(b"k3".to_vec()), None, vec![]),
        (
            base_offset + 3,
            2_000,
            None,
            None,
            vec![("h".into(), Some(vec![]))],
        ),
        (base_offset + 4, 1_500, Some(vec![]), Some(vec![]), vec![]),
    ]
}

fn build(codec: Compression, records: &[Flat]) -> RecordBatchBuilder {
    let mut b = RecordBatchBuilder::new(codec)
        .base_offset(records.first().map_or(0, |r| r.0))
        .producer(4_000, 3, 17)
        .partition_leader_epoch(9);
    for (_, ts, key, value, headers) in records {
        let headers: Vec<HeaderRef<'_>> = headers
            .iter()
            .map(|(key, value)| HeaderRef {
                key,
                value: value.as_deref(),
            })
            .collect();
        b.push(*ts, key.as_deref(), value.as_deref(), &headers)
            .unwrap();
    }
    b
}

/// Assembles a batch around a given records section, with a correct length and CRC.
fn assemble(mut header: RecordBatchHeader, body: &[u8]) -> Bytes {
    header.batch_length = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32;
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(body);
    let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
    out[CRC_AT..ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

fn uncompressed_sample() -> RecordBatch {
    RecordBatch::from_bytes(
        build(Compression::None, &sample_records(100))
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn crc32c_matches_the_known_vector() {
    // The check value of CRC-32C (Castagnoli), from the catalogue of CRC algorithms.
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn every_codec_round_trips_through_build_parse_and_records() {
    let records = sample_records(100);
    for codec in Compression::ALL {
        let bytes = build(codec, &records)
            .timestamp_type(TimestampType::CreateTime)
            .transactional(true)
            .build()
            .unwrap();
        let mut buf = bytes.clone();
        let batch = RecordBatch::parse(&mut buf).unwrap();
        assert!(buf.is_empty());
        batch.verify_crc().unwrap();
        assert_eq!(batch.compression(), codec);
        assert_eq!(batch.magic(), MAGIC);
        assert_eq!(batch.base_offset(), 100);
        assert_eq!(batch.last_offset_delta(), 4);
        assert_eq!(batch.last_offset(), 104);
        assert_eq!(batch.next_offset(), 105);
        assert_eq!(batch.record_count(), 5);
        assert_eq!(batch.base_timestamp(), 1_000);
        assert_eq!(batch.max_timestamp(), 2_000);
        assert_eq!(batch.producer_id(), 4_000);
        assert_eq!(batch.producer_epoch(), 3);
        assert_eq!(batch.base_sequence(), 17);
        assert_eq!(batch.last_sequence(), 21);
        assert_eq!(batch.partition_leader_epoch(), 9);
        assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
        assert!(batch.is_transactional());
        assert!(!batch.is_control());
        assert_eq!(batch.size(), bytes.len());
        assert_eq!(batch.batch_length() as usize, bytes.len() - LOG_OVERHEAD);
        assert_eq!(batch.as_bytes(), &bytes);
        assert_eq!(decode_all(&batch), records, "{codec}");
    }
}

#[test]
fn a_preallocated_builder_writes_the_same_bytes() {
    for codec in Compression::ALL {
        let mut plain = RecordBatchBuilder::new(codec);
        let mut reserved = RecordBatchBuilder::with_capacity(codec, 16_384);
        for i in 0..50u8 {
            let value = [i; 37];
            plain.push(1_000, Some(&[i]), Some(&value), &[]).unwrap();
            reserved.push(1_000, Some(&[i]), Some(&value), &[]).unwrap();
        }
        assert_eq!(plain.uncompressed_size(), reserved.uncompressed_size());
        assert_eq!(plain.build().unwrap(), reserved.build().unwrap(), "{codec}");
    }
}

#[test]
fn uncompressed_keys_and_values_are_slices_of_the_batch() {
    let batch = uncompressed_sample();
    let range = batch.as_bytes().as_ptr_range();
    for record in batch.records(0).unwrap() {
        let record = record.unwrap();
        for part in [&record.key, &record.value].into_iter().flatten() {
            if !part.is_empty() {
                assert!(range.contains(&part.as_ptr()), "copied instead of sliced");
            }
        }
    }
}

#[test]
fn batches_with_snappy_in_both_framings_decode() {
    let records = sample_records(0);
    let plain = build(Compression::None, &records).build().unwrap();
    let header = RecordBatchHeader::read(&plain).unwrap();
    let body = &plain[RECORD_BATCH_OVERHEAD..];
    let snappy_header = RecordBatchHeader {
        attributes: header.attributes | i16::from(Compression::Snappy.id()),
        ..header
    };

    let raw = snap::raw::Encoder::new().compress_vec(body).unwrap();
    // snappy-java's framing, in 64-byte blocks so that there are several.
    let mut xerial = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    for chunk in body.chunks(64) {
        let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
        xerial.extend_from_slice(&(block.len() as u32).to_be_bytes());
        xerial.extend_from_slice(&block);
    }
    for framed in [raw, xerial] {
        let batch = RecordBatch::from_bytes(assemble(snappy_header, &framed)).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.compression(), Compression::Snappy);
        assert_eq!(decode_all(&batch), records);
    }
}

#[test]
fn a_decompression_bomb_over_the_cap_is_an_error() {
    // One record with a 4 MiB value of zeros compresses to almost nothing.
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut b = RecordBatchBuilder::new(codec);
        b.push(0, None, Some(&vec![0u8; 4 << 20]), &[]).unwrap();
        let bytes = b.build().unwrap();
        assert!(bytes.len() < 512 << 10, "{codec}: {}", bytes.len());
        let batch = RecordBatch::from_bytes(bytes).unwrap();
        let err = batch.records(1 << 20).unwrap_err();
        assert!(
            matches!(err, DecodeError::Decompression { .. }),
            "{codec}: {err}"
        );
        assert_eq!(batch.records(5 << 20).unwrap().count(), 1);
    }
}

#[test]
fn a_flipped_byte_fails_the_crc_except_in_the_fields_it_leaves_out() {
    for codec in [Compression::None, Compression::Zstd] {
        let bytes = build(codec, &sample_records(0)).build().unwrap();
        for at in 0..bytes.len() {
            let mut corrupt = bytes.to_vec();
            corrupt[at] ^= 0x10;
            let Ok(batch) = RecordBatch::from_bytes(Bytes::from(corrupt)) else {
                continue; // the header no longer parses: also caught
            };
            let covered = at >= ATTRIBUTES_AT || (CRC_AT..ATTRIBUTES_AT).contains(&at);
            assert_eq!(batch.verify_crc().is_err(), covered, "{codec} byte {at}");
        }
    }
}

#[test]
fn offsets_and_leader_epochs_are_rewritten_without_touching_the_crc() {
    let mut batch = uncompressed_sample();
    let crc = batch.crc();
    batch.set_base_offset(1_000_000);
    batch.set_partition_leader_epoch(77);
    batch.verify_crc().unwrap();
    assert_eq!(batch.crc(), crc);
    let reparsed = RecordBatch::from_bytes(batch.as_bytes().clone()).unwrap();
    assert_eq!(reparsed.header(), batch.header());
    assert_eq!(reparsed.base_offset(), 1_000_000);
    assert_eq!(reparsed.partition_leader_epoch(), 77);
    let offsets: Vec<i64> = decode_all(&reparsed).iter().map(|r| r.0).collect();
    assert_eq!(
        offsets,
        vec![1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004]
    );

    // A batch whose bytes are shared is copied, and the other holder sees no change.
    let shared = batch.as_bytes().clone();
    batch.set_base_offset(5);
    assert_eq!(
        RecordBatch::from_bytes(shared).unwrap().base_offset(),
        1_000_000
    );
    assert_eq!(batch.base_offset(), 5);

    // The in-place form, as a log writes into its own buffer.
    let mut raw = batch.as_bytes().to_vec();
    rewrite_base_offset(&mut raw, 9).unwrap();
    rewrite_partition_leader_epoch(&mut raw, 3).unwrap();
    let b = RecordBatch::from_bytes(Bytes::from(raw)).unwrap();
    b.verify_crc().unwrap();
    assert_eq!((b.base_offset(), b.partition_leader_epoch()), (9, 3));
    assert!(rewrite_base_offset(&mut [0u8; 5], 1).is_err());
    let mut legacy = vec![0u8; 40];
    legacy[11] = 28;
    legacy[MAGIC_AT] = 1;
    assert_eq!(
        rewrite_base_offset(&mut legacy, 1),
        Err(DecodeError::UnsupportedMagic(1))
    );
}

#[test]
fn a_truncated_batch_is_an_error_and_leaves_the_input_alone() {
    let bytes = build(Compression::Gzip, &sample_records(0))
        .build()
        .unwrap();
    for len in 0..bytes.len() {
        let mut cut = bytes.slice(..len);
        let err = RecordBatch::parse(&mut cut).unwrap_err();
        assert!(
            matches!(err, DecodeError::Truncated { .. }),
            "length {len}: {err}"
        );
        assert_eq!(cut.len(), len);
    }
}

#[test]
fn header_checks() {
    let bytes = uncompressed_sample().into_bytes();
    let with = |at: usize, value: &[u8]| {
        let mut b = bytes.to_vec();
        b[at..at + value.len()].copy_from_slice(value);
        Bytes::from(b)
    };
    assert_eq!(
        RecordBatch::from_bytes(with(MAGIC_AT, &[1])),
        Err(DecodeError::UnsupportedMagic(1))
    );
    assert!(matches!(
        RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &(-1i32).to_be_bytes())),
        Err(DecodeError::BadLength { .. })
    ));
    assert!(matches!(
        RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &48i32.to_be_bytes())),
        Err(DecodeError::BadLength { .. })
    ));
    assert!(matches!(
        RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &i32::MAX.to_be_bytes())),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(
        RecordBatch::from_bytes(with(ATTRIBUTES_AT + 1, &[6])),
        Err(DecodeError::UnknownCompression(6))
    );
    let mut two = bytes.to_vec();
    two.push(0);
    assert!(matches!(
        RecordBatch::from_bytes(Bytes::from(two)),
        Err(DecodeError::Invalid { .. })
    ));
}

#[test]
fn record_counts_and_lengths_are_checked() {
    let plain = build(Compression::None, &sample_records(0))
        .build()
        .unwrap();
    let header = RecordBatchHeader::read(&plain).unwrap();
    let body = plain[RECORD_BATCH_OVERHEAD..].to_vec();
    let with_count = |count: i32| {
        RecordBatch::from_bytes(assemble(
            RecordBatchHeader {
                record_count: count,
                ..header
            },
            &body,
        ))
        .unwrap()
    };

    // A count claiming more records than the bytes can hold fails before iterating.
    assert!(matches!(
        with_count(i32::MAX).records(0),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(with_count(-1).records(0).is_err());
    // One more than present: the five decode, then the sixth is cut short.
    let results: Vec<_> = with_count(6).records(0).unwrap().collect();
    assert_eq!(results.len(), 6);
    assert!(results[..5].iter().all(Result::is_ok));
    assert!(results[5].is_err());
    // One fewer: bytes are left after the last record.
    let results: Vec<_> = with_count(4).records(0).unwrap().collect();
    assert_eq!(results.len(), 5);
    assert!(matches!(results[4], Err(DecodeError::Invalid { .. })));

    // A record length that disagrees with the record's fields (longer, then shorter).
    let mut long = body.clone();
    long[0] = 0x7e; // varint 63, while the first record is shorter and the rest follows
    let mut records = RecordBatch::from_bytes(assemble(header, &long))
        .unwrap()
        .records(0)
        .unwrap();
    assert!(records.next().unwrap().is_err());
    assert!(
        records.next().is_none(),
        "the iterator stops after an error"
    );
    // A record length reaching past the end of the records.
    let header_one = RecordBatchHeader {
        record_count: 1,
        ..header
    };
    let cut = RecordBatch::from_bytes(assemble(header_one, &body[..MIN_RECORD_SIZE]))
        .unwrap()
        .records(0)
        .unwrap()
        .next()
        .unwrap();
    assert!(
        matches!(cut, Err(DecodeError::BadLength { what: "record", .. })),
        "{cut:?}"
    );
    // A record length shorter than the record's fields.
    let mut short = body.clone();
    short[0] -= 2;
    assert!(RecordBatch::from_bytes(assemble(header, &short))
        .unwrap()
        .records(0)
        .unwrap()
        .next()
        .unwrap()
        .is_err());
}

#[test]
fn log_append_time_gives_every_record_the_batch_timestamp() {
    let plain = build(Compression::None, &sample_records(0))
        .build()
        .unwrap();
    let mut header = RecordBatchHeader::read(&plain).unwrap();
    header.attributes |= TIMESTAMP_TYPE_BIT;
    header.max_timestamp = 424_242;
    let batch = RecordBatch::from_bytes(assemble(header, &plain[RECORD_BATCH_OVERHEAD..])).unwrap();
    assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
    assert!(decode_all(&batch).iter().all(|r| r.1 == 424_242));
}

#[test]
fn header_keys_that_are_not_utf8_are_read_like_java_reads_them() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(0, None, None, &[HeaderRef::null("ab")]).unwrap();
    let mut bytes = b.build().unwrap().to_vec();
    let at = bytes.windows(2).rposition(|w| w == b"ab").unwrap();
    bytes[at] = 0xff;
    let batch = RecordBatch::from_bytes(Bytes::from(bytes)).unwrap();
    let record = batch.records(0).unwrap().next().unwrap().unwrap();
    assert_eq!(record.headers[0].key, "\u{FFFD}b");
}

#[test]
fn control_flag_and_empty_builder() {
    let batch = RecordBatch::from_bytes(
        RecordBatchBuilder::new(Compression::None)
            .base_offset(7)
            .control(true)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(batch.is_control());
    assert_eq!(batch.record_count(), 0);
    assert_eq!(batch.size(), RECORD_BATCH_OVERHEAD);
    assert_eq!(batch.base_timestamp(), NO_TIMESTAMP);
    assert!(batch.next_offset() > batch.base_offset());
    assert_eq!(batch.records(0).unwrap().count(), 0);
}

#[test]
fn producer_state_is_rewritten_with_a_new_crc_and_the_same_records() {
    for codec in [Compression::None, Compression::Lz4] {
        let original = build(codec, &sample_records(0)).build().unwrap();
        let mut raw = original.to_vec();
        rewrite_producer_state(&mut raw, 9_001, 4, 0).unwrap();
        let b = RecordBatch::from_bytes(Bytes::from(raw)).unwrap();
        b.verify_crc().unwrap();
        assert_eq!((b.producer_id(), b.producer_epoch()), (9_001, 4));
        assert_eq!((b.base_sequence(), b.last_sequence()), (0, 4));
        let before = RecordBatch::from_bytes(original).unwrap();
        assert_ne!(b.crc(), before.crc(), "the CRC covers the producer fields");
        assert_eq!(decode_all(&b), decode_all(&before));
    }
    assert!(rewrite_producer_state(&mut [0u8; 5], 1, 0, 0).is_err());
}

#[test]
fn sequences_wrap_like_kafka() {
    let mut b = RecordBatchBuilder::new(Compression::None).producer(1, 0, i32::MAX - 1);
    for _ in 0..4 {
        b.push(0, None, None, &[]).unwrap();
    }
    let batch = RecordBatch::from_bytes(b.build().unwrap()).unwrap();
    // MAX-1, MAX, 0, 1
    assert_eq!(batch.last_sequence(), 1);
    let none = RecordBatch::from_bytes(RecordBatchBuilder::new(Compression::None).build().unwrap())
        .unwrap();
    assert_eq!(none.last_sequence(), NO_SEQUENCE);
}

#[test]
fn fetch_records_split_into_batches_and_a_partial_tail_is_dropped() {
    let first = build(Compression::None, &sample_records(0))
        .build()
        .unwrap();
    let second = build(Compression::Lz4, &sample_records(5)).build().unwrap();
    let third = build(Compression::Snappy, &sample_records(10))
        .build()
        .unwrap();
    let mut all = [&first[..], &second[..], &third[..]].concat();
    let whole = all.len();

    let batches: Vec<_> = RecordBatches::new(Bytes::from(all.clone()))
        .collect::<Result<_, _>>()
        .unwrap();
    let offsets: Vec<i64> = batches.iter().map(RecordBatch::base_offset).collect();
    assert_eq!(offsets, vec![0, 5, 10]);

    // Every cut inside the third batch yields the first two and stops quietly.
    for cut in first.len() + second.len()..whole {
        let mut iter = RecordBatches::new(Bytes::from(all[..cut].to_vec()));
        let got: Vec<_> = iter.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), 2, "cut at {cut}");
        assert_eq!(iter.remaining().len(), cut - first.len() - second.len());
    }

    // A corrupt length in the middle is an error, reported once.
    let at = first.len() + BATCH_LENGTH_AT;
    all[at..at + 4].copy_from_slice(&10i32.to_be_bytes());
    let results: Vec<_> = RecordBatches::new(Bytes::from(all)).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(DecodeError::BadLength { .. })));
}

// -----------------------------------------------------------------------------------------
// Differential tests against kafka-protocol 0.18
// -----------------------------------------------------------------------------------------

mod oracle {
    //! Glue to kafka-protocol's record codec. kafka-protocol is built here without its
    //! codec features, so compressed batches go through its custom-compression hooks with
    //! codecs written in this file straight on the underlying crates: snappy in Java's
    //! xerial framing, lz4 and zstd as frames, gzip as one member.
    use std::io::{Read, Write};

    use bytes::{BufMut, Bytes, BytesMut};
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records::{
        Compression as KCompression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder,
        RecordEncodeOptions, TimestampType as KTimestampType,
    };

    use super::Flat;
    use crate::compression::Compression;

    pub fn codec(c: Compression) -> KCompression {
        match c {
            Compression::None => KCompression::None,
            Compression::Gzip => KCompression::Gzip,
            Compression::Snappy => KCompression::Snappy,
            Compression::Lz4 => KCompression::Lz4,
            Compression::Zstd => KCompression::Zstd,
        }
    }

    fn compress(codec: KCompression, input: &[u8]) -> Vec<u8> {
        match codec {
            KCompression::None => input.to_vec(),
            KCompression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(input).unwrap();
                e.finish().unwrap()
            }
            KCompression::Snappy => {
                let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
                for chunk in input.chunks(32 * 1024) {
                    let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                    out.extend_from_slice(&block);
                }
                out
            }
            KCompression::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(input).unwrap();
                e.finish().unwrap()
            }
            KCompression::Zstd => ruzstd::encoding::compress_to_vec(
                input,
                ruzstd::encoding::CompressionLevel::Uncompressed,
            ),
        }
    }

    fn decompress(codec: KCompression, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match codec {
            KCompression::None => out.extend_from_slice(input),
            KCompression::Gzip => {
                flate2::read::GzDecoder::new(input)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            KCompression::Snappy => out = snap::raw::Decoder::new().decompress_vec(input).unwrap(),
            KCompression::Lz4 => {
                lz4_flex::frame::FrameDecoder::new(input)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            KCompression::Zstd => {
                ruzstd::decoding::StreamingDecoder::new(input)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    pub struct Producer {
        pub id: i64,
        pub epoch: i16,
        pub base_sequence: i32,
        pub leader_epoch: i32,
        pub transactional: bool,
    }

    pub fn encode(c: Compression, records: &[Flat], p: &Producer) -> Bytes {
        let base = records[0].0;
        let records: Vec<KRecord> = records
            .iter()
            .map(|(offset, timestamp, key, value, headers)| KRecord {
                transactional: p.transactional,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: p.leader_epoch,
                producer_id: p.id,
                producer_epoch: p.epoch,
                timestamp_type: KTimestampType::Creation,
                offset: *offset,
                sequence: p.base_sequence + (offset - base) as i32,
                timestamp: *timestamp,
                key: key.clone().map(Bytes::from),
                value: value.clone().map(Bytes::from),
                headers: headers
                    .iter()
                    .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from)))
                    .collect(),
            })
            .collect();
        let options = RecordEncodeOptions {
            version: 2,
            compression: codec(c),
        };
        let mut buf = BytesMut::new();
        let compressor = |records: &mut BytesMut, out: &mut BytesMut, codec: KCompression| {
            out.put_slice(&compress(codec, records));
            Ok(())
        };
        RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            &records,
            &options,
            Some(compressor),
        )
        .unwrap();
        buf.freeze()
    }

    pub fn decode(batch: &Bytes) -> Vec<Flat> {
        let mut buf = batch.clone();
        let decompressor =
            |body: &mut Bytes, codec: KCompression| Ok(Bytes::from(decompress(codec, body)));
        let set = RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(decompressor))
            .unwrap();
        assert!(buf.is_empty());
        set.records
            .iter()
            .map(|r| {
                (
                    r.offset,
                    r.timestamp,
                    r.key.as_ref().map(|b| b.to_vec()),
                    r.value.as_ref().map(|b| b.to_vec()),
                    r.headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
                        .collect(),
                )
            })
            .collect()
    }

    /// kafka-protocol's own codecs (no hooks) for uncompressed batches.
    pub fn decode_plain(batch: &Bytes) -> usize {
        let mut buf = batch.clone();
        RecordBatchDecoder::decode(&mut buf).unwrap().records.len()
    }
}

/// Records kafka-protocol can represent: its headers are a map, so keys must be unique, and
/// its base timestamp is the minimum, so the first record carries the smallest timestamp
/// (which also makes the uncompressed bytes comparable).
fn oracle_records(base_offset: i64) -> Vec<Flat> {
    vec![
        (
            base_offset,
            500,
            Some(b"k1".to_vec()),
            Some(b"v1".to_vec()),
            vec![],
        ),
        (
            base_offset + 1,
            1_005,
            None,
            Some(vec![7; 300]),
            vec![
                ("trace".into(), Some(b"a".to_vec())),
                ("span".into(), Some(b"b".to_vec())),
                ("empty".into(), None),
            ],
        ),
        (base_offset + 2, 999, Some(b"k3".to_vec()), None, vec![]),
        (
            base_offset + 3,
            2_000,
            None,
            None,
            vec![("h".into(), Some(vec![]))],
        ),
        (base_offset + 4, 1_500, Some(vec![]), Some(vec![]), vec![]),
    ]
}

const PRODUCER: oracle::Producer = oracle::Producer {
    id: 4_000,
    epoch: 3,
    base_sequence: 17,
    leader_epoch: 9,
    transactional: true,
};

#[test]
fn differential_kafka_protocol_encodes_we_decode() {
    for codec in Compression::ALL {
        let records = oracle_records(1_000);
        let bytes = oracle::encode(codec, &records, &PRODUCER);
        let batch = RecordBatch::from_bytes(bytes).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.compression(), codec);
        assert_eq!(batch.base_offset(), 1_000);
        assert_eq!(batch.last_offset(), 1_004);
        assert_eq!(batch.record_count(), 5);
        assert_eq!(batch.max_timestamp(), 2_000);
        assert_eq!(batch.base_timestamp(), 500);
        assert_eq!(batch.producer_id(), PRODUCER.id);
        assert_eq!(batch.producer_epoch(), PRODUCER.epoch);
        assert_eq!(batch.base_sequence(), PRODUCER.base_sequence);
        assert_eq!(batch.partition_leader_epoch(), PRODUCER.leader_epoch);
        assert!(batch.is_transactional());
        assert_eq!(decode_all(&batch), records, "{codec}");
    }
}

#[test]
fn differential_we_encode_kafka_protocol_decodes() {
    for codec in Compression::ALL {
        let records = oracle_records(1_000);
        let bytes = build(codec, &records).transactional(true).build().unwrap();
        assert_eq!(oracle::decode(&bytes), records, "{codec}");
    }
    // kafka-protocol's built-in path for uncompressed batches, without hooks.
    let bytes = build(Compression::None, &oracle_records(0))
        .build()
        .unwrap();
    assert_eq!(oracle::decode_plain(&bytes), 5);
}

#[test]
fn differential_uncompressed_batches_are_byte_identical() {
    let records = oracle_records(1_000);
    let ours = build(Compression::None, &records)
        .transactional(true)
        .build()
        .unwrap();
    let theirs = oracle::encode(Compression::None, &records, &PRODUCER);
    assert_eq!(ours, theirs);
}

// -----------------------------------------------------------------------------------------
// Hostile input
// -----------------------------------------------------------------------------------------

fn exercise(bytes: Bytes) {
    for batch in RecordBatches::new(bytes.clone()) {
        let Ok(batch) = batch else { break };
        let _ = batch.verify_crc();
        let _ = (
            batch.last_offset(),
            batch.next_offset(),
            batch.last_sequence(),
        );
        if let Ok(records) = batch.records(1 << 16) {
            for record in records {
                let _ = record;
            }
        }
    }
    let mut buf = bytes;
    let _ = RecordBatch::parse(&mut buf);
}

#[test]
fn a_retaining_rebuild_keeps_offsets_timestamps_producer_and_last_offset() {
    for codec in [Compression::None, Compression::Zstd] {
        let mut b = RecordBatchBuilder::new(codec)
            .base_offset(100)
            .producer(7, 2, 40)
            .partition_leader_epoch(3)
            .transactional(true);
        for (i, key) in ["a", "b", "a", "c"].iter().enumerate() {
            let value = format!("v{i}");
            b.push(
                1_000 + i as i64,
                Some(key.as_bytes()),
                Some(value.as_bytes()),
                &[HeaderRef::new("h", b"x")],
            )
            .unwrap();
        }
        let original = RecordBatch::from_bytes(b.build().unwrap()).unwrap();
        let kept: Vec<Record> = original
            .records(1 << 20)
            .unwrap()
            .map(Result::unwrap)
            .filter(|r| r.offset == 101 || r.offset == 102)
            .collect();
        let mut rebuilt = RecordBatchBuilder::retaining(&original).delete_horizon(5_000);
        for r in &kept {
            rebuilt.push_record(r).unwrap();
        }
        let rebuilt = RecordBatch::from_bytes(rebuilt.build().unwrap()).unwrap();
        rebuilt.verify_crc().unwrap();
        assert_eq!(rebuilt.base_offset(), 100);
        assert_eq!(
            rebuilt.last_offset(),
            103,
            "the last offset (and sequence) survives"
        );
        assert_eq!(rebuilt.last_sequence(), original.last_sequence());
        assert_eq!(rebuilt.record_count(), 2);
        assert_eq!((rebuilt.producer_id(), rebuilt.producer_epoch()), (7, 2));
        assert_eq!(rebuilt.partition_leader_epoch(), 3);
        assert!(rebuilt.is_transactional());
        assert_eq!(rebuilt.compression(), codec);
        assert_eq!(rebuilt.base_timestamp(), 5_000, "the delete horizon");
        assert_ne!(rebuilt.attributes() & (1 << 6), 0);
        let got: Vec<Record> = rebuilt
            .records(1 << 20)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got, kept,
            "offsets, timestamps, keys, values and headers unchanged"
        );
        assert_eq!(rebuilt.max_timestamp(), 1_002);
        // Offsets must move forward and stay in the batch.
        let mut again = RecordBatchBuilder::retaining(&original);
        again.push_record(&kept[1]).unwrap();
        assert!(again.push_record(&kept[0]).is_err());
    }
}

#[test]
fn a_retaining_rebuild_keeps_the_log_append_time() {
    let mut b =
        RecordBatchBuilder::new(Compression::None).timestamp_type(TimestampType::LogAppendTime);
    b.push(1, Some(b"k"), Some(b"v"), &[]).unwrap();
    let mut bytes = b.build().unwrap().to_vec();
    // The broker's stamp: max timestamp 9_999 (the CRC is not checked here).
    bytes[35..43].copy_from_slice(&9_999i64.to_be_bytes());
    let original = RecordBatch::from_bytes(Bytes::from(bytes)).unwrap();
    let records: Vec<Record> = original
        .records(1 << 20)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rebuilt = RecordBatchBuilder::retaining(&original);
    rebuilt.push_record(&records[0]).unwrap();
    let rebuilt = RecordBatch::from_bytes(rebuilt.build().unwrap()).unwrap();
    assert_eq!(rebuilt.max_timestamp(), 9_999);
    assert_eq!(rebuilt.timestamp_type(), TimestampType::LogAppendTime);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(Bytes::from(data));
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        codec in 0u8..5,
        count in any::<i32>(),
        attributes in any::<i16>(),
    ) {
        // Random records behind a header that parses, so the record decoder is reached.
        let header = RecordBatchHeader {
            base_offset: i64::MAX - 2,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: MAGIC,
            crc: 0,
            attributes: (attributes & !0x07) | i16::from(codec),
            last_offset_delta: i32::MAX,
            base_timestamp: i64::MIN,
            max_timestamp: i64::MAX,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: i32::MAX,
            record_count: count % 64,
        };
        exercise(assemble(header, &body));
    }

    #[test]
    fn corrupted_valid_batches_never_panic(
        codec in 0u8..5,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let codec = Compression::from_id(codec).unwrap();
        let mut bytes = build(codec, &sample_records(0)).build().unwrap().to_vec();
        for (at, xor) in flips {
            // Mostly inside the records, where the header checks do not reach.
            let len = bytes.len();
            bytes[at % len] ^= xor;
        }
        exercise(Bytes::from(bytes));
    }

    #[test]
    fn built_batches_round_trip(
        codec in 0u8..5,
        records in proptest::collection::vec(
            (
                any::<i64>(),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                proptest::collection::vec(
                    ("[a-z]{0,5}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))),
                    0..4,
                ),
            ),
            1..20,
        ),
    ) {
        let codec = Compression::from_id(codec).unwrap();
        let flats: Vec<Flat> = records
            .into_iter()
            .enumerate()
            .map(|(i, (ts, k, v, h))| (i as i64, ts, k, v, h))
            .collect();
        let batch = RecordBatch::from_bytes(build(codec, &flats).build().unwrap()).unwrap();
        batch.verify_crc().unwrap();
        prop_assert_eq!(batch.max_timestamp(), flats.iter().map(|r| r.1).max().unwrap());
        prop_assert_eq!(decode_all(&batch), flats);
    }
}
