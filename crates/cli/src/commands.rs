//! One module per subcommand.

pub mod cluster;
pub mod consume;
pub mod dev;
pub mod group;
pub mod perf;
pub mod produce;
pub mod profile;
pub mod schema;
pub mod topic;
pub mod txn;
