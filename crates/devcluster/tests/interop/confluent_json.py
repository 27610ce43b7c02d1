"""confluent-kafka's JSONSerializer and JSONDeserializer against the dev cluster's registry:
documents written (registering the schema), an incompatible evolution refused, a compatible
one registered as version 2, everything read back with the writer schema fetched by id.

usage: confluent_json.py BOOTSTRAP REGISTRY_URL TOPIC COUNT produce|consume
Prints one line "ok: ..." and exits 0, or raises.
"""
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from registry_common import bootstrap, context, count, mode, read_back, registry, subject, topic

conf = {"subject.name.strategy.type": "TOPIC"}

# A closed object: a later version may add optional properties (old writers never wrote them).
V1 = """{"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
  "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 20},
                 "tags": {"type": "array", "items": {"type": "string"}}},
  "required": ["id", "name"], "additionalProperties": false}"""
V2 = """{"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
  "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 20},
                 "tags": {"type": "array", "items": {"type": "string"}},
                 "email": {"type": "string"}},
  "required": ["id", "name"], "additionalProperties": false}"""
# A new requirement without a default: V1 documents lack it.
BAD = """{"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
  "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 20},
                 "tags": {"type": "array", "items": {"type": "string"}},
                 "age": {"type": "integer"}},
  "required": ["id", "name", "age"], "additionalProperties": false}"""


def user(i):
    value = {"id": i, "name": f"user-{i}", "tags": ["a", f"é{i}"]}
    if i >= count:
        value["email"] = f"u{i}@example.com"
    return value


if mode == "produce":
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    v1 = JSONSerializer(V1, registry, conf=conf)
    for i in range(count):
        producer.produce(topic, partition=0, value=v1(user(i), context))
    producer.flush(30)
    try:
        v1({"id": 1, "name": "x" * 30}, context)
        raise AssertionError("a document breaking the schema was serialized")
    except Exception as e:
        assert "maxLength" in str(e) or "too long" in str(e), e
    try:
        registry.register_schema(subject, Schema(BAD, "JSON"))
        raise AssertionError("an incompatible schema was registered")
    except SchemaRegistryError as e:
        assert e.http_status_code == 409 and e.error_code in (409, 40901), e
        refused = e.error_code
    assert not registry.test_compatibility(subject, Schema(BAD, "JSON"))
    assert registry.test_compatibility(subject, Schema(V2, "JSON"))
    v2 = JSONSerializer(V2, registry, conf=conf)
    for i in range(count, 2 * count):
        producer.produce(topic, partition=0, value=v2(user(i), context))
    assert producer.flush(30) == 0
    latest = registry.get_latest_version(subject)
    assert latest.version == 2 and latest.schema.schema_type == "JSON", latest
    first = registry.lookup_schema(subject, Schema(V1, "JSON"))
    print(f"ok: produced {2 * count} documents, schema ids {first.schema_id} and {latest.schema_id}, incompatible refused with {refused}")
elif mode == "consume":
    deserialize = JSONDeserializer(None, schema_registry_client=registry, conf=conf)
    seen = read_back(2 * count, lambda value, ctx, i: deserialize(value, ctx))
    for i, value in enumerate(seen):
        assert value == user(i), (i, value)
    print(f"ok: consumed {len(seen)} documents written with 2 schema versions")
else:
    raise SystemExit(f"unknown mode {mode}")
