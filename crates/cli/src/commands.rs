//! One module per subcommand.

pub mod cluster;
pub mod consume;
pub mod dev;
pub mod perf;
pub mod produce;
pub mod topic;
