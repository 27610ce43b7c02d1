//! The producer state's part of a replica's snapshot (the format is in `partition/snapshot.rs`):
//!
//! ```text
//!  producer = id i64 | epoch i16 | last timestamp i64 | open transaction's first offset i64
//!             (-1: none) | coordinator epoch i32 | epoch raised by a marker u8 (0/1)
//!             | last offset of its latest batch or marker i64
//!             | recent batches: count u32, then (first seq i32, last seq i32, base offset i64)
//!  then the unreplicated transactions: count u32, then (first offset i64, marker offset i64)
//! ```
//!
//! The open transactions are not stored twice: they follow from each producer's first offset.

use super::super::snapshot::{Reader, Writer};
use super::{ProducerEntry, ProducerStates, Unreplicated, BATCHES_KEPT};

/// Bytes of a producer with no recent batch.
const MIN_PRODUCER_BYTES: usize = 8 + 2 + 8 + 8 + 4 + 1 + 8 + 4;

impl ProducerStates {
    pub(in crate::partition) fn encode(&self, w: &mut Writer) {
        let mut ids: Vec<&i64> = self.entries.keys().collect();
        ids.sort_unstable();
        w.count(ids.len());
        for (pid, e) in ids
            .into_iter()
            .filter_map(|pid| Some((*pid, self.entries.get(pid)?)))
        {
            w.i64(pid);
            w.i16(e.epoch);
            w.i64(e.last_timestamp);
            w.i64(e.txn_first_offset.unwrap_or(-1));
            w.i32(e.coordinator_epoch);
            w.u8(u8::from(e.epoch_from_marker));
            w.i64(e.last_offset);
            w.count(e.recent.len());
            for &(first, last, base) in &e.recent {
                w.i32(first);
                w.i32(last);
                w.i64(base);
            }
        }
        w.count(self.unreplicated.len());
        for u in &self.unreplicated {
            w.i64(u.first_offset);
            w.i64(u.marker_offset);
        }
    }

    pub(in crate::partition) fn decode(r: &mut Reader<'_>) -> Option<ProducerStates> {
        let producers = r.list(MIN_PRODUCER_BYTES, |r| {
            let pid = r.i64()?;
            let mut entry = ProducerEntry::new(r.i16()?, r.i64()?);
            entry.txn_first_offset = Some(r.i64()?).filter(|o| *o >= 0);
            entry.coordinator_epoch = r.i32()?;
            entry.epoch_from_marker = match r.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            };
            entry.last_offset = r.i64()?;
            let recent = r.list(16, |r| Some((r.i32()?, r.i32()?, r.i64()?)))?;
            if recent.len() > BATCHES_KEPT {
                return None;
            }
            entry.recent = recent.into();
            Some((pid, entry))
        })?;
        let unreplicated = r.list(16, |r| {
            Some(Unreplicated {
                first_offset: r.i64()?,
                marker_offset: r.i64()?,
            })
        })?;
        let mut states = ProducerStates::default();
        for (pid, entry) in producers {
            if let Some(first) = entry.txn_first_offset {
                states.ongoing.insert(first, pid);
            }
            states.entries.insert(pid, entry);
        }
        states.unreplicated = unreplicated.into();
        Some(states)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::record_batch::RecordBatchBuilder;

    use super::super::super::snapshot::{decode, encode};
    use super::*;

    fn batch(pid: i64, epoch: i16, seq: i32, base: i64, transactional: bool) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None)
            .base_offset(base)
            .producer(pid, epoch, seq)
            .transactional(transactional);
        b.push(100 + base, None, Some(b"v".as_slice()), &[])
            .unwrap();
        b.build().unwrap()
    }

    #[test]
    fn a_restored_state_answers_as_the_original() {
        let mut states = ProducerStates::default();
        for i in 0..7 {
            states.learn(&batch(1, 0, i, i64::from(i), false));
        }
        states.learn(&batch(2, 3, 0, 7, true));
        states.learn(&batch(3, 1, 0, 8, true));
        let restored = decode(&encode(&[(0, 0)], &states)).unwrap().producers;
        assert_eq!(restored.describe(), states.describe());
        assert_eq!(restored.ongoing, states.ongoing);
        assert_eq!(restored.entries.get(&1).unwrap().recent.len(), BATCHES_KEPT);
        assert_eq!(
            restored.last_stable_offset(100, 0),
            states.last_stable_offset(100, 0)
        );
        assert_eq!(restored.last_stable_offset(100, 0), 7);
    }
}
