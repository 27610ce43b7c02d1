//! The server-side assignors of consumer-protocol groups (`group.remote.assignor`):
//! `uniform` (balanced, sticky to the previous target) and `range` (contiguous ranges per
//! topic, co-partitioned), following Kafka's `UniformAssignor` and `RangeAssignor`.
//!
//! Both get every member's subscribed topic ids and previous target and return the new
//! target of every member (empty for a member with nothing).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use super::Assignment;

/// What an assignor knows of one member.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub instance_id: Option<String>,
    /// The ids of the topics it subscribes to that exist.
    pub topics: BTreeSet<Uuid>,
    /// Its previous target.
    pub previous: Assignment,
}

/// Runs the named assignor; unknown names fall back to `uniform` (the heartbeat refuses
/// them before).
pub fn assign(
    name: &str,
    members: &[MemberSpec],
    partitions: &HashMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    if name == "range" {
        range(members, partitions)
    } else {
        uniform(members, partitions)
    }
}

/// One member's share while an assignor works.
struct Slot<'a> {
    spec: &'a MemberSpec,
    target: Assignment,
    load: usize,
}

fn slots(members: &[MemberSpec]) -> Vec<Slot<'_>> {
    members
        .iter()
        .map(|spec| Slot {
            spec,
            target: Assignment::new(),
            load: 0,
        })
        .collect()
}

fn give(slot: Option<&mut Slot<'_>>, topic: Uuid, partition: i32) {
    if let Some(slot) = slot {
        slot.target.entry(topic).or_default().insert(partition);
        slot.load += 1;
    }
}

fn finish(slots: Vec<Slot<'_>>) -> BTreeMap<String, Assignment> {
    slots
        .into_iter()
        .map(|mut s| {
            s.target.retain(|_, ps| !ps.is_empty());
            (s.spec.member_id.clone(), s.target)
        })
        .collect()
}

fn count(partitions: &HashMap<Uuid, i32>, topic: &Uuid) -> i32 {
    partitions.get(topic).copied().unwrap_or(0).max(0)
}

/// `uniform`: sizes differ by at most one when every member subscribes to the same topics;
/// otherwise balanced per topic among its subscribers, as evenly overall as it can. Members
/// keep what they had when that stays within their share.
fn uniform(
    members: &[MemberSpec],
    partitions: &HashMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let Some(first) = members.first() else {
        return BTreeMap::new();
    };
    if members.iter().all(|m| m.topics == first.topics) {
        homogeneous(members, &first.topics, partitions)
    } else {
        heterogeneous(members, partitions)
    }
}

/// Kafka's `UniformHomogeneousAssignmentBuilder`: quotas of `total / members`, the first
/// `total % members` full members keeping one more; what members keep within their quota
/// stays theirs, the rest and the unowned partitions fill the others.
fn homogeneous(
    members: &[MemberSpec],
    topics: &BTreeSet<Uuid>,
    partitions: &HashMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut slots = slots(members);
    let total: usize = topics.iter().map(|t| count(partitions, t) as usize).sum();
    if topics.is_empty() || total == 0 {
        return finish(slots);
    }
    let previously: BTreeSet<(Uuid, i32)> = members
        .iter()
        .flat_map(|m| {
            m.previous
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(|p| (*t, *p)))
        })
        .collect();
    let mut unassigned: Vec<(Uuid, i32)> = topics
        .iter()
        .flat_map(|t| (0..count(partitions, t)).map(move |p| (*t, p)))
        .filter(|tp| !previously.contains(tp))
        .collect();
    let n = slots.len();
    let min_quota = total / n;
    let mut extra = total % n;
    let mut unfilled: Vec<(usize, usize)> = Vec::new();
    for (i, slot) in slots.iter_mut().enumerate() {
        let mut has_extra = extra > 0;
        let mut quota = min_quota + usize::from(has_extra);
        for (t, ps) in &slot.spec.previous {
            if !topics.contains(t) {
                continue;
            }
            for p in ps.iter().filter(|p| **p < count(partitions, t)) {
                if quota > 0 {
                    slot.target.entry(*t).or_default().insert(*p);
                    quota -= 1;
                } else {
                    unassigned.push((*t, *p));
                }
            }
        }
        // Only a member already full keeps an extra slot, unless too few members are left
        // to take all the extra partitions.
        if quota > 0 && has_extra && n - i > extra {
            quota -= 1;
            has_extra = false;
        }
        if quota > 0 {
            unfilled.push((i, quota));
        }
        if has_extra {
            extra -= 1;
        }
    }
    unassigned.sort();
    let mut next = unassigned.into_iter();
    for (i, quota) in unfilled {
        for (t, p) in next.by_ref().take(quota) {
            give(slots.get_mut(i), t, p);
        }
    }
    // The quotas add up to the total, so nothing is left; should the arithmetic ever be
    // wrong, a partition still goes somewhere rather than nowhere.
    for (k, (t, p)) in next.enumerate() {
        give(slots.get_mut(k % n), t, p);
    }
    finish(slots)
}

/// Kafka's `UniformHeterogeneousAssignmentBuilder`, in outline: members keep what they had
/// of the topics they still subscribe to; the rest go, topic by topic (most partitions per
/// subscriber first), to the least loaded subscriber; then partitions move from the most to
/// the least loaded subscriber of each topic while their loads differ by more than one.
fn heterogeneous(
    members: &[MemberSpec],
    partitions: &HashMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut slots = slots(members);
    let mut subscribers: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for t in &m.topics {
            subscribers.entry(*t).or_default().push(i);
        }
    }
    let mut owned: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    for slot in &mut slots {
        for (t, ps) in &slot.spec.previous {
            if !slot.spec.topics.contains(t) {
                continue;
            }
            for p in ps {
                if *p < count(partitions, t) && owned.insert((*t, *p)) {
                    slot.target.entry(*t).or_default().insert(*p);
                    slot.load += 1;
                }
            }
        }
    }
    let subs_of = |t: &Uuid| subscribers.get(t).cloned().unwrap_or_default();
    let mut order: Vec<Uuid> = subscribers.keys().copied().collect();
    order.sort_by(|a, b| {
        let (na, nb) = (subs_of(a).len().max(1), subs_of(b).len().max(1));
        let per = |t: &Uuid, n: usize| f64::from(count(partitions, t)) / n as f64;
        per(b, nb)
            .total_cmp(&per(a, na))
            .then_with(|| na.cmp(&nb))
            .then_with(|| a.cmp(b))
    });
    let load = |slots: &[Slot<'_>], i: usize| slots.get(i).map_or(usize::MAX, |s| s.load);
    for t in &order {
        let subs = subs_of(t);
        for p in 0..count(partitions, t) {
            if !owned.insert((*t, p)) {
                continue;
            }
            let least = subs.iter().copied().min_by_key(|i| (load(&slots, *i), *i));
            if let Some(i) = least {
                give(slots.get_mut(i), *t, p);
            }
        }
    }
    for _ in 0..16 {
        let mut moved = false;
        for t in &order {
            let subs = subs_of(t);
            if subs.len() < 2 {
                continue;
            }
            loop {
                let holds = |i: usize| {
                    slots
                        .get(i)
                        .and_then(|s| s.target.get(t))
                        .is_some_and(|ps| !ps.is_empty())
                };
                let giver = subs
                    .iter()
                    .copied()
                    .filter(|i| holds(*i))
                    .max_by_key(|i| (load(&slots, *i), usize::MAX - *i));
                let taker = subs.iter().copied().min_by_key(|i| (load(&slots, *i), *i));
                let (Some(g), Some(k)) = (giver, taker) else {
                    break;
                };
                if load(&slots, g) <= load(&slots, k).saturating_add(1) {
                    break;
                }
                let Some(p) = slots
                    .get_mut(g)
                    .and_then(|s| s.target.get_mut(t))
                    .and_then(BTreeSet::pop_last)
                else {
                    break;
                };
                if let Some(s) = slots.get_mut(g) {
                    s.load -= 1;
                }
                give(slots.get_mut(k), *t, p);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    finish(slots)
}

/// `range`: per topic, its subscribers in order (static members by instance id first, then
/// the others by member id) get contiguous ranges, the first ones one more when the
/// partitions do not divide evenly; so topics with equal partition counts are assigned
/// alike (co-partitioning).
fn range(members: &[MemberSpec], partitions: &HashMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    let mut slots = slots(members);
    slots.sort_by(|a, b| match (&a.spec.instance_id, &b.spec.instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.spec.member_id.cmp(&b.spec.member_id),
    });
    let topics: BTreeSet<Uuid> = members
        .iter()
        .flat_map(|m| m.topics.iter().copied())
        .collect();
    for t in topics {
        let n = count(partitions, &t);
        let mut subs: Vec<&mut Slot<'_>> = slots
            .iter_mut()
            .filter(|s| s.spec.topics.contains(&t))
            .collect();
        let k = i32::try_from(subs.len()).unwrap_or(i32::MAX).max(1);
        let (min_quota, extra) = (n / k, n % k);
        let mut next = 0;
        for (i, slot) in subs.iter_mut().enumerate() {
            let quota = min_quota + i32::from(i32::try_from(i).unwrap_or(i32::MAX) < extra);
            let end = (next + quota).min(n);
            for p in next..end {
                give(Some(slot), t, p);
            }
            next = end;
        }
    }
    finish(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, topics: &[Uuid], previous: Assignment) -> MemberSpec {
        MemberSpec {
            member_id: id.into(),
            instance_id: None,
            topics: topics.iter().copied().collect(),
            previous,
        }
    }

    fn sizes(out: &BTreeMap<String, Assignment>) -> Vec<usize> {
        out.values()
            .map(|a| a.values().map(BTreeSet::len).sum())
            .collect()
    }

    fn all(out: &BTreeMap<String, Assignment>) -> BTreeSet<(Uuid, i32)> {
        let mut seen = BTreeSet::new();
        for a in out.values() {
            for (t, ps) in a {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t}-{p} assigned twice");
                }
            }
        }
        seen
    }

    #[test]
    fn uniform_balances_and_sticks() {
        let t = Uuid::from_u128(1);
        let parts = HashMap::from([(t, 6)]);
        let out = assign(
            "uniform",
            &[
                spec("a", &[t], Assignment::new()),
                spec("b", &[t], Assignment::new()),
            ],
            &parts,
        );
        assert_eq!(sizes(&out), vec![3, 3]);
        assert_eq!(all(&out).len(), 6);
        // A third member takes one from each; nothing else moves.
        let prev_a = out["a"].clone();
        let prev_b = out["b"].clone();
        let out2 = assign(
            "uniform",
            &[
                spec("a", &[t], prev_a.clone()),
                spec("b", &[t], prev_b.clone()),
                spec("c", &[t], Assignment::new()),
            ],
            &parts,
        );
        assert_eq!(sizes(&out2), vec![2, 2, 2]);
        assert_eq!(all(&out2).len(), 6);
        assert!(out2["a"][&t].is_subset(&prev_a[&t]));
        assert!(out2["b"][&t].is_subset(&prev_b[&t]));
    }

    #[test]
    fn uniform_spreads_extra_partitions() {
        let t = Uuid::from_u128(1);
        let parts = HashMap::from([(t, 100)]);
        let members: Vec<MemberSpec> = (0..9)
            .map(|i| spec(&format!("m{i}"), &[t], Assignment::new()))
            .collect();
        let out = assign("uniform", &members, &parts);
        let s = sizes(&out);
        assert_eq!(s.iter().sum::<usize>(), 100);
        assert!(
            s.iter().max().unwrap() - s.iter().min().unwrap() <= 1,
            "{s:?}"
        );
        // A tenth member: exactly ten partitions move, each member keeps ten.
        let mut members: Vec<MemberSpec> = members
            .into_iter()
            .map(|m| MemberSpec {
                previous: out[&m.member_id].clone(),
                ..m
            })
            .collect();
        members.push(spec("m9", &[t], Assignment::new()));
        let out2 = assign("uniform", &members, &parts);
        assert_eq!(sizes(&out2), vec![10; 10]);
        let kept: usize = members[..9]
            .iter()
            .map(|m| out2[&m.member_id][&t].intersection(&m.previous[&t]).count())
            .sum();
        assert_eq!(kept, 90);
    }

    #[test]
    fn uniform_heterogeneous_balances_per_topic() {
        let (x, y) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let parts = HashMap::from([(x, 4), (y, 4)]);
        let out = assign(
            "uniform",
            &[
                spec("a", &[x], Assignment::new()),
                spec("b", &[x, y], Assignment::new()),
                spec("c", &[y], Assignment::new()),
            ],
            &parts,
        );
        assert_eq!(all(&out).len(), 8);
        assert!(out["a"].keys().all(|t| *t == x));
        assert!(out["c"].keys().all(|t| *t == y));
        let s = sizes(&out);
        assert!(
            s.iter().max().unwrap() - s.iter().min().unwrap() <= 1,
            "{s:?}"
        );
    }

    #[test]
    fn range_co_partitions() {
        let (x, y) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let parts = HashMap::from([(x, 3), (y, 3)]);
        let out = assign(
            "range",
            &[
                spec("m1", &[x, y], Assignment::new()),
                spec("m0", &[x, y], Assignment::new()),
            ],
            &parts,
        );
        assert_eq!(out["m0"][&x], BTreeSet::from([0, 1]));
        assert_eq!(out["m0"][&y], BTreeSet::from([0, 1]));
        assert_eq!(out["m1"][&x], BTreeSet::from([2]));
        assert_eq!(out["m1"][&y], BTreeSet::from([2]));
    }
}
