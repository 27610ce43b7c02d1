"""confluent-kafka (librdkafka) transactions against the dev cluster: a transactional producer
commits, aborts and commits again over three partitions; a read_committed consumer sees
exactly the committed records, in order, and a read_uncommitted one sees the aborted ones too,
never a control record. Then zombie fencing: a second producer with the same transactional.id
aborts the first one's open transaction, and the first is fenced.

usage: confluent_txn.py BOOTSTRAP TOPIC [SETTINGS_JSON]
SETTINGS_JSON (security settings, say) goes into every client's config.
Prints one line "ok: ..." and exits 0, or raises.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
settings = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
PARTITIONS = 3
PER_TXN = 30

admin = AdminClient({"bootstrap.servers": bootstrap, **settings})
for _, future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3)]).items():
    future.result(timeout=15)


def producer(txn_id):
    p = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "linger.ms": 5,
        "transaction.timeout.ms": 60000,
        **settings,
    })
    p.init_transactions(30)
    return p


def run_txn(p, label, commit):
    p.begin_transaction()
    for i in range(PER_TXN):
        p.produce(topic, key=f"{label}{i}".encode(), value=f"{label}-{i}".encode(), partition=i % PARTITIONS)
    p.flush(30)
    if commit:
        p.commit_transaction(30)
    else:
        p.abort_transaction(30)


p = producer("txn-app")
run_txn(p, "A", True)
run_txn(p, "B", False)
run_txn(p, "C", True)
# A non-transactional producer's records interleave with transactions: always visible.
plain = Producer({"bootstrap.servers": bootstrap, **settings})
for i in range(PARTITIONS):
    plain.produce(topic, value=f"plain-{i}".encode(), partition=i)
plain.flush(30)


def consume(isolation, transactions):
    """Reads every partition from the start; `transactions` visible ones are expected."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"reader-{isolation}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
        **settings,
    })
    c.assign([TopicPartition(topic, i, 0) for i in range(PARTITIONS)])
    got = {i: [] for i in range(PARTITIONS)}
    want = transactions * PER_TXN + PARTITIONS
    deadline = time.time() + 30
    count = 0
    while count < want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(m.error())
        got[m.partition()].append(m.value().decode())
        count += 1
    # Nothing more arrives (no control record, nothing aborted for read_committed).
    extra = c.poll(1.0)
    assert extra is None or extra.error(), f"{isolation}: unexpected extra record {extra.value()}"
    watermarks = [c.get_watermark_offsets(TopicPartition(topic, i), timeout=10) for i in range(PARTITIONS)]
    c.close()
    return got, count, watermarks


committed, n_committed, marks = consume("read_committed", 2)
expected = {i: [] for i in range(PARTITIONS)}
for label in ["A", "C"]:
    for i in range(PER_TXN):
        expected[i % PARTITIONS].append(f"{label}-{i}")
for i in range(PARTITIONS):
    expected[i].append(f"plain-{i}")
assert committed == expected, f"read_committed saw {committed}, expected {expected}"

uncommitted, n_uncommitted, _ = consume("read_uncommitted", 3)
for i in range(PARTITIONS):
    assert [v for v in uncommitted[i] if not v.startswith("B-")] == expected[i], uncommitted[i]
    assert len([v for v in uncommitted[i] if v.startswith("B-")]) == PER_TXN // PARTITIONS, uncommitted[i]
# Each partition holds 3 transactions' records, 3 markers and 1 plain record.
for low, high in marks:
    assert (low, high) == (0, PER_TXN + 4), marks

# Zombie fencing: a new incarnation of the same transactional.id aborts the old one's open
# transaction; the old one can no longer commit.
zombie = p
zombie.begin_transaction()
zombie.produce(topic, value=b"zombie", partition=0)
zombie.flush(30)
successor = producer("txn-app")
try:
    zombie.commit_transaction(30)
    raise AssertionError("the fenced producer committed")
except KafkaException as e:
    err = e.args[0]
    assert err.fatal() or err.txn_requires_abort() or err.code() in (
        KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH
    ), err
run_txn(successor, "D", True)
after, _, _ = consume("read_committed", 3)
assert "zombie" not in after[0], after[0]
assert after[0][-PER_TXN // PARTITIONS:] == [f"D-{i}" for i in range(0, PER_TXN, PARTITIONS)], after[0]

print(f"ok: read_committed {n_committed} records, read_uncommitted {n_uncommitted}, zombie fenced")
