"""confluent-kafka's schema registry client and Avro serdes against the dev cluster's
registry: records written with AvroSerializer (registering the schema), an incompatible
evolution refused, a compatible one registered as version 2, and everything read back with
AvroDeserializer, which fetches each writer schema by id.

usage: confluent_avro.py BOOTSTRAP REGISTRY_URL TOPIC COUNT produce|consume
Prints one line "ok: ..." and exits 0, or raises.
"""
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from registry_common import bootstrap, context, count, mode, read_back, registry, subject, topic

V1 = """{"type": "record", "name": "User", "namespace": "demo.people",
  "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}"""
V2 = """{"type": "record", "name": "User", "namespace": "demo.people",
  "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
             {"name": "email", "type": ["null", "string"], "default": null}]}"""
# A new field without a default: a V3 reader cannot read V1/V2 data (BACKWARD).
BAD = """{"type": "record", "name": "User", "namespace": "demo.people",
  "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
             {"name": "age", "type": "int"}]}"""


def user(i):
    value = {"id": i, "name": f"user-{i}"}
    if i >= count:
        value["email"] = f"u{i}@example.com"
    return value


if mode == "produce":
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    v1 = AvroSerializer(registry, V1)
    for i in range(count):
        producer.produce(topic, partition=0, value=v1(user(i), context))
    producer.flush(30)
    try:
        registry.register_schema(subject, Schema(BAD, "AVRO"))
        raise AssertionError("an incompatible schema was registered")
    except SchemaRegistryError as e:
        assert e.http_status_code == 409 and e.error_code in (409, 40901), e
        refused = e.error_code
    assert not registry.test_compatibility(subject, Schema(BAD, "AVRO"))
    assert registry.test_compatibility(subject, Schema(V2, "AVRO"))
    v2 = AvroSerializer(registry, V2)
    for i in range(count, 2 * count):
        producer.produce(topic, partition=0, value=v2(user(i), context))
    assert producer.flush(30) == 0
    latest = registry.get_latest_version(subject)
    assert latest.version == 2, latest
    versions = registry.get_versions(subject)
    assert versions == [1, 2], versions
    assert subject in registry.get_subjects()
    first = registry.lookup_schema(subject, Schema(V1, "AVRO"))
    print(f"ok: produced {2 * count} records, schema ids {first.schema_id} and {latest.schema_id}, incompatible refused with {refused}")
elif mode == "consume":
    deserialize = AvroDeserializer(registry)
    seen = read_back(2 * count, lambda value, ctx, i: deserialize(value, ctx))
    for i, value in enumerate(seen):
        assert value == user(i), (i, value)
    print(f"ok: consumed {len(seen)} records written with 2 schema versions")
else:
    raise SystemExit(f"unknown mode {mode}")
