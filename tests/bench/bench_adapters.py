"""Benchmark and fault run of the adapter host, beside a bare kombu hop.

Run: .venv/bin/python tests/bench/bench_adapters.py [--events 2000] [--rate 200]
     .venv/bin/python tests/bench/bench_adapters.py --down-seconds 180

Everything runs on the same broker and database in the same run:

1. baseline: one persistent kombu publish and one kombu consumer;
2. the host with one adapter: outbox -> relay -> ``adapter.<name>`` ->
   ledger -> lane -> adapter (recording in memory, then a JSON-lines drop);
3. the same while a second adapter's webhook receiver is down: the first
   adapter's figures should not move (no adapter slows another);
4. with ``--down-seconds``, the fault run: a webhook receiver is down for
   that long while events flow to it and to another adapter, then comes
   back; prints sent, delivered, duplicates, out of order, lost, and how
   long the backlog took to drain. It stops by itself.

Latency is from the event's ``sent_at`` to the adapter's handler.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from importlib.metadata import EntryPoint  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.adapters import (  # noqa: E402
    Adapter,
    discovery,  # noqa: E402
    handles,
)
from phoihop.contracts import load_all  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402
from phoihop.testing import TestEnvironment, free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "service" / "adapters"))

from adapter_support import WebhookReceiver  # noqa: E402

from services.adapters.host import AdapterHost  # noqa: E402
from services.adapters.service import AdaptersService  # noqa: E402

RECORDS = {}
LOCK = threading.Lock()


class BenchAdapter(Adapter):
    """Records each ping it takes, then delivers it through its transports."""

    agency = "dic"

    @handles("platform.ping")
    def on_ping(self, event):
        now = time.time()
        with LOCK:
            RECORDS.setdefault(self.name, []).append(
                (
                    event.case_id,
                    event.payload["sequence"],
                    now - event.payload["sent_at"],
                )
            )
        if self.transports:
            self.deliver(event)


class PoliceBenchAdapter(BenchAdapter):
    agency = "police"


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def row(name, latencies, seconds):
    ms = [value * 1000 for value in latencies]
    rate = len(latencies) / seconds if seconds else 0
    return [
        name,
        str(len(latencies)),
        f"{rate:.0f}",
        f"{percentile(ms, 0.5):.1f}",
        f"{percentile(ms, 0.99):.1f}",
    ]


def bare_hop(uri, count):
    latencies = []
    exchange = Exchange("bench.adapters.bare", type="direct", durable=True)
    queue = Queue("bench.adapters.bare", exchange, routing_key="k", durable=True)
    done = threading.Event()

    def on_message(body, message):
        latencies.append(time.time() - body["sent_at"])
        message.ack()
        if len(latencies) >= count:
            done.set()

    with (
        Connection(uri, transport_options={"confirm_publish": True}) as publisher,
        Connection(uri) as consumer_connection,
    ):
        queue(consumer_connection.default_channel).declare()
        consumer = consumer_connection.Consumer([queue], callbacks=[on_message])
        consumer.consume()
        producer = publisher.Producer(serializer="json")
        started = time.monotonic()

        def publish():
            for sequence in range(count):
                producer.publish(
                    {"sequence": sequence, "sent_at": time.time()},
                    exchange=exchange,
                    routing_key="k",
                    delivery_mode=2,
                )

        thread = threading.Thread(target=publish)
        thread.start()
        while not done.is_set() and time.monotonic() - started < 120:
            try:
                consumer_connection.drain_events(timeout=0.5)
            except TimeoutError:
                pass
        thread.join()
        elapsed = time.monotonic() - started
        queue(consumer_connection.default_channel).delete()

    return latencies, elapsed


def fake_plugins():
    extra = [
        EntryPoint("bench", f"{__name__}:BenchAdapter", "phoihop.adapters"),
        EntryPoint(
            "bench-police", f"{__name__}:PoliceBenchAdapter", "phoihop.adapters"
        ),
    ]
    discovery.installed_entry_points = lambda: extra


def start_host(config):
    container = ServiceContainer(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    if host.broken:
        raise SystemExit(f"broken adapters: {host.broken}")
    for runner in host.runners.values():
        runner.wait_active(30)
    return container, host


class Sender:
    """Publishes events as the outbox relay does (persistent, confirmed, one
    copy per agency), without the producer's database in the way: the
    figures are the host's."""

    def __init__(self, config):
        from phoihop.bus import confirmed_connection, events_exchange

        self.connection = confirmed_connection(config["AMQP_URI"])
        self.producer = self.connection.Producer(serializer="json")
        self.exchange = events_exchange(config["EVENTS_EXCHANGE"])
        self.exchange(self.producer.channel).declare()

    def emit(self, name, payload, agencies=(), case_id=None):
        from phoihop.events import agency_routing_key, build_event

        envelope = build_event(name, payload, case_id=case_id)
        for key in [name] + [agency_routing_key(code, name) for code in agencies]:
            self.producer.publish(
                envelope,
                exchange=self.exchange,
                routing_key=key,
                delivery_mode=2,
                message_id=envelope["id"],
            )
        return envelope

    def flush(self):
        pass

    def close(self):
        self.connection.release()


def send(publisher, count, rate, cases, agencies):
    interval = 1.0 / rate if rate else 0
    started = time.monotonic()
    sent = []
    for sequence in range(count):
        case_id = f"bench-{sequence % cases}"
        envelope = publisher.emit(
            "platform.ping",
            {"sequence": sequence, "sent_at": time.time()},
            agencies=agencies,
            case_id=case_id,
        )
        sent.append((case_id, sequence, envelope["id"]))
        if interval:
            delay = started + (sequence + 1) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return sent


def wait_records(name, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with LOCK:
            if len(RECORDS.get(name, ())) >= count:
                return True
        time.sleep(0.05)
    return False


def host_run(env, count, rate, with_failing, workdir):
    RECORDS.clear()
    instances = {
        "bench": {
            "transports": [{"kind": "jsonl", "directory": str(workdir), "fsync": True}]
        },
    }
    agencies = ["dic"]
    if with_failing:
        instances["bench-police"] = {
            "transports": [
                {
                    "kind": "webhook",
                    "url": f"http://127.0.0.1:{free_port()}/down",
                    "secret_env": "BENCH_SECRET",
                    "connect_retries": 0,
                    "timeout": 1,
                }
            ]
        }
        agencies.append("police")
    config = {
        **env.config(),
        "adapters": {
            "defaults": {
                "prefetch": 50,
                "concurrency": 8,
                "max_attempts": 1000,
                "retry_delays": [0.5, 1, 2],
            },
            "instances": instances,
        },
    }
    container, host = start_host(config)
    publisher = Sender(config)
    try:
        started = time.monotonic()
        send(publisher, count, rate, cases=50, agencies=agencies)
        wait_records("bench", count, timeout=max(120, count / 10))
        elapsed = time.monotonic() - started
        with LOCK:
            latencies = [latency for _, _, latency in RECORDS.get("bench", ())]
    finally:
        publisher.close()
        container.stop()
    return latencies, elapsed


def fault_run(env, count, rate, down_seconds, workdir, console):
    RECORDS.clear()
    receiver = WebhookReceiver(free_port(), workdir / "received.jsonl")
    config = {
        **env.config(),
        "adapters": {
            "defaults": {
                "prefetch": 50,
                "concurrency": 8,
                "max_attempts": 1000,
                "retry_delays": [1, 2, 5, 10],
            },
            "instances": {
                "bench": {},
                "bench-police": {
                    "transports": [
                        {
                            "kind": "webhook",
                            "url": receiver.url,
                            "secret_env": "BENCH_SECRET",
                            "connect_retries": 0,
                            "timeout": 2,
                        }
                    ]
                },
            },
        },
    }
    container, host = start_host(config)
    publisher = Sender(config)
    try:
        console.print(f"receiver down; sending {count} events at {rate}/s")
        went_down = time.monotonic()
        sent = send(publisher, count, rate, cases=40, agencies=["dic", "police"])
        flowing = wait_records("bench", count, timeout=120)
        console.print(f"other adapter delivered all while down: {flowing}")
        remaining = down_seconds - (time.monotonic() - went_down)
        if remaining > 0:
            console.print(f"keeping the receiver down {remaining:.0f} s more")
            time.sleep(remaining)
        receiver.start()
        back = time.monotonic()
        deadline = back + max(300, count / 5)
        keys = set()
        while time.monotonic() < deadline:
            requests = receiver.requests()
            keys = {r["headers"]["Idempotency-Key"] for r in requests}
            if len(keys) >= count:
                break
            time.sleep(0.5)
        drained = time.monotonic() - back
        time.sleep(2)
        requests = receiver.requests()
    finally:
        receiver.stop()
        publisher.close()
        container.stop()

    seen = {}
    duplicates = 0
    out_of_order = 0
    last = {}
    for request in requests:
        event = json.loads(request["body"])["event"]
        if event["id"] in seen:
            duplicates += 1
            continue
        seen[event["id"]] = True
        sequence = event["payload"]["sequence"]
        if sequence < last.get(event["case_id"], -1):
            out_of_order += 1
        last[event["case_id"]] = sequence
    lost = len({event_id for _, _, event_id in sent} - set(seen))
    table = Table(title=f"Fault run: webhook receiver down {down_seconds} s")
    for column in (
        "sent",
        "delivered",
        "duplicates",
        "out of order",
        "lost",
        "drained after return (s)",
        "other adapter unaffected",
    ):
        table.add_column(column)
    table.add_row(
        str(len(sent)),
        str(len(seen)),
        str(duplicates),
        str(out_of_order),
        str(lost),
        f"{drained:.1f}",
        str(flowing),
    )
    console.print(table)
    return lost == 0 and duplicates == 0 and out_of_order == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--down-seconds", type=float, default=0)
    args = parser.parse_args()

    import os

    os.environ.setdefault("BENCH_SECRET", "bench-secret")
    configure_logging("bench", level="ERROR", force=True)
    load_all()
    fake_plugins()
    console = Console()
    env = TestEnvironment()
    workdir = Path(tempfile.mkdtemp(prefix="phoihop-bench-adapters-"))
    try:
        if args.down_seconds:
            ok = fault_run(
                env, args.events, args.rate, args.down_seconds, workdir, console
            )
            raise SystemExit(0 if ok else 1)
        table = Table(title=f"Adapter host: {args.events} events at {args.rate:.0f}/s")
        for column in ("path", "events", "events/s", "p50 ms", "p99 ms"):
            table.add_column(column)
        latencies, elapsed = bare_hop(env.amqp_uri, args.events)
        table.add_row(*row("bare kombu hop (baseline)", latencies, elapsed))
        latencies, elapsed = host_run(env, args.events, args.rate, False, workdir / "a")
        table.add_row(*row("host, one adapter", latencies, elapsed))
        latencies, elapsed = host_run(env, args.events, args.rate, True, workdir / "b")
        table.add_row(*row("host, beside a failing adapter", latencies, elapsed))
        console.print(table)
    finally:
        env.close()


if __name__ == "__main__":
    main()
