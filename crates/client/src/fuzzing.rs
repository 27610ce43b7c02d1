//! Entry points for the cargo-fuzz targets in `fuzz/`: what the client does with a broker's
//! answer, reachable from outside the crate without making the internals public. Not part of
//! the API; hidden from the docs.
//!
//! ```text
//!  bytes ─▶ decode_response(Fetch)    ─▶ each partition ─▶ fetcher::decode (batches, CRC,
//!                                                            decompression, records)
//!        ─▶ decode_response(Metadata) ─▶ MetadataSnapshot::apply ─▶ leader lookups
//!        ─▶ decode_response(Produce)  ─▶ per-partition outcome as the sender reads it
//! ```

use bytes::Bytes;
use streamctl_protocol::frame;
use streamctl_protocol::messages::ResponseBody;
use streamctl_protocol::{ApiKey, ErrorCode, Message};

use crate::consumer::fetcher::{self, PartitionOutcome};
use crate::metadata::MetadataSnapshot;

/// Feeds `data` to the client's response handling. The first byte picks the API (Fetch,
/// Metadata, Produce), the second its version, the third the consumer's fetch offset; the
/// rest is the response frame body (header included). Returns how many records a Fetch
/// answer yielded, or which invariant of the client's own decoding broke (a record before the
/// fetch offset, a position going backwards): that, not the input, is what a target checks.
pub fn response(data: &[u8]) -> Result<usize, &'static str> {
    let [api, version, offset, rest @ ..] = data else {
        return Ok(0);
    };
    let api = match api % 3 {
        0 => ApiKey::Fetch,
        1 => ApiKey::Metadata,
        _ => ApiKey::Produce,
    };
    let (min, max) = match api {
        ApiKey::Fetch => (
            streamctl_protocol::messages::FetchRequest::MIN_VERSION,
            streamctl_protocol::messages::FetchRequest::MAX_VERSION,
        ),
        ApiKey::Metadata => (
            streamctl_protocol::messages::MetadataRequest::MIN_VERSION,
            streamctl_protocol::messages::MetadataRequest::MAX_VERSION,
        ),
        _ => (
            streamctl_protocol::messages::ProduceRequest::MIN_VERSION,
            streamctl_protocol::messages::ProduceRequest::MAX_VERSION,
        ),
    };
    let span =
        i16::try_from(u16::from(*version) % u16::try_from(max - min + 1).unwrap_or(1)).unwrap_or(0);
    let Ok((_, body)) = frame::decode_response(Bytes::copy_from_slice(rest), api, min + span)
    else {
        return Ok(0);
    };
    let fetch_offset = i64::from(*offset);
    let mut yielded = 0;
    match body {
        ResponseBody::Fetch(resp) => {
            for topic in resp.responses {
                for p in topic.partitions {
                    // A listed abort list runs the read_committed filter too.
                    let aborted: Option<Vec<(i64, i64)>> = p.aborted_transactions.map(|a| {
                        a.into_iter()
                            .map(|t| (t.producer_id, t.first_offset))
                            .collect()
                    });
                    let outcome = fetcher::decode(
                        &std::sync::Arc::from(topic.topic.as_str()),
                        p.partition_index,
                        fetch_offset,
                        p.records.unwrap_or_default(),
                        p.high_watermark,
                        aborted.as_deref(),
                    );
                    if let PartitionOutcome::Records {
                        records,
                        next_offset,
                        ..
                    } = outcome
                    {
                        if records.iter().any(|r| r.offset < fetch_offset) {
                            return Err("a record before the fetch offset was yielded");
                        }
                        if next_offset < fetch_offset {
                            return Err("the fetch position went backwards");
                        }
                        yielded += records.len();
                    }
                }
            }
        }
        ResponseBody::Metadata(resp) => {
            let mut snapshot = MetadataSnapshot::default();
            snapshot.apply(resp, None, tokio::time::Instant::now());
            for t in snapshot.topics() {
                for p in &t.partitions {
                    if let Some(leader) = p.leader_id {
                        let _ = snapshot.broker(leader).map(|b| b.address());
                    }
                }
                let _ = snapshot.topic_name(t.topic_id);
            }
        }
        ResponseBody::Produce(resp) => {
            for t in &resp.responses {
                for p in &t.partition_responses {
                    let _ = ErrorCode::from_code(p.error_code).is_retriable();
                }
            }
        }
        _ => {}
    }
    Ok(yielded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_garbage_input_is_ignored() {
        assert_eq!(response(&[]), Ok(0));
        assert_eq!(response(&[0, 0, 0, 1, 2, 3]), Ok(0));
        assert_eq!(response(&[1, 200, 9, 0xff, 0xff, 0xff, 0xff]), Ok(0));
    }
}
