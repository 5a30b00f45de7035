"""Intake benchmark: reports per second for a 10,000-row CSV import, and the
p50/p99 time from an API submission to ``case.opened`` on the bus.

Runs the intake service in this process on the run's broker and database
(``phoihop.testing.TestEnvironment``: RabbitMQ on localhost, a SecantusDB it
starts) and prints a table. Usage::

    .venv/bin/python tests/bench/bench_intake.py [--rows 10000] [--submissions 200]
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.config import exchange_name  # noqa: E402
from phoihop.contracts import load_all  # noqa: E402
from phoihop.testing import TestEnvironment  # noqa: E402
from services.intake.channels import batch  # noqa: E402
from services.intake.service import IntakeService  # noqa: E402

ACTOR = {"agency": "dic", "officer": "benchmark"}
WORDS = (
    "tin đồn ngân hàng phá sản lừa đảo trúng thưởng miễn phí xe máy quận Lê Chân "
    "Hải Phòng dịch bệnh bệnh viện học sinh giao thông cầu đường nước sạch mưa bão "
    "cảng biển công nhân nhà máy chợ giá cả điện thoại tài khoản mạng xã hội video "
    "người dân cơ quan chính quyền phường xã trường học thầy cô bác sĩ thuốc"
).split()


def make_csv(rows):
    # Distinct texts of ordinary vocabulary: every row opens its own case,
    # so each one pays for the key insert and the near-duplicate lookup.
    lines = ["nội dung,link"]
    for n in range(rows):
        pick = random.Random(n)
        words = " ".join(pick.choice(WORDS) for _ in range(16))
        lines.append(
            f'"Bài viết số {n}: {words}",https://facebook.com/groups/bench/posts/{n}'
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def bench_import(config, rows):
    data = make_csv(rows)
    parsed = list(batch.read_csv(data))
    digest = hashlib.sha256(data).hexdigest()
    started = time.perf_counter()
    counts = {}
    with ServiceRpcProxy("intake", config, timeout=600) as rpc:
        # One batch after the other, as ``phoihop import`` sends them.
        for start in range(0, len(parsed), 200):
            items = [
                {"number": r.number, "raw": r.raw, "report": r.report}
                for r in parsed[start : start + 200]
            ]
            answer = rpc.submit_batch("csv", items, ACTOR, file_sha256=digest)
            for key, value in answer["summary"].items():
                counts[key] = counts.get(key, 0) + value
    elapsed = time.perf_counter() - started
    return rows / elapsed, elapsed, counts


class OpenedTap:
    """Records when each case.opened reaches the bus, by report id."""

    def __init__(self, config):
        self.seen = {}
        self.connection = Connection(config["AMQP_URI"])
        exchange = Exchange(exchange_name(config), type="topic", durable=True)
        queue = Queue(
            f"bench-intake-{uuid.uuid4().hex[:8]}",
            exchange=exchange,
            routing_key="case.opened",
            exclusive=True,
            auto_delete=True,
        )
        self.consumer = self.connection.Consumer(
            queue, callbacks=[self.on_message], accept=["json"]
        )
        self.consumer.consume()
        self.running = True
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def on_message(self, body, message):
        self.seen[body["payload"]["report_id"]] = time.perf_counter()
        message.ack()

    def drain(self):
        while self.running:
            try:
                self.connection.drain_events(timeout=0.2)
            except TimeoutError:
                continue

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.connection.release()


def bench_latency(config, submissions):
    tap = OpenedTap(config)
    sent = {}
    try:
        with ServiceRpcProxy("intake", config, timeout=60) as rpc:
            for n in range(submissions):
                report = {
                    "reporter": {"kind": "citizen"},
                    "content_items": [
                        {
                            "url": f"https://tiktok.com/@bench/video/{n}",
                            "captured_text": f"Video số {n} tung tin đồn",
                        }
                    ],
                }
                started = time.perf_counter()
                result = rpc.submit_report(report, ACTOR)
                sent[result["report_id"]] = started
        deadline = time.monotonic() + 30
        while len(tap.seen) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        tap.close()
    latencies = sorted(
        (tap.seen[r] - t) * 1000 for r, t in sent.items() if r in tap.seen
    )
    return latencies, len(sent) - len(latencies)


def percentile(values, fraction):
    if not values:
        return float("nan")
    index = min(len(values) - 1, int(round(fraction * (len(values) - 1))))
    return values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--submissions", type=int, default=200)
    args = parser.parse_args()

    load_all()
    env = TestEnvironment()
    config = env.config(max_workers=10)
    container = ServiceContainer(IntakeService, config)
    container.start()
    try:
        rate, elapsed, counts = bench_import(config, args.rows)
        latencies, missing = bench_latency(config, args.submissions)
    finally:
        container.stop()
        env.close()

    table = Table(title="intake benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        f"CSV import, {args.rows} rows", f"{rate:,.1f} reports/s ({elapsed:.1f} s)"
    )
    table.add_row(
        "  opened / attached / quarantined",
        f"{counts.get('opened', 0)} / {counts.get('attached', 0)} / "
        f"{counts.get('quarantined', 0)}",
    )
    table.add_row(
        f"API submission -> case.opened, n={len(latencies)}",
        f"p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms",
    )
    table.add_row(
        "  mean", f"{statistics.fmean(latencies):.1f} ms" if latencies else "-"
    )
    table.add_row("  case.opened not seen within 30 s", str(missing))
    Console().print(table)


if __name__ == "__main__":
    main()
