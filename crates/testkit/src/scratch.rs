//! What a test run makes for itself: a seed it prints, and directories of its own.
//!
//! Every test of a crate runs in one process, so anything named after the process alone
//! would be shared by tests running at once: a [`TempDir`] is unique to its test.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The seed of a randomized test: `STREAMCTL_CHAOS_SEED` or a fixed default, printed with
/// `what` either way so any run can be replayed.
pub fn seed(what: &str) -> u64 {
    let seed = std::env::var("STREAMCTL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122);
    println!("{what}: seed {seed} (replay with STREAMCTL_CHAOS_SEED={seed})");
    seed
}

/// A fresh directory under the system temp dir, named after `name`, this process and a
/// counter; removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the directory.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "streamctl-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
