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
