"""Benchmark: triaged cases through the routing service to every agency copy.

Run: .venv/bin/python tests/bench/bench_routing.py [--cases 500] [--rate 0]

A stand-in producer publishes ``case.triaged`` events through its own outbox
(the way intake does); the real routing service assigns each case, writes
``case.assigned`` with one ``agency.<code>.case.assigned`` copy per agency
and starts the lead's clocks, all in one transaction per case. A tap queue
bound to ``agency.*.case.assigned`` records when each copy arrives. Prints
assignments per second and the p50/p95/p99 time from the triage's publish
to the LAST agency copy of its case. ``--rate 0`` sends as fast as the
producer can (a backlog); a rate paces the sends (a steady load).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from kombu import Connection, Consumer, Exchange, Queue, binding  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.bus import OutboxRelay  # noqa: E402
from phoihop.config import exchange_name  # noqa: E402
from phoihop.contracts import load_all  # noqa: E402
from phoihop.events import build_event  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402
from phoihop.store import (  # noqa: E402
    database_name,
    get_database,
    make_client,
    write_outbox,
)
from phoihop.testing import TestEnvironment  # noqa: E402
from services.routing.service import RoutingService  # noqa: E402

# A mix of cases like the ones DIC sees: scams, false information about a
# local incident, cases about a sector, cases involving journalists.
SHAPES = [
    {"categories": ["fraud_scam", "impersonation"], "sector": "finance"},
    {"categories": ["false_information"], "sector": "health", "incident": True},
    {"categories": ["defamation"], "locality": "le-chan"},
    {"categories": ["anti_state", "historical_distortion"]},
    {"categories": ["false_information"], "journalists_involved": True},
    {"categories": ["state_secrets"], "classification": "secret"},
]


def triage_payload(case_id, shape):
    return {
        "case_id": case_id,
        "categories": shape["categories"],
        "legal_basis_suggested": [],
        "sector": shape.get("sector"),
        "locality": shape.get("locality"),
        "incident": shape.get("incident", False),
        "journalists_involved": shape.get("journalists_involved", False),
        "severity": "medium",
        "classification": shape.get("classification", "internal"),
        "state": "triaged",
        "previous_state": "received",
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class CopyTap:
    """Records the arrival of every agency copy of ``case.assigned``."""

    def __init__(self, config):
        self.connection = Connection(config["AMQP_URI"])
        exchange = Exchange(exchange_name(config), type="topic", durable=True)
        exchange(self.connection.default_channel).declare()
        queue = Queue(
            f"bench-tap-{uuid.uuid4().hex[:8]}",
            bindings=[
                binding(exchange, routing_key="agency.*.case.assigned"),
                binding(exchange, routing_key="case.assigned"),
            ],
            exclusive=True,
            auto_delete=True,
        )
        self.expected = {}  # case id -> number of agency copies
        self.copies = {}  # case id -> copies seen
        self.last_copy_at = {}
        self.assigned_at = {}  # when the case.assigned event itself arrived
        self.consumer = Consumer(
            self.connection, queues=[queue], callbacks=[self.received], accept=["json"]
        )
        self.consumer.consume()

    def received(self, body, message):
        case_id = body["case_id"]
        if message.delivery_info["routing_key"] == "case.assigned":
            self.expected[case_id] = len(body["payload"]["agencies"])
            self.assigned_at[case_id] = time.time()
        else:
            self.copies[case_id] = self.copies.get(case_id, 0) + 1
            self.last_copy_at[case_id] = time.time()
        message.ack()

    def complete(self):
        return [
            case_id
            for case_id, count in self.expected.items()
            if self.copies.get(case_id, 0) >= count
        ]

    def start(self):
        # Its own (green) thread, so each copy is stamped when it arrives,
        # not when the producer loop finds time to look.
        self.running = True
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while self.running:
            try:
                self.connection.drain_events(timeout=0.1)
            except TimeoutError:
                pass

    def wait_until(self, count, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.complete()) < count:
            time.sleep(0.05)
        return len(self.complete())

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.consumer.cancel()
        self.connection.release()


def send_paced(db, relay, envelopes, rate, sent_at):
    """Send at ``rate`` per second; returns when the sending started."""
    started = time.time()
    for number, envelope in enumerate(envelopes):
        write_outbox(db, envelope)
        relay.publish_pending()
        sent_at[envelope["case_id"]] = time.time()
        pause = started + (number + 1) / rate - time.time()
        if pause > 0:
            time.sleep(pause)

    return started


def send_backlog(db, relay, envelopes, sent_at):
    # Everything is in the producer's outbox first and goes out in the
    # relay's batches, so the routing service, not the producer, sets the
    # pace. A case counts as sent when its batch was confirmed.
    for envelope in envelopes:
        write_outbox(db, envelope)
    started = time.time()
    while True:
        published = relay.publish_pending()
        if not published:
            break
        now = time.time()
        for record in db.outbox.find({"sent_at": {"$ne": None}}, {"envelope": 1}):
            sent_at.setdefault(record["envelope"]["case_id"], now)

    return started


def run(cases, rate, workers):
    env = TestEnvironment()
    config = env.config(max_workers=workers)
    container = ServiceContainer(RoutingService, config)
    container.start()
    tap = CopyTap(config)
    tap.start()
    client = make_client(config["MONGODB_URI"])
    db = get_database(client, database_name(config["DB_PREFIX"], "bench-intake"))
    relay = OutboxRelay(
        db, config["AMQP_URI"], exchange_name(config), name="bench", sweep_grace=0
    )
    sent_at = {}
    try:
        envelopes = [
            build_event(
                "case.triaged",
                triage_payload(f"bench-{number:06d}", SHAPES[number % len(SHAPES)]),
                case_id=f"bench-{number:06d}",
                actor={"agency": "dic", "officer": "bench"},
            )
            for number in range(cases)
        ]
        if rate:
            started = send_paced(db, relay, envelopes, rate, sent_at)
        else:
            started = send_backlog(db, relay, envelopes, sent_at)
        done = tap.wait_until(cases, timeout=120 + cases / 10)
        finished = max(tap.last_copy_at.values(), default=time.time())
    finally:
        tap.close()
        relay._close()
        client.close()
        container.stop()
        env.close()

    latencies = [
        tap.last_copy_at[case_id] - sent_at[case_id]
        for case_id in tap.complete()
        if case_id in sent_at
    ]
    copies = sum(tap.copies.values())
    return {
        "cases": cases,
        "assigned": done,
        "copies": copies,
        "seconds": finished - started,
        "per_second": done / (finished - started) if done else 0.0,
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0, help="cases/s; 0 = backlog")
    parser.add_argument("--workers", type=int, default=10)
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False, force=True)
    load_all()

    result = run(args.cases, args.rate, args.workers)

    table = Table(title="routing: case.triaged -> last agency.*.case.assigned")
    for column in (
        "cases",
        "assigned",
        "agency copies",
        "seconds",
        "assignments/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(result["cases"]),
        str(result["assigned"]),
        str(result["copies"]),
        f"{result['seconds']:.1f}",
        f"{result['per_second']:.1f}",
        f"{result['p50'] * 1000:.0f}",
        f"{result['p95'] * 1000:.0f}",
        f"{result['p99'] * 1000:.0f}",
    )
    Console().print(table)
    if result["assigned"] < result["cases"]:
        raise SystemExit(f"only {result['assigned']} of {result['cases']} assigned")


if __name__ == "__main__":
    main()
