//! Test-only helpers shared by the crates' test suites: locating the third-party Kafka tools
//! the interop tests drive (kcat, and Python with confluent-kafka or kafka-python).
//!
//! A missing tool fails the test under `CI=true` (CI installs them with
//! `scripts/install-test-deps`) and is a loud skip elsewhere, so a developer without them can
//! still run the rest of the suite.

// Test support: failing loudly is the point.
#![allow(clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// The repository root (this crate lives in `crates/testkit`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reports a missing tool: a panic under `CI=true`, a loud skip elsewhere. Returns whether
/// the tool is there.
pub fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    let msg = format!("{what} is not installed: run scripts/install-test-deps");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    false
}

/// `kcat`, if installed (see [`require`]).
pub fn kcat() -> Option<&'static str> {
    let ok = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    require(ok, "kcat").then_some("kcat")
}

/// A Python that can import `module`: the repo's test venv, else `python3` (see [`require`]).
pub fn python(module: &str) -> Option<PathBuf> {
    let venv = workspace_root().join(".venv-test/bin/python");
    let found = [venv, PathBuf::from("python3")].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let present = found.is_some();
    require(present, &format!("python module {module}"))
        .then_some(found)
        .flatten()
}
