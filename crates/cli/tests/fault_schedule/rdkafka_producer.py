"""librdkafka (confluent-kafka) as one workload of the fault-schedule test.

Usage: rdkafka_producer.py BOOTSTRAP TOPIC PARTITIONS MAX_RECORDS

Sends values "rdk-<seq>" to partition seq % PARTITIONS with enable.idempotence=true and
acks=all, paced (about a thousand a second), until MAX_RECORDS or a line on stdin (or its end).
Prints one line per outcome, flushed at once:
  ACK <partition> <offset> <value>
  ERR <value> <error>
  FATAL <error>        (the idempotent producer gave up: librdkafka's fatal error)
  DONE <records not delivered when the flush ended>
"""

import sys
import threading
import time

from confluent_kafka import KafkaException, Producer

bootstrap, topic, partitions, max_records = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
stop = threading.Event()


def watch_stdin():
    sys.stdin.readline()
    stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()


def error_cb(err):
    if err.fatal():
        print(f"FATAL {err}", flush=True)
        stop.set()


producer = Producer(
    {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 120000,
        "error_cb": error_cb,
    }
)


def delivered(err, msg):
    value = msg.value().decode()
    if err is not None:
        print(f"ERR {value} {err}", flush=True)
    else:
        print(f"ACK {msg.partition()} {msg.offset()} {value}", flush=True)


seq = 0
while seq < max_records and not stop.is_set():
    try:
        producer.produce(topic, value=f"rdk-{seq}".encode(), partition=seq % partitions, on_delivery=delivered)
    except BufferError:
        producer.poll(0.05)
        continue
    except KafkaException as e:
        print(f"FATAL {e}", flush=True)
        break
    seq += 1
    producer.poll(0)
    if seq % 10 == 0:
        time.sleep(0.01)

left = producer.flush(150)
print(f"DONE {left}", flush=True)
