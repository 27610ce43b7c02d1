//! The command line grammar (clap derive). Flags follow kcat where kcat has one.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Produce, consume and administer Kafka-protocol clusters; run a local dev cluster.
#[derive(Debug, Parser)]
#[command(name = "streamctl", version, about, propagate_version = true)]
pub struct Cli {
    /// Connection settings shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Describe the cluster, as `streamctl cluster info` does (kcat's -L).
    #[arg(short = 'L')]
    pub list_metadata: bool,
    /// The command (none only with -L).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings for commands that talk to a cluster.
#[derive(Debug, Args)]
pub struct Global {
    /// Bootstrap brokers, `host:port,…`.
    #[arg(
        short = 'b',
        long = "brokers",
        env = "STREAMCTL_BROKERS",
        global = true,
        default_value = "localhost:9092"
    )]
    pub brokers: String,
    /// A Kafka client property, `key=value` (repeatable), e.g. `-X linger.ms=10`.
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    pub properties: Vec<String>,
    /// Output format of admin commands: aligned columns, or one JSON document.
    #[arg(long, value_enum, global = true, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Text,
    /// One JSON object or array on stdout, for scripts.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local Kafka-compatible dev cluster.
    Dev(DevArgs),
    /// Write records from stdin or files (one per line) to a topic.
    Produce(ProduceArgs),
    /// Read records from topics to stdout (kcat -C conventions).
    Consume(ConsumeArgs),
    /// List, describe, create, delete and reconfigure topics.
    Topic(TopicArgs),
    /// Describe the cluster.
    Cluster(ClusterArgs),
    /// Measure throughput, latency, start-up time and memory.
    Perf(crate::commands::perf::PerfArgs),
}

/// `streamctl dev …`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DevCommand,
}

/// Dev cluster subcommands.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Start a dev cluster in the foreground (Ctrl-C stops it).
    Up(DevUpArgs),
}

/// `streamctl dev up`.
#[derive(Debug, Args)]
pub struct DevUpArgs {
    /// Number of brokers.
    #[arg(short = 'n', long = "count", default_value_t = 3)]
    pub count: usize,
    /// Port of the first broker; the others follow (0 picks free ports).
    #[arg(long, default_value_t = 9092)]
    pub port: u16,
    /// Port of the HTTP admin plane on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 9644)]
    pub admin_port: u16,
    /// Where logs and metadata live (kept across restarts).
    #[arg(long, conflicts_with = "in_memory")]
    pub data_dir: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long)]
    pub in_memory: bool,
    /// Host name advertised to clients (`localhost` listens on 127.0.0.1 and ::1).
    #[arg(long, default_value = "localhost")]
    pub host: String,
}

/// `streamctl produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The topic.
    pub topic: String,
    /// Files to read (default: stdin).
    pub files: Vec<PathBuf>,
    /// Split each line at the first DELIM into key and value (kcat's -K).
    #[arg(short = 'K', value_name = "DELIM")]
    pub key_delimiter: Option<String>,
    /// A fixed key for every record.
    #[arg(short = 'k', value_name = "KEY", conflicts_with = "key_delimiter")]
    pub key: Option<String>,
    /// Header `name=value` or `name:value` (repeatable, order and duplicates kept).
    #[arg(short = 'H', value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Partition (default: by key, as Java's client).
    #[arg(short = 'p')]
    pub partition: Option<i32>,
    /// Send empty keys and values as null (kcat's -Z).
    #[arg(short = 'Z')]
    pub empty_as_null: bool,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(short = 'z', default_value = "none")]
    pub compression: String,
    /// acks: all, 1 or 0.
    #[arg(long, default_value = "all")]
    pub acks: String,
    /// Print a delivery report line (partition, offset) per record on stderr.
    #[arg(long)]
    pub report: bool,
}

/// `streamctl topic …`.
#[derive(Debug, Args)]
pub struct TopicArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TopicCommand,
}

/// Topic subcommands.
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// List topic names, sorted.
    List {
        /// Include internal topics such as `__consumer_offsets`.
        #[arg(long)]
        internal: bool,
    },
    /// Partitions (leader, replicas, ISR, watermarks) and config overrides of a topic.
    Describe {
        /// The topic.
        topic: String,
    },
    /// Create a topic.
    Create {
        /// The topic.
        topic: String,
        /// Number of partitions (default: the broker's `num.partitions`).
        #[arg(short = 'p', long = "partitions")]
        partitions: Option<i32>,
        /// Replicas per partition (default: the broker's `default.replication.factor`).
        #[arg(short = 'r', long = "replication-factor")]
        replication_factor: Option<i16>,
        /// A topic config, `key=value` (repeatable), e.g. `-c retention.ms=3600000`.
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// Delete a topic and every record in it.
    Delete {
        /// The topic.
        topic: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Raise a topic's partition count (partitions cannot be removed).
    AddPartitions {
        /// The topic.
        topic: String,
        /// The new total number of partitions.
        #[arg(short = 'p', long = "partitions")]
        partitions: i32,
    },
    /// Set topic configs or remove overrides, leaving the others alone.
    #[command(group(ArgGroup::new("changes").required(true).multiple(true).args(["configs", "delete"])))]
    AlterConfig {
        /// The topic.
        topic: String,
        /// A config to set, `key=value` (repeatable).
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// A config override to remove, back to its default (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
}

/// `streamctl cluster …`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// Cluster subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Cluster id, controller and brokers.
    Info,
}

/// `streamctl consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topics to read.
    #[arg(required = true)]
    pub topics: Vec<String>,
    /// Where to start: beginning, end, N (an offset) or -N (N before the end of each partition).
    #[arg(short = 'o', default_value = "beginning", allow_hyphen_values = true)]
    pub offset: String,
    /// Exit once every partition is read to its end.
    #[arg(short = 'e')]
    pub exit_at_end: bool,
    /// Exit after this many records.
    #[arg(short = 'c')]
    pub count: Option<u64>,
    /// Only these partitions (repeatable; not with -G).
    #[arg(short = 'p', conflicts_with = "group")]
    pub partitions: Vec<i32>,
    /// Consume as a member of this group (commits what was printed).
    #[arg(short = 'G', long = "group")]
    pub group: Option<String>,
    /// Output format with kcat's tokens: %t topic, %p partition, %o offset, %k key, %K key
    /// length, %s value, %S value length, %T timestamp, %h headers; \n and \t escapes.
    #[arg(short = 'f', value_name = "FORMAT", conflicts_with = "json")]
    pub record_format: Option<String>,
    /// One JSON object per record (topic, partition, offset, timestamp, key, value, headers).
    #[arg(short = 'J')]
    pub json: bool,
}
