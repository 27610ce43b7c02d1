//! The `streamctl` command line (work in progress).
fn main() {}
