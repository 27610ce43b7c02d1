"""What the schema registry interop scripts share: their arguments, the registry client, and
reading a topic's partition 0 back through a deserializer.

Each script is run as SCRIPT BOOTSTRAP REGISTRY_URL TOPIC COUNT produce|consume.
"""
import sys

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, url, topic, count, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
subject = f"{topic}-value"
registry = SchemaRegistryClient({"url": url})
context = SerializationContext(topic, MessageField.VALUE)


def read_back(n, deserialize):
    """The first n values of partition 0, each passed through deserialize(bytes, context, i)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "registry-check", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = []
    while len(seen) < n:
        msg = consumer.poll(15)
        assert msg is not None, f"only {len(seen)} records"
        assert msg.error() is None, msg.error()
        seen.append(deserialize(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE), len(seen)))
    consumer.close()
    return seen
