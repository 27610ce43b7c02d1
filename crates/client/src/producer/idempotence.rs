//! Sequence bookkeeping of the idempotent producer (KIP-98), with the recovery rules of
//! KIP-360 (bump the epoch instead of restarting) and KIP-588 (never reuse a sequence whose
//! outcome is unknown).
//!
//! ```text
//!  first drain of a batch ─▶ PartitionSequences::assign ─▶ Stamp (id, epoch, base sequence)
//!     (a partition whose identity is stale restarts at 0 under the producer's current one;
//!      one that needs a new identity waits until the producer has one)
//!  retries ─────────────────▶ the same bytes, the same stamp
//!  failed for good:
//!     every attempt refused before the append ─▶ on_refused: the sequences are given back
//!     outcome unknown (timeout, lost connection, NOT_LEADER_OR_FOLLOWER, retries spent ...)
//!                           ─▶ on_unknown: never reuse them; a new identity for this partition
//!  OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID (the broker lost our sequence state)
//!                           ─▶ on_unknown, and the batch is stamped again at 0 under the new
//!                              identity and retried
//! ```
//!
//! The producer keeps one batch in flight per partition, so at most one batch of a partition
//! holds a stamp that is not yet settled: the one in flight or waiting for its retry. That
//! makes the rules below simpler than Kafka's (no in-flight batches to renumber), and it is
//! what "switch identity only when no batch of the old one is in flight" means here: a
//! partition's identity changes only when its front batch gets its first stamp.

use streamctl_protocol::ErrorCode;

/// Producer identity for idempotence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    /// Producer id from InitProducerId.
    pub id: i64,
    /// Its epoch.
    pub epoch: i16,
}

impl ProducerIdentity {
    /// The identity after a local epoch bump, as Kafka's idempotent producer does it
    /// (KIP-360): the broker accepts a higher epoch that starts at sequence 0, and the new
    /// epoch fences requests of the old one still on their way. `None` once the epoch is
    /// exhausted: then only InitProducerId can give a new identity.
    pub fn bumped(self) -> Option<ProducerIdentity> {
        let epoch = self.epoch.checked_add(1)?;
        Some(ProducerIdentity { id: self.id, epoch })
    }
}

/// The producer's identity and whether a partition asked for a new one.
#[derive(Debug, Default)]
pub struct IdentityState {
    /// The identity new stamps use (`None` when idempotence is off).
    pub current: Option<ProducerIdentity>,
    /// A partition gave up `current`: the sender bumps it before draining more.
    pub bump_requested: bool,
}

impl IdentityState {
    /// Asks for a new identity because a partition gave up `from`. A batch stamped with an
    /// identity that was already replaced needs nothing: the partition moves to the current
    /// one by itself.
    pub fn request_bump(&mut self, from: ProducerIdentity) {
        if self.current == Some(from) {
            self.bump_requested = true;
        }
    }
}

/// The producer fields a batch is encoded with, given once when it is first drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The identity the sequence counts under.
    pub identity: ProducerIdentity,
    /// The batch's first sequence.
    pub base_sequence: i32,
}

/// What a failed attempt tells about whether the batch was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The broker refused the batch before appending it, or it never left the client.
    NotWritten,
    /// It may have been written: a timeout, a lost connection, or an error the broker can
    /// answer after the append.
    Unknown,
    /// The broker refused it because it has no (or other) sequence state for the producer.
    LostSequenceState,
}

impl AttemptOutcome {
    /// Classifies a produce error code the broker answered for a partition.
    pub fn of_code(code: ErrorCode) -> AttemptOutcome {
        match code {
            ErrorCode::OutOfOrderSequenceNumber | ErrorCode::UnknownProducerId => {
                AttemptOutcome::LostSequenceState
            }
            // Checked before the append, in Kafka and in the dev cluster: a batch that gets
            // one of these was not written by this attempt. NOT_LEADER_OR_FOLLOWER is not
            // here: a leader deposed while waiting for acks=all answers it after the append.
            ErrorCode::MessageTooLarge
            | ErrorCode::RecordListTooLarge
            | ErrorCode::CorruptMessage
            | ErrorCode::InvalidRecord
            | ErrorCode::InvalidTimestamp
            | ErrorCode::InvalidRequiredAcks
            | ErrorCode::InvalidTopicException
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::UnknownTopicId
            | ErrorCode::TopicAuthorizationFailed
            | ErrorCode::ClusterAuthorizationFailed
            | ErrorCode::TransactionalIdAuthorizationFailed
            | ErrorCode::UnsupportedForMessageFormat
            | ErrorCode::UnsupportedCompressionType
            | ErrorCode::PolicyViolation
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::InvalidProducerIdMapping
            | ErrorCode::ProducerFenced
            // The transaction checks (KIP-890) run before the append too.
            | ErrorCode::ConcurrentTransactions
            | ErrorCode::InvalidTxnState
            | ErrorCode::TransactionAbortable => AttemptOutcome::NotWritten,
            _ => AttemptOutcome::Unknown,
        }
    }
}

/// The sequence after `base` plus `count` records, wrapping from `i32::MAX` to 0 as Kafka
/// does (`DefaultRecordBatch.incrementSequence`); never negative.
pub fn increment_sequence(base: i32, count: i32) -> i32 {
    let next = i64::from(base.max(0)) + i64::from(count.max(0));
    let wrapped = next % (i64::from(i32::MAX) + 1);
    i32::try_from(wrapped).unwrap_or(0)
}

/// One partition's sequence state.
#[derive(Debug, Default)]
pub struct PartitionSequences {
    /// The identity `next_sequence` counts under; `None` before the first batch.
    identity: Option<ProducerIdentity>,
    /// The next sequence to give under `identity`.
    next_sequence: i32,
    /// A batch's outcome under `identity` is unknown, or the broker lost its state: no new
    /// sequence may be given under it, the partition waits for another identity.
    needs_new_identity: bool,
}

impl PartitionSequences {
    /// Stamps a batch of `record_count` records about to be sent for the first time, or
    /// again after the broker lost the sequence state. The caller guarantees no other batch
    /// of the partition holds an unsettled stamp (one batch in flight per partition).
    ///
    /// `None`: the partition must wait until the producer has an identity other than the
    /// one it gave up.
    pub fn assign(&mut self, current: ProducerIdentity, record_count: usize) -> Option<Stamp> {
        if self.identity != Some(current) {
            // A new identity (or the first batch): every identity starts at sequence 0.
            self.identity = Some(current);
            self.next_sequence = 0;
            self.needs_new_identity = false;
        } else if self.needs_new_identity {
            return None;
        }
        let base_sequence = self.next_sequence;
        self.next_sequence = increment_sequence(base_sequence, count_i32(record_count));
        Some(Stamp {
            identity: current,
            base_sequence,
        })
    }

    /// A stamped batch failed for good and no attempt of it can have been written: its
    /// sequences are given back, so the next batch is the one the broker expects (Kafka's
    /// `adjustSequencesDueToFailedBatch`). Done only when they are the last ones given under
    /// the partition's identity; otherwise the partition takes a new identity instead, which
    /// is always valid. Returns whether the producer must get a new identity.
    pub fn on_refused(&mut self, stamp: Stamp, record_count: usize) -> bool {
        let last_given = self.identity == Some(stamp.identity)
            && !self.needs_new_identity
            && self.next_sequence
                == increment_sequence(stamp.base_sequence, count_i32(record_count));
        if last_given {
            self.next_sequence = stamp.base_sequence;
            false
        } else {
            self.on_unknown(stamp)
        }
    }

    /// A stamped batch may have been written (or the broker lost the state its sequence was
    /// checked against): no later batch may reuse or follow its sequences under this
    /// identity. Returns whether the producer must get a new identity, i.e. whether the
    /// partition still counts under the batch's identity.
    pub fn on_unknown(&mut self, stamp: Stamp) -> bool {
        if self.identity == Some(stamp.identity) {
            self.needs_new_identity = true;
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    /// The next sequence the partition would give (tests and logs).
    pub fn next_sequence(&self) -> i32 {
        self.next_sequence
    }
}

fn count_i32(record_count: usize) -> i32 {
    i32::try_from(record_count).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ID: ProducerIdentity = ProducerIdentity { id: 7, epoch: 0 };

    #[test]
    fn sequences_advance_and_wrap_like_kafka() {
        let mut p = PartitionSequences::default();
        assert_eq!(p.assign(ID, 3).unwrap().base_sequence, 0);
        assert_eq!(p.assign(ID, 2).unwrap().base_sequence, 3);
        assert_eq!(p.next_sequence(), 5);
        assert_eq!(increment_sequence(i32::MAX - 1, 4), 2);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
    }

    #[test]
    fn a_refused_batch_gives_its_sequences_back() {
        let mut p = PartitionSequences::default();
        p.assign(ID, 1).unwrap();
        let refused = p.assign(ID, 4).unwrap();
        assert!(!p.on_refused(refused, 4));
        assert_eq!(p.assign(ID, 1).unwrap().base_sequence, 1);
    }

    #[test]
    fn an_unknown_outcome_is_never_followed_under_the_same_identity() {
        let mut p = PartitionSequences::default();
        let lost = p.assign(ID, 2).unwrap();
        assert!(p.on_unknown(lost), "the producer needs a new identity");
        assert_eq!(p.assign(ID, 1), None, "waits for the new identity");
        let bumped = ID.bumped().unwrap();
        let next = p.assign(bumped, 1).unwrap();
        assert_eq!((next.identity, next.base_sequence), (bumped, 0));
        // The old identity's failure says nothing about the new one.
        assert!(!p.on_unknown(lost));
        assert_eq!(p.assign(bumped, 1).unwrap().base_sequence, 1);
    }

    /// The old code reset every partition to 0 when the producer got a new id, even under a
    /// batch still in flight; that batch's refusal then rolled the sequence back below 0,
    /// masked to about 2^31.
    #[test]
    fn an_identity_change_under_a_batch_in_flight_never_wraps_a_sequence() {
        let mut p = PartitionSequences::default();
        p.assign(ID, 10).unwrap();
        let in_flight = p.assign(ID, 5).unwrap();
        // Another partition lost a batch: the producer bumps its epoch meanwhile.
        let bumped = ID.bumped().unwrap();
        // The batch in flight is refused: nothing to give back under a stale identity...
        let must_bump = p.on_refused(in_flight, 5);
        // ...and the next batch starts the new identity at 0.
        let next = p.assign(bumped, 3).unwrap();
        assert!(must_bump || next.identity == bumped);
        assert_eq!((next.identity, next.base_sequence), (bumped, 0));
        assert_eq!(p.next_sequence(), 3);
        // A late refusal of an old batch cannot move the new identity's sequences.
        assert!(!p.on_refused(in_flight, 5));
        assert_eq!(p.next_sequence(), 3);
        assert!((0..1_000).contains(&p.assign(bumped, 1).unwrap().base_sequence));
    }

    #[test]
    fn a_refusal_that_is_not_the_last_given_takes_a_new_identity() {
        let mut p = PartitionSequences::default();
        let first = p.assign(ID, 2).unwrap();
        p.assign(ID, 2).unwrap();
        assert!(p.on_refused(first, 2));
        assert_eq!(p.assign(ID, 1), None);
        assert_eq!(p.next_sequence(), 4, "never rolled back past a later batch");
    }

    #[test]
    fn errors_are_classified_by_what_they_prove() {
        use AttemptOutcome::*;
        assert_eq!(
            AttemptOutcome::of_code(ErrorCode::MessageTooLarge),
            NotWritten
        );
        assert_eq!(
            AttemptOutcome::of_code(ErrorCode::NotEnoughReplicas),
            NotWritten
        );
        for unknown in [
            ErrorCode::NotLeaderOrFollower,
            ErrorCode::RequestTimedOut,
            ErrorCode::NotEnoughReplicasAfterAppend,
            ErrorCode::UnknownServerError,
        ] {
            assert_eq!(AttemptOutcome::of_code(unknown), Unknown, "{unknown:?}");
        }
        assert_eq!(
            AttemptOutcome::of_code(ErrorCode::OutOfOrderSequenceNumber),
            LostSequenceState
        );
        assert_eq!(
            AttemptOutcome::of_code(ErrorCode::UnknownProducerId),
            LostSequenceState
        );
    }

    #[test]
    fn the_epoch_bump_stops_at_its_limit() {
        let last = ProducerIdentity {
            id: 1,
            epoch: i16::MAX,
        };
        assert_eq!(last.bumped(), None);
        assert_eq!(ID.bumped().unwrap().epoch, 1);
    }
}
