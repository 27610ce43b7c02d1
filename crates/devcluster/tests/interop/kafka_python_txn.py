"""kafka-python transactions against the dev cluster: commit, abort and commit again, then a
read_committed consumer sees exactly the committed records and a read_uncommitted one sees
the aborted ones too.

usage: kafka_python_txn.py BOOTSTRAP TOPIC
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic = sys.argv[1].split(","), sys.argv[2]
PARTITIONS = 3
PER_TXN = 15

admin = KafkaAdminClient(bootstrap_servers=bootstrap)
admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3)])
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="kafka-python-txn")
producer.init_transactions()
for label, commit in [("a", True), ("b", False), ("c", True)]:
    producer.begin_transaction()
    for i in range(PER_TXN):
        producer.send(topic, value=f"{label}-{i}".encode(), partition=i % PARTITIONS)
    producer.flush()
    if commit:
        producer.commit_transaction()
    else:
        producer.abort_transaction()
producer.close()


def read(isolation, want):
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    got, deadline = [], time.time() + 30
    while len(got) < want and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(r.value.decode() for r in records)
    extra = [r.value for records in consumer.poll(timeout_ms=1000).values() for r in records]
    consumer.close()
    assert not extra, f"{isolation}: unexpected records {extra}"
    return sorted(got)


committed = read("read_committed", 2 * PER_TXN)
assert committed == sorted(f"{l}-{i}" for l in "ac" for i in range(PER_TXN)), committed
everything = read("read_uncommitted", 3 * PER_TXN)
assert len(everything) == 3 * PER_TXN, everything
print(f"ok: read_committed {len(committed)}, read_uncommitted {len(everything)}")
