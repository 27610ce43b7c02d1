"""confluent-kafka (librdkafka) creating topics the way Kafka Streams, Debezium and operators
do: with the compaction, timestamp and retention configs Kafka 4 defines. Every one is
accepted and described back (value, source, type); an out-of-range value is refused with
INVALID_CONFIG; and a compacted topic refuses a record without a key.

usage: confluent_topic_configs.py BOOTSTRAP TOPIC
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, NewTopic, ResourceType)

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})

# A Kafka Streams changelog and a Debezium-style history topic.
configs = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "86400000",
    "min.cleanable.dirty.ratio": "0.01",
    "segment.ms": "600000",
    "message.timestamp.type": "CreateTime",
    "message.timestamp.after.max.ms": "86400000",
    "max.compaction.lag.ms": "9223372036854775807",
    "segment.index.bytes": "10485760",
    "file.delete.delay.ms": "60000",
}
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3, config=configs)])[topic].result(15)

resource = ConfigResource(ResourceType.TOPIC, topic)
described = admin.describe_configs([resource])[resource].result(15)
for name, value in configs.items():
    entry = described[name]
    assert entry.value == value, (name, entry.value)
    assert entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, (name, entry.source)
for name, default in [("segment.bytes", "1073741824"), ("compression.zstd.level", "3"),
                      ("local.retention.ms", "-2"), ("remote.storage.enable", "false")]:
    entry = described[name]
    assert entry.value == default and entry.is_default, (name, entry.value, entry.source)

bad = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
    ConfigEntry("min.cleanable.dirty.ratio", "1.5", incremental_operation=AlterConfigOpType.SET)])
try:
    admin.incremental_alter_configs([bad])[bad].result(15)
    raise AssertionError("min.cleanable.dirty.ratio=1.5 was accepted")
except KafkaException as e:
    assert e.args[0].name() == "INVALID_CONFIG", e

errors = []
producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "retries": 0})
# Flushed apart: a keyless record fails its whole batch, as in Kafka.
producer.produce(topic, key=None, value=b"no key", on_delivery=lambda err, msg: errors.append(err))
assert producer.flush(20) == 0
producer.produce(topic, key=b"k", value=b"keyed", on_delivery=lambda err, msg: errors.append(err))
assert producer.flush(20) == 0
names = sorted(e.name() if e else "ok" for e in errors)
assert names == ["INVALID_RECORD", "ok"], names
print(f"ok: confluent-kafka created {topic} with {len(configs)} Kafka 4 topic configs and read them back; "
      "an out-of-range value and a keyless record on a compacted topic were refused")
