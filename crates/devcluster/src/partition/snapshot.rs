//! What a replica derives from its log, written as the log's snapshots (see `log/snapshots.rs`)
//! and restored when it opens, so that only the log after the snapshot is replayed.
//!
//! ```text
//!  payload = format i16 (1)
//!          | epochs:       count u32, then (leader epoch i32, start offset i64) each
//!          | producers:    count u32, then each producer (see `producer_state/snapshot.rs`)
//!          | unreplicated: count u32, then (first offset i64, marker offset i64) each
//! ```
//!
//! The aborted transactions are not in it: they are kept in the segments' `.txnindex` files.
//! Verifications in progress are not either: like Kafka's, they do not survive a restart
//! (the producer's retry verifies again).
//!
//! Decoding checks every length against the bytes left, so a payload that passes the log's
//! CRC but is not one of ours (a future format) is refused, never trusted halfway.

use super::producer_state::ProducerStates;

const FORMAT: i16 = 1;

/// The derived state a snapshot holds.
#[derive(Debug, Default)]
pub(super) struct Derived {
    /// (leader epoch, first offset written under it), ascending.
    pub(super) epochs: Vec<(i32, i64)>,
    pub(super) producers: ProducerStates,
}

/// Encodes a snapshot payload.
pub(super) fn encode(epochs: &[(i32, i64)], producers: &ProducerStates) -> Vec<u8> {
    let mut w = Writer::default();
    w.i16(FORMAT);
    w.count(epochs.len());
    for &(epoch, start) in epochs {
        w.i32(epoch);
        w.i64(start);
    }
    producers.encode(&mut w);
    w.0
}

/// Decodes a snapshot payload; `None` for anything that is not exactly one.
pub(super) fn decode(payload: &[u8]) -> Option<Derived> {
    let mut r = Reader(payload);
    if r.i16()? != FORMAT {
        return None;
    }
    let epochs = r.list(12, |r| Some((r.i32()?, r.i64()?)))?;
    let producers = ProducerStates::decode(&mut r)?;
    r.0.is_empty().then_some(Derived { epochs, producers })
}

/// Appends big-endian fields.
#[derive(Debug, Default)]
pub(super) struct Writer(Vec<u8>);

impl Writer {
    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(super) fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn count(&mut self, n: usize) {
        self.0
            .extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    }
}

/// Takes big-endian fields off the front, `None` when the bytes run out.
#[derive(Debug)]
pub(super) struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    pub(super) fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }
    pub(super) fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
    pub(super) fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
    /// A count, then that many items of at least `min_item_bytes` each (checked before
    /// anything is allocated).
    pub(super) fn list<T>(
        &mut self,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let n = usize::try_from(u32::from_be_bytes(self.take()?)).ok()?;
        if n.checked_mul(min_item_bytes)? > self.0.len() {
            return None;
        }
        (0..n).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_or_extension_of_a_payload_is_refused() {
        let payload = encode(&[(0, 0), (3, 40)], &ProducerStates::default());
        let derived = decode(&payload).unwrap();
        assert_eq!(derived.epochs, vec![(0, 0), (3, 40)]);
        for cut in 0..payload.len() {
            assert!(decode(&payload[..cut]).is_none(), "prefix of {cut} bytes");
        }
        let mut longer = payload.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        let mut huge_count = payload;
        huge_count[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&huge_count).is_none());
    }
}
