"""What the consumer group scripts share: a member consuming and committing in its own thread
(classic or consumer protocol), a watcher of the group's committed offsets that fails if one
ever goes back, a producer writing a numbered stream, and waits that report the members'
assignments when they time out.

Each script is run as SCRIPT BOOTSTRAP TOPIC GROUP [...], the topic existing with PARTITIONS
partitions.
"""
import sys
import threading
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer
from confluent_kafka.admin import AdminClient

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
PARTITIONS = 6
COUNT = 3000
TIMEOUT = 60

# Errors a commit of a partition that just moved may get; its record is read again by the new
# owner (at least once).
MOVED = ("STALE_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS")


class Member(threading.Thread):
    """Polls, keeps every value, and commits each record after processing it."""

    def __init__(self, name, protocol):
        super().__init__(daemon=True)
        self.name_ = name
        config = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
        if protocol == "consumer":
            # The coordinator assigns; session and heartbeat interval are its own.
            config["group.protocol"] = "consumer"
        else:
            config.update({"partition.assignment.strategy": "cooperative-sticky", "heartbeat.interval.ms": 500})
        self.consumer = Consumer(config)
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
                with self.lock:
                    self.assigned = {tp.partition for tp in self.consumer.assignment()}
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                with self.lock:
                    self.values.append(msg.value())
                try:
                    self.consumer.commit(message=msg, asynchronous=False)
                except KafkaException as e:
                    if e.args[0].retriable() or any(c in str(e) for c in MOVED):
                        continue
                    raise
            self.consumer.close()
        except Exception as e:  # reported by the main thread
            self.errors.append(e)


class Group:
    """The members, and the watcher of the group's committed offsets."""

    def __init__(self):
        self.members = []
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.highest = {}
        self.samples = 0
        self.failure = None
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self):
        while not self._stop.is_set():
            try:
                listed = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
            except Exception:
                time.sleep(0.1)
                continue
            self.samples += 1
            for tp in listed.topic_partitions:
                if 0 <= tp.offset < self.highest.get(tp.partition, -1):
                    self.failure = f"partition {tp.partition}: committed offset went from {self.highest[tp.partition]} back to {tp.offset}"
                    return
                self.highest[tp.partition] = max(tp.offset, self.highest.get(tp.partition, -1))
            time.sleep(0.05)

    def add(self, name, protocol):
        m = Member(name, protocol)
        self.members.append(m)
        m.start()
        return m

    def live(self):
        return [m for m in self.members if not m.stop.is_set()]

    def check(self):
        for m in self.members:
            if m.errors:
                raise AssertionError(f"{m.name_}: {m.errors[0]!r}")
        if self.failure:
            raise AssertionError(self.failure)

    def wait(self, what, cond):
        deadline = time.time() + TIMEOUT
        while not cond():
            self.check()
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}: " + str([(m.name_, sorted(m.assigned)) for m in self.live()]))
            time.sleep(0.05)

    def steady(self, n):
        """n live members own every partition once between them, each at least one."""
        sets = [m.assigned for m in self.live()]
        union = set().union(*sets) if sets else set()
        return len(sets) == n and all(sets) and union == set(range(PARTITIONS)) and sum(len(s) for s in sets) == PARTITIONS

    def processed(self):
        return sum(len(m.values) for m in self.members)

    def values(self):
        return set(v for m in self.members for v in m.values)

    def finish(self):
        """Stops every member and the watcher; raises what went wrong meanwhile."""
        for m in self.live():
            m.stop.set()
        for m in self.members:
            m.join(15)
        self._stop.set()
        self._watcher.join(15)
        self.check()


def produce_stream(produced):
    """Writes COUNT numbered values round-robin over the partitions, 100 at a time."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    for i in range(COUNT):
        v = f"v{i}".encode()
        p.produce(topic, value=v, partition=i % PARTITIONS)
        produced.append(v)
        if i % 100 == 99:
            p.flush(10)
            time.sleep(0.05)
    assert p.flush(20) == 0, "records not delivered"


def start_producing():
    produced = []
    t = threading.Thread(target=produce_stream, args=(produced,), daemon=True)
    t.start()
    return t, produced


def version():
    v = sys.modules["confluent_kafka"].version()
    return v[0] if isinstance(v, tuple) else v
