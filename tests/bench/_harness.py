"""What the end-to-end and scale benchmarks share: the machine they ran on,
the baselines printed beside every figure, percentiles and tables.

A figure of phoihop means little on its own on a shared two-core machine,
so each script measures, in the same run and on the same broker and
database, what the platform cannot go below: one bare kombu publish ->
consume hop, and one bare insert + find on the database. The load average
is recorded next to each figure, because other work on the machine moves
every number.
"""

import importlib.metadata
import logging
import os
import platform
import threading
import time
import uuid
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue
from rich.console import Console
from rich.table import Table

from phoihop.store import get_database, make_client

# Wide enough for the tables when the output goes to a file.
console = Console(width=160)


def quiet_amqp():
    """py-amqp warns of every confirm that arrives as a channel closes; in a
    benchmark that closes many channels the warnings bury the tables."""
    logging.getLogger("amqp").setLevel(logging.ERROR)


def load_average():
    """The one-minute load average (runnable processes, of 2 cores here)."""
    return os.getloadavg()[0]


def _memory_gib():
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine(amqp_uri, mongodb_uri):
    """The facts BENCHMARKS.md needs about where the figures came from."""
    with Connection(amqp_uri, connect_timeout=5) as connection:
        connection.connect()
        broker = connection.connection.server_properties.get("version", "?")
    client = make_client(mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        server = client.server_info().get("version", "?")
    finally:
        client.close()
    try:
        secantus = importlib.metadata.version("secantusdb")
    except importlib.metadata.PackageNotFoundError:
        secantus = "?"
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "python": platform.python_version(),
        "rabbitmq": broker if isinstance(broker, str) else broker.decode(),
        "database": f"SecantusDB {secantus} (reports MongoDB {server})",
        "load_average": round(load_average(), 2),
    }


def print_machine(facts):
    console.print(
        f"machine: {facts['cpus']} cpus, {facts['memory_gib']} GiB, "
        f"Python {facts['python']}, RabbitMQ {facts['rabbitmq']}, "
        f"{facts['database']}, load {facts['load_average']}"
    )


def cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime are fields 14 and 15 of stat(5); 12 and 13 after ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named process spends between two readings: what a
    piece of work costs, whatever else the machine is doing meanwhile."""

    def __init__(self, pids):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.start = {}

    def begin(self):
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def spent(self):
        spent = {}
        for name, pid in self.pids.items():
            now = cpu_seconds(pid)
            if now is not None and self.start.get(name) is not None:
                spent[name] = now - self.start[name]
        return spent


def percentile(values, fraction):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Summary:
    """Latencies in seconds, summarised; ``ms`` formats for a table."""

    count: int
    p50: float
    p99: float
    mean: float
    worst: float

    @classmethod
    def of(cls, values):
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        return cls(
            len(values),
            percentile(values, 0.5),
            percentile(values, 0.99),
            sum(values) / len(values),
            max(values),
        )

    @staticmethod
    def ms(value):
        if value != value:  # NaN: nothing measured
            return "-"
        return f"{value * 1000:.1f}" if value < 10 else f"{value * 1000:.0f}"


def paced(rate, seconds, send, stop=None):
    """Call ``send(sequence)`` ``rate`` times a second for ``seconds``;
    returns how many were sent and how long it took. A slow ``send`` makes
    the caller fall behind, which the elapsed time shows."""
    count = int(rate * seconds)
    start = time.monotonic()
    sent = 0
    for sequence in range(count):
        if stop is not None and stop.is_set():
            break
        delay = start + sequence / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send(sequence)
        sent += 1
    return sent, time.monotonic() - start


def bare_kombu_hop(amqp_uri, rate, seconds):
    """Latencies of persistent publishes to a durable queue, consumed by a
    kombu consumer that acknowledges each message: the floor under every
    event hop of the platform."""
    name = f"bench.baseline.{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct", durable=True)
    queue = Queue(name, exchange=exchange, routing_key="hop", durable=True)
    received = []
    ready = threading.Event()
    stop = threading.Event()

    def consume():
        with Connection(amqp_uri) as connection:

            def on_message(body, message):
                received.append(time.time() - body["sent_at"])
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message], accept=["json"]):
                ready.set()
                while not stop.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(serializer="json")

        def send(sequence):
            producer.publish(
                {"sequence": sequence, "sent_at": time.time()},
                exchange=exchange,
                routing_key="hop",
                delivery_mode=2,
                declare=[queue],
            )

        count, _ = paced(rate, seconds, send)
        deadline = time.monotonic() + 30
        while len(received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(5)
        queue.bind(connection).delete()
        exchange.bind(connection).delete()
    return received


def bare_database(mongodb_uri, count=300):
    """Latencies of one insert and one find by ``_id`` on an indexed
    collection, with the majority concerns the services use: the floor
    under every database round trip of the platform."""
    client = make_client(mongodb_uri)
    name = f"bench_baseline_{uuid.uuid4().hex[:8]}"
    db = get_database(client, name)
    db.items.create_index("key")
    inserts, finds = [], []
    try:
        for number in range(count):
            doc = {"_id": f"i{number}", "key": uuid.uuid4().hex, "n": number}
            started = time.perf_counter()
            db.items.insert_one(doc)
            inserted = time.perf_counter()
            db.items.find_one({"_id": doc["_id"]})
            inserts.append(inserted - started)
            finds.append(time.perf_counter() - inserted)
    finally:
        client.drop_database(name)
        client.close()
    return inserts, finds


def baseline_rows(amqp_uri, mongodb_uri, rate, seconds):
    """Table rows of both baselines, measured now."""
    load = load_average()
    hop = bare_kombu_hop(amqp_uri, rate, seconds)
    inserts, finds = bare_database(mongodb_uri)
    both = [a + b for a, b in zip(inserts, finds, strict=True)]
    rows = []
    for label, values in (
        (f"bare kombu publish -> consume ({rate:g}/s)", hop),
        ("bare insert_one", inserts),
        ("bare find_one by _id", finds),
        ("bare insert + find", both),
    ):
        summary = Summary.of(values)
        rows.append(
            [
                label,
                str(summary.count),
                Summary.ms(summary.p50),
                Summary.ms(summary.p99),
                f"{load:.1f}",
            ]
        )
    return rows


def print_table(title, columns, rows):
    table = Table(title=title)
    for number, column in enumerate(columns):
        table.add_column(column, justify="left" if number == 0 else "right")
    for row in rows:
        table.add_row(*[str(cell) for cell in row])
    console.print(table)
