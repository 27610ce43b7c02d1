//! The command line grammar (clap derive). Flags follow kcat where kcat has one.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Produce, consume and administer Kafka-protocol clusters; run a local dev cluster.
#[derive(Debug, Parser)]
#[command(name = "streamctl", version, about, propagate_version = true)]
pub struct Cli {
    /// Connection settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
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

/// Settings for commands that talk to a cluster, as given on the command line; profiles fill
/// in what is missing (see `config::resolve`).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Bootstrap brokers, `host:port,…` (default: the profile's, else localhost:9092).
    #[arg(
        short = 'b',
        long = "brokers",
        env = "STREAMCTL_BROKERS",
        global = true
    )]
    pub brokers: Option<String>,
    /// A Kafka client property, `key=value` (repeatable), e.g. `-X linger.ms=10`.
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    pub properties: Vec<String>,
    /// The profile to use (default: the config file's current one).
    #[arg(long, env = "STREAMCTL_PROFILE", global = true)]
    pub profile: Option<String>,
    /// Output format of admin commands: aligned columns, or one JSON or YAML document.
    #[arg(long, value_enum, global = true, default_value_t = Format::Text)]
    pub format: Format,
}

/// The settings commands use: command-line flags over the profile over defaults.
#[derive(Debug, Clone)]
pub struct Global {
    /// Bootstrap brokers.
    pub brokers: String,
    /// Kafka properties: the profile's, then `-X` ones (later wins).
    pub properties: Vec<String>,
    /// Output format of admin commands.
    pub format: Format,
    /// The dev cluster's admin plane, when the profile names one.
    pub admin_url: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Text,
    /// One JSON object or array on stdout, for scripts.
    Json,
    /// The same document as YAML.
    Yaml,
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
    /// List, describe, reset and delete consumer groups; show their lag.
    Group(GroupArgs),
    /// List and describe transactions; show the producers a partition knows.
    Txn(TxnArgs),
    /// List, get, register, check and delete schemas in a schema registry.
    Schema(SchemaArgs),
    /// Describe the cluster.
    Cluster(ClusterArgs),
    /// Named connection settings in the config file.
    Profile(ProfileArgs),
    /// Print a shell completion script (e.g. `streamctl completion bash > /etc/bash_completion.d/streamctl`).
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Measure throughput, latency, start-up time and memory.
    Perf(PerfArgs),
    /// A terminal dashboard: brokers, topics, groups, lag, a live tail (k9s-style keys).
    Ui(UiArgs),
}

/// `streamctl ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Time between polls of the cluster: seconds (`2`, `0.5`) or `500ms`.
    #[arg(long, default_value = "2", value_parser = crate::ui::parse_refresh)]
    pub refresh: std::time::Duration,
    /// Hide and refuse everything that changes the cluster (broker stop/kill/start).
    #[arg(long)]
    pub read_only: bool,
    /// The devcluster admin plane (`ADMIN=` of `streamctl dev up`); enables the panel that
    /// stops, kills and starts brokers.
    #[arg(long, env = "STREAMCTL_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,
    /// Write log lines (-v, STREAMCTL_LOG) to this file; without it they are dropped, since
    /// the terminal belongs to the dashboard.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// The schema registry the live tail decodes schema-encoded values with (default: the
    /// `schema.registry.url` property, which `dev up` writes into its profile).
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
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
    /// Start a dev cluster (in the foreground; Ctrl-C stops it; -d runs it in the background).
    Up(DevUpArgs),
    /// Stop a running dev cluster (through its admin plane).
    Down(DevTarget),
    /// Brokers, their state and the controller of a running dev cluster.
    Status(DevTarget),
    /// Stop a broker cleanly (its leaderships move first).
    Stop(DevBroker),
    /// Kill a broker abruptly (no clean shutdown; as a crash).
    Kill(DevBroker),
    /// Start a stopped or killed broker again.
    Start(DevBroker),
    /// Run the log cleaner on every broker now (compacted partitions that are due get
    /// cleaned, as after `log.cleaner.backoff.ms`) and show each one's cleaner state.
    Clean(DevTarget),
}

/// Which dev cluster: its admin plane URL.
#[derive(Debug, Args)]
pub struct DevTarget {
    /// The admin plane (`ADMIN=` of `dev up`; default: the profile's, else http://127.0.0.1:9644).
    #[arg(long, env = "STREAMCTL_ADMIN_URL")]
    pub admin_url: Option<String>,
}

/// A broker of a dev cluster.
#[derive(Debug, Args)]
pub struct DevBroker {
    /// The broker's node id.
    pub id: i32,
    /// Which cluster.
    #[command(flatten)]
    pub target: DevTarget,
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
    /// Port of the schema registry (Confluent's REST API) on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    pub schema_registry_port: u16,
    /// Do not serve a schema registry.
    #[arg(long)]
    pub no_schema_registry: bool,
    /// Where logs and metadata live (kept across restarts).
    #[arg(long, conflicts_with = "in_memory")]
    pub data_dir: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long)]
    pub in_memory: bool,
    /// Host name advertised to clients (`localhost` listens on 127.0.0.1 and ::1).
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// Run in the background: print the addresses, then return (stop it with `dev down`).
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Do not write the `dev` profile to the config file.
    #[arg(long)]
    pub no_profile: bool,
    /// Serve TLS, with a CA and broker certificates generated at start and written to
    /// `<data dir>/tls` (with --in-memory: the default data dir's `tls/`).
    #[arg(long)]
    pub tls: bool,
    /// Require SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with unsecured tokens);
    /// without --sasl-user, one user `admin` with a generated password.
    #[arg(long)]
    pub sasl: bool,
    /// A SASL user, `NAME:PASSWORD` (repeatable; implies --sasl).
    #[arg(long = "sasl-user", value_name = "NAME:PASSWORD")]
    pub sasl_users: Vec<String>,
    /// Pose as this Kafka release (2.8, 3.0 … 3.9, 4.0, 4.1; a patch level is ignored):
    /// clients see only the API versions it had. Default: every version streamctl serves.
    #[arg(long, value_name = "X.Y")]
    pub kafka_version: Option<streamctl_devcluster::KafkaVersion>,
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
    /// Send every record of the input in one transaction with this `transactional.id`
    /// (`-X transactional.id=…` too): committed if every record was delivered, aborted
    /// otherwise, so read_committed consumers see all of it or nothing.
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,
    /// Input format: `lines` (one value per line) or `jsonl` (what `consume -J` prints).
    #[arg(long, value_enum, default_value_t = InputFormat::Lines)]
    pub input: InputFormat,
    /// Encode JSON input with a registered schema in Confluent's framing: `value=FORMAT`,
    /// `key=FORMAT` (the key before -K's delimiter), or `FORMAT` for both; FORMAT is `avro`,
    /// `json` or `protobuf` (`protobuf:pkg.Message` for another than the schema's first).
    #[arg(short = 's', value_name = "[key=|value=]avro|json|protobuf[:MESSAGE]")]
    pub schema: Vec<String>,
    /// The schema registry for -s (default: the `schema.registry.url` property).
    #[arg(short = 'r', value_name = "URL")]
    pub registry: Option<String>,
    /// The value's schema id (default: the latest schema of `<topic>-value`).
    #[arg(long, value_name = "ID")]
    pub value_schema_id: Option<u32>,
    /// The key's schema id (default: the latest schema of `<topic>-key`).
    #[arg(long, value_name = "ID")]
    pub key_schema_id: Option<u32>,
}

/// `produce --input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One record per line; -K/-k/-H/-p shape it.
    Lines,
    /// One JSON object per line with topic, partition, key, value, headers and encodings.
    Jsonl,
}

/// `streamctl group …`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: GroupCommand,
}

/// Group subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Every group with its state, type and protocol.
    List {
        /// Only groups of these types: `classic`, `consumer` (KIP-848); repeatable or
        /// comma-separated.
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<String>,
    },
    /// A group's state, members and their assignments.
    Describe {
        /// The group id.
        group: String,
    },
    /// Committed offset, end offset and lag per partition.
    Lag {
        /// The group id.
        group: String,
    },
    /// Move a group's committed offsets (a dry run printing the plan unless --execute).
    #[command(group(ArgGroup::new("to").required(true).args(["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"])))]
    ResetOffsets {
        /// The group id (it must have no active members).
        group: String,
        /// Only these topics (repeatable; default: every topic the group committed).
        #[arg(short = 't', long = "topic")]
        topics: Vec<String>,
        /// To the log start offset.
        #[arg(long)]
        to_earliest: bool,
        /// To the end (skip everything unread).
        #[arg(long)]
        to_latest: bool,
        /// To this offset (clamped into the partition's range).
        #[arg(long, value_name = "OFFSET")]
        to_offset: Option<i64>,
        /// To the first record at or after this time: RFC 3339 (`2026-11-22T10:00:00Z`) or
        /// milliseconds since the epoch.
        #[arg(long, value_name = "TIME")]
        to_datetime: Option<String>,
        /// Move each committed offset by N (negative: back).
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        shift_by: Option<i64>,
        /// Commit the plan (without it, only print it).
        #[arg(long)]
        execute: bool,
    },
    /// Delete a group and its committed offsets (it must have no active members).
    Delete {
        /// The group id.
        group: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

/// `streamctl txn …`.
#[derive(Debug, Args)]
pub struct TxnArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TxnCommand,
}

/// Transaction subcommands (kafka-transactions.sh's `list`, `describe`,
/// `describe-producers`).
#[derive(Debug, Subcommand)]
pub enum TxnCommand {
    /// Every transactional id with its producer id and state.
    List {
        /// Only these states (repeatable): Empty, Ongoing, PrepareCommit, PrepareAbort,
        /// CompleteCommit, CompleteAbort, PrepareEpochFence.
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        /// Only this producer id (repeatable).
        #[arg(long = "producer-id", value_name = "ID")]
        producer_ids: Vec<i64>,
        /// Only transactions running longer than this: seconds (`30`) or with a unit
        /// (`500ms`, `5m`) — hanging transactions.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        running_longer_than: Option<std::time::Duration>,
    },
    /// A transactional id's state, producer, timeout and open partitions.
    Describe {
        /// The transactional id.
        transactional_id: String,
    },
    /// The producers a partition's leader knows, with the start of their open transactions.
    Producers {
        /// The topic.
        topic: String,
        /// The partition.
        #[arg(short, long, default_value_t = 0)]
        partition: i32,
    },
}

/// `streamctl schema …`: the registry is `-r URL`, else the `schema.registry.url` property.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema registry (default: the `schema.registry.url` property or profile).
    #[arg(short = 'r', long = "registry", value_name = "URL", global = true)]
    pub registry: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: SchemaCommand,
}

/// Schema registry subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Every subject.
    List {
        /// Soft-deleted subjects too.
        #[arg(long)]
        deleted: bool,
    },
    /// A subject's schema (its latest version, or VERSION), or a schema by --id.
    Get {
        /// The subject (not with --id).
        #[arg(required_unless_present = "id")]
        subject: Option<String>,
        /// A version number, or `latest`.
        #[arg(default_value = "latest")]
        subject_version: String,
        /// A schema id instead of a subject.
        #[arg(long, conflicts_with = "subject")]
        id: Option<u32>,
    },
    /// Registers the schema in FILE (`-` for stdin) under SUBJECT; prints its id.
    Register {
        /// The subject.
        subject: String,
        /// The schema file.
        file: PathBuf,
        #[command(flatten)]
        schema: SchemaFileArgs,
    },
    /// Whether the schema in FILE may be registered under SUBJECT, and why not.
    Check {
        /// The subject.
        subject: String,
        /// The schema file (`-` for stdin).
        file: PathBuf,
        #[command(flatten)]
        schema: SchemaFileArgs,
        /// The version to check against (`latest` by default).
        #[arg(long = "against", default_value = "latest")]
        against: String,
    },
    /// Deletes a subject or one version (soft; --permanent after a soft delete).
    Delete {
        /// The subject.
        subject: String,
        /// Only this version (a number, or `latest`).
        subject_version: Option<String>,
        /// Remove for good (the subject or version must be soft-deleted first).
        #[arg(long)]
        permanent: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// What a schema file is, for `schema register` and `schema check`.
#[derive(Debug, Args)]
pub struct SchemaFileArgs {
    /// AVRO, JSON or PROTOBUF (default: PROTOBUF for a `.proto` file, else AVRO).
    #[arg(long = "type")]
    pub schema_type: Option<String>,
    /// A schema it refers to: `NAME=SUBJECT:VERSION` (for Protobuf, NAME is the import
    /// path; for JSON Schema, the `$ref`). Repeatable.
    #[arg(long = "reference", value_name = "NAME=SUBJECT:VERSION")]
    pub references: Vec<String>,
}

/// `streamctl profile …`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProfileCommand,
}

/// Profile subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create or replace a profile from -b and -X (and use it with --use).
    Create {
        /// The profile name.
        name: String,
        /// The dev cluster admin plane this profile's `dev` commands talk to.
        #[arg(long)]
        admin_url: Option<String>,
        /// Make it the current profile.
        #[arg(long = "use")]
        make_current: bool,
    },
    /// Make a profile the current one.
    Use {
        /// The profile name.
        name: String,
    },
    /// Every profile; the current one is marked.
    List,
    /// Remove a profile.
    Delete {
        /// The profile name.
        name: String,
    },
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
    /// Where to start (and stop): beginning, end, N (an offset), -N (N before the end),
    /// @T or s@T (the first record at or after T ms since the epoch), e@T (stop before T),
    /// @T1:T2 (from T1 until T2).
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
    /// Which records to read: read_uncommitted (default, everything) or read_committed
    /// (stop at the last stable offset, skip aborted transactions); overrides
    /// `-X isolation.level=…`, kcat's spelling, which works too.
    #[arg(
        long,
        value_name = "LEVEL",
        value_parser = ["read_uncommitted", "read_committed"]
    )]
    pub isolation: Option<String>,
    /// Decode schema-encoded records (Confluent's framing), printed as JSON: `value=FORMAT`,
    /// `key=FORMAT`, or `FORMAT` for both, FORMAT being `avro`, `json` or `protobuf`
    /// (kcat's -s).
    #[arg(short = 's', value_name = "[key=|value=]avro|json|protobuf")]
    pub schema: Vec<String>,
    /// The schema registry for -s (default: the `schema.registry.url` property).
    #[arg(short = 'r', value_name = "URL")]
    pub registry: Option<String>,
    /// With -s: skip a record that does not decode (saying which on stderr) instead of
    /// stopping; a registry that is down or failing still stops the read.
    #[arg(long, requires = "schema")]
    pub skip_undecodable: bool,
}

/// `streamctl perf …`.
#[derive(Debug, Args)]
pub struct PerfArgs {
    /// What to measure.
    #[command(subcommand)]
    pub command: PerfCommand,
}

/// Perf subcommands.
#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Producer throughput and send-to-ack latency.
    Produce(PerfOptions),
    /// Consumer throughput (fills the topic first if it holds fewer than --records).
    Consume(PerfOptions),
    /// Producers and consumers together: both throughputs and produce-to-consume latency.
    E2e(PerfOptions),
    /// Dev cluster start-up time (until every broker answers Metadata) and idle memory.
    Startup(StartupOptions),
}

/// Options shared by `perf produce|consume|e2e`.
#[derive(Debug, Clone, Args)]
pub struct PerfOptions {
    /// The topic (created if missing).
    #[arg(long, default_value = "perf")]
    pub topic: String,
    /// Number of records.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Value size in bytes (at least 8 for e2e, which stamps the send time into it).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Give each record an 8-byte key (its sequence number), partitioned by murmur2.
    #[arg(long)]
    pub keys: bool,
    /// acks: all, 1 or 0.
    #[arg(long, default_value = "all")]
    pub acks: String,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(long, default_value = "none")]
    pub compression: String,
    /// Partitions of the topic when it is created.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,
    /// Replication factor of the topic when it is created.
    #[arg(long, default_value_t = 3)]
    pub replication_factor: i16,
    /// Number of producers (each its own client, sending its share of the records).
    #[arg(long, default_value_t = 1)]
    pub producers: u32,
    /// Number of consumers (each its own client, assigned its share of the partitions).
    #[arg(long, default_value_t = 1)]
    pub consumers: u32,
    /// Total send rate in records/s across producers (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Producer `batch.size` in bytes (default: the client's, 16384; -X batch.size works too).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Producer `linger.ms` (default: the client's, 5).
    #[arg(long)]
    pub linger_ms: Option<u64>,
    /// Send in transactions of this many records (each producer with its own
    /// `transactional.id`), committing each; the default sends idempotently without
    /// transactions.
    #[arg(long)]
    pub transaction_records: Option<u64>,
    /// Use the in-process dev cluster even if -b or STREAMCTL_BROKERS is set.
    #[arg(long)]
    pub devcluster: bool,
    /// Keep the in-process dev cluster's logs in this directory (default: in memory).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `perf startup`.
#[derive(Debug, Clone, Args)]
pub struct StartupOptions {
    /// Number of brokers.
    #[arg(short = 'n', long = "count", default_value_t = 3)]
    pub count: usize,
    /// How long to stay idle before reading the resident memory, in ms.
    #[arg(long, default_value_t = 1000)]
    pub idle_ms: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A duration as users type it: `500ms`, `30s`, `5m`, `2h`, `1d`, or bare seconds (`30`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let bad = || format!("{s:?}: expected a duration such as 500ms, 30s, 5m, 2h or 1d");
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ms_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    Ok(Duration::from_millis(n.saturating_mul(ms_per_unit)))
}
