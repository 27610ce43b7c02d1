"""Three confluent-kafka (librdkafka) consumers in one group share a topic: in the steady state
every record is consumed exactly once, the consumers commit, and the committed offsets are
what the admin API and a consumer's committed() report.

usage: confluent_group.py BOOTSTRAP TOPIC GROUP   (TOPIC exists, with 6 partitions)
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import threading
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
PARTITIONS = 6
COUNT = 600
MEMBERS = 3
TIMEOUT = 60


class Member(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "heartbeat.interval.ms": 200,
            "partition.assignment.strategy": "range",
        })
        self.consumer.subscribe([topic])
        self.assigned = set()
        self.records = []
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        try:
            while not self.stop.is_set():
                msg = self.consumer.poll(0.1)
                assigned = {tp.partition for tp in self.consumer.assignment()}
                with self.lock:
                    self.assigned = assigned
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                with self.lock:
                    self.records.append((msg.partition(), msg.offset(), msg.value()))
                # Synchronous commit of the next offset to read, as at-least-once code does.
                self.consumer.commit(message=msg, asynchronous=False)
        except Exception as e:  # reported by the main thread
            self.errors.append(e)


def wait(what, cond):
    deadline = time.time() + TIMEOUT
    while not cond():
        for m in members:
            if m.errors:
                raise m.errors[0]
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


members = [Member(f"member-{i}") for i in range(MEMBERS)]
for m in members:
    m.start()


def steady():
    sets = [m.assigned for m in members]
    union = set().union(*sets)
    return all(sets) and union == set(range(PARTITIONS)) and sum(len(s) for s in sets) == PARTITIONS


wait("every member to own partitions", steady)
assignment = [sorted(m.assigned) for m in members]

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
for i in range(COUNT):
    producer.produce(topic, value=f"v{i}".encode(), partition=i % PARTITIONS)
assert producer.flush(20) == 0, "records not delivered"

wait(f"{COUNT} records", lambda: sum(len(m.records) for m in members) >= COUNT)
time.sleep(0.5)  # let a duplicate, if any, arrive before checking
for m in members:
    m.stop.set()
    m.join(10)
    if m.errors:
        raise m.errors[0]

# Exactly once, in the steady state: no record twice, none missing, and each member read
# only the partitions it owned.
seen = [(p, o) for m in members for (p, o, _) in m.records]
assert len(seen) == len(set(seen)) == COUNT, f"{len(seen)} records, {len(set(seen))} distinct, {COUNT} sent"
assert sorted(v for m in members for (_, _, v) in m.records) == sorted(f"v{i}".encode() for i in range(COUNT))
for m, owned in zip(members, assignment):
    assert {p for (p, _, _) in m.records} <= set(owned), (owned, {p for (p, _, _) in m.records})
assert [sorted(m.assigned) for m in members] == assignment, "the group rebalanced while consuming"

# Committed offsets = the end of each partition, seen by a member and by the admin API.
ends = {}
for p in range(PARTITIONS):
    _, high = members[0].consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    ends[p] = high
assert sum(ends.values()) == COUNT, ends
committed = members[0].consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
assert {tp.partition: tp.offset for tp in committed} == ends, committed
for m in members:
    m.consumer.close()

admin = AdminClient({"bootstrap.servers": bootstrap})
listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=15)
assert {tp.partition: tp.offset for tp in listed.topic_partitions if tp.topic == topic} == ends, listed
described = admin.describe_consumer_groups([group])[group].result(timeout=15)
assert str(described.state).endswith("EMPTY"), described.state
groups = admin.list_consumer_groups().result(timeout=15)
assert group in [g.group_id for g in groups.valid], groups.valid
version = sys.modules["confluent_kafka"].version()
version = version[0] if isinstance(version, tuple) else version
print(f"ok: confluent-kafka {version}: {MEMBERS} consumers took {assignment}, consumed {COUNT} records once each and committed {ends}")
