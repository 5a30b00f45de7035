"""Benchmark: from a report submitted to the API to its last adapter delivery.

Run: .venv/bin/python tests/bench/bench_e2e.py [--rates 50,100,200]
     [--seconds 20] [--quick] [--no-max] [--via http|rpc]

Every service runs as its own process (``phoihop.testing_stack``), on this
run's own virtual host and database prefix, with the adapters of
``deploy/config/adapters.yaml`` writing each delivery to a JSON-lines file
(``written_at`` is stamped after the line is written and fsynced). Reports
are sent at a steady rate, each a new case, by HTTP POST to the gateway
with an API key (or, with ``--via rpc``, straight to ``intake.submit_report``).
A case's latency runs from the moment its submission was due (so a client
held back by a slow server is not hidden) to the last delivery of that
case's events by any adapter. Prints p50 and p99 at each rate, then steps
the rate up to find the highest one sustained with p99 under one second and
no growing backlog. The bare kombu hop and the bare insert + find are
measured in the same run, on the same broker and database.
"""

import argparse
import itertools
import json
import os
import random
import secrets
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests
from _harness import (
    CpuMeter,
    Summary,
    baseline_rows,
    console,
    load_average,
    machine,
    print_machine,
    print_table,
    quiet_amqp,
)
from nameko.standalone.rpc import ClusterRpcProxy

from phoihop.auth import CredentialStore
from phoihop.contracts import load_all
from phoihop.logging import configure_logging
from phoihop.store import database_name, get_database, make_client
from phoihop.testing import TestEnvironment
from phoihop.testing_stack import ServiceStack

PEPPER = secrets.token_hex(16)
OFFICER = {"agency": "dic", "officer": "bench"}
LADDER = (2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200)
# A rate passes when its p99 is under this, every case was delivered, the
# client kept pace and latency did not climb through the window.
P99_LIMIT = 1.0
SENDERS = 64
# Report numbers of the run: each report has its own URL and text.
NUMBERS = itertools.count()

VOCABULARY = (
    "trang giả mạo ngân hàng yêu cầu khách hàng nhập mã OTP để nhận quà tri ân "
    "đường dẫn lạ gửi qua tin nhắn nhiều người đã bị chiếm đoạt tài khoản sau "
    "khi làm theo hướng dẫn bài đăng bịa đặt sự cố ngộ độc thực phẩm tại trường "
    "học quận Lê Chân Ngô Quyền Hồng Bàng Hải An Kiến An Đồ Sơn Dương Kinh An "
    "Dương Thủy Nguyên tài khoản mạo danh lãnh đạo thành phố kêu gọi chuyển tiền "
    "ủng hộ video cắt ghép xuyên tạc phát ngôn cán bộ tin đồn phong tỏa cảng "
    "giá xăng tăng đột biến thông báo tuyển dụng việc nhẹ lương cao đặt cọc "
    "trước hội nhóm kín chia sẻ tài liệu nội bộ đường dây cho vay nặng lãi "
    "ứng dụng đầu tư tiền ảo lợi nhuận cam kết hàng ngày"
).split()


def report_form(run, number):
    """A report of new content: its own URL and its own text (words drawn
    for this number), so it opens a case and resembles no other report."""
    words = random.Random(number).choices(VOCABULARY, k=30)
    text = f"{' '.join(words)} (mã {run}-{number})"
    return {
        "reporter": {"kind": "citizen"},
        "title": f"{' '.join(words[:8]).capitalize()} ({number})",
        "content_items": [
            {
                "url": f"https://www.facebook.com/bench.{run}/posts/{number}",
                "captured_text": text,
            }
        ],
        "about": {"locality": "Lê Chân", "text": text},
        "suggested_categories": ["fraud_scam"],
    }


class Deliveries:
    """Reads the adapters' JSON-lines files as they grow."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.offsets = {}
        self.by_case = defaultdict(dict)
        self.count = 0
        self.last_seen = time.monotonic()
        self.lock = threading.Lock()

    def poll(self):
        if not self.folder.exists():
            return
        for path in sorted(self.folder.glob("*.jsonl")):
            with open(path, "rb") as stream:
                stream.seek(self.offsets.get(path, 0))
                data = stream.read()
            end = data.rfind(b"\n") + 1
            self.offsets[path] = self.offsets.get(path, 0) + end
            for raw in data[:end].splitlines():
                self._take(json.loads(raw))

    def _take(self, line):
        event = line["event"]
        case_id = event.get("case_id") or (event.get("payload") or {}).get("case_id")
        if not case_id:
            return
        key = (line["adapter"], event["type"])
        written = datetime.fromisoformat(line["written_at"]).timestamp()
        occurred = datetime.fromisoformat(event["occurred_at"]).timestamp()
        with self.lock:
            self.by_case[case_id].setdefault(key, (written, occurred))
            self.count += 1
            self.last_seen = time.monotonic()

    def keys_of(self, case_id):
        with self.lock:
            return dict(self.by_case.get(case_id, {}))


class Submitter:
    """Sends reports from a pool of threads, each with its own connection."""

    def __init__(self, stack, via, key):
        self.stack = stack
        self.via = via
        self.key = key
        self.local = threading.local()

    def _session(self):
        if not hasattr(self.local, "session"):
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.key}"
            self.local.session = session
        return self.local.session

    def _proxy(self):
        if not hasattr(self.local, "proxy"):
            runner = ClusterRpcProxy(self.stack.config(), timeout=30)
            self.local.runner = runner
            self.local.proxy = runner.start()
        return self.local.proxy

    def submit(self, form):
        """Returns (ok, case_id or error text)."""
        try:
            if self.via == "rpc":
                result = self._proxy().intake.submit_report(form, OFFICER)
                return True, result["case_id"]
            response = self._session().post(
                f"{self.stack.base_url}/api/v1/reports", json=form, timeout=30
            )
        except Exception as exc:  # noqa: BLE001 - counted as a failed submission
            return False, type(exc).__name__
        if response.status_code != 201:
            return False, f"HTTP {response.status_code}"
        return True, response.json()["case_id"]


def run_rate(submitter, deliveries, expected, rate, seconds, drain, run, meter):
    """Send at ``rate`` for ``seconds``; wait for deliveries; summarise."""
    meter.begin()
    sent = []
    lock = threading.Lock()
    loads = [load_average()]

    def send(number, due):
        form = report_form(run, number)
        ok, value = submitter.submit(form)
        answered = time.time()
        with lock:
            sent.append((due, answered, ok, value))

    count = int(rate * seconds)
    started_wall = time.time()
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        for sequence in range(count):
            delay = started + sequence / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, next(NUMBERS), started_wall + sequence / rate)
            if sequence % max(1, int(rate)) == 0:
                deliveries.poll()
                loads.append(load_average())
        scheduling = time.monotonic() - started
    sending = time.monotonic() - started
    loads.append(load_average())

    cases = {value: due for due, _, ok, value in sent if ok}
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        deliveries.poll()
        missing = [c for c in cases if len(deliveries.keys_of(c)) < expected]
        if not missing:
            break
        time.sleep(0.25)
    loads.append(load_average())
    cpu = meter.spent()

    latencies, to_answer, to_event, after_event, by_due = [], [], [], [], []
    for due, answered, ok, value in sent:
        if ok:
            to_answer.append(answered - due)
        if not ok:
            continue
        seen = deliveries.keys_of(value)
        if len(seen) < expected:
            continue
        last = max(written for written, _ in seen.values())
        # When intake wrote its first event of the case, in its transaction.
        first_commit = min(occurred for _, occurred in seen.values())
        latencies.append(last - due)
        to_event.append(first_commit - due)
        after_event.append(last - first_commit)
        by_due.append((due, last - due))

    failed = [value for _, _, ok, value in sent if not ok]
    undelivered = len(cases) - len(latencies)
    summary = Summary.of(latencies)
    climbing = _climbing(by_due)
    kept_pace = scheduling <= seconds * 1.05 + 1 and sending <= seconds + 10
    passed = (
        summary.count > 0
        and summary.p99 < P99_LIMIT
        and not failed
        and not undelivered
        and not climbing
        and kept_pace
    )
    return {
        "rate": rate,
        "sent": len(sent),
        "achieved": len(sent) / max(sending, 1e-9),
        "failed": len(failed),
        "failures": sorted(set(failed))[:3],
        "undelivered": undelivered,
        "e2e": summary,
        "answer": Summary.of(to_answer),
        "to_event": Summary.of(to_event),
        "after_event": Summary.of(after_event),
        "climbing": climbing,
        "kept_pace": kept_pace,
        "passed": passed,
        "load": max(loads),
        "cpu": cpu,
        "delivered": summary.count,
    }


def _climbing(by_due):
    """Whether latency grew through the window (a backlog building up):
    the median of the last third well above that of the first third."""
    if len(by_due) < 30:
        return False
    by_due.sort()
    third = len(by_due) // 3
    first = sorted(value for _, value in by_due[:third])[third // 2]
    last = sorted(value for _, value in by_due[-third:])[third // 2]
    return last > 2 * first + 0.25


def settle(deliveries, quiet=3.0, timeout=180):
    """Wait until no delivery has been written for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries.poll()
        if time.monotonic() - deliveries.last_seen >= quiet:
            return
        time.sleep(0.25)


def warm_up(submitter, deliveries, run, count=10):
    """Submit a few reports slowly and learn which deliveries a new case
    gets (adapter and event type): a case counts as delivered when it has
    them all."""
    case_ids = []
    for _ in range(count):
        ok, value = submitter.submit(report_form(run, next(NUMBERS)))
        if not ok:
            raise RuntimeError(f"the warm-up submission failed: {value}")
        case_ids.append(value)
        time.sleep(0.3)
    settle(deliveries, quiet=5.0)
    seen = [set(deliveries.keys_of(case_id)) for case_id in case_ids]
    common = set.intersection(*seen)
    if not common:
        raise RuntimeError("no adapter delivered anything for a new case")
    return sorted(common)


def make_key(stack):
    client = make_client(stack.test_env.mongodb_uri)
    try:
        db = get_database(client, database_name(stack.db_prefix, "gateway"))
        store = CredentialStore(db, pepper=PEPPER.encode())
        store.ensure_indexes()
        _, key = store.create("dic", "bench", ["dic_inspector"], kind="officer")
    finally:
        client.close()
    return key


def print_cpu(results, rates, names, idle, idle_seconds):
    """CPU milliseconds each process spent per report, and the rate at which
    two cores would be saturated by that cost alone; first, what each
    spends a second with nothing to do (timers, pollers, heartbeats)."""
    rows = [
        ["idle, per second"]
        + [f"{idle.get(name, 0) * 1000 / idle_seconds:.1f}" for name in names]
        + [f"{sum(idle.values()) * 1000 / idle_seconds:.1f}", ""]
    ]
    for rate in rates:
        result = results[rate]
        count = max(result["sent"], 1)
        spent = result["cpu"]
        total = sum(spent.values()) * 1000 / count
        rows.append(
            [f"{rate:g}"]
            + [f"{spent.get(name, 0) * 1000 / count:.1f}" for name in names]
            + [f"{total:.1f}", f"{2000 / total:.0f}" if total else "-"]
        )
    print_table(
        "CPU ms per report (RabbitMQ not included: shared with other work)",
        ("rate/s", *names, "total", "2 cores full at /s"),
        rows,
    )


def result_row(result):
    e2e, answer = result["e2e"], result["answer"]
    verdict = "yes" if result["passed"] else "no"
    notes = []
    if result["failed"]:
        notes.append(f"{result['failed']} refused {result['failures']}")
    if result["undelivered"]:
        notes.append(f"{result['undelivered']} undelivered")
    if result["climbing"]:
        notes.append("backlog growing")
    if not result["kept_pace"]:
        notes.append("client fell behind")
    return [
        f"{result['rate']:g}",
        str(result["sent"]),
        f"{result['achieved']:.0f}",
        Summary.ms(answer.p50),
        Summary.ms(answer.p99),
        Summary.ms(result["to_event"].p50),
        Summary.ms(result["after_event"].p50),
        Summary.ms(e2e.p50),
        Summary.ms(e2e.p99),
        verdict,
        f"{result['load']:.1f}",
        "; ".join(notes),
    ]


COLUMNS = (
    "rate/s",
    "sent",
    "achieved/s",
    "answer p50 ms",
    "answer p99 ms",
    "due->event p50 ms",
    "event->last p50 ms",
    "e2e p50 ms",
    "e2e p99 ms",
    "p99<1s",
    "load",
    "notes",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="5 s per rate")
    parser.add_argument("--no-max", action="store_true", help="skip the max search")
    parser.add_argument("--ladder", default=",".join(str(r) for r in LADDER))
    parser.add_argument("--via", choices=("http", "rpc"), default="http")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    rates = [float(rate) for rate in args.rates.split(",") if rate]

    load_all()
    configure_logging("bench", level="WARNING", force=True)
    quiet_amqp()
    os.environ["PHOIHOP_API_KEY_PEPPER"] = PEPPER
    env = TestEnvironment()
    workdir = tempfile.mkdtemp(prefix="phoihop-bench-e2e-")
    stack = ServiceStack(
        env,
        workdir,
        extra_env={
            "PHOIHOP_API_KEY_PEPPER": PEPPER,
            "PHOIHOP_RATE_PER_MINUTE": "100000000",
            "PHOIHOP_RATE_BURST": "1000000",
        },
    )
    stack.stack.env["PHOIHOP_GATEWAY_URL"] = stack.base_url
    run = uuid.uuid4().hex[:6]
    try:
        facts = machine(env.amqp_uri, env.mongodb_uri)
        print_machine(facts)
        baselines = []
        for rate in rates:
            baselines.extend(
                baseline_rows(env.amqp_uri, env.mongodb_uri, rate, min(seconds, 10))
            )
        print_table(
            "Baselines (same broker and database)",
            ("path", "n", "p50 ms", "p99 ms", "load"),
            baselines,
        )

        console.print(f"starting {len(stack.services)} services in {workdir}")
        stack.start(timeout=180)
        key = make_key(stack)
        submitter = Submitter(stack, args.via, key)
        deliveries = Deliveries(Path(workdir) / "adapters")
        pids = {name: stack.stack.read_pid(name) for name in stack.services}
        server = getattr(env, "database_server", None)
        pids["database"] = server.process.pid if server else None
        pids["bench client"] = os.getpid()
        meter = CpuMeter(pids)
        expected = warm_up(submitter, deliveries, run)
        console.print(
            f"submitting by {args.via}; a new case is delivered when these "
            f"{len(expected)} deliveries are written: {expected}"
        )

        settle(deliveries)
        idle_seconds = 5.0 if args.quick else 15.0
        meter.begin()
        time.sleep(idle_seconds)
        idle = meter.spent()

        results = {}
        for rate in rates:
            settle(deliveries)
            results[rate] = run_rate(
                submitter,
                deliveries,
                len(expected),
                rate,
                seconds,
                args.drain,
                run,
                meter,
            )
            console.print(result_row(results[rate]))
        print_table(
            f"End to end by {args.via}: {seconds:g} s per rate",
            COLUMNS,
            [result_row(results[rate]) for rate in rates],
        )
        print_cpu(results, rates, list(meter.pids), idle, idle_seconds)

        if not args.no_max:
            ladder = [float(rate) for rate in args.ladder.split(",") if rate]
            best = None
            for rate in ladder:
                if rate not in results:
                    settle(deliveries)
                    results[rate] = run_rate(
                        submitter,
                        deliveries,
                        len(expected),
                        rate,
                        seconds,
                        args.drain,
                        run,
                        meter,
                    )
                    console.print(result_row(results[rate]))
                if not results[rate]["passed"]:
                    break
                best = rate
            print_table(
                "Stepping the rate up until p99 >= 1 s or a backlog grows",
                COLUMNS,
                [result_row(results[rate]) for rate in ladder if rate in results],
            )
            console.print(
                f"highest sustained rate with p99 < 1 s: {best:g} reports/s"
                if best
                else "no rate of the ladder passed"
            )
    finally:
        stack.stop()
        env.close()


if __name__ == "__main__":
    main()
