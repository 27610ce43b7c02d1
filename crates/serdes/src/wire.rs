//! Confluent's framing of a schema-encoded record value or key.
//!
//! ```text
//!  byte 0      magic 0
//!  bytes 1..5  schema id, unsigned 32-bit big-endian
//!  Avro        the datum (no container header)
//!  Protobuf    message indexes (zig-zag varints: count, then each; [0] is one byte 0), message
//!  JSON        the UTF-8 JSON text
//! ```

use crate::SerdesError;

/// The magic byte of the framing.
pub const MAGIC: u8 = 0;

/// `payload` framed under schema `id`.
pub fn frame(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(MAGIC);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The schema id and the payload of a framed value.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), SerdesError> {
    match bytes {
        [MAGIC, a, b, c, d, payload @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), payload)),
        [other, ..] if *other != MAGIC => Err(SerdesError::NotFramed(format!(
            "magic byte {other}, expected 0"
        ))),
        _ => Err(SerdesError::NotFramed(format!(
            "{} bytes, shorter than the 5-byte header",
            bytes.len()
        ))),
    }
}

/// Protobuf's message indexes (the path of the message type in its file), encoded.
pub fn encode_indexes(indexes: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    if indexes == [0] {
        out.push(0);
        return out;
    }
    put_zigzag(&mut out, indexes.len() as i64);
    for i in indexes {
        put_zigzag(&mut out, *i);
    }
    out
}

/// Protobuf's message indexes and the rest of the payload.
pub fn decode_indexes(bytes: &[u8]) -> Result<(Vec<i64>, &[u8]), SerdesError> {
    let (count, mut rest) = take_zigzag(bytes)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if !(0..=bytes.len() as i64).contains(&count) {
        return Err(SerdesError::NotFramed(format!("{count} message indexes")));
    }
    let mut indexes = Vec::new();
    for _ in 0..count {
        let (i, after) = take_zigzag(rest)?;
        indexes.push(i);
        rest = after;
    }
    Ok((indexes, rest))
}

fn put_zigzag(out: &mut Vec<u8>, n: i64) {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_zigzag(bytes: &[u8]) -> Result<(i64, &[u8]), SerdesError> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let n = ((v >> 1) as i64) ^ -((v & 1) as i64);
            return Ok((n, bytes.get(i + 1..).unwrap_or_default()));
        }
    }
    Err(SerdesError::NotFramed("a truncated varint".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_bad_ones_say_why() {
        let framed = frame(258, b"abc");
        assert_eq!(framed, [0, 0, 0, 1, 2, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed).unwrap(), (258, &b"abc"[..]));
        assert!(unframe(&[1, 0, 0, 0, 1])
            .unwrap_err()
            .to_string()
            .contains("magic byte 1"));
        assert!(unframe(&[0, 0])
            .unwrap_err()
            .to_string()
            .contains("shorter"));
    }

    #[test]
    fn message_indexes_match_confluents_encoding() {
        assert_eq!(encode_indexes(&[0]), [0]);
        // The second top-level message: count 1, index 1, zig-zag: 02 02.
        assert_eq!(encode_indexes(&[1]), [2, 2]);
        assert_eq!(encode_indexes(&[1, 0, 3]), [6, 2, 0, 6]);
        for path in [vec![0], vec![1], vec![1, 0, 3], vec![70]] {
            let mut bytes = encode_indexes(&path);
            bytes.extend_from_slice(b"msg");
            assert_eq!(decode_indexes(&bytes).unwrap(), (path, &b"msg"[..]));
        }
        assert!(decode_indexes(&[0x80]).is_err());
    }
}
