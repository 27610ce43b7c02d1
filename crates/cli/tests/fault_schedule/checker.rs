//! The checker: from the history of a run and the log read back at the end, the figures and
//! every violation of what Kafka promises. A pure function; nothing here talks to a broker.
//!
//! 0. (liveness) once every fault is cleared, every partition heals within a bound: a
//!    leader, every replica in sync, the high watermark at the log end;
//! 1. every acknowledged record is in the log at the offset it was acknowledged at, unless
//!    DeleteRecords was asked to delete that offset;
//! 2. no value twice from an idempotent writer (a plain writer may duplicate, never lose);
//! 3. one writer's acknowledged records of one partition have offsets in send order;
//! 4. a group's committed offsets never go backwards (what each member committed, and what
//!    the coordinator answered over time); ListOffsets latest never goes backwards;
//! 5. deleted ranges never come back: once DeleteRecords answered low watermark L, the log
//!    start offset is never below L again and no read returns an offset below L;
//! 6. a record a consumer read (so below the high watermark then) stays: the log holds the
//!    same value at that offset at the end, unless it was deleted.

use std::collections::{BTreeMap, HashMap};

use super::workloads::{History, Sample, Writer};

/// The log at the end: per partition, (offset, value) in offset order, and the log start
/// offset and end offset the read began and stopped at.
#[derive(Debug, Default)]
pub struct FinalLog {
    pub records: BTreeMap<i32, Vec<(i64, String)>>,
    pub log_start: BTreeMap<i32, i64>,
    pub end: BTreeMap<i32, i64>,
    /// Partitions the read could not finish (a violation: their records are not readable).
    pub unreadable: Vec<String>,
    /// Partitions that had not healed (leader, full ISR, high watermark at the log end) in
    /// the bounded wait after every fault was cleared: a liveness violation.
    pub unhealed: Vec<String>,
}

/// One broken promise.
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: u8,
    pub what: String,
}

/// The figures of a run.
#[derive(Debug, Default)]
pub struct Figures {
    pub acknowledged: usize,
    /// Acknowledged records found at their offset.
    pub present: usize,
    /// Acknowledged records DeleteRecords was allowed to remove (and did).
    pub deleted: usize,
    /// Acknowledged records not at their offset (and not deleted).
    pub lost: usize,
    /// Values found more than once (in the final log, or read at two offsets).
    pub duplicated: usize,
    pub duplicated_idempotent: usize,
    /// Records a writer gave up on (no promise either way).
    pub not_acknowledged: u64,
    pub violations: Vec<Violation>,
}

impl Figures {
    pub fn violations_by_invariant(&self) -> BTreeMap<u8, usize> {
        let mut out = BTreeMap::new();
        for v in &self.violations {
            *out.entry(v.invariant).or_default() += 1;
        }
        out
    }
}

pub fn check(history: &History, log: &FinalLog) -> Figures {
    let mut f = Figures {
        acknowledged: history.acks.len(),
        not_acknowledged: history.failed.values().sum(),
        ..Figures::default()
    };
    let mut violations: Vec<Violation> = Vec::new();
    let mut violation = |invariant: u8, what: String| {
        violations.push(Violation { invariant, what });
    };
    for u in &log.unhealed {
        violation(0, format!("not healed after every fault was cleared: {u}"));
    }
    for u in &log.unreadable {
        violation(1, format!("read back incomplete: {u}"));
    }

    // What DeleteRecords may have removed (asked for, whatever the answer) and what it
    // surely removed (answered), per partition.
    let mut may_delete: HashMap<i32, i64> = HashMap::new();
    let mut answered: HashMap<i32, i64> = HashMap::new();
    for d in &history.deletes {
        let e = may_delete.entry(d.partition).or_insert(0);
        *e = (*e).max(d.before).max(d.low_watermark.unwrap_or(0));
        if let Some(low) = d.low_watermark {
            let e = answered.entry(d.partition).or_insert(0);
            *e = (*e).max(low);
        }
    }
    let deletable = |p: i32, o: i64| o < may_delete.get(&p).copied().unwrap_or(0);

    let mut at: HashMap<(i32, i64), &str> = HashMap::new();
    let mut positions: HashMap<&str, Vec<(i32, i64)>> = HashMap::new();
    for (p, records) in &log.records {
        for (o, v) in records {
            at.insert((*p, *o), v);
            positions.entry(v).or_default().push((*p, *o));
        }
    }

    // 1. Acknowledged records are where they were acknowledged.
    for a in &history.acks {
        let value = a.writer.value(a.seq);
        if at.get(&(a.partition, a.offset)) == Some(&value.as_str()) {
            f.present += 1;
        } else if deletable(a.partition, a.offset) {
            f.deleted += 1;
        } else {
            f.lost += 1;
            let found = positions.get(value.as_str());
            violation(
                1,
                format!(
                    "acknowledged {value} at {}/{} is {}",
                    a.partition,
                    a.offset,
                    match (found, at.get(&(a.partition, a.offset))) {
                        (Some(elsewhere), _) => format!("at {elsewhere:?} instead"),
                        (None, Some(other)) => format!("missing ({other} is at its offset)"),
                        (None, None) => "missing (nothing at its offset)".to_string(),
                    }
                ),
            );
        }
    }

    // 2. Duplicates: a value in two places of the final log, or read at two offsets.
    let mut places: HashMap<&str, Vec<(i32, i64)>> = positions.clone();
    for r in &history.reads {
        let list = places.entry(r.value.as_str()).or_default();
        if !list.contains(&(r.partition, r.offset)) {
            list.push((r.partition, r.offset));
        }
    }
    let mut dups: Vec<(&str, &Vec<(i32, i64)>)> = places
        .iter()
        .filter(|(_, l)| l.len() > 1)
        .map(|(v, l)| (*v, l))
        .collect();
    dups.sort();
    for (value, list) in dups {
        f.duplicated += 1;
        let idempotent = Writer::parse(value).is_none_or(|(w, _)| w.idempotent());
        if idempotent {
            f.duplicated_idempotent += 1;
            violation(
                2,
                format!("{value} (idempotent writer) appears at {list:?}"),
            );
        }
    }

    // 3. Per writer and partition, acknowledged offsets grow with the sequence number.
    let mut by_stream: BTreeMap<(Writer, i32), Vec<(u64, i64)>> = BTreeMap::new();
    for a in &history.acks {
        by_stream
            .entry((a.writer, a.partition))
            .or_default()
            .push((a.seq, a.offset));
    }
    for ((writer, p), mut acks) in by_stream {
        acks.sort_unstable();
        for w in acks.windows(2) {
            if w[1].1 <= w[0].1 {
                violation(
                    3,
                    format!(
                        "{} partition {p}: {} acknowledged at offset {} after {} at offset {}",
                        writer.name(),
                        writer.value(w[1].0),
                        w[1].1,
                        writer.value(w[0].0),
                        w[0].1
                    ),
                );
            }
        }
    }

    // 4. Committed offsets and ListOffsets latest never go backwards.
    let mut per_member: HashMap<(usize, i32), i64> = HashMap::new();
    for c in &history.commits {
        let last = per_member
            .entry((c.consumer, c.partition))
            .or_insert(c.offset);
        if c.offset < *last {
            violation(
                4,
                format!(
                    "member {} committed {} on partition {} after {}",
                    c.consumer, c.offset, c.partition, last
                ),
            );
        }
        *last = (*last).max(c.offset);
    }
    let mut monotonic = |samples: &[Sample], what: &str| {
        let mut last: HashMap<i32, i64> = HashMap::new();
        for s in samples {
            let l = last.entry(s.partition).or_insert(s.offset);
            if s.offset < *l {
                violation(
                    4,
                    format!(
                        "{what} of partition {} went back from {} to {}",
                        s.partition, l, s.offset
                    ),
                );
            }
            *l = (*l).max(s.offset);
        }
    };
    monotonic(&history.committed, "the group's committed offset");
    monotonic(&history.latest, "ListOffsets latest");

    // 5. Deleted ranges never come back.
    for s in &history.log_start {
        let low = history
            .deletes
            .iter()
            .filter(|d| d.partition == s.partition && d.done_at < s.at)
            .filter_map(|d| d.low_watermark)
            .max();
        if let Some(low) = low.filter(|low| s.offset < *low) {
            violation(
                5,
                format!(
                    "log start offset of partition {} sampled at {} after DeleteRecords answered {low}",
                    s.partition, s.offset
                ),
            );
        }
    }
    for d in &history.deleted_reads {
        violation(
            5,
            format!(
                "a fetch returned offset {} of partition {} after DeleteRecords answered {}",
                d.offset, d.partition, d.low_watermark
            ),
        );
    }
    for (p, low) in &answered {
        let start = log.log_start.get(p).copied().unwrap_or(0);
        if start < *low {
            violation(
                5,
                format!(
                    "final log start offset of partition {p} is {start}, below the deleted {low}"
                ),
            );
        }
        if let Some((o, v)) = log
            .records
            .get(p)
            .and_then(|r| r.iter().find(|(o, _)| o < low))
        {
            violation(
                5,
                format!("read back {v} at {p}/{o}, below the deleted {low}"),
            );
        }
    }

    // 6. What a consumer read stays at its offset.
    let mut reported = 0;
    for r in &history.reads {
        if deletable(r.partition, r.offset) {
            continue;
        }
        let now = at.get(&(r.partition, r.offset)).copied();
        if now != Some(r.value.as_str()) {
            reported += 1;
            if reported <= 20 {
                violation(
                    6,
                    format!(
                        "member {} read {} at {}/{}; the log now has {}",
                        r.consumer,
                        r.value,
                        r.partition,
                        r.offset,
                        now.unwrap_or("nothing")
                    ),
                );
            }
        }
    }
    if reported > 20 {
        violation(
            6,
            format!(
                "… {} more consumed records changed or vanished",
                reported - 20
            ),
        );
    }
    f.violations = collapse(violations);
    f
}

/// Repeats of one violation (the same sampled offset seen again and again) as one, with
/// their count: the report should show distinct problems first.
fn collapse(violations: Vec<Violation>) -> Vec<Violation> {
    let mut order: Vec<Violation> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in violations {
        let n = counts.entry(v.what.clone()).or_default();
        *n += 1;
        if *n == 1 {
            order.push(v);
        }
    }
    for v in &mut order {
        let n = counts[&v.what];
        if n > 1 {
            v.what = format!("{} (×{n})", v.what);
        }
    }
    order
}
