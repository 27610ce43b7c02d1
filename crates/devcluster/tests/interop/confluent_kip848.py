"""confluent-kafka (librdkafka) consumers with group.protocol=consumer (KIP-848): three members
split six partitions, a fourth joins and one leaves while records keep arriving. Every record
is processed at least once, the committed offsets never go backwards, and the admin API sees
a consumer-type group with its members' assignments.

usage: confluent_kip848.py BOOTSTRAP TOPIC GROUP [failover]   (TOPIC exists, with 6 partitions)
With `failover`, prints "kill" once one member has left, waits for a line on stdin (the test
kills the group's coordinator meanwhile), and checks the group goes on: the new coordinator
knows the members, records keep being processed, committed offsets still never go back.
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import threading
import time

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
failover = len(sys.argv) > 4 and sys.argv[4] == "failover"
PARTITIONS = 6
COUNT = 3000
TIMEOUT = 60


class Member(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self.assigned = set()
        self.values = []
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.consumer.subscribe([topic])

    def run(self):
        try:
            while not self.stop.is_set():
                msg = self.consumer.poll(0.05)
                assigned = {tp.partition for tp in self.consumer.assignment()}
                with self.lock:
                    self.assigned = assigned
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                with self.lock:
                    self.values.append(msg.value())
                # At-least-once: the record is processed, then its offset committed.
                try:
                    self.consumer.commit(message=msg, asynchronous=False)
                except KafkaException as e:
                    # A commit of a partition just revoked may be refused (stale epoch);
                    # its record is then read again by the new owner.
                    if e.args[0].retriable() or "STALE_MEMBER_EPOCH" in str(e) or "UNKNOWN_MEMBER_ID" in str(e):
                        continue
                    raise
            self.consumer.close()
        except Exception as e:  # reported by the main thread
            self.errors.append(e)


def check_errors():
    for m in members:
        if m.errors:
            raise AssertionError(f"{m.name_}: {m.errors[0]!r}")


def wait(what, cond):
    deadline = time.time() + TIMEOUT
    while not cond():
        check_errors()
        if monitor_error:
            raise AssertionError(monitor_error[0])
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: " + str([sorted(m.assigned) for m in live()]))
        time.sleep(0.05)


def live():
    return [m for m in members if not m.stop.is_set()]


def steady():
    sets = [m.assigned for m in live()]
    union = set().union(*sets)
    return all(sets) and union == set(range(PARTITIONS)) and sum(len(s) for s in sets) == PARTITIONS


# The committed offsets, watched from the side: they may stay, never go back.
admin = AdminClient({"bootstrap.servers": bootstrap})
monitor_error = []
monitor_stop = threading.Event()
highest = {}
samples = [0]


def monitor():
    while not monitor_stop.is_set():
        try:
            listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
        except Exception:
            time.sleep(0.1)
            continue
        samples[0] += 1
        for tp in listed.topic_partitions:
            if tp.offset < 0:
                continue
            if tp.offset < highest.get(tp.partition, -1):
                monitor_error.append(f"partition {tp.partition}: committed offset went from {highest[tp.partition]} back to {tp.offset}")
                return
            highest[tp.partition] = tp.offset
        time.sleep(0.05)


members = [Member(f"member-{i}") for i in range(3)]
for m in members:
    m.start()
watcher = threading.Thread(target=monitor, daemon=True)
watcher.start()
started = time.time()
wait("three members to share the partitions", steady)
first = [sorted(m.assigned) for m in members]
join_s = time.time() - started

produced = []


def produce():
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    for i in range(COUNT):
        v = f"v{i}".encode()
        p.produce(topic, value=v, partition=i % PARTITIONS)
        produced.append(v)
        if i % 100 == 99:
            p.flush(10)
            time.sleep(0.05)
    assert p.flush(20) == 0, "records not delivered"


producer = threading.Thread(target=produce, daemon=True)
producer.start()
wait("some records", lambda: sum(len(m.values) for m in members) >= COUNT // 5)

# A fourth member joins mid-stream: it gets partitions, the others give some up.
members.append(Member("member-3"))
members[-1].start()
t = time.time()
wait("four members to share the partitions", lambda: len(live()) == 4 and steady())
four = [sorted(m.assigned) for m in live()]
add_s = time.time() - t

# One leaves (close() sends the leave heartbeat); its partitions go to the others.
leaver = members[0]
leaver.stop.set()
leaver.join(15)
t = time.time()
wait("three members again", steady)
three = [sorted(m.assigned) for m in live()]
leave_s = time.time() - t

if failover:
    # The coordinator dies mid-stream; librdkafka finds the new one, which loaded the group.
    before = sum(len(m.values) for m in members)
    print("kill", flush=True)
    sys.stdin.readline()
    t = time.time()
    wait("records to flow again", lambda: sum(len(m.values) for m in members) > before + 100)
    wait("three members after the failover", steady)
    failover_s = time.time() - t

producer.join(60)
assert not producer.is_alive(), "producer stuck"
def missing():
    got = set(v for m in members for v in m.values)
    return sorted({int(v[1:]) % PARTITIONS for v in produced if v not in got})


try:
    wait(f"all {COUNT} records", lambda: not missing())
except AssertionError as e:
    raise AssertionError(f"{e}; partitions with records never read: {missing()}") from None
time.sleep(0.5)

ends = {}
# A consumer of its own: the members' are busy in their threads.
probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group + "-probe"})
for p in range(PARTITIONS):
    _, high = probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    ends[p] = high
probe.close()
assert sum(ends.values()) == COUNT, ends
wait("commits to reach the end", lambda: highest == ends)

described = admin.describe_consumer_groups([group])[group].result(timeout=15)
assert described.type == ConsumerGroupType.CONSUMER, described.type
assert len(described.members) == 3, described.members
owned = sorted(tp.partition for mm in described.members for tp in mm.assignment.topic_partitions)
assert owned == list(range(PARTITIONS)), owned
if not failover:
    # (librdkafka asks every broker it knew, the killed one too, so only without a failover.)
    listed = admin.list_consumer_groups(types={ConsumerGroupType.CONSUMER}).result(timeout=15)
    assert group in [g.group_id for g in listed.valid], listed.valid
    classic = admin.list_consumer_groups(types={ConsumerGroupType.CLASSIC}).result(timeout=15)
    assert group not in [g.group_id for g in classic.valid], classic.valid

for m in live():
    m.stop.set()
for m in members:
    m.join(15)
check_errors()
monitor_stop.set()
watcher.join(15)
if monitor_error:
    raise AssertionError(monitor_error[0])
total = sum(len(m.values) for m in members)
version = sys.modules["confluent_kafka"].version()
version = version[0] if isinstance(version, tuple) else version
print(
    f"ok: confluent-kafka {version} group.protocol=consumer: 3 members took {first} in {join_s:.2f}s; "
    f"a 4th joined: {four} in {add_s:.2f}s; one left: {three} in {leave_s:.2f}s; "
    f"{COUNT} records processed ({total - COUNT} again), committed {ends}, "
    f"offsets never went back over {samples[0]} samples"
    + (f"; the coordinator died and records flowed again within {failover_s:.2f}s" if failover else "")
)
