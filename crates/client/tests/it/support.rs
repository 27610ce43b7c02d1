//! What the modules of this test binary share beyond `streamctl_testkit`.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Upper bound for any one test run through [`bounded`].
pub const BOUND: Duration = Duration::from_secs(60);

/// Runs `test` under [`BOUND`]: a hang fails the test instead of stalling the suite.
pub async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(BOUND, test)
        .await
        .expect("test did not finish in time")
}

/// The path of `tests/interop/<name>`, a script a Python client runs.
pub fn interop_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// What `tests/interop/group_consume.py` printed: the partitions it ended with ("final"
/// line) and every record it read ("record P OFFSET" lines).
pub fn group_consume_output(
    stdout: &str,
) -> (
    std::collections::BTreeSet<i32>,
    std::collections::HashSet<(i32, i64)>,
) {
    let last = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("final "))
        .next_back()
        .unwrap_or_default();
    let partitions = last
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let records = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("record "))
        .map(|l| {
            let (p, o) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), o.parse().unwrap())
        })
        .collect();
    (partitions, records)
}

/// Asserts that each of `partitions` has `per_partition` records in `seen`.
pub fn assert_read_all(
    who: &str,
    partitions: &std::collections::BTreeSet<i32>,
    seen: &std::collections::HashSet<(i32, i64)>,
    per_partition: usize,
) {
    for p in partitions {
        let n = seen.iter().filter(|(q, _)| q == p).count();
        assert_eq!(n, per_partition, "{who}: partition {p}");
    }
}
