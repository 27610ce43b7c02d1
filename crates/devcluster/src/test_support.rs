//! Helpers for the crate's unit tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::controller::{BrokerMeta, Controller, NewTopic};

/// An in-memory controller of brokers 1..=n on 127.0.0.1 (none registered yet).
pub(crate) fn controller(n: i32) -> Controller {
    let brokers = (1..=n)
        .map(|id| BrokerMeta {
            node_id: id,
            host: "127.0.0.1".into(),
            port: 0,
            rack: None,
            alive: true,
            replication_port: None,
        })
        .collect();
    Controller::new("c".into(), brokers, 1, 1)
}

/// Creates topic `t`: one partition on brokers 1, 2, 3 (preferred leader 1).
pub(crate) fn create_topic_t(c: &Controller) {
    if let Err(e) = c.create_topic(
        &NewTopic {
            name: "t".into(),
            num_partitions: 1,
            replication_factor: 3,
            assignment: vec![(0, vec![1, 2, 3])],
            ..NewTopic::default()
        },
        false,
    ) {
        panic!("cannot create topic t: {e}");
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "streamctl-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        if let Err(e) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {e}", path.display());
        }
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The files in `dir` with extension `suffix`, sorted by name (segment files: by offset).
pub(crate) fn files_with_extension(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == suffix))
        .collect();
    files.sort();
    files
}
