//! The compression codecs of record batches: none, gzip, snappy, lz4 and zstd.
//!
//! ```text
//!   RecordBatchBuilder ──records──▶ compress(codec) ──▶ batch body
//!   batch body ──▶ decompress(codec, max_size) ──records──▶ Records iterator
//! ```
//!
//! A batch compresses only its records section; the codec is named by bits 0-2 of the batch
//! attributes. Every codec is pure Rust (DESIGN decision 8): flate2 for gzip, snap for snappy,
//! lz4_flex for lz4 (the LZ4 *frame* format, as Kafka uses since KIP-57) and ruzstd for zstd
//! (KIP-110).
//!
//! Decompression is the one place where a few hostile bytes can ask for gigabytes, so every
//! decoder streams into a buffer capped at `max_size` and stops as soon as the output would pass
//! it; sizes announced inside the compressed data are checked against the cap before anything
//! is allocated for them.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use crate::error::{DecodeError, EncodeError};

/// A record batch compression codec (bits 0-2 of the batch attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Records are stored as they are.
    #[default]
    None,
    /// gzip (RFC 1952), as written by `java.util.zip.GZIPOutputStream`.
    Gzip,
    /// Snappy; read in both the raw block format and snappy-java's ("xerial") framing.
    Snappy,
    /// The LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// The bits of the batch attributes that name the codec.
const CODEC_MASK: i16 = 0x07;

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec named by a record batch's attributes.
    pub fn from_attributes(attributes: i16) -> Result<Self, DecodeError> {
        // The mask keeps the value in 0..=7, so the cast is lossless.
        Self::from_id((attributes & CODEC_MASK) as u8)
    }

    /// The codec with Kafka's numeric id (0 = none ... 4 = zstd).
    pub fn from_id(id: u8) -> Result<Self, DecodeError> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(DecodeError::UnknownCompression(other)),
        }
    }

    /// Kafka's numeric id of the codec, as stored in the batch attributes.
    pub const fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name of the codec, as used by the `compression.type` property.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `compression.type` value that names no codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression type '{0}' (expected none, gzip, snappy, lz4 or zstd)")]
pub struct ParseCompressionError(pub String);

impl FromStr for Compression {
    type Err = ParseCompressionError;

    /// Parses Kafka's names. Case is ignored so that `GZIP` pasted from elsewhere works too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseCompressionError(s.to_string()))
    }
}

/// Appends `input` compressed with `codec` to `out`.
pub fn compress(codec: Compression, input: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let fail = |reason: String| EncodeError::Compression {
        codec: codec.name(),
        reason,
    };
    match codec {
        Compression::None => out.extend_from_slice(input),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            encoder.write_all(input).map_err(|e| fail(e.to_string()))?;
            encoder.finish().map_err(|e| fail(e.to_string()))?;
        }
        Compression::Snappy => snappy_compress(input, out).map_err(|e| fail(e.to_string()))?,
        Compression::Lz4 => {
            // Exactly what Kafka's Java producer writes (Lz4BlockOutputStream): 64 KiB
            // independent blocks, no block or content checksum, no content size. The Java
            // reader refuses linked blocks, so the mode must not be left to a default.
            let mut info = lz4_flex::frame::FrameInfo::new();
            info.block_size = lz4_flex::frame::BlockSize::Max64KB;
            info.block_mode = lz4_flex::frame::BlockMode::Independent;
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
            encoder.write_all(input).map_err(|e| fail(e.to_string()))?;
            encoder.finish().map_err(|e| fail(e.to_string()))?;
        }
        Compression::Zstd => {
            // ruzstd implements only its fastest level (about zstd level 1); the frames it
            // writes are standard zstd frames that every Kafka client reads. Reading from a
            // slice and writing to a Vec cannot fail, which ruzstd's signature relies on.
            ruzstd::encoding::compress(
                input,
                &mut *out,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
        }
    }
    Ok(())
}

/// Decompresses `input`, failing as soon as the output would be larger than `max_size` bytes.
///
/// The memory used is bounded by `max_size` plus a codec's working buffers (at most
/// [`ZSTD_WINDOW_ALLOWANCE`] for zstd, 16 MiB for the largest lz4 block size), never by a size
/// announced in the input.
pub fn decompress(
    codec: Compression,
    input: &[u8],
    max_size: usize,
) -> Result<Vec<u8>, DecodeError> {
    // Every codec writes at least a header, even for no data; Java's readers fail on empty
    // input too, and treating it as "no records" would hide a broken producer.
    if input.is_empty() && codec != Compression::None {
        return Err(failed(codec, "empty input"));
    }
    match codec {
        Compression::None => {
            if input.len() > max_size {
                return Err(too_large(codec, max_size));
            }
            Ok(input.to_vec())
        }
        // Java's GZIPInputStream reads concatenated gzip members, so the multi-member decoder.
        Compression::Gzip => read_capped(codec, flate2::read::MultiGzDecoder::new(input), max_size),
        Compression::Snappy => snappy_decompress(input, max_size),
        Compression::Lz4 => read_capped(codec, lz4_flex::frame::FrameDecoder::new(input), max_size),
        Compression::Zstd => zstd_decompress(input, max_size),
    }
}

fn too_large(codec: Compression, max_size: usize) -> DecodeError {
    DecodeError::Decompression {
        codec: codec.name(),
        reason: format!("output exceeds the limit of {max_size} bytes"),
    }
}

fn failed(codec: Compression, reason: impl fmt::Display) -> DecodeError {
    DecodeError::Decompression {
        codec: codec.name(),
        reason: reason.to_string(),
    }
}

/// Reads a decoder to its end, appending to `out`, and fails once `out` would pass `max_size`.
fn read_capped_into(
    codec: Compression,
    reader: impl Read,
    max_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let budget = max_size.saturating_sub(out.len());
    // One byte more than allowed tells "exactly at the limit" from "over it" without ever
    // holding more than the limit plus one byte.
    let limit = u64::try_from(budget).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(out)
        .map_err(|e| failed(codec, e))?;
    if out.len() > max_size {
        return Err(too_large(codec, max_size));
    }
    Ok(())
}

fn read_capped(
    codec: Compression,
    reader: impl Read,
    max_size: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    read_capped_into(codec, reader, max_size, &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Snappy
// ---------------------------------------------------------------------------------------------

/// The magic that opens snappy-java's `SnappyOutputStream` framing. The 16-byte header goes on
/// with a big-endian version and minimum compatible version (both 1), then blocks of
/// `[big-endian u32 length][raw snappy block]`.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;

/// Snappy is compressed as ONE raw snappy block, not in snappy-java's framing. Why that is safe:
///
/// * Kafka's Java client decompresses with snappy-java's `SnappyInputStream`
///   (`SnappyCompression.wrapForInput`), whose `readHeader` decodes the whole input as one raw
///   block (`readFully` + `Snappy.uncompress`) when the 16-byte xerial header is absent. Java
///   brokers validating produce requests go through the same class.
/// * librdkafka only ever writes raw snappy (and reads both forms), so every consumer in use
///   already reads raw snappy. influxdata/rskafka, which also writes raw snappy, found in its
///   Java interop tests (PR #108) that Java consumers read it unchanged.
/// * One raw block announces its decompressed size up front, which lets a reader check it
///   against its limit before allocating.
fn snappy_compress(input: &[u8], out: &mut Vec<u8>) -> Result<(), snap::Error> {
    let start = out.len();
    out.resize(start + snap::raw::max_compress_len(input.len()), 0);
    let written = match out.get_mut(start..) {
        Some(dst) => snap::raw::Encoder::new().compress(input, dst),
        None => Ok(0),
    };
    match written {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// A raw snappy element expands to at most 64 bytes from 3 bytes of input (a 2-byte-offset
/// copy), so an honest stream never claims more than ~22 times its size. Anything claiming more
/// is rejected before its buffer is allocated, so a 20-byte input cannot make us zero a
/// `max_size` buffer only to fail afterwards.
const SNAPPY_MAX_RATIO: usize = 32;

fn snappy_decompress(input: &[u8], max_size: usize) -> Result<Vec<u8>, DecodeError> {
    let codec = Compression::Snappy;
    let Some(mut rest) = input.strip_prefix(&XERIAL_MAGIC[..]) else {
        let mut out = Vec::new();
        snappy_raw_block_into(input, max_size, &mut out)?;
        return Ok(out);
    };
    // The version fields are skipped, not checked: Redpanda writes them little-endian, and
    // librdkafka (which Kafka users rely on) only checks the magic as well.
    let version_len = XERIAL_HEADER_LEN - XERIAL_MAGIC.len();
    rest = rest
        .get(version_len..)
        .ok_or_else(|| failed(codec, "xerial header is truncated"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| failed(codec, "xerial block length is truncated"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > after.len() {
            return Err(failed(
                codec,
                format!(
                    "xerial block of {len} bytes but only {} remain",
                    after.len()
                ),
            ));
        }
        let (block, after) = after.split_at(len);
        snappy_raw_block_into(block, max_size, &mut out)?;
        rest = after;
    }
    Ok(out)
}

/// Decompresses one raw snappy block, appending to `out`.
fn snappy_raw_block_into(
    block: &[u8],
    max_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let codec = Compression::Snappy;
    let claimed = snap::raw::decompress_len(block).map_err(|e| failed(codec, e))?;
    if claimed > max_size.saturating_sub(out.len()) {
        return Err(too_large(codec, max_size));
    }
    if claimed
        > block
            .len()
            .saturating_mul(SNAPPY_MAX_RATIO)
            .saturating_add(16)
    {
        return Err(failed(
            codec,
            format!("a {}-byte block cannot hold {claimed} bytes", block.len()),
        ));
    }
    let start = out.len();
    out.resize(start + claimed, 0);
    let result = match out.get_mut(start..) {
        Some(dst) => snap::raw::Decoder::new().decompress(block, dst),
        None => Ok(0),
    };
    match result {
        Ok(n) if n == claimed => Ok(()),
        Ok(n) => Err(failed(
            codec,
            format!("block announced {claimed} bytes but held {n}"),
        )),
        Err(e) => Err(failed(codec, e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Zstd
// ---------------------------------------------------------------------------------------------

/// The largest zstd window accepted regardless of `max_size`.
///
/// ruzstd keeps up to a frame's whole window of output before it hands out any byte, so the
/// output cap alone does not bound its memory: a frame declaring a 2 TiB window made of RLE
/// blocks would grow without a byte ever reaching our capped reader. Windows larger than
/// `max(max_size, ZSTD_WINDOW_ALLOWANCE)` are therefore refused up front. 8 MiB is the window of
/// zstd levels up to 19 when the content size is unknown (how Kafka's Java producer streams);
/// only the "ultra" levels 20-22 use more, and those still decode when `max_size` covers them.
pub const ZSTD_WINDOW_ALLOWANCE: u64 = 8 << 20;

const ZSTD_MAGIC: u32 = 0xFD2F_B528;
const ZSTD_SKIPPABLE_MAGIC_MASK: u32 = 0xFFFF_FFF0;
const ZSTD_SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// Decodes a sequence of zstd frames (Java's `ZstdInputStream` and librdkafka both accept
/// concatenated and skippable frames, so we do too).
fn zstd_decompress(input: &[u8], max_size: usize) -> Result<Vec<u8>, DecodeError> {
    let codec = Compression::Zstd;
    let window_cap = u64::try_from(max_size)
        .unwrap_or(u64::MAX)
        .max(ZSTD_WINDOW_ALLOWANCE);
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let magic = rest
            .first_chunk::<4>()
            .map(|m| u32::from_le_bytes(*m))
            .ok_or_else(|| failed(codec, "frame magic is truncated"))?;
        if magic & ZSTD_SKIPPABLE_MAGIC_MASK == ZSTD_SKIPPABLE_MAGIC {
            let size = rest
                .get(4..8)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(|s| u32::from_le_bytes(s) as usize)
                .ok_or_else(|| failed(codec, "skippable frame size is truncated"))?;
            rest = rest
                .get(8usize.saturating_add(size)..)
                .ok_or_else(|| failed(codec, "skippable frame is truncated"))?;
            continue;
        }
        if magic != ZSTD_MAGIC {
            return Err(failed(codec, format!("bad frame magic {magic:#010x}")));
        }
        if let Some(window) = zstd_window_size(rest) {
            if window > window_cap {
                return Err(failed(
                    codec,
                    format!("frame window of {window} bytes exceeds the limit of {window_cap}"),
                ));
            }
        }
        let decoder =
            ruzstd::decoding::StreamingDecoder::new(&mut rest).map_err(|e| failed(codec, e))?;
        read_capped_into(codec, decoder, max_size, &mut out)?;
    }
    Ok(out)
}

/// The window size a zstd frame header declares (RFC 8878 section 3.1.1.1), or `None` when the
/// header is too short to say; ruzstd then reports the truncation itself.
fn zstd_window_size(frame: &[u8]) -> Option<u64> {
    let descriptor = *frame.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let window_descriptor = *frame.get(5)?;
        let exponent = u32::from(window_descriptor >> 3);
        let mantissa = u64::from(window_descriptor & 0x07);
        let base = 1u64 << (10 + exponent);
        return Some(base + (base / 8) * mantissa);
    }
    // A single-segment frame has no window descriptor: the window is the content size.
    let dict_id_len = match descriptor & 0x03 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let content_size_len = match descriptor >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let start = 5 + dict_id_len;
    let field = frame.get(start..start + content_size_len)?;
    let mut le = [0u8; 8];
    for (dst, src) in le.iter_mut().zip(field) {
        *dst = *src;
    }
    let size = u64::from_le_bytes(le);
    // The 2-byte form is stored minus 256.
    Some(if content_size_len == 2 {
        size + 256
    } else {
        size
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    #[test]
    fn names_ids_and_attributes_agree() {
        for codec in Compression::ALL {
            assert_eq!(codec.name().parse::<Compression>().unwrap(), codec);
            assert_eq!(codec.to_string(), codec.name());
            assert_eq!(Compression::from_id(codec.id()).unwrap(), codec);
            // Other attribute bits (timestamp type, transactional, control) do not matter.
            let attributes = 0b0111_1000 | i16::from(codec.id());
            assert_eq!(Compression::from_attributes(attributes).unwrap(), codec);
        }
        assert_eq!("ZSTD".parse::<Compression>().unwrap(), Compression::Zstd);
        assert!("brotli".parse::<Compression>().is_err());
        assert_eq!(
            Compression::from_attributes(5),
            Err(DecodeError::UnknownCompression(5))
        );
        assert_eq!(
            Compression::from_attributes(7),
            Err(DecodeError::UnknownCompression(7))
        );
    }

    #[test]
    fn every_codec_round_trips() {
        for len in [0usize, 1, 100, 70_000, 300_000] {
            let input = sample(len);
            for codec in Compression::ALL {
                let mut out = b"prefix".to_vec();
                compress(codec, &input, &mut out).unwrap();
                assert_eq!(&out[..6], b"prefix", "{codec} must append");
                let back = decompress(codec, &out[6..], len).unwrap();
                assert_eq!(back, input, "{codec} with {len} bytes");
            }
        }
    }

    #[test]
    fn output_exactly_at_the_limit_is_allowed_and_one_byte_more_is_not() {
        let input = sample(10_000);
        for codec in Compression::ALL {
            let mut out = Vec::new();
            compress(codec, &input, &mut out).unwrap();
            assert!(decompress(codec, &out, input.len()).is_ok(), "{codec}");
            let err = decompress(codec, &out, input.len() - 1).unwrap_err();
            assert!(
                err.to_string().contains("exceeds the limit"),
                "{codec}: {err}"
            );
        }
    }

    #[test]
    fn decompression_bombs_stop_at_the_cap() {
        // 16 MiB of zeros compresses to a few KiB with every codec; a 1 MiB cap must stop it.
        let zeros = vec![0u8; 16 << 20];
        for codec in Compression::ALL {
            if codec == Compression::None {
                continue;
            }
            let mut bomb = Vec::new();
            compress(codec, &zeros, &mut bomb).unwrap();
            assert!(bomb.len() < 1 << 20, "{codec} bomb is {} bytes", bomb.len());
            let err = decompress(codec, &bomb, 1 << 20).unwrap_err();
            assert!(
                matches!(err, DecodeError::Decompression { .. }),
                "{codec}: {err}"
            );
        }
    }

    #[test]
    fn snappy_reads_raw_and_xerial_framing() {
        let input = sample(100_000);
        let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert_eq!(
            decompress(Compression::Snappy, &raw, input.len()).unwrap(),
            input
        );

        // snappy-java framing as Kafka's Java producer writes it: 32 KiB blocks.
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend_from_slice(&1i32.to_be_bytes());
        xerial.extend_from_slice(&1i32.to_be_bytes());
        for chunk in input.chunks(32 * 1024) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            xerial.extend_from_slice(&(block.len() as u32).to_be_bytes());
            xerial.extend_from_slice(&block);
        }
        assert_eq!(
            decompress(Compression::Snappy, &xerial, input.len()).unwrap(),
            input
        );
        // The cap applies across blocks, not per block.
        assert!(decompress(Compression::Snappy, &xerial, input.len() - 1).is_err());

        // Redpanda writes the version fields little-endian; they are not checked.
        let mut little = xerial.clone();
        little[8..16].copy_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            decompress(Compression::Snappy, &little, input.len()).unwrap(),
            input
        );

        // Bytes taken from kafka-protocol's tests, captured from kafka-console-producer.sh.
        let java = b"\x82\x53\x4e\x41\x50\x50\x59\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x0f\x0d\x30\x18\x00\x00\x00\x01\x0csdfdsf\x00";
        let out = decompress(Compression::Snappy, java, 100).unwrap();
        assert_eq!(out.len(), 13);
        assert!(out.ends_with(b"sdfdsf\x00"));

        // A truncated block length or block is an error, not a panic.
        for cut in [17, 19, 21, xerial.len() - 1] {
            assert!(decompress(Compression::Snappy, &xerial[..cut], 1 << 20).is_err());
        }
    }

    #[test]
    fn snappy_claims_are_checked_before_allocating() {
        // A raw block claiming 2^32-1 bytes in 5 bytes of varint plus one literal tag.
        let lie = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
        assert!(decompress(Compression::Snappy, &lie, usize::MAX).is_err());
        assert!(decompress(Compression::Snappy, &lie, 1 << 20).is_err());
    }

    #[test]
    fn zstd_refuses_giant_windows_and_reads_concatenated_frames() {
        // Frame header: magic, descriptor 0 (window descriptor present), window exponent 31.
        let mut giant = ZSTD_MAGIC.to_le_bytes().to_vec();
        giant.extend_from_slice(&[0x00, 31 << 3, 0, 0, 0]);
        let err = decompress(Compression::Zstd, &giant, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("window"), "{err}");

        let a = sample(5_000);
        let b = sample(7_000);
        let mut stream = Vec::new();
        compress(Compression::Zstd, &a, &mut stream).unwrap();
        // A skippable frame between the two.
        stream.extend_from_slice(&0x184D_2A5Au32.to_le_bytes());
        stream.extend_from_slice(&3u32.to_le_bytes());
        stream.extend_from_slice(b"abc");
        compress(Compression::Zstd, &b, &mut stream).unwrap();
        let out = decompress(Compression::Zstd, &stream, 12_000).unwrap();
        assert_eq!(&out[..5_000], &a[..]);
        assert_eq!(&out[5_000..], &b[..]);
        assert!(decompress(Compression::Zstd, &stream, 11_999).is_err());
    }

    #[test]
    fn zstd_window_size_follows_rfc_8878() {
        let magic = ZSTD_MAGIC.to_le_bytes();
        let header = |rest: &[u8]| [&magic[..], rest].concat();
        // Exponent 0, mantissa 0: 1 KiB. Exponent 1, mantissa 4: 2 KiB + 1 KiB.
        assert_eq!(zstd_window_size(&header(&[0x00, 0x00])), Some(1024));
        assert_eq!(zstd_window_size(&header(&[0x00, (1 << 3) | 4])), Some(3072));
        // Single segment, 1-byte content size.
        assert_eq!(zstd_window_size(&header(&[0x20, 200])), Some(200));
        // Single segment, 2-byte content size (+256).
        assert_eq!(zstd_window_size(&header(&[0x60, 0x00, 0x01])), Some(512));
        // Single segment, 1-byte dictionary id then 4-byte content size.
        assert_eq!(
            zstd_window_size(&header(&[0xA1, 9, 0x00, 0x00, 0x10, 0x00])),
            Some(1 << 20)
        );
        assert_eq!(zstd_window_size(&header(&[0x20])), None);
    }

    #[test]
    fn garbage_is_an_error_for_every_codec() {
        let garbage = [0x13u8, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02];
        for codec in Compression::ALL {
            if codec == Compression::None {
                continue;
            }
            assert!(decompress(codec, &garbage, 1 << 20).is_err(), "{codec}");
            assert!(decompress(codec, &[], 1 << 20).is_err(), "{codec}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn decompress_never_panics(codec in 0u8..5, data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let codec = Compression::from_id(codec).unwrap();
            let _ = decompress(codec, &data, 1 << 16);
        }

        #[test]
        fn corrupted_streams_never_panic(
            codec in 1u8..5,
            seed in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..2048),
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8),
        ) {
            // Random bytes rarely get past a codec's magic; corrupting a valid stream reaches
            // the block decoders.
            let codec = Compression::from_id(codec).unwrap();
            let mut data = Vec::new();
            compress(codec, &seed.repeat(4), &mut data).unwrap();
            for (at, xor) in flips {
                let at = at % data.len();
                data[at] ^= xor;
            }
            let _ = decompress(codec, &data, 1 << 16);
        }

        #[test]
        fn compress_round_trips(codec in 0u8..5, data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let codec = Compression::from_id(codec).unwrap();
            let mut out = Vec::new();
            compress(codec, &data, &mut out).unwrap();
            proptest::prop_assert_eq!(decompress(codec, &out, data.len()).unwrap(), data);
        }
    }
}
