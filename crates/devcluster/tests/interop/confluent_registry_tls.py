"""confluent-kafka's SchemaRegistryClient and AvroSerializer against a dev cluster with TLS
and SASL: the registry is reached over HTTPS trusting the cluster's CA, and the records go
over SASL_SSL.

usage: confluent_registry_tls.py BOOTSTRAP REGISTRY_URL CA_FILE TOPIC SETTINGS_JSON
Prints one line "ok: ..." and exits 0, or raises.
"""
import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, url, ca, topic, settings = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
registry = SchemaRegistryClient({"url": url, "ssl.ca.location": ca})
schema = '{"type": "record", "name": "Reading", "fields": [{"name": "celsius", "type": "double"}]}'
serialize = AvroSerializer(registry, schema, conf={"subject.name.strategy.type": "TOPIC"})
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **settings})
context = SerializationContext(topic, MessageField.VALUE)
for i in range(10):
    producer.produce(topic, value=serialize({"celsius": 20.0 + i}, context))
assert producer.flush(30) == 0
latest = registry.get_latest_version(f"{topic}-value")
print(f"ok: 10 records over SASL_SSL, schema id {latest.schema_id} registered over HTTPS")
