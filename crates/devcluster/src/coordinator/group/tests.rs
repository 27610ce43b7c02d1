//! The state machine driven directly, with explicit times: no runtime, no sleeps.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;

fn config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_millis(100),
        min_session_timeout: Duration::from_millis(100),
        max_session_timeout: Duration::from_secs(60),
    }
}

/// A consumer subscription (ConsumerProtocolSubscription v0) to `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1);
    b.freeze()
}

fn join_args(member_id: &str, protocols: &[&str]) -> JoinArgs {
    JoinArgs {
        member_id: member_id.into(),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: SESSION,
        rebalance_timeout_ms: REBALANCE,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), subscription(&["t"])))
            .collect(),
        require_known_member_id: true,
        ..JoinArgs::default()
    }
}

fn join(
    g: &mut Group,
    args: JoinArgs,
    now: Instant,
) -> (oneshot::Receiver<JoinResult>, Vec<Effect>) {
    let (tx, rx) = oneshot::channel();
    let effects = g.join(args, tx, now);
    (rx, effects)
}

fn sync(
    g: &mut Group,
    member_id: &str,
    generation: i32,
    assignments: Vec<(String, Bytes)>,
    now: Instant,
) -> (oneshot::Receiver<SyncResult>, Vec<Effect>) {
    let (tx, rx) = oneshot::channel();
    let args = SyncArgs {
        generation_id: generation,
        member_id: member_id.into(),
        assignments,
        ..SyncArgs::default()
    };
    let effects = g.sync(args, tx, now);
    (rx, effects)
}

/// A dynamic member's full first join: MEMBER_ID_REQUIRED, then the parked rejoin.
fn first_join(g: &mut Group, now: Instant) -> (String, oneshot::Receiver<JoinResult>) {
    let (mut rx, _) = join(g, join_args("", &["range"]), now);
    let r = rx.try_recv().unwrap();
    assert_eq!(r.error, ErrorCode::MemberIdRequired);
    assert!(r.member_id.starts_with("client-"), "{}", r.member_id);
    let (rx, _) = join(g, join_args(&r.member_id, &["range"]), now);
    (r.member_id, rx)
}

/// Runs the timers until the join phase is over (the initial delay may be extended);
/// returns the time it ended.
fn settle(g: &mut Group) -> Instant {
    let mut now = Instant::now();
    while g.state() == GroupState::PreparingRebalance {
        now = g.next_deadline().unwrap();
        g.on_timer(now);
    }
    now
}

/// Completes a sync of generation `generation` for `members` (the leader first).
fn complete_sync(g: &mut Group, leader: &str, followers: &[&str], generation: i32, now: Instant) {
    let mut waiting = Vec::new();
    for f in followers {
        let (mut rx, effects) = sync(g, f, generation, Vec::new(), now);
        assert!(effects.is_empty());
        assert!(rx.try_recv().is_err(), "followers wait for the leader");
        waiting.push(rx);
    }
    let all: Vec<(String, Bytes)> = std::iter::once(leader)
        .chain(followers.iter().copied())
        .map(|m| (m.to_string(), Bytes::from(format!("for {m}"))))
        .collect();
    let (mut rx, effects) = sync(g, leader, generation, all, now);
    let [Effect::StoreAssignment {
        generation: stored,
        record,
        assignment,
    }] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(*stored, generation);
    assert_eq!(record.generation, generation);
    assert_eq!(record.members.len(), followers.len() + 1);
    assert!(rx.try_recv().is_err(), "answered only once stored");
    g.assignment_stored(generation, assignment.clone(), Ok(()), now);
    assert_eq!(g.state(), GroupState::Stable);
    let r = rx.try_recv().unwrap();
    assert_eq!(
        (r.error, r.assignment),
        (ErrorCode::None, Bytes::from(format!("for {leader}")))
    );
    for (f, mut rx) in followers.iter().zip(waiting) {
        let r = rx.try_recv().unwrap();
        assert_eq!(r.assignment, Bytes::from(format!("for {f}")));
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
    }
}

#[test]
fn first_member_waits_the_initial_delay_then_leads_generation_one() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, mut rx1) = first_join(&mut g, t0);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert!(rx1.try_recv().is_err(), "parked for the initial delay");
    assert_eq!(g.next_deadline(), Some(t0 + Duration::from_millis(100)));
    // A second member within the delay extends it once.
    let (m2, mut rx2) = first_join(&mut g, t0 + Duration::from_millis(50));
    g.on_timer(t0 + Duration::from_millis(100));
    assert!(rx1.try_recv().is_err());
    g.on_timer(t0 + Duration::from_millis(200));
    let r1 = rx1.try_recv().unwrap();
    let r2 = rx2.try_recv().unwrap();
    assert_eq!(g.state(), GroupState::CompletingRebalance);
    assert_eq!((r1.error, r1.generation_id), (ErrorCode::None, 1));
    assert_eq!(r1.leader, m1);
    assert_eq!(r2.leader, m1);
    assert_eq!(r1.protocol_name.as_deref(), Some("range"));
    assert_eq!(r1.members.len(), 2, "the leader gets every member");
    assert!(r2.members.is_empty());
    complete_sync(&mut g, &m1, &[&m2], 1, t0 + Duration::from_millis(200));
}

#[test]
fn a_new_member_triggers_a_rebalance_that_completes_when_all_rejoined() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _rx) = first_join(&mut g, t0);
    g.on_timer(t0 + Duration::from_millis(100));
    complete_sync(&mut g, &m1, &[], 1, t0);
    let t1 = t0 + Duration::from_secs(1);
    let (m2, mut rx2) = first_join(&mut g, t1);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&m1, None, 1, t1),
        ErrorCode::RebalanceInProgress
    );
    assert!(rx2.try_recv().is_err());
    // The old member rejoins: everyone is in, no timer needed.
    let (mut rx1, _) = join(&mut g, join_args(&m1, &["range"]), t1);
    assert_eq!(g.state(), GroupState::CompletingRebalance);
    assert_eq!(rx1.try_recv().unwrap().generation_id, 2);
    assert_eq!(rx2.try_recv().unwrap().generation_id, 2);
    // Stale generation, unknown member.
    assert_eq!(g.heartbeat(&m1, None, 1, t1), ErrorCode::IllegalGeneration);
    assert_eq!(
        g.heartbeat("nobody", None, 2, t1),
        ErrorCode::UnknownMemberId
    );
    complete_sync(&mut g, &m1, &[&m2], 2, t1);
}

#[test]
fn session_expiry_removes_the_member_and_rebalances() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let (m2, _r2) = first_join(&mut g, t0);
    let t1 = settle(&mut g);
    complete_sync(&mut g, &m1, &[&m2], 1, t1);
    // m1 keeps heartbeating, m2 does not.
    let session = Duration::from_millis(SESSION as u64);
    let t2 = t1 + session / 2;
    assert_eq!(g.heartbeat(&m1, None, 1, t2), ErrorCode::None);
    assert_eq!(g.next_deadline(), Some(t1 + session), "m2's session");
    g.on_timer(t1 + session);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(g.member_count(), 1);
    assert_eq!(
        g.heartbeat(&m1, None, 1, t1 + session),
        ErrorCode::RebalanceInProgress
    );
    let (mut rx, _) = join(&mut g, join_args(&m1, &["range"]), t1 + session);
    let r = rx.try_recv().unwrap();
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert_eq!(r.leader, m1);
}

#[test]
fn rebalance_timeout_expels_members_that_do_not_rejoin() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let (m2, _r2) = first_join(&mut g, t0);
    let t0 = settle(&mut g);
    complete_sync(&mut g, &m1, &[&m2], 1, t0);
    // m2 asks for a rebalance with new metadata; m1 keeps heartbeating but never rejoins.
    let mut args = join_args(&m2, &["range", "roundrobin"]);
    args.require_known_member_id = false;
    let (mut rx2, _) = join(&mut g, args, t0);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    let deadline = t0 + Duration::from_millis(REBALANCE as u64);
    assert_eq!(
        g.heartbeat(&m1, None, 1, deadline - Duration::from_secs(5)),
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(g.next_deadline(), Some(deadline));
    g.on_timer(deadline);
    let r = rx2.try_recv().unwrap();
    assert_eq!(
        (r.generation_id, r.leader.as_str(), r.members.len()),
        (2, m2.as_str(), 1)
    );
    assert_eq!(
        g.heartbeat(&m1, None, 2, deadline),
        ErrorCode::UnknownMemberId
    );
}

#[test]
fn leaving_members_rebalance_and_the_last_one_empties_the_group() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let (m2, _r2) = first_join(&mut g, t0);
    let t0 = settle(&mut g);
    complete_sync(&mut g, &m1, &[&m2], 1, t0);
    let (top, errors, effects) = g.leave(
        &[
            MemberIdentity {
                member_id: m1.clone(),
                group_instance_id: None,
            },
            MemberIdentity {
                member_id: "ghost".into(),
                group_instance_id: None,
            },
        ],
        t0,
    );
    assert_eq!(top, ErrorCode::None);
    assert_eq!(errors, vec![ErrorCode::None, ErrorCode::UnknownMemberId]);
    assert!(effects.is_empty());
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.leader(),
        Some(m2.as_str()),
        "leadership moves to a remaining member"
    );
    let (_, _, effects) = g.leave(
        &[MemberIdentity {
            member_id: m2.clone(),
            group_instance_id: None,
        }],
        t0,
    );
    assert_eq!(g.state(), GroupState::Empty);
    assert_eq!(g.generation_id(), 2, "becoming empty is a generation too");
    let [Effect::StoreGroup(record)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((record.generation, record.members.len()), (2, 0));
    assert_eq!(record.protocol, None);
}

#[test]
fn the_only_member_leaving_a_stable_group_empties_it_at_once() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let t0 = settle(&mut g);
    complete_sync(&mut g, &m1, &[], 1, t0);
    let (_, errors, effects) = g.leave(
        &[MemberIdentity {
            member_id: m1.clone(),
            group_instance_id: None,
        }],
        t0,
    );
    assert_eq!(errors, vec![ErrorCode::None]);
    assert_eq!(g.state(), GroupState::Empty);
    assert!(matches!(&effects[..], [Effect::StoreGroup(r)] if r.generation == 2));
    assert_eq!(g.check_deletable(), Ok(()));
}

#[test]
fn protocol_type_must_match_and_protocols_must_overlap() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let mut other_type = join_args("", &["range"]);
    other_type.protocol_type = "connect".into();
    let (mut rx, _) = join(&mut g, other_type, t0);
    assert_eq!(
        rx.try_recv().unwrap().error,
        ErrorCode::InconsistentGroupProtocol
    );
    let (mut rx, _) = join(&mut g, join_args("", &["sticky"]), t0);
    assert_eq!(
        rx.try_recv().unwrap().error,
        ErrorCode::InconsistentGroupProtocol
    );
    let mut empty = join_args("", &[]);
    empty.protocol_type = String::new();
    let mut fresh = Group::new("h".into(), config());
    let (mut rx, _) = join(&mut fresh, empty, t0);
    assert_eq!(
        rx.try_recv().unwrap().error,
        ErrorCode::InconsistentGroupProtocol
    );
    let mut short = join_args("", &["range"]);
    short.session_timeout_ms = 1;
    let (mut rx, _) = join(&mut g, short, t0);
    assert_eq!(
        rx.try_recv().unwrap().error,
        ErrorCode::InvalidSessionTimeout
    );
    let (mut rx, _) = join(&mut g, join_args("stale-id", &["range"]), t0);
    assert_eq!(rx.try_recv().unwrap().error, ErrorCode::UnknownMemberId);
    assert_eq!(g.member_count(), 1);
    let _ = m1;
}

#[test]
fn protocol_selection_votes_among_common_protocols() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let add = |g: &mut Group, protocols: &[&str]| {
        let mut a = join_args("", protocols);
        a.require_known_member_id = false;
        join(g, a, t0).0
    };
    // Common: range and roundrobin (sticky is not supported by the third); votes:
    // roundrobin, roundrobin, range.
    let mut rx = add(&mut g, &["sticky", "roundrobin", "range"]);
    add(&mut g, &["roundrobin", "range", "sticky"]);
    add(&mut g, &["range", "roundrobin"]);
    settle(&mut g);
    assert_eq!(
        rx.try_recv().unwrap().protocol_name.as_deref(),
        Some("roundrobin")
    );
}

#[test]
fn static_member_rejoin_replaces_the_old_id_without_rebalancing() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let mut args = join_args("", &["range"]);
    args.group_instance_id = Some("instance-1".into());
    args.require_known_member_id = false;
    let (mut rx, _) = join(&mut g, args.clone(), t0);
    g.on_timer(t0 + Duration::from_millis(100));
    let first = rx.try_recv().unwrap();
    assert!(
        first.member_id.starts_with("instance-1-"),
        "{}",
        first.member_id
    );
    complete_sync(&mut g, &first.member_id, &[], 1, t0);
    // The same instance restarts: new member id, same generation, no rebalance.
    let (mut rx, _) = join(&mut g, args.clone(), t0);
    let second = rx.try_recv().unwrap();
    assert_eq!(second.error, ErrorCode::None);
    assert_ne!(second.member_id, first.member_id);
    assert_eq!(second.generation_id, 1);
    assert_eq!(g.state(), GroupState::Stable);
    // The old id is fenced wherever it shows up.
    assert_eq!(
        g.heartbeat(&first.member_id, Some("instance-1"), 1, t0),
        ErrorCode::FencedInstanceId
    );
    let mut stale = args.clone();
    stale.member_id = first.member_id.clone();
    let (mut rx, _) = join(&mut g, stale, t0);
    assert_eq!(rx.try_recv().unwrap().error, ErrorCode::FencedInstanceId);
    assert_eq!(
        g.validate_commit(1, &first.member_id, Some("instance-1"), t0),
        Err(ErrorCode::FencedInstanceId)
    );
    assert_eq!(
        g.heartbeat(&second.member_id, Some("instance-1"), 1, t0),
        ErrorCode::None
    );
    // Leaving by instance id alone (v4+).
    let (_, errors, _) = g.leave(
        &[MemberIdentity {
            member_id: String::new(),
            group_instance_id: Some("instance-1".into()),
        }],
        t0,
    );
    assert_eq!(errors, vec![ErrorCode::None]);
    assert_eq!(g.member_count(), 0);
}

#[test]
fn commits_check_generation_and_membership() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    // No members: a commit without group management is fine.
    assert_eq!(g.validate_commit(-1, "", None, t0), Ok(()));
    let (m1, _r) = first_join(&mut g, t0);
    g.on_timer(t0 + Duration::from_millis(100));
    assert_eq!(
        g.validate_commit(1, &m1, None, t0),
        Err(ErrorCode::RebalanceInProgress),
        "assignment still pending"
    );
    complete_sync(&mut g, &m1, &[], 1, t0);
    assert_eq!(g.validate_commit(1, &m1, None, t0), Ok(()));
    assert_eq!(
        g.validate_commit(0, &m1, None, t0),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        g.validate_commit(1, "x", None, t0),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        g.validate_commit(-1, "", None, t0),
        Err(ErrorCode::UnknownMemberId),
        "no standalone commits while the group has members"
    );
}

#[test]
fn loaded_groups_come_back_stable_with_their_members() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let (m2, _r2) = first_join(&mut g, t0);
    let t0 = settle(&mut g);
    complete_sync(&mut g, &m1, &[&m2], 1, t0);
    let record = g.metadata_record(None);
    let mut loaded = Group::loaded("g".into(), config(), Some(record), t0);
    assert_eq!(loaded.state(), GroupState::Stable);
    assert_eq!(loaded.generation_id(), 1);
    assert_eq!(loaded.leader(), Some(m1.as_str()));
    assert_eq!(loaded.heartbeat(&m2, None, 1, t0), ErrorCode::None);
    let d = loaded.describe();
    assert_eq!(d.protocol, "range");
    assert_eq!(d.members.len(), 2);
    // Members are listed by id, so find m2 rather than assume its place.
    let described = d.members.iter().find(|m| m.member_id == m2).unwrap();
    assert_eq!(described.assignment, Bytes::from(format!("for {m2}")));
    // Subscriptions are known again: offsets of t cannot be deleted, others can.
    assert!(loaded.is_subscribed_to("t"));
    assert!(!loaded.is_subscribed_to("u"));
    assert_eq!(loaded.check_offset_delete(), Ok(()));
    assert_eq!(loaded.check_deletable(), Err(ErrorCode::NonEmptyGroup));
    let empty = Group::loaded("e".into(), config(), None, t0);
    assert_eq!(empty.state(), GroupState::Empty);
    assert_eq!(empty.check_deletable(), Ok(()));
}

#[test]
fn a_failed_assignment_write_fails_the_syncs_and_rebalances() {
    let t0 = Instant::now();
    let mut g = Group::new("g".into(), config());
    let (m1, _r1) = first_join(&mut g, t0);
    let (m2, _r2) = first_join(&mut g, t0);
    let t0 = settle(&mut g);
    let (mut follower, _) = sync(&mut g, &m2, 1, Vec::new(), t0);
    let (mut leader, effects) = sync(&mut g, &m1, 1, Vec::new(), t0);
    let [Effect::StoreAssignment { assignment, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    // A second sync from the leader while storing writes nothing more.
    let (_again, effects) = sync(&mut g, &m1, 1, Vec::new(), t0);
    assert!(effects.is_empty());
    g.assignment_stored(1, assignment.clone(), Err(ErrorCode::NotCoordinator), t0);
    assert_eq!(
        follower.try_recv().unwrap().error,
        ErrorCode::NotCoordinator
    );
    assert!(leader.try_recv().is_err(), "superseded by the second sync");
    assert_eq!(g.state(), GroupState::PreparingRebalance);
}

#[test]
fn state_names_parse_case_insensitively() {
    assert_eq!(GroupState::parse("stable"), Some(GroupState::Stable));
    assert_eq!(
        GroupState::parse("COMPLETINGREBALANCE"),
        Some(GroupState::CompletingRebalance)
    );
    assert_eq!(GroupState::parse("Rebalancing"), None);
}
