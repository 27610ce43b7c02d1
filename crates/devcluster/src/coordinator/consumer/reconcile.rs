//! A member's next step towards its target assignment (Kafka's `CurrentAssignmentBuilder`).
//!
//! ```text
//!  STABLE ──epoch behind the target──▶ computeNext: keep ∩ target, revoke the rest,
//!                                       add what nobody else owns
//!     ▲   revoke ≠ ∅ and still owned ─▶ UNREVOKED_PARTITIONS (epoch unchanged)
//!     │   else add, moving to the target epoch ─▶ STABLE, or UNRELEASED_PARTITIONS while
//!     │                                           another member still owns some of it
//!     └── UNREVOKED: once the member no longer reports the revoked partitions
//!         UNRELEASED: picks up partitions as their old owners release them
//! ```
//!
//! The member epoch moves only after every revocation is acknowledged, and additions always
//! come with the move to the target epoch; a partition is never added while another member
//! owns it, which is what makes revocation happen before reassignment.

use std::collections::BTreeSet;

use streamctl_protocol::ErrorCode;
use uuid::Uuid;

use super::{Assignment, Member, MemberState};

/// What the reconciliation reads besides the member.
pub struct Inputs<'a, F: Fn(Uuid, i32) -> Option<&'a str>> {
    /// The target assignment epoch.
    pub target_epoch: i32,
    /// The member's target.
    pub target: &'a Assignment,
    /// What the member says it owns (`None`: it did not say).
    pub owned: Option<&'a Assignment>,
    /// The ids of the topics the member subscribes to now.
    pub subscribed: &'a BTreeSet<Uuid>,
    /// Whether the subscription changed in this heartbeat.
    pub subscription_changed: bool,
    /// The member currently owning a partition.
    pub owner: F,
}

fn owns_any(owned: Option<&Assignment>, of: &Assignment) -> bool {
    let Some(owned) = owned else { return true };
    of.iter().any(|(t, ps)| {
        owned
            .get(t)
            .is_some_and(|o| ps.iter().any(|p| o.contains(p)))
    })
}

fn set_epoch(m: &mut Member, epoch: i32) {
    m.previous_epoch = m.epoch;
    m.epoch = epoch;
}

/// The member after this step; FENCED_MEMBER_EPOCH for a member in a state this coordinator
/// does not know that still claims partitions.
pub fn reconcile<'a, F: Fn(Uuid, i32) -> Option<&'a str>>(
    member: &Member,
    inputs: &Inputs<'a, F>,
) -> Result<Member, ErrorCode> {
    let mut m = member.clone();
    match member.state {
        MemberState::Stable => {
            if member.epoch != inputs.target_epoch {
                compute_next(&mut m, member.epoch, inputs);
            } else if inputs.subscription_changed {
                shrink_to_subscription(&mut m, inputs);
            }
        }
        MemberState::UnrevokedPartitions => {
            if owns_any(inputs.owned, &member.pending_revocation) {
                if inputs.subscription_changed {
                    shrink_to_subscription(&mut m, inputs);
                }
            } else {
                let epoch = (member.epoch + 1).min(inputs.target_epoch);
                compute_next(&mut m, epoch, inputs);
            }
        }
        MemberState::UnreleasedPartitions => compute_next(&mut m, member.epoch, inputs),
        MemberState::Unknown => {
            if inputs
                .owned
                .is_none_or(|o| o.values().any(|ps| !ps.is_empty()))
            {
                return Err(ErrorCode::FencedMemberEpoch);
            }
            compute_next(&mut m, inputs.target_epoch, inputs);
        }
    }
    Ok(m)
}

/// Kafka's `computeNextAssignment`, from the member's current assignment.
fn compute_next<'a, F: Fn(Uuid, i32) -> Option<&'a str>>(
    m: &mut Member,
    epoch_to_use: i32,
    inputs: &Inputs<'a, F>,
) {
    let empty = BTreeSet::new();
    let topics: BTreeSet<Uuid> = inputs
        .target
        .keys()
        .chain(m.assigned.keys())
        .copied()
        .collect();
    let mut keep = Assignment::new();
    let mut revoke = Assignment::new();
    let mut add = Assignment::new();
    let mut unreleased = false;
    for t in topics {
        let target = if inputs.subscribed.contains(&t) {
            inputs.target.get(&t).unwrap_or(&empty)
        } else {
            &empty
        };
        let current = m.assigned.get(&t).unwrap_or(&empty);
        let kept: BTreeSet<i32> = current.intersection(target).copied().collect();
        let revoked: BTreeSet<i32> = current.difference(&kept).copied().collect();
        let mut added = BTreeSet::new();
        for p in target.difference(&kept) {
            match (inputs.owner)(t, *p) {
                Some(o) if o != m.member_id => unreleased = true,
                _ => {
                    added.insert(*p);
                }
            }
        }
        for (set, ps) in [(&mut keep, kept), (&mut revoke, revoked), (&mut add, added)] {
            if !ps.is_empty() {
                set.insert(t, ps);
            }
        }
    }
    if !revoke.is_empty() && owns_any(inputs.owned, &revoke) {
        m.state = MemberState::UnrevokedPartitions;
        set_epoch(m, epoch_to_use);
        m.assigned = keep;
        m.pending_revocation = revoke;
        return;
    }
    for (t, ps) in add {
        keep.entry(t).or_default().extend(ps);
    }
    m.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    set_epoch(m, inputs.target_epoch);
    m.assigned = keep;
    m.pending_revocation = Assignment::new();
}

/// Partitions of topics the member no longer subscribes to are revoked at once, before the
/// new target exists (Kafka 4.2+).
fn shrink_to_subscription<'a, F: Fn(Uuid, i32) -> Option<&'a str>>(
    m: &mut Member,
    inputs: &Inputs<'a, F>,
) {
    let gone: Assignment = m
        .assigned
        .iter()
        .filter(|(t, _)| !inputs.subscribed.contains(t))
        .map(|(t, ps)| (*t, ps.clone()))
        .collect();
    if gone.is_empty() {
        return;
    }
    m.assigned.retain(|t, _| inputs.subscribed.contains(t));
    if owns_any(inputs.owned, &gone) {
        m.state = MemberState::UnrevokedPartitions;
        for (t, ps) in gone {
            m.pending_revocation.entry(t).or_default().extend(ps);
        }
    }
}
