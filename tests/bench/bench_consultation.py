"""Benchmark: whole cases through the consultation service, beside a bare RPC.

Run: .venv/bin/python tests/bench/bench_consultation.py [--cases 60] [--concurrency 6]

Each case is assigned through the outbox of a stand-in for routing, then
walked over real nameko RPC: a written round with three agencies answering
at once, the appraisal, a decision with two measures, both handling results
and the closing. Prints per-step latency (p50, p99) beside the bare RPC hop
(``health``) measured in the same run on the same broker and database,
cases per second, and the delay from the decide call to the
``agency.police.measure.assigned`` copy reaching a consumer (what an
agency's adapter waits).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import timedelta  # noqa: E402

from kombu import Connection, Queue, binding  # noqa: E402
from nameko.rpc import rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.bus import events_exchange  # noqa: E402
from phoihop.contracts import load_all  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402
from phoihop.store import Store, utcnow  # noqa: E402
from phoihop.testing import TestEnvironment  # noqa: E402
from services.consultation.service import ConsultationService  # noqa: E402

DIC = {"agency": "dic", "officer": "bench"}
AGENCIES = ("police", "journalists", "propaganda")
STEPS = (
    "health (bare RPC)",
    "open_round",
    "submit_opinion",
    "appraise",
    "decide",
    "report_result",
    "close_case",
    "whole case",
)


class BenchSource:
    """Emits case.assigned through its outbox, as routing does."""

    name = "bench_source"
    store = Store()

    @rpc
    def assign(self, case_id):
        with self.store.transaction() as tx:
            tx.emit(
                "case.assigned",
                {
                    "lead": "dic",
                    "agencies": [
                        {
                            "agency": code,
                            "role": "coordinating",
                            "rule": "category",
                            "article": "7.2",
                        }
                        for code in AGENCIES
                    ],
                    "responsible_agencies": [],
                    "categories": ["false_information"],
                    "incident": False,
                    "state": "assigned",
                    "previous_state": "triaged",
                },
                case_id=case_id,
                classification="internal",
            )


class Arrivals:
    """When each per-agency copy of ``measure.assigned`` reached a consumer."""

    def __init__(self, amqp_uri, exchange):
        self.seen = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(amqp_uri, exchange), daemon=True
        )
        self._thread.start()
        self._ready.wait(10)

    def _run(self, amqp_uri, exchange):
        queue = Queue(
            f"bench-tap-{uuid.uuid4().hex[:6]}",
            bindings=[
                binding(events_exchange(exchange), routing_key="agency.*.measure.*")
            ],
            exclusive=True,
            auto_delete=True,
        )
        with Connection(amqp_uri) as connection:

            def on_message(body, message):
                key = message.delivery_info["routing_key"]
                self.seen.setdefault((body["case_id"], key), time.time())
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message], accept=["json"]):
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(timings, step, call, *args, **kwargs):
    started = time.perf_counter()
    result = call(*args, **kwargs)
    timings[step].append(time.perf_counter() - started)
    return result


def walk(proxy, timings, decided_at):
    consultation = proxy.consultation
    case_id = f"bench-{uuid.uuid4().hex[:12]}"
    started = time.perf_counter()
    proxy.bench_source.assign(case_id)
    deadline = time.monotonic() + 30
    while True:
        try:
            consultation.get_case(case_id)
            break
        except Exception:  # noqa: BLE001 - not followed yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)

    round_ = timed(
        timings,
        "open_round",
        consultation.open_round,
        case_id,
        {"question": "Có vi phạm không?", "invited": list(AGENCIES)},
        DIC,
    )
    calls = []
    for agency in AGENCIES:
        sent = time.perf_counter()
        calls.append(
            (
                sent,
                consultation.submit_opinion.call_async(
                    round_["consultation_id"],
                    {"position": "agree", "reasoning": "Vi phạm."},
                    {"agency": agency, "officer": "bench"},
                ),
            )
        )
    for sent, call in calls:
        call.result()
        timings["submit_opinion"].append(time.perf_counter() - sent)

    timed(
        timings,
        "appraise",
        consultation.appraise,
        case_id,
        {
            "outcome": "violates",
            "legal_basis": ["PRESS2016-9.8"],
            "art_4_2_consideration": "Không phải báo chí hay phản biện.",
            "posted_at": "2025-06-01T03:00:00+00:00",
        },
        DIC,
    )
    due = (utcnow() + timedelta(days=2)).isoformat()
    decided_at[case_id] = time.time()
    decision = timed(
        timings,
        "decide",
        consultation.decide,
        case_id,
        {
            "measures": [
                {
                    "kind": "removal_request",
                    "agency": "dic",
                    "target": "platform",
                    "due_at": due,
                },
                {"kind": "police_referral", "agency": "police", "due_at": due},
            ]
        },
        DIC,
    )
    for measure in decision["measures"]:
        actor = {"agency": measure["agency"], "officer": "bench"}
        timed(
            timings,
            "report_result",
            consultation.report_result,
            case_id,
            measure["measure_id"],
            {"result": "done", "evidence": [{"description": "Đã thực hiện"}]},
            actor,
        )
    timed(timings, "close_case", consultation.close_case, case_id, "", DIC)
    timings["whole case"].append(time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    load_all()
    configure_logging("bench", level="WARNING", force=True)
    env = TestEnvironment()
    config = {**env.config(), "max_workers": 20}
    runner = ServiceRunner(config)
    runner.add_service(ConsultationService)
    runner.add_service(BenchSource)
    runner.start()
    arrivals = Arrivals(config["AMQP_URI"], config["EVENTS_EXCHANGE"])
    timings = defaultdict(list)
    decided_at = {}
    try:
        with ClusterRpcProxy(config, timeout=60) as proxy:
            for _ in range(200):
                timed(timings, "health (bare RPC)", proxy.consultation.health)
            walk(proxy, defaultdict(list), {})

        # A standalone RPC proxy has one reply queue read by one greenthread,
        # so each concurrent walker has its own.
        remaining = [args.cases]

        def walker():
            with ClusterRpcProxy(config, timeout=60) as own:
                while remaining[0] > 0:
                    remaining[0] -= 1
                    walk(own, timings, decided_at)

        pool = eventlet.GreenPool(args.concurrency)
        started = time.perf_counter()
        for _ in range(args.concurrency):
            pool.spawn(walker)
        pool.waitall()
        elapsed = time.perf_counter() - started
        time.sleep(1.0)
    finally:
        arrivals.stop()
        runner.stop()
        env.close()

    table = Table(
        title=f"Consultation: {args.cases} cases, {args.concurrency} at a time"
    )
    for column in ("step", "calls", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for step in STEPS:
        values = timings[step]
        table.add_row(
            step,
            str(len(values)),
            f"{percentile(values, 0.5) * 1000:.1f}",
            f"{percentile(values, 0.99) * 1000:.1f}",
        )
    delivery = [
        arrivals.seen[(case_id, "agency.police.measure.assigned")] - at
        for case_id, at in decided_at.items()
        if (case_id, "agency.police.measure.assigned") in arrivals.seen
    ]
    Console().print(table)
    print(f"cases closed per second: {args.cases / elapsed:.1f}")
    if delivery:
        print(
            "decide called -> agency.police.measure.assigned delivered: "
            f"p50 {percentile(delivery, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(delivery, 0.99) * 1000:.1f} ms "
            f"({len(delivery)}/{len(decided_at)} delivered)"
        )


if __name__ == "__main__":
    main()
