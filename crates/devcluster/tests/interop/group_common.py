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

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
PARTITIONS = 6
COUNT = 3000
TIMEOUT = 60

# Errors a commit may get while the group moves on; the commit is tried again while the member
# still owns the partition, else its records are read again by the new owner (at least once).
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
        self.dropped = []  # (offsets, error) of commits that failed and are tried again
        self.pending = {}  # partition -> offset processed but not yet committed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.consumer.subscribe([topic])

    def run(self):
        try:
            while not self.stop.is_set():
                msg = self.consumer.poll(0.05)
                with self.lock:
                    self.assigned = {tp.partition for tp in self.consumer.assignment()}
                self._retry_commits()
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                with self.lock:
                    self.values.append(msg.value())
                self.pending[msg.partition()] = msg.offset() + 1
                self._retry_commits()
            self.consumer.close()
        except Exception as e:  # reported by the main thread
            self.errors.append(e)

    def _retry_commits(self):
        """Commits what was processed on the partitions this member still owns. A commit that
        failed because the group moved on (a new member epoch, a new coordinator) is tried
        again, as an application must: otherwise the last record of a partition could stay
        uncommitted for good. Partitions given up are left to their new owner, which reads
        them again from the committed offset (at least once)."""
        for p in [p for p in self.pending if p not in self.assigned]:
            del self.pending[p]
        if not self.pending:
            return
        offsets = [TopicPartition(topic, p, o) for p, o in self.pending.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
            self.pending.clear()
        except KafkaException as e:
            if not (e.args[0].retriable() or any(c in str(e) for c in MOVED)):
                raise
            self.dropped.append((sorted(self.pending.items()), e.args[0].name()))


class Group:
    """The members, and the watcher of the group's committed offsets."""

    def __init__(self):
        self.members = []
        self.admin = self.new_admin()  # the main thread's; the watcher has its own
        self.highest = {}
        self.samples = 0
        self.watch_error = None  # the last failure of the watcher's request, for reports
        self.failure = None
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self):
        admin = self.new_admin()
        while not self._stop.is_set():
            try:
                listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
            except Exception as e:
                self.watch_error = e
                if isinstance(e, TimeoutError):
                    # librdkafka (2.16) keeps a coordinator in its cache after the broker left
                    # the cluster's metadata, and a request waiting on it is never sent again;
                    # a new client looks the coordinator up afresh.
                    admin = self.new_admin()
                time.sleep(0.1)
                continue
            self.samples += 1
            for tp in listed.topic_partitions:
                if 0 <= tp.offset < self.highest.get(tp.partition, -1):
                    self.failure = f"partition {tp.partition}: committed offset went from {self.highest[tp.partition]} back to {tp.offset}"
                    return
                self.highest[tp.partition] = max(tp.offset, self.highest.get(tp.partition, -1))
            time.sleep(0.05)

    @staticmethod
    def new_admin():
        """An admin client; keep it referenced until its futures are done (a client that is
        collected cancels its requests)."""
        return AdminClient({"bootstrap.servers": bootstrap})

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
                raise AssertionError(
                    f"timed out waiting for {what}: "
                    + str([(m.name_, sorted(m.assigned)) for m in self.live()])
                    + f"; committed {self.highest} ({self.samples} samples, last failure {self.watch_error!r})"
                    + "; commits tried again "
                    + str({m.name_: (len(m.dropped), m.dropped[-3:]) for m in self.members if m.dropped})
                )
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


def produce_stream(produced, halfway):
    """Writes COUNT numbered values round-robin over the partitions, 100 at a time; with a
    `halfway` event, waits for it once half are written."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    for i in range(COUNT):
        if halfway is not None and i == COUNT // 2:
            assert halfway.wait(TIMEOUT), "never released"
        v = f"v{i}".encode()
        p.produce(topic, value=v, partition=i % PARTITIONS)
        produced.append(v)
        if i % 100 == 99:
            p.flush(10)
            time.sleep(0.05)
    assert p.flush(20) == 0, "records not delivered"


def start_producing(halfway=None):
    """Starts the producer thread; returns it and the list of values it has written."""
    produced = []
    t = threading.Thread(target=produce_stream, args=(produced, halfway), daemon=True)
    t.start()
    return t, produced


def version():
    v = sys.modules["confluent_kafka"].version()
    return v[0] if isinstance(v, tuple) else v
