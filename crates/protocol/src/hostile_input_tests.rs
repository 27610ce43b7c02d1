//! Random and mutated frames thrown at every request decoder: nothing may panic.
//!
//! Valid frames are generated per API and version, then damaged the ways real traffic and
//! attackers damage them: flipped bits, truncation, inserted garbage, and lengths replaced by
//! huge or negative values. Every decode must return (Ok or Err), and whatever decodes must
//! re-encode without panicking.

use bytes::{BufMut, Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::frame::{self, RequestHeader};
use crate::messages::{RequestBody, SUPPORTED};
use crate::ApiKey;

/// Frames per request decoder.
const FRAMES_PER_API: usize = 100_000;

fn valid_frame(rng: &mut StdRng, api: ApiKey, version: i16) -> Option<BytesMut> {
    let seed: Vec<u8> = (0..rng.random_range(0..512))
        .map(|_| rng.random())
        .collect();
    let mut u = arbitrary::Unstructured::new(&seed);
    let body = RequestBody::generate(api, &mut u).ok()?;
    let header = RequestHeader {
        api_key: api.code(),
        api_version: version,
        correlation_id: rng.random(),
        client_id: Some("fuzz".into()),
        unknown_tagged_fields: Vec::new(),
    };
    let mut buf = BytesMut::new();
    frame::encode_request(&header, &body, &mut buf).ok()?;
    Some(buf.split_off(4)) // drop the size prefix: decode_request takes a frame body
}

fn mutate(rng: &mut StdRng, frame: &mut BytesMut) {
    for _ in 0..rng.random_range(1..4) {
        let len = frame.len();
        match rng.random_range(0..5) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                if let Some(b) = frame.get_mut(i) {
                    *b ^= 1 << rng.random_range(0..8);
                }
            }
            1 if len > 0 => frame.truncate(rng.random_range(0..len)),
            2 => {
                let at = rng.random_range(0..=len);
                let tail = frame.split_off(at);
                for _ in 0..rng.random_range(1..16) {
                    frame.put_u8(rng.random());
                }
                frame.unsplit(tail);
            }
            3 if len >= 4 => {
                // A length or count replaced by an extreme value.
                let i = rng.random_range(0..=len - 4);
                let v: i32 = [i32::MAX, -2, i32::MIN, 0x00ff_ffff][rng.random_range(0..4)];
                if let Some(slot) = frame.get_mut(i..i + 4) {
                    slot.copy_from_slice(&v.to_be_bytes());
                }
            }
            _ if len > 0 => {
                // A varint-looking run of continuation bytes.
                let i = rng.random_range(0..len);
                let end = (i + 6).min(len);
                if let Some(slot) = frame.get_mut(i..end) {
                    slot.fill(0xff);
                }
            }
            _ => {}
        }
    }
}

fn random_frame(rng: &mut StdRng, api: ApiKey, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(api.code());
    buf.put_i16(version);
    buf.put_i32(rng.random());
    for _ in 0..rng.random_range(0..128) {
        buf.put_u8(rng.random());
    }
    buf.freeze()
}

/// Throws `FRAMES_PER_API` frames at one API's decoder; returns (frames, still decoded).
fn batter(api: ApiKey, min: i16, max: i16, seed: u64) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut total, mut decoded) = (0, 0);
    for i in 0..FRAMES_PER_API {
        // Mostly supported versions, sometimes one past either end.
        let version = rng.random_range(min - 1..=max + 1);
        let frame = if i % 4 == 0 {
            random_frame(&mut rng, api, version)
        } else {
            let Some(mut f) = valid_frame(&mut rng, api, version.clamp(min, max)) else {
                continue;
            };
            mutate(&mut rng, &mut f);
            f.freeze()
        };
        total += 1;
        if let Ok((header, Ok(body))) = frame::decode_request(frame) {
            decoded += 1;
            let mut out = BytesMut::new();
            let _ = body.encode_to(&mut out, header.api_version);
        }
    }
    (total, decoded)
}

#[test]
fn random_and_mutated_frames_never_panic_any_request_decoder() {
    // Two workers (the CI machine has two cores), each taking every other API.
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                s.spawn(move || {
                    SUPPORTED
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == w)
                        .map(|(i, &(api, min, max))| batter(api, min, max, 0x5eed_0000 + i as u64))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let total: usize = results.iter().map(|r| r.0).sum();
    let decoded: usize = results.iter().map(|r| r.1).sum();
    println!(
        "hostile input: {total} frames over {} request decoders, {decoded} still decoded, no panic",
        SUPPORTED.len()
    );
    assert!(results.iter().all(|r| r.0 >= FRAMES_PER_API * 9 / 10));
}
