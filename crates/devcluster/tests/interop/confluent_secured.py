"""confluent-kafka (librdkafka) against a secured dev cluster: with the given security
settings, create a replicated topic, produce records with acks=all and read them back; or,
with --expect-auth-failure, check that the cluster refuses the settings.

usage: confluent_secured.py BOOTSTRAP TOPIC SETTINGS_JSON [--expect-auth-failure]
Prints one line "ok: ..." and exits 0, or raises.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
expect_failure = "--expect-auth-failure" in sys.argv[4:]
conf = {"bootstrap.servers": bootstrap, **settings}
label = settings.get("sasl.mechanisms", settings.get("security.protocol"))

if expect_failure:
    errors = []
    admin = AdminClient({**conf, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=10)
        raise AssertionError("metadata was served with refused settings")
    except KafkaException:
        pass
    deadline = time.time() + 10
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors) and time.time() < deadline:
        admin.poll(0.2)
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
    print(f"ok: {label} refused: {[e.str() for e in errors][:1]}")
    sys.exit(0)

admin = AdminClient(conf)
for name, future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)]).items():
    future.result(timeout=15)

N = 20
delivered = []
producer = Producer({**conf, "acks": "all", "linger.ms": 5})
for i in range(N):
    producer.produce(topic, value=f"v{i}".encode(), on_delivery=lambda err, msg: delivered.append(err or msg.offset()))
assert producer.flush(20) == 0, "records not delivered"
assert delivered == list(range(N)), delivered

consumer = Consumer({**conf, "group.id": f"secured-{topic}", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, 0, 0)])
got = []
deadline = time.time() + 30
while len(got) < N and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        raise KafkaException(msg.error())
    got.append(msg.value().decode())
consumer.close()
assert got == [f"v{i}" for i in range(N)], got
print(f"ok: confluent-kafka {sys.modules['confluent_kafka'].version()} over {conf['security.protocol']} ({label}) produced and consumed {N} records")
