//! Every topic config Apache Kafka 4 defines (`LogConfig`), with its type, valid range,
//! default and the broker config that supplies the default. Tools that create their own
//! topics (Kafka Streams changelogs, Debezium, Terraform, operators) set many of these; each
//! is accepted, validated as Kafka validates it, stored and described.
//!
//! `inert` marks the configs the dev cluster stores and describes but does not act on:
//! broker-side recompression (`compression.type` and levels: batches are stored as the
//! producer compressed them), remote (tiered) storage, replication throttles, index sizes,
//! preallocation, the delay before deleting files and segment jitter. Changing them changes
//! nothing observable in a dev cluster except what DescribeConfigs reports.

/// What a topic config value must look like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigType {
    /// A 64-bit integer (milliseconds, bytes) within the bounds.
    Long(Bounds),
    /// A 32-bit integer within the bounds.
    Int(Bounds),
    /// A floating-point number in `[min, max]`.
    Double(f64, f64),
    /// `true` or `false`.
    Boolean,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// A comma-separated list of words from a fixed set.
    List(&'static [&'static str]),
    /// A replication throttle: `*`, empty, or a list of `partition:broker` pairs.
    ReplicaList,
}

/// The valid range of an integer config: `min..=max`, plus one value outside it that
/// means "the default" (gzip's level -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The smallest value.
    pub min: i64,
    /// The largest value.
    pub max: i64,
    /// One more value allowed outside the range.
    pub also: Option<i64>,
}

impl Bounds {
    /// Any value of the type.
    const ANY: Bounds = Bounds::at_least(i64::MIN);

    const fn at_least(min: i64) -> Bounds {
        Bounds {
            min,
            max: i64::MAX,
            also: None,
        }
    }

    const fn between(min: i64, max: i64) -> Bounds {
        Bounds {
            min,
            max,
            also: None,
        }
    }

    /// Whether `v` is allowed.
    pub fn contains(&self, v: i64) -> bool {
        (self.min..=self.max).contains(&v) || self.also == Some(v)
    }
}

/// One topic config Kafka defines.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    /// Kafka's property name.
    pub name: &'static str,
    /// The default as Kafka prints it.
    pub default: &'static str,
    /// Its type and valid values, for validation and DescribeConfigs' `config_type`.
    pub kind: ConfigType,
    /// The broker config that supplies the default (Kafka's topic config synonym); `None`
    /// for the few that have no broker-wide default.
    pub synonym: Option<&'static str>,
    /// Stored and described, but the dev cluster does not act on it (see the module docs).
    pub inert: bool,
    /// One line of documentation.
    pub doc: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";

const fn def(
    name: &'static str,
    default: &'static str,
    kind: ConfigType,
    synonym: &'static str,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        default,
        kind,
        synonym: Some(synonym),
        inert: false,
        doc,
    }
}

const fn inert(mut d: ConfigDef) -> ConfigDef {
    d.inert = true;
    d
}

const fn no_synonym(mut d: ConfigDef) -> ConfigDef {
    d.synonym = None;
    d
}

const fn long(min: i64) -> ConfigType {
    ConfigType::Long(Bounds::at_least(min))
}

const fn int(min: i64) -> ConfigType {
    ConfigType::Int(Bounds::between(min, i32::MAX as i64))
}

/// The topic configs, in name order (as DescribeConfigs lists them).
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    def(
        "cleanup.policy",
        "delete",
        ConfigType::List(&["compact", "delete"]),
        "log.cleanup.policy",
        "whether old segments are deleted, compacted (the last record per key kept), or both",
    ),
    inert(def(
        "compression.gzip.level",
        "-1",
        ConfigType::Int(Bounds {
            min: 1,
            max: 9,
            also: Some(-1),
        }),
        "compression.gzip.level",
        "gzip level when compression.type is gzip (-1: the codec's default)",
    )),
    inert(def(
        "compression.lz4.level",
        "9",
        ConfigType::Int(Bounds::between(1, 17)),
        "compression.lz4.level",
        "lz4 level when compression.type is lz4",
    )),
    inert(def(
        "compression.type",
        "producer",
        ConfigType::Choice(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "compression.type",
        "codec the broker stores batches with; producer keeps the producer's",
    )),
    inert(def(
        "compression.zstd.level",
        "3",
        ConfigType::Int(Bounds::between(-131_072, 22)),
        "compression.zstd.level",
        "zstd level when compression.type is zstd",
    )),
    def(
        "delete.retention.ms",
        "86400000",
        long(0),
        "log.cleaner.delete.retention.ms",
        "how long a compacted topic keeps tombstones (and transaction markers) once cleaned",
    ),
    inert(def(
        "file.delete.delay.ms",
        "60000",
        long(0),
        "log.segment.delete.delay.ms",
        "delay before a deleted segment's files are removed",
    )),
    def(
        "flush.messages",
        LONG_MAX,
        long(1),
        "log.flush.interval.messages",
        "fsync the log after this many messages",
    ),
    def(
        "flush.ms",
        LONG_MAX,
        long(0),
        "log.flush.interval.ms",
        "fsync the log after this many milliseconds",
    ),
    inert(no_synonym(def(
        "follower.replication.throttled.replicas",
        "",
        ConfigType::ReplicaList,
        "",
        "replicas whose follower-side replication is throttled (partition:broker, or *)",
    ))),
    inert(def(
        "index.interval.bytes",
        "4096",
        int(0),
        "log.index.interval.bytes",
        "bytes between offset index entries",
    )),
    inert(no_synonym(def(
        "leader.replication.throttled.replicas",
        "",
        ConfigType::ReplicaList,
        "",
        "replicas whose leader-side replication is throttled (partition:broker, or *)",
    ))),
    inert(def(
        "local.retention.bytes",
        "-2",
        long(-2),
        "log.local.retention.bytes",
        "bytes kept locally with tiered storage (-2: retention.bytes)",
    )),
    inert(def(
        "local.retention.ms",
        "-2",
        long(-2),
        "log.local.retention.ms",
        "time kept locally with tiered storage (-2: retention.ms)",
    )),
    def(
        "max.compaction.lag.ms",
        LONG_MAX,
        long(1),
        "log.cleaner.max.compaction.lag.ms",
        "longest a record may stay uncompacted",
    ),
    def(
        "max.message.bytes",
        "1048588",
        int(0),
        "message.max.bytes",
        "largest record batch the topic accepts",
    ),
    def(
        "message.timestamp.after.max.ms",
        "3600000",
        long(0),
        "log.message.timestamp.after.max.ms",
        "how far in the future a CreateTime timestamp may be",
    ),
    def(
        "message.timestamp.before.max.ms",
        LONG_MAX,
        long(0),
        "log.message.timestamp.before.max.ms",
        "how far in the past a CreateTime timestamp may be",
    ),
    def(
        "message.timestamp.type",
        "CreateTime",
        ConfigType::Choice(&["CreateTime", "LogAppendTime"]),
        "log.message.timestamp.type",
        "whether record timestamps come from the producer or the broker",
    ),
    def(
        "min.cleanable.dirty.ratio",
        "0.5",
        ConfigType::Double(0.0, 1.0),
        "log.cleaner.min.cleanable.ratio",
        "share of a compacted log that must be uncleaned before the cleaner runs",
    ),
    def(
        "min.compaction.lag.ms",
        "0",
        long(0),
        "log.cleaner.min.compaction.lag.ms",
        "shortest a record stays uncompacted",
    ),
    def(
        "min.insync.replicas",
        "1",
        int(1),
        "min.insync.replicas",
        "replicas that must have a write before acks=all succeeds",
    ),
    inert(def(
        "preallocate",
        "false",
        ConfigType::Boolean,
        "log.preallocate",
        "preallocate segment files",
    )),
    inert(no_synonym(def(
        "remote.log.copy.disable",
        "false",
        ConfigType::Boolean,
        "",
        "stop copying segments to tiered storage",
    ))),
    inert(no_synonym(def(
        "remote.log.delete.on.disable",
        "false",
        ConfigType::Boolean,
        "",
        "delete tiered data when tiered storage is disabled",
    ))),
    inert(no_synonym(def(
        "remote.storage.enable",
        "false",
        ConfigType::Boolean,
        "",
        "tiered storage for this topic",
    ))),
    def(
        "retention.bytes",
        "-1",
        ConfigType::Long(Bounds::ANY),
        "log.retention.bytes",
        "size a partition may grow to before old segments are deleted; -1 unlimited",
    ),
    def(
        "retention.ms",
        "604800000",
        long(-1),
        "log.retention.ms",
        "age after which old segments are deleted; -1 forever",
    ),
    def(
        "segment.bytes",
        "1073741824",
        int(14),
        "log.segment.bytes",
        "size at which a new log segment is started",
    ),
    inert(def(
        "segment.index.bytes",
        "10485760",
        int(4),
        "log.index.size.max.bytes",
        "size of a segment's offset index",
    )),
    inert(def(
        "segment.jitter.ms",
        "0",
        long(0),
        "log.roll.jitter.ms",
        "random jitter subtracted from segment.ms",
    )),
    def(
        "segment.ms",
        "604800000",
        long(1),
        "log.roll.ms",
        "age at which a new log segment is started",
    ),
    def(
        "unclean.leader.election.enable",
        "false",
        ConfigType::Boolean,
        "unclean.leader.election.enable",
        "whether an out-of-sync replica may become leader, losing data",
    ),
];

/// Whether `value` is valid for `kind`.
pub fn valid(kind: ConfigType, value: &str) -> bool {
    let value = value.trim();
    match kind {
        ConfigType::Long(bounds) => value.parse::<i64>().is_ok_and(|v| bounds.contains(v)),
        ConfigType::Int(bounds) => value
            .parse::<i32>()
            .is_ok_and(|v| bounds.contains(i64::from(v))),
        ConfigType::Double(min, max) => value
            .parse::<f64>()
            .is_ok_and(|v| v.is_finite() && (min..=max).contains(&v)),
        ConfigType::Boolean => {
            value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
        }
        ConfigType::Choice(words) => words.contains(&value),
        ConfigType::List(words) => value.split(',').all(|w| words.contains(&w.trim())),
        ConfigType::ReplicaList => {
            value.is_empty()
                || value == "*"
                || value.split(',').all(|pair| {
                    pair.trim().split_once(':').is_some_and(|(p, b)| {
                        p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
                    })
                })
        }
    }
}

/// What a valid value looks like, for error messages.
pub fn expected(kind: ConfigType) -> String {
    let range = |b: Bounds| {
        let mut s = match (b.min, b.max) {
            (i64::MIN, i64::MAX) => "any integer".to_string(),
            (min, i64::MAX) => format!("an integer of at least {min}"),
            (min, max) if max == i64::from(i32::MAX) => format!("an integer of at least {min}"),
            (min, max) => format!("an integer from {min} to {max}"),
        };
        if let Some(also) = b.also {
            s.push_str(&format!(" (or {also})"));
        }
        s
    };
    match kind {
        ConfigType::Long(b) | ConfigType::Int(b) => range(b),
        ConfigType::Double(min, max) => format!("a number from {min} to {max}"),
        ConfigType::Boolean => "true or false".to_string(),
        ConfigType::Choice(words) => format!("one of {}", words.join(", ")),
        ConfigType::List(words) => format!("a comma-separated list of {}", words.join(", ")),
        ConfigType::ReplicaList => "*, or partition:broker pairs separated by commas".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_and_every_default_is_valid() {
        for pair in TOPIC_CONFIGS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} out of order", pair[1].name);
        }
        for d in TOPIC_CONFIGS {
            assert!(
                valid(d.kind, d.default),
                "{}: default {:?}",
                d.name,
                d.default
            );
        }
    }

    #[test]
    fn values_are_checked_as_kafka_checks_them() {
        let kind = |name: &str| TOPIC_CONFIGS.iter().find(|d| d.name == name).unwrap().kind;
        let cases: &[(&str, &str, bool)] = &[
            ("min.cleanable.dirty.ratio", "0.01", true),
            ("min.cleanable.dirty.ratio", "1.5", false),
            ("min.cleanable.dirty.ratio", "NaN", false),
            ("retention.ms", "-1", true),
            ("retention.ms", "-2", false),
            ("retention.bytes", "-5", true),
            ("segment.bytes", "13", false),
            ("segment.bytes", "2048", true),
            ("segment.bytes", "4294967296", false),
            ("compression.gzip.level", "-1", true),
            ("compression.gzip.level", "0", false),
            ("compression.gzip.level", "9", true),
            ("compression.zstd.level", "-131072", true),
            ("delete.retention.ms", "-1", false),
            ("max.compaction.lag.ms", "0", false),
            ("cleanup.policy", "compact,delete", true),
            ("cleanup.policy", "compact,shred", false),
            ("leader.replication.throttled.replicas", "0:1,1:2", true),
            ("leader.replication.throttled.replicas", "*", true),
            ("leader.replication.throttled.replicas", "0-1", false),
            ("preallocate", "TRUE", true),
            ("min.insync.replicas", "0", false),
        ];
        for (name, value, ok) in cases {
            assert_eq!(valid(kind(name), value), *ok, "{name}={value}");
        }
        assert_eq!(
            expected(kind("compression.gzip.level")),
            "an integer from 1 to 9 (or -1)"
        );
    }
}
