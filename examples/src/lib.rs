//! What the examples share: their few `--name value` flags, and the choice between brokers the
//! user names (`--brokers`) and a dev cluster started inside the example's own process, so each
//! example runs with no setup at all and against a real cluster unchanged.

use std::error::Error;
use std::str::FromStr;

use streamctl_devcluster::DevCluster;

/// The examples' result type: any error ends the example with its message.
pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The command line's `--name value` flags, read by hand so the examples need no argument crate.
#[derive(Debug, Clone)]
pub struct Flags(Vec<String>);

impl Flags {
    /// This process's arguments.
    pub fn from_env() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    /// The value after `name`, if the flag is given.
    pub fn value(&self, name: &str) -> Option<&str> {
        let at = self.0.iter().position(|a| a == name)?;
        self.0.get(at + 1).map(String::as_str)
    }

    /// The value after `name` or `default`; a value given but not a `T` is an error.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: Error + 'static,
    {
        match self.value(name) {
            Some(v) => v.parse().map_err(|e| format!("{name} {v}: {e}").into()),
            None => Ok(default),
        }
    }

    /// Whether the bare flag `name` is given.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

/// Where an example connects: the brokers of `--brokers`, or a three-broker in-memory dev
/// cluster it started itself (and stops in [`Target::shutdown`]).
#[derive(Debug)]
pub struct Target {
    /// Bootstrap servers, `host:port,…`.
    pub brokers: String,
    cluster: Option<DevCluster>,
}

impl Target {
    /// The brokers of `--brokers`; without it, an in-process cluster with `topic` created
    /// (`partitions` partitions, replication factor 3).
    pub async fn from_flags(flags: &Flags, topic: &str, partitions: i32) -> Result<Self> {
        if let Some(brokers) = flags.value("--brokers") {
            return Ok(Self {
                brokers: brokers.to_owned(),
                cluster: None,
            });
        }
        let cluster = DevCluster::builder().brokers(3).in_memory().start().await?;
        cluster.create_topic(topic, partitions, 3)?;
        Ok(Self {
            brokers: cluster.bootstrap_servers(),
            cluster: Some(cluster),
        })
    }

    /// Whether the cluster runs inside this process (no `--brokers`).
    pub fn is_in_process(&self) -> bool {
        self.cluster.is_some()
    }

    /// Stops the in-process cluster, if there is one.
    pub async fn shutdown(self) {
        if let Some(cluster) = self.cluster {
            cluster.shutdown().await;
        }
    }
}
