"""Benchmark: outbox -> relay -> consumer against a bare kombu hop.

Run: .venv/bin/python tests/bench/bench_bus.py [--rate 200] [--seconds 10]

Both paths run on the same broker in the same run. The outbox path is the
real one: a transaction writing a state change and its event, the relay
publishing with confirms, and a nameko ``subscribe`` consumer that records
the event id in its inbox before acknowledging. The bare path is one
persistent kombu publish and one kombu consumer. Prints events per second
and p50/p99 latency of each, and the ratio.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.bus import OutboxRelay, subscribe  # noqa: E402
from phoihop.contracts import load_all  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402
from phoihop.store import (  # noqa: E402
    ServiceStore,
    Store,
    database_name,
    get_database,
    make_client,
)
from phoihop.testing import TestEnvironment  # noqa: E402

latencies = []
receipts = {}
commits = {}


class BenchConsumer:
    name = "benchconsumer"
    store = Store(relay=False)

    @subscribe("platform.ping", max_attempts=2)
    def handle_ping(self, event):
        now = time.time()
        latencies.append(now - event["payload"]["sent_at"])
        receipts[event["payload"]["sequence"]] = now


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def paced(rate, seconds, send):
    count = int(rate * seconds)
    start = time.monotonic()
    for sequence in range(count):
        target = start + sequence / rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send(sequence)
    return count, time.monotonic() - start


def wait_count(collection, count, timeout=60):
    deadline = time.monotonic() + timeout
    while len(collection) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def run_outbox_path(env, rate, seconds):
    config = env.config()
    container = ServiceContainer(BenchConsumer, config)
    container.start()
    client = make_client(config["MONGODB_URI"])
    db = get_database(client, database_name(config["DB_PREFIX"], "benchproducer"))
    relay = OutboxRelay(db, config["AMQP_URI"], config["EVENTS_EXCHANGE"], "bench")
    relay.start()

    class _Provider:
        def __init__(self):
            self.db, self.client = db, client

        def hand_over(self, records):
            relay.hand_over(records)

    store = ServiceStore(_Provider(), {})

    def send(sequence):
        with store.transaction() as tx:
            tx.db.pings.insert_one({"sequence": sequence}, session=tx.session)
            tx.emit("platform.ping", {"sequence": sequence, "sent_at": time.time()})
        commits[sequence] = time.time()

    latencies.clear()
    count, elapsed = paced(rate, seconds, send)
    wait_count(latencies, count)
    relay.stop()
    container.stop()
    after_commit = [receipts[seq] - commits[seq] for seq in receipts if seq in commits]
    return count, elapsed, list(latencies), after_commit


def run_bare_path(env, rate, seconds):
    received = []
    exchange = Exchange("bench.bare", type="topic", durable=True)
    queue = Queue(
        "bench.bare.consumer", exchange=exchange, routing_key="ping", durable=True
    )
    ready = threading.Event()
    stop = threading.Event()

    def consume():
        with Connection(env.amqp_uri) as connection:

            def on_message(body, message):
                received.append(time.time() - body["sent_at"])
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message]):
                ready.set()
                while not stop.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    with Connection(env.amqp_uri) as connection:
        producer = connection.Producer(serializer="json")

        def send(sequence):
            producer.publish(
                {"sequence": sequence, "sent_at": time.time()},
                exchange=exchange,
                routing_key="ping",
                delivery_mode=2,
                declare=[queue],
            )

        count, elapsed = paced(rate, seconds, send)
    wait_count(received, count)
    stop.set()
    thread.join(5)
    return count, elapsed, received, received


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    load_all()
    configure_logging("bench", level="WARNING", force=True)
    env = TestEnvironment()
    try:
        bare = run_bare_path(env, args.rate, args.seconds)
        outbox = run_outbox_path(env, args.rate, args.seconds)
    finally:
        env.close()

    table = Table(
        title=f"Bus latency at {args.rate:.0f} events/s for {args.seconds:.0f} s"
    )
    for column in ("path", "sent", "received", "events/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    rows = {}
    paths = (
        ("bare kombu", bare[:3]),
        ("outbox relay", outbox[:3]),
        ("  of which after commit", (outbox[0], outbox[1], outbox[3])),
    )
    for name, (count, elapsed, values) in paths:
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        rows[name] = (p50, p99)
        table.add_row(
            name,
            str(count),
            str(len(values)),
            f"{len(values) / elapsed:.0f}",
            f"{p50:.1f}",
            f"{p99:.1f}",
        )
    Console().print(table)
    for name in ("outbox relay", "  of which after commit"):
        ratio50 = rows[name][0] / rows["bare kombu"][0]
        ratio99 = rows[name][1] / rows["bare kombu"][1]
        print(f"{name.strip()} / bare: p50 {ratio50:.1f}x, p99 {ratio99:.1f}x")
    print(f"mean bare hop {statistics.mean(bare[2]) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
