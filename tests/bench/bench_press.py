"""Benchmark: the press service's disclosure check and its statement path.

Run: .venv/bin/python tests/bench/bench_press.py [--cases 40] [--items 1 10 50]

Two parts, printed as tables:
- the disclosure check alone (pure code): hashing a content item, and
  checking a draft of about 3,000 characters against 1, 10 and 50 items;
- the service on the real broker and database (as the tests find them):
  for each of ``--cases`` incident cases, the time from ``case.assigned``
  published to ``agency.<code>.press.initial_info_due`` received (the clock
  started, a first draft made), the RPC time to fill, approve and distribute
  the statement, and the time from distribution to the last press agency's
  copy on the broker.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402
from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import entrypoint_hook  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from phoihop.agencies import DEFAULT_PATH  # noqa: E402
from phoihop.contracts import load_all  # noqa: E402
from phoihop.events import build_event  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402
from phoihop.testing import TestEnvironment  # noqa: E402
from services.press.disclosure import (  # noqa: E402
    find_disclosures,
    fingerprint,
    new_key,
)
from services.press.service import PressService  # noqa: E402

SPOKESPERSON = "Nguyễn Văn An"
PRESS = ("press-hp", "press-thp", "portal")
WORDS = (
    "thông tin sai sự thật lan truyền trên mạng xã hội về việc học sinh "
    "trường tiểu học bị ngộ độc sau bữa ăn trưa tại bếp ăn tập thể của "
    "nhà trường khiến phụ huynh hoang mang lo lắng cơ quan chức năng đã "
    "vào cuộc kiểm tra xác minh xử lý nghiêm theo quy định pháp luật"
).split()


def text(words, seed):
    """Vietnamese-looking text; different seeds rarely share 8 syllables."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_disclosure(item_counts):
    key = new_key()
    draft = {"title": text(20, 1), "body": text(600, 2)}
    rows = []
    item = text(400, 3)
    rows.append(
        ("hash one item (~2,000 chars)", timed(lambda: fingerprint(item, key), 50))
    )
    for count in item_counts:
        items = [(i, fingerprint(text(400, 10 + i), key)) for i in range(count)]
        seconds = timed(lambda items=items: find_disclosures(draft, items, key), 20)
        rows.append((f"check a draft (~3,000 chars) against {count} items", seconds))

    return rows


def registry_file():
    data = yaml.safe_load(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
    for row in data["agencies"]:
        if row["code"] == "dept-health":
            row["spokespersons"] = [
                {
                    "name": SPOKESPERSON,
                    "role": "Phó Giám đốc",
                    "phone": "+84 225 000 0009",
                    "email": "phat-ngon@dept-health.haiphong.invalid",
                }
            ]
    path = Path(tempfile.mkdtemp(prefix="press-bench-")) / "agencies.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    return path


class Broker:
    """Publishes case events and reads the agencies' copies."""

    def __init__(self, config):
        self.connection = Connection(config["AMQP_URI"])
        self.exchange = Exchange(config["EVENTS_EXCHANGE"], type="topic", durable=True)
        self.producer = self.connection.Producer(serializer="json")
        channel = self.connection.default_channel
        self.exchange(channel).declare()
        self.queue = Queue(f"bench-press-{uuid.uuid4().hex[:8]}")(channel)
        self.queue.declare()
        for key in ("agency.dept-health.press.initial_info_due",) + tuple(
            f"agency.{code}.press.statement_distributed" for code in PRESS
        ):
            self.queue.bind_to(exchange=self.exchange.name, routing_key=key)
        self.seen = {}

    def publish(self, case_id, name, payload):
        envelope = build_event(
            name,
            payload,
            case_id=case_id,
            actor={"agency": "dic", "officer": "bench"},
            classification="internal",
        )
        self.producer.publish(
            envelope, exchange=self.exchange, routing_key=name, delivery_mode=2
        )

    def wait(self, key, count=1, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.seen.get(key, [])) < count and time.monotonic() < deadline:
            message = self.queue.get(no_ack=True)
            if message is None:
                time.sleep(0.002)
                continue
            body = message.payload
            routing = message.delivery_info["routing_key"]
            self.seen.setdefault((routing, body["case_id"]), []).append(
                time.monotonic()
            )
        return self.seen.get(key, [])

    def close(self):
        self.queue.delete()
        self.connection.release()


def open_and_assign(broker, case_id):
    broker.publish(
        case_id,
        "case.opened",
        {
            "case_id": case_id,
            "report_id": f"rep-{case_id}",
            "channel": "api",
            "title": "Tin đồn ngộ độc thực phẩm tại trường học",
            "content_items": [{"captured_text": text(200, len(case_id))}],
            "about": {"sector": "health", "text": "Bài đăng lan truyền tin đồn."},
            "suggested_categories": ["false_information"],
            "incident": True,
            "classification": "internal",
            "state": "received",
        },
    )
    broker.publish(
        case_id,
        "case.assigned",
        {
            "lead": "dic",
            "agencies": [
                {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1"},
                {
                    "agency": "dept-health",
                    "role": "coordinating",
                    "rule": "sector",
                    "article": "7.6.c",
                },
            ],
            "responsible_agencies": ["dept-health"],
            "categories": ["false_information"],
            "sector": "health",
            "incident": True,
            "state": "assigned",
            "previous_state": "triaged",
        },
    )


def bench_service(env, cases):
    config = {
        **env.config(),
        "press": {"registry": {"path": str(registry_file())}},
    }
    container = ServiceContainer(PressService, config)
    container.start()
    broker = Broker(config)
    started, cycles, spread = [], [], []
    officer = {"agency": "dept-health", "officer": "Lê Văn Cường"}
    speaker = {"agency": "dept-health", "officer": SPOKESPERSON}
    try:
        for index in range(cases):
            case_id = f"bench-{uuid.uuid4().hex[:8]}"
            sent = time.monotonic()
            open_and_assign(broker, case_id)
            [due] = broker.wait(("agency.dept-health.press.initial_info_due", case_id))
            started.append(due - sent)

            with entrypoint_hook(container, "initial_info_status") as status:
                statement_id = None
                while statement_id is None:
                    statement_id = status(case_id)["statement_id"]
            begin = time.monotonic()
            with entrypoint_hook(container, "update_draft") as update:
                update(
                    statement_id,
                    {
                        "leadership_position": "Lãnh đạo Sở chỉ đạo xác minh ngay.",
                        "first_measures": [f"Kiểm tra bếp ăn số {index}"],
                    },
                    officer,
                )
            with entrypoint_hook(container, "approve_statement") as approve:
                approve(statement_id, speaker)
            with entrypoint_hook(container, "distribute_statement") as distribute:
                distribute(statement_id, officer)
            done = time.monotonic()
            cycles.append(done - begin)
            last = max(
                broker.wait((f"agency.{code}.press.statement_distributed", case_id))[0]
                for code in PRESS
            )
            spread.append(last - done)
    finally:
        broker.close()
        container.stop()

    return started, cycles, spread


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--items", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=True)
    load_all()
    console = Console()

    table = Table(title="Disclosure check (pure code, median)")
    table.add_column("operation")
    table.add_column("ms", justify="right")
    for label, seconds in bench_disclosure(args.items):
        table.add_row(label, f"{seconds * 1000:.2f}")
    console.print(table)

    env = TestEnvironment()
    try:
        started, cycles, spread = bench_service(env, args.cases)
    finally:
        env.close()
    table = Table(title=f"Press service, {args.cases} incident cases (ms)")
    for column in ("step", "p50", "p99", "max"):
        table.add_column(column, justify="right" if column != "step" else "left")
    for label, values in (
        ("case.assigned -> initial_info_due copy", started),
        ("fill + approve + distribute (3 RPC)", cycles),
        ("distributed -> last press copy", spread),
    ):
        table.add_row(
            label,
            f"{percentile(values, 0.5) * 1000:.0f}",
            f"{percentile(values, 0.99) * 1000:.0f}",
            f"{max(values) * 1000:.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
