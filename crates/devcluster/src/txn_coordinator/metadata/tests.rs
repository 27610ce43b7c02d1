//! The rules of [`super::TxnMetadata`], transition by transition.

use super::*;

fn init(m: &mut TxnMetadata, pid: i64, epoch: i16) -> Result<InitPlan, ErrorCode> {
    m.prepare_init(
        InitArgs {
            timeout_ms: 60_000,
            producer_id: pid,
            producer_epoch: epoch,
        },
        10,
        || Ok(99),
    )
}

fn apply(m: &mut TxnMetadata, v: TxnLogValue) {
    assert!(m.complete(&v));
}

/// Runs an init that must write; returns the value written.
fn init_write(m: &mut TxnMetadata, pid: i64, epoch: i16) -> TxnLogValue {
    let InitPlan::Write(value) = init(m, pid, epoch).unwrap() else {
        panic!("expected a write")
    };
    apply(m, value.clone());
    value
}

fn ready(epoch_after: i16) -> TxnMetadata {
    let mut m = TxnMetadata::new(7, 60_000, 0);
    for _ in 0..=epoch_after {
        init_write(&mut m, -1, -1);
    }
    m
}

fn parts(names: &[(&str, i32)]) -> Vec<(String, i32)> {
    names.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

#[test]
fn a_new_id_starts_at_epoch_0_and_each_init_bumps() {
    let m = ready(0);
    assert_eq!(
        (m.producer_id, m.producer_epoch, m.state),
        (7, 0, TxnState::Empty)
    );
    let m = ready(2);
    assert_eq!(m.producer_epoch, 2);
}

#[test]
fn kip_360_init_with_the_current_epoch_bumps_a_retry_repeats_others_are_fenced() {
    let mut m = ready(1);
    assert_eq!(init_write(&mut m, 7, 1).producer_epoch, 2);
    // A retry of that call (it carries the epoch before the bump) gets the same answer.
    assert_eq!(init_write(&mut m, 7, 1).producer_epoch, 2);
    assert_eq!(init_write(&mut m, 7, 2).producer_epoch, 3);
    assert_eq!(init(&mut m, 7, 0).unwrap_err(), ErrorCode::ProducerFenced);
    assert_eq!(init(&mut m, 8, 2).unwrap_err(), ErrorCode::ProducerFenced);
}

#[test]
fn an_exhausted_epoch_rotates_the_producer_id() {
    let mut m = ready(0);
    m.producer_epoch = EPOCH_EXHAUSTED;
    let v = init_write(&mut m, -1, -1);
    assert_eq!(
        (v.producer_id, v.producer_epoch, v.previous_producer_id),
        (99, 0, 7)
    );
}

#[test]
fn a_transaction_runs_add_prepare_complete() {
    let mut m = ready(0);
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0), ("a", 1), ("b", 0)]), 0, 20)
        .unwrap()
        .unwrap();
    assert_eq!(v.state, TxnState::Ongoing);
    assert_eq!(v.start_ms, 20);
    apply(&mut m, v);
    // Nothing new: no write.
    assert_eq!(
        m.prepare_add(7, 0, &parts(&[("a", 1)]), 0, 30).unwrap(),
        None
    );
    assert_eq!(
        m.prepare_add(7, 1, &parts(&[("a", 1)]), 0, 30).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    assert_eq!(
        m.prepare_add(8, 0, &parts(&[("a", 1)]), 0, 30).unwrap_err(),
        ErrorCode::InvalidProducerIdMapping
    );
    let v = m.prepare_end(7, 0, true, 40).unwrap().unwrap();
    assert_eq!(v.state, TxnState::PrepareCommit);
    assert_eq!(v.partitions.as_ref().unwrap().len(), 2);
    apply(&mut m, v);
    assert_eq!(
        m.prepare_end(7, 0, true, 41).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(
        m.prepare_end(7, 0, false, 41).unwrap_err(),
        ErrorCode::InvalidTxnState
    );
    assert_eq!(
        m.prepare_add(7, 0, &parts(&[("c", 0)]), 0, 41).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    let v = m.prepare_complete(50).unwrap();
    assert_eq!(v.state, TxnState::CompleteCommit);
    apply(&mut m, v);
    assert!(m.partitions.is_empty());
    // A retried commit succeeds; an abort now is out of order; so is ending Empty.
    assert_eq!(m.prepare_end(7, 0, true, 51).unwrap(), None);
    assert_eq!(
        m.prepare_end(7, 0, false, 51).unwrap_err(),
        ErrorCode::InvalidTxnState
    );
    // The next transaction starts afresh.
    let v = m
        .prepare_add(7, 0, &parts(&[("c", 0)]), 0, 60)
        .unwrap()
        .unwrap();
    assert_eq!((v.start_ms, v.partitions.unwrap().len()), (60, 1));
}

#[test]
fn init_during_a_transaction_fences_and_aborts_it_and_timeouts_do_too() {
    let mut m = ready(0);
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0)]), 0, 100)
        .unwrap()
        .unwrap();
    apply(&mut m, v);
    let mut timing_out = m.clone();
    let InitPlan::FenceAndAbort(v) = init(&mut m, -1, -1).unwrap() else {
        panic!()
    };
    assert_eq!((v.state, v.producer_epoch), (TxnState::PrepareAbort, 1));
    // The timeout takes the same path: fence, then abort.
    assert_eq!(timing_out.prepare_timeout_abort(100 + 60_000), None);
    let t = timing_out.prepare_timeout_abort(100 + 60_001).unwrap();
    assert_eq!(
        t,
        TxnLogValue {
            last_update_ms: 100 + 60_001,
            ..v.clone()
        }
    );
    apply(&mut m, v);
    // The fenced incarnation's commit is refused; the new one's init waits for the abort.
    assert_eq!(
        m.prepare_end(7, 0, true, 0).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    assert_eq!(
        init(&mut m, -1, -1).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    let v = m.prepare_complete(0).unwrap();
    apply(&mut m, v);
    // The fenced incarnation cannot pass for a retry of anything.
    assert_eq!(init(&mut m, 7, 0).unwrap_err(), ErrorCode::ProducerFenced);
    assert_eq!(init_write(&mut m, -1, -1).producer_epoch, 2);
}

#[test]
fn a_prepared_change_shuts_out_every_other_until_it_completes_or_is_abandoned() {
    let mut m = ready(0);
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0)]), 0, 1)
        .unwrap()
        .unwrap();
    apply(&mut m, v);
    let a0 = ("a".to_string(), 0);
    let a1 = ("a".to_string(), 1);
    assert_eq!(m.verify(7, 0, &a0), ErrorCode::None);
    assert_eq!(m.verify(7, 0, &a1), ErrorCode::TransactionAbortable);
    assert_eq!(m.verify(7, 1, &a0), ErrorCode::ProducerFenced);
    // EndTxn prepared (not yet logged): a racing timeout, init or second end must wait.
    let commit = m.prepare_end(7, 0, true, 2).unwrap().unwrap();
    assert_eq!(m.prepare_timeout_abort(i64::MAX / 2), None);
    assert_eq!(
        init(&mut m, -1, -1).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(
        m.prepare_end(7, 0, false, 2).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    // Only the pending change completes.
    let mut other = commit.clone();
    other.state = TxnState::PrepareAbort;
    assert!(!m.complete(&other));
    // Abandoned (its write failed): the state is unchanged and requests go through.
    m.abandon();
    assert_eq!(m.state, TxnState::Ongoing);
    let abort = m.prepare_end(7, 0, false, 3).unwrap().unwrap();
    assert!(m.complete(&abort));
    assert_eq!(m.state, TxnState::PrepareAbort);
    // A fenced producer hears PRODUCER_FENCED even while the id is busy, as in Kafka.
    assert_eq!(init(&mut m, 99, 0).unwrap_err(), ErrorCode::ProducerFenced);
}

#[test]
fn state_ids_round_trip() {
    for id in 0..8 {
        assert_eq!(TxnState::from_id(id).unwrap().id(), id);
    }
    assert_eq!(TxnState::from_id(8), None);
}

/// Under transactions v2 (EndTxn v5) each end bumps the epoch in its Prepare record; the
/// producer continues with it, and a request one epoch behind is a retry.
#[test]
fn a_v2_end_bumps_the_epoch_and_knows_its_retries() {
    let mut m = ready(0);
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0)]), 2, 10)
        .unwrap()
        .unwrap();
    assert_eq!(v.client_version, 2);
    apply(&mut m, v);
    let EndPlan::Write { value, next } = m.prepare_end_v2(7, 0, true, 20, || Ok(99)).unwrap()
    else {
        panic!("expected a write")
    };
    assert_eq!(
        (value.state, value.producer_epoch),
        (TxnState::PrepareCommit, 1)
    );
    assert_eq!(
        (next, value.next_producer_id, value.client_version),
        ((7, 1), -1, 2)
    );
    apply(&mut m, value);
    // While the markers are written: the retry waits, the new epoch is not for ending yet.
    assert_eq!(
        m.prepare_end_v2(7, 0, true, 21, || Ok(99)).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(
        m.prepare_end_v2(7, 0, false, 21, || Ok(99)).unwrap_err(),
        ErrorCode::InvalidTxnState
    );
    assert_eq!(
        m.prepare_end_v2(7, 1, true, 21, || Ok(99)).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    assert_eq!(
        m.prepare_add(7, 1, &parts(&[("a", 0)]), 2, 21).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    let v = m.prepare_complete(30).unwrap();
    assert_eq!((v.state, v.producer_epoch), (TxnState::CompleteCommit, 1));
    apply(&mut m, v);
    // A retry is answered with the epoch to continue with; the opposite end is refused.
    assert_eq!(
        m.prepare_end_v2(7, 0, true, 31, || Ok(99)).unwrap(),
        EndPlan::Retry(7, 1)
    );
    assert_eq!(
        m.prepare_end_v2(7, 0, false, 31, || Ok(99)).unwrap_err(),
        ErrorCode::InvalidTxnState
    );
    assert_eq!(
        m.prepare_end_v2(7, 3, false, 31, || Ok(99)).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    // The old epoch cannot add partitions; the new one starts the next transaction.
    assert_eq!(
        m.prepare_add(7, 0, &parts(&[("a", 0)]), 2, 40).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    let v = m
        .prepare_add(7, 1, &parts(&[("b", 0)]), 2, 40)
        .unwrap()
        .unwrap();
    assert_eq!((v.start_ms, v.producer_epoch), (40, 1));
    apply(&mut m, v);
    // A KIP-360 InitProducerId carrying the epoch before the end's bump is a retry too.
    let mut after = m.clone();
    let v = after.prepare_end_v2(7, 1, false, 50, || Ok(99)).unwrap();
    let EndPlan::Write { value, .. } = v else {
        panic!("expected a write")
    };
    apply(&mut after, value);
    let v = after.prepare_complete(51).unwrap();
    apply(&mut after, v);
    assert_eq!(init_write(&mut after, 7, 1).producer_epoch, 2);
}

#[test]
fn a_v2_abort_with_nothing_open_still_bumps_and_commit_is_refused() {
    let mut m = ready(0);
    assert_eq!(
        m.prepare_end_v2(7, 0, true, 5, || Ok(99)).unwrap_err(),
        ErrorCode::InvalidTxnState
    );
    let EndPlan::Write { value, next } = m.prepare_end_v2(7, 0, false, 5, || Ok(99)).unwrap()
    else {
        panic!("expected a write")
    };
    assert_eq!(value.state, TxnState::PrepareAbort);
    assert_eq!(value.partitions, Some(Vec::new()));
    assert_eq!(next, (7, 1));
    assert_eq!(
        m.prepare_end_v2(8, 0, false, 5, || Ok(99)).unwrap_err(),
        ErrorCode::ConcurrentTransactions,
        "a pending change comes first"
    );
    apply(&mut m, value);
    let v = m.prepare_complete(6).unwrap();
    apply(&mut m, v);
    assert_eq!(
        m.prepare_end_v2(8, 1, false, 7, || Ok(99)).unwrap_err(),
        ErrorCode::InvalidProducerIdMapping
    );
}

#[test]
fn a_v2_end_at_an_exhausted_epoch_moves_to_a_new_producer_id() {
    let mut m = ready(0);
    m.producer_epoch = EPOCH_EXHAUSTED;
    let v = m
        .prepare_add(7, EPOCH_EXHAUSTED, &parts(&[("a", 0)]), 2, 1)
        .unwrap()
        .unwrap();
    apply(&mut m, v);
    let EndPlan::Write { value, next } = m
        .prepare_end_v2(7, EPOCH_EXHAUSTED, true, 2, || Ok(99))
        .unwrap()
    else {
        panic!("expected a write")
    };
    // The markers go out under the old id at the last epoch; the producer moves on.
    assert_eq!((value.producer_id, value.producer_epoch), (7, i16::MAX));
    assert_eq!((value.next_producer_id, next), (99, (99, 0)));
    apply(&mut m, value);
    let v = m.prepare_complete(3).unwrap();
    assert_eq!(
        (
            v.producer_id,
            v.producer_epoch,
            v.previous_producer_id,
            v.next_producer_id
        ),
        (99, 0, 7, -1)
    );
    apply(&mut m, v);
    // The end retried with the old id and epoch is recognised.
    assert_eq!(
        m.prepare_end_v2(7, EPOCH_EXHAUSTED, true, 4, || Ok(100))
            .unwrap(),
        EndPlan::Retry(99, 0)
    );
}

/// A v2 producer fenced by a new InitProducerId: the abort skips an epoch, so the fenced
/// producer's EndTxn at its old epoch is not mistaken for a retry of its own end.
#[test]
fn a_fence_of_a_v2_transaction_skips_the_retry_epoch() {
    let mut m = ready(0);
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0)]), 2, 1)
        .unwrap()
        .unwrap();
    apply(&mut m, v);
    let InitPlan::FenceAndAbort(v) = init(&mut m, -1, -1).unwrap() else {
        panic!("expected a fence")
    };
    assert_eq!((v.state, v.producer_epoch), (TxnState::PrepareAbort, 2));
    apply(&mut m, v);
    let v = m.prepare_complete(2).unwrap();
    apply(&mut m, v);
    assert_eq!(
        m.prepare_end_v2(7, 0, false, 3, || Ok(99)).unwrap_err(),
        ErrorCode::ProducerFenced
    );
    // A timeout is no fence: the producer's own abort at its epoch is answered (Kafka 4.1).
    let mut slow = ready(0);
    let v = slow
        .prepare_add(7, 0, &parts(&[("a", 0)]), 2, 1)
        .unwrap()
        .unwrap();
    apply(&mut slow, v);
    let v = slow.prepare_timeout_abort(1 + 60_001).unwrap();
    assert_eq!(v.producer_epoch, 1);
    apply(&mut slow, v);
    let v = slow.prepare_complete(2).unwrap();
    apply(&mut slow, v);
    assert_eq!(
        slow.prepare_end_v2(7, 0, false, 3, || Ok(99)).unwrap(),
        EndPlan::Retry(7, 1)
    );
}

#[test]
fn only_an_id_idle_past_its_expiration_with_nothing_in_flight_may_die() {
    // `ready` logs its inits at time 10.
    let mut m = ready(0);
    assert!(!m.prepare_dead(10 + 999, 1_000), "not idle long enough");
    let v = m
        .prepare_add(7, 0, &parts(&[("a", 0)]), 0, 20)
        .unwrap()
        .unwrap();
    apply(&mut m, v);
    assert!(!m.prepare_dead(1_000_000, 1_000), "a transaction is open");
    let v = m.prepare_end(7, 0, false, 30).unwrap().unwrap();
    assert!(!m.prepare_dead(1_000_000, 1_000), "a change is pending");
    apply(&mut m, v);
    assert!(
        !m.prepare_dead(1_000_000, 1_000),
        "its markers are being written"
    );
    let v = m.prepare_complete(40).unwrap();
    apply(&mut m, v);
    assert!(m.prepare_dead(1_040, 1_000));
    // Pending Dead: requests meanwhile wait; the tombstone makes it dead.
    assert_eq!(
        init(&mut m, -1, -1).unwrap_err(),
        ErrorCode::ConcurrentTransactions
    );
    assert!(m.complete_dead());
    assert_eq!(m.state, TxnState::Dead);
}
