"""Benchmark: how dedup, case search and the monthly report grow with stored cases.

Run: .venv/bin/python tests/bench/bench_scale.py [--sizes 10000,100000,1000000]
     [--repeat 5] [--bands]

The intake and reporting services run as processes (``phoihop.testing_stack``)
on this run's own virtual host and database prefix. Before each size they
are stopped and the missing cases are written straight into their
collections in bulk (``insert_many`` in chunks, with a progress bar), then
they are started again and measured over RPC, as the gateway calls them:

- dedup: ``intake.submit_report`` of a report whose URL an open case holds
  (it joins that case through the unique key) and of a new report (it opens
  a case, after the key lookup and the near-duplicate band lookup), and the
  key lookup alone on the database;
- case search: ``reporting.list_cases`` with text (frequent, rare, absent),
  with text and filters, and with filters only;
- the monthly report: ``reporting.generate_report("month")`` for the last
  month (which grows with the stored cases) and for a month that always
  holds the same number of cases (which shows what the total costs).

Shapes come from the services themselves: intake's case documents from a
few real submissions, reporting's board, deadlines and log entries from
the reporting simulation's case lifecycles folded by the service's own
fold, each copy given its own id, time and title. What is not seeded, to
keep 1,000,000 cases within reach of this machine: intake's ``reports``
collection (one document per report, not read by the measured paths); log
entries and deadline records of cases outside the two reported months
(reports read them by time range only); and near-duplicate bands (32 index
keys per case, six times the seeding time) unless ``--bands``.
"""

import argparse
import random
import re
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

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
from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import UpdateOne
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from phoihop.cases import OPEN_STATES
from phoihop.contracts import load_all
from phoihop.logging import configure_logging
from phoihop.normalise import text_key
from phoihop.stack import check_rabbitmq
from phoihop.store import (
    BUS_INDEXES,
    apply_indexes,
    database_name,
    get_database,
    make_client,
)
from phoihop.testing import TestEnvironment
from phoihop.testing_stack import ServiceStack
from services.intake.dedup import report_keys
from services.intake.pipeline import CASES, DEDUP_KEYS
from services.intake.service import INDEXES as INTAKE_INDEXES
from services.reporting.eventlog import (
    GENESIS_HASH,
    HEAD_ID,
    LOG_COLLECTION,
    META_COLLECTION,
    make_entry,
)
from services.reporting.figures import _ACTIVITY_TYPES
from services.reporting.fold import (
    apply_to_case,
    apply_to_deadline,
    case_contributions,
    deadline_contributions,
    deadline_id_of,
    new_case,
    new_deadline,
    set_search,
)
from services.reporting.periods import local_midnight_utc, month_period
from services.reporting.projections import CURRENT_ID, SHAPE, ProjectionSet
from services.reporting.projections import META_COLLECTION as PROJECTION_META
from services.reporting.service import INDEXES as REPORTING_INDEXES
from services.reporting.simulation import PATHS, TITLES, simulate

DIC = {"agency": "dic", "officer": "bench"}
CHUNK = 1000
# Stored cases are spread over this many months before the current one.
MONTHS = 36
# The month that holds the same number of cases at every size.
FIXED_MONTH_CASES = 500
TEMPLATE_CASES = 600
INTAKE_TEMPLATES = 12
PLACES = (
    "Lê Chân", "Ngô Quyền", "Hồng Bàng", "Hải An", "Kiến An", "Đồ Sơn",
    "Dương Kinh", "An Dương", "Thủy Nguyên", "An Lão", "Kiến Thụy", "Tiên Lãng",
    "Vĩnh Bảo", "Cát Hải", "Bạch Long Vĩ", "Cát Bi", "Đằng Giang", "Lạch Tray",
    "Máy Tơ", "Cầu Đất", "Trại Cau", "Vĩnh Niệm", "Dư Hàng Kênh", "Đông Hải",
    "Tràng Cát", "Nam Hải", "Bàng La", "Hợp Đức", "Minh Đức", "Lưu Kiếm",
)  # fmt: skip
# Words of the searches: in about a third of the titles, in one title in
# ninety (one place of thirty, in one case path of three), and in none.
SEARCHES = {
    "text, frequent": {"text": "ngan hang"},
    "text, rare": {"text": "bach long vi"},
    "text, absent": {"text": "khong co trong tieu de nao"},
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


# --- the months ---------------------------------------------------------


def months_back(today, count):
    """(year, month) of the ``count`` months before the current one, oldest
    first."""
    year, month = today.year, today.month
    result = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        result.append((year, month))
    return list(reversed(result))


def month_bounds(year, month):
    period = month_period(year, month)
    start = local_midnight_utc(period.first)
    return start, local_midnight_utc(period.last + timedelta(days=1))


# --- templates ------------------------------------------------------------


class ReportingTemplates:
    """Whole case lifecycles from the simulation, folded by the service's
    own fold: for each case its board document, deadline records and the
    log entries a report reads."""

    def __init__(self, count=TEMPLATE_CASES):
        year, month = months_back(datetime.now(UTC), MONTHS + 2)[0]
        events = simulate(count, month_bounds(year, month)[0], days=28, seed=11)
        entries, previous = [], GENESIS_HASH
        recorded = datetime.now(UTC)
        for seq, item in enumerate(events, 1):
            entry = make_entry(item.envelope, seq, previous, recorded)
            previous = entry["hash"]
            entries.append(entry)

        boards, deadlines = {}, {}
        for entry in entries:
            case_id = entry.get("case_id")
            if case_id:
                doc = boards.setdefault(case_id, new_case(case_id))
                apply_to_case(doc, entry)
            deadline_id = deadline_id_of(entry)
            if deadline_id:
                record = deadlines.setdefault(deadline_id, new_deadline(deadline_id))
                apply_to_deadline(record, entry)

        self.cases = []
        for case_id, board in boards.items():
            if board["opened_at"] is None:
                continue
            index = int(case_id.rsplit("-", 1)[1])
            self.cases.append(
                {
                    "case_id": case_id,
                    "path": PATHS[index % len(PATHS)],
                    "board": board,
                    "deadlines": [
                        record
                        for record in deadlines.values()
                        if record["case_id"] == case_id
                    ],
                    "activity": [
                        entry
                        for entry in entries
                        if entry.get("case_id") == case_id
                        and entry["type"] in _ACTIVITY_TYPES
                    ],
                }
            )
        self.cases.sort(key=lambda case: case["case_id"])


def stamp(value, replace, delta):
    """A copy of ``value`` with ids replaced and times moved by ``delta``."""
    if isinstance(value, dict):
        return {key: stamp(item, replace, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [stamp(item, replace, delta) for item in value]
    if isinstance(value, datetime):
        return value + delta
    if isinstance(value, str):
        if value in replace:
            return replace[value]
        if _ISO.match(value):
            try:
                moved = datetime.fromisoformat(value) + delta
            except ValueError:
                return value
            return moved.isoformat()
        for old, new in replace.items():
            if old in value:
                value = value.replace(old, new)
    return value


def case_id_of(number):
    # The shape intake gives a case id: "case-" and 16 hex digits.
    return f"case-5eed{number:012x}"


def seed_url(number):
    return f"https://www.facebook.com/hp.seed/posts/{number}"


def seed_text(number, path):
    return (
        f"{TITLES[path]}: bài đăng kêu gọi chia sẻ thông tin và chuyển tiền, "
        f"số {number}"
    )


# --- seeding ----------------------------------------------------------------


class Seeder:
    """Writes stored cases into the intake and reporting databases."""

    def __init__(self, stack, intake_templates, templates, bands=False):
        self.client = make_client(stack.test_env.mongodb_uri)
        self.intake = get_database(
            self.client, database_name(stack.db_prefix, "intake")
        )
        self.reporting = get_database(
            self.client, database_name(stack.db_prefix, "reporting")
        )
        self.intake_templates = intake_templates
        self.templates = templates
        self.bands = bands
        self.rng = random.Random(5)
        self.months = months_back(datetime.now(UTC), MONTHS + 1)
        self.fixed_month = self.months[0]
        self.report_month = self.months[-1]
        self.spread = self.months[1:]
        self.stored = 0
        self.open_numbers = []
        self.counters = Counter()
        self.projection = None

    def prepare(self):
        """Indexes first, as the services declare them, so that starting a
        service on a full collection builds nothing."""
        apply_indexes(self.intake, {**BUS_INDEXES, **INTAKE_INDEXES})
        apply_indexes(self.reporting, {**BUS_INDEXES, **REPORTING_INDEXES})
        meta = self.reporting[PROJECTION_META].find_one({"_id": CURRENT_ID})
        generation = meta["generation"] if meta else 1
        self.projection = ProjectionSet(self.reporting, generation)
        self.projection.ensure_indexes()
        for doc in self.projection.counters.find():
            self.counters[doc["_id"]] = doc["n"]

    def grow_to(self, size, progress):
        plan = []
        if self.stored == 0:
            plan.append((self.fixed_month, FIXED_MONTH_CASES))
        task = progress.add_task(f"seeding to {size:,}", total=size - self.stored)
        numbers = range(self.stored, size)
        head = self._log_head()
        for start in range(0, len(numbers), CHUNK):
            chunk = numbers[start : start + CHUNK]
            head = self._write_chunk(
                [(number, self.spread[number % len(self.spread)]) for number in chunk],
                head,
            )
            progress.advance(task, len(chunk))
        for month, count in plan:
            first = 10**9 + self.stored
            head = self._write_chunk(
                [(first + offset, month) for offset in range(count)], head
            )
        self.stored = size
        self._finish(head)

    def _log_head(self):
        head = self.reporting[META_COLLECTION].find_one({"_id": HEAD_ID})
        return {"seq": head["seq"], "hash": head["hash"]} if head else None

    def _write_chunk(self, numbered, head):
        intake_cases, keys, boards, deadlines, entries = [], [], [], [], []
        seq = head["seq"] if head else 0
        last_hash = head["hash"] if head else GENESIS_HASH
        for number, (year, month) in numbered:
            case, board, records, activity = self._case(number, year, month)
            intake_cases.append(case)
            boards.append(board)
            self.counters.update(case_contributions(board))
            if board["state"] in OPEN_STATES:
                keys.extend(
                    {"_id": key, "case_id": case["_id"]} for key in case["keys"]
                )
                if number < 10**9:
                    self.open_numbers.append(number)
            if (year, month) in (self.report_month, self.fixed_month):
                deadlines.extend(records)
                self.counters.update(
                    sum((deadline_contributions(r) for r in records), Counter())
                )
                for entry in activity:
                    seq += 1
                    entry["_id"] = entry["seq"] = seq
                    entries.append(entry)
                    last_hash = entry["hash"]
        self.intake[CASES].insert_many(intake_cases, ordered=False)
        if keys:
            self.intake[DEDUP_KEYS].insert_many(keys, ordered=False)
        self.projection.board.insert_many(boards, ordered=False)
        if deadlines:
            self.projection.deadlines.insert_many(deadlines, ordered=False)
        if entries:
            self.reporting[LOG_COLLECTION].insert_many(entries, ordered=False)
        return {"seq": seq, "hash": last_hash} if seq else head

    def _case(self, number, year, month):
        template = self.templates.cases[number % len(self.templates.cases)]
        start, end = month_bounds(year, month)
        opened = start + timedelta(
            seconds=self.rng.uniform(0, (end - start).total_seconds() - 3 * 86400)
        )
        case_id = case_id_of(number)
        replace = {template["case_id"]: case_id}
        for index, record in enumerate(template["deadlines"]):
            replace[record["_id"]] = f"DL-{case_id[5:]}-{index}"
        delta = opened - template["board"]["opened_at"]

        board = stamp(template["board"], replace, delta)
        path = template["path"]
        title = None
        if board["title"] is not None:
            title = f"{TITLES[path]} tại {PLACES[number % len(PLACES)]} ({number})"
        board["title"] = title
        set_search(board, title or "")
        records = [stamp(r, replace, delta) for r in template["deadlines"]]
        activity = []
        for entry in template["activity"]:
            copy = stamp(entry, replace, delta)
            copy["event_id"] = copy["event"]["id"] = str(uuid.uuid4())
            activity.append(copy)

        return self._intake_case(number, board, path), board, records, activity

    def _intake_case(self, number, board, path):
        template = self.intake_templates[number % len(self.intake_templates)]
        url, text = seed_url(number), seed_text(number, path)
        keys = report_keys([{"url": url}], text)
        case = dict(template)
        item = dict(template["content_items"][0])
        item.update(url=url, canonical_url=url, captured_text=text)
        case.update(
            _id=board["case_id"],
            state=board["state"],
            state_at=board["state_at"] or board["opened_at"],
            opened_at=board["opened_at"],
            updated_at=board["state_at"] or board["opened_at"],
            title=board["title"] or template["title"],
            first_report_id=f"rpt-5eed{number:012x}",
            urls=[url],
            content_items=[item],
            text_key=text_key(text),
            keys=keys,
            classification=board["classification"] or template["classification"],
        )
        if self.bands:
            bits = self.rng.getrandbits
            case["minhash"] = [bits(32) for _ in range(128)]
            case["lsh"] = [f"{band}:{bits(64):016x}" for band in range(32)]
        else:
            case["minhash"], case["lsh"] = None, []
        return case

    def _finish(self, head):
        """Move the log head and the projector's cursor past the seeded
        entries (they are already on the board), and store the counters."""
        if head:
            self.reporting[META_COLLECTION].update_one(
                {"_id": HEAD_ID},
                {"$set": {**head, "updated_at": datetime.now(UTC)}},
                upsert=True,
            )
            self.reporting[PROJECTION_META].update_one(
                {"_id": CURRENT_ID},
                {
                    "$set": {"seq": head["seq"]},
                    "$setOnInsert": {
                        "generation": 1,
                        "next_generation": 2,
                        "shape": SHAPE,
                    },
                },
                upsert=True,
            )
        self.projection.counters.bulk_write(
            [
                UpdateOne({"_id": key}, {"$set": {"n": value}}, upsert=True)
                for key, value in self.counters.items()
            ]
        )

    def close(self):
        self.client.close()


def intake_templates(proxy, stack, count=INTAKE_TEMPLATES):
    """Real intake case documents: a few reports submitted through the
    service, read back from its database."""
    case_ids = []
    for number in range(count):
        path = PATHS[number % len(PATHS)]
        result = proxy.intake.submit_report(
            {
                "reporter": {"kind": "citizen"},
                "title": TITLES[path],
                "content_items": [
                    {
                        "url": f"https://www.facebook.com/hp.template/{number}",
                        "captured_text": seed_text(10**8 + number, path),
                    }
                ],
                "about": {"locality": PLACES[number], "text": TITLES[path]},
            },
            DIC,
        )
        case_ids.append(result["case_id"])
    # Let reporting log and project those events before it is stopped.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = proxy.reporting.log_status()
        if status["head"]["seq"] >= 2 * count and not status["projection"]["lag"]:
            break
        time.sleep(0.5)
    client = make_client(stack.test_env.mongodb_uri)
    try:
        db = get_database(client, database_name(stack.db_prefix, "intake"))
        return list(db[CASES].find({"_id": {"$in": case_ids}}))
    finally:
        client.close()


# --- measuring --------------------------------------------------------------


# An operation is repeated until ``--repeat`` or until it has taken this
# long: a scan of a million cases takes minutes a call.
BUDGET_SECONDS = 90


# CPU of the database and service processes, read around each operation.
METER = CpuMeter({})
CPU_OF = ("intake", "reporting", "database")


def timed(call, repeat, budget=BUDGET_SECONDS):
    values, result = [], None
    spent = 0.0
    while len(values) < repeat and (not values or spent < budget):
        started = time.perf_counter()
        result = call()
        values.append(time.perf_counter() - started)
        spent += values[-1]
    return values, result


def row(size, label, values, note="", cpu=None):
    """A table row; ``cpu`` is what ``METER.spent()`` read over the calls."""
    summary = Summary.of(values)
    per_call = [
        f"{cpu[name] * 1000 / len(values):.1f}" if cpu and name in cpu else "-"
        for name in CPU_OF
    ]
    return [
        f"{size:,}",
        label,
        str(summary.count),
        Summary.ms(summary.p50),
        Summary.ms(summary.p99),
        *per_call,
        note,
        f"{load_average():.1f}",
    ]


def measure_dedup(proxy, seeder, size, repeat):
    rows = []
    rng = random.Random(size)
    db = seeder.intake
    # A report's keys: its URL and its text (the text here is new).
    hits = [
        report_keys([{"url": seed_url(n)}], uuid.uuid4().hex)
        for n in rng.sample(seeder.open_numbers, min(200, len(seeder.open_numbers)))
    ]
    misses = [
        report_keys([{"url": f"https://example.org/n/{uuid.uuid4().hex}"}], "x")
        for _ in range(200)
    ]
    for label, key_sets in (("key lookup, found", hits), ("key lookup, new", misses)):
        values = []
        METER.begin()
        for keys in key_sets:
            started = time.perf_counter()
            list(db[DEDUP_KEYS].find({"_id": {"$in": keys}}))
            values.append(time.perf_counter() - started)
        cpu = METER.spent()
        rows.append(row(size, f"dedup: {label} (database)", values, cpu=cpu))

    count = max(repeat * 4, 20)
    joined = []
    outcomes = Counter()
    METER.begin()
    for number in rng.sample(seeder.open_numbers, min(count, len(seeder.open_numbers))):
        form = {
            "reporter": {"kind": "citizen"},
            "content_items": [
                {"url": seed_url(number), "captured_text": f"đăng lại lần {number}"}
            ],
        }
        values, result = timed(lambda f=form: proxy.intake.submit_report(f, DIC), 1)
        joined.extend(values)
        outcomes[result["outcome"]] += 1
    cpu = METER.spent()
    rows.append(
        row(size, "dedup: submit_report joining", joined, _outcomes(outcomes), cpu)
    )

    opened = []
    outcomes = Counter()
    METER.begin()
    for _ in range(count):
        number = rng.randrange(10**10, 10**11)
        form = {
            "reporter": {"kind": "citizen"},
            "content_items": [
                {"url": seed_url(number), "captured_text": seed_text(number, "scam")}
            ],
        }
        values, result = timed(lambda f=form: proxy.intake.submit_report(f, DIC), 1)
        opened.extend(values)
        outcomes[result["outcome"]] += 1
    cpu = METER.spent()
    rows.append(
        row(size, "dedup: submit_report opening", opened, _outcomes(outcomes), cpu)
    )
    return rows


def _outcomes(counter):
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()))


def measure_search(proxy, seeder, size, repeat):
    period = {
        "start": month_period(*seeder.months[-3]).first.isoformat(),
        "end": month_period(*seeder.report_month).last.isoformat(),
    }
    searches = {
        **SEARCHES,
        "text + state + agency + 3 months": {
            "text": "ngan hang",
            "state": ["closed", "resolved"],
            "agency": "police",
            "period": period,
        },
        "state + agency (no text)": {
            "state": ["verifying", "assigned", "handling"],
            "agency": "police",
        },
    }
    rows = []
    for label, filters in searches.items():
        query = {**filters, "page": 1, "page_size": 20}
        METER.begin()
        values, result = timed(lambda q=query: proxy.reporting.list_cases(q), repeat)
        cpu = METER.spent()
        note = f"{result['total']:,} found"
        rows.append(row(size, f"search: {label}", values, note, cpu))
    return rows


def measure_report(proxy, seeder, size, repeat):
    rows = []
    for label, (year, month) in (
        ("last month", seeder.report_month),
        (f"month of {FIXED_MONTH_CASES} cases", seeder.fixed_month),
    ):
        code = f"{year}-{month:02d}"
        start, end = month_bounds(year, month)
        cases = seeder.projection.board.count_documents(
            {"opened_at": {"$gte": start, "$lt": end}}
        )
        METER.begin()
        values, _ = timed(
            lambda c=code: proxy.reporting.generate_report(
                "month", period=c, actor=DIC
            ),
            max(1, min(repeat, 3)),
        )
        cpu = METER.spent()
        note = f"{cases:,} cases"
        rows.append(row(size, f"monthly report: {label} ({code})", values, note, cpu))
    return rows


def measure_size(stack, env, seeder, size, repeat):
    """Start the services on the stored cases, measure, stop them."""
    stack.start(timeout=600)
    rows = baseline_rows(env.amqp_uri, env.mongodb_uri, 50, 5)
    rows = [[f"{size:,}", *r[:4], "", "", "", "baseline", r[4]] for r in rows]
    server = getattr(env, "database_server", None)
    METER.pids = {
        "intake": stack.stack.read_pid("intake"),
        "reporting": stack.stack.read_pid("reporting"),
        "database": server.process.pid if server else None,
    }
    with ClusterRpcProxy(stack.config(), timeout=1800) as proxy:
        METER.begin()
        values, _ = timed(proxy.intake.health, 100)
        cpu = METER.spent()
        rows.append(row(size, "bare RPC (intake.health)", values, "baseline", cpu))
        rows += measure_dedup(proxy, seeder, size, repeat)
        rows += measure_search(proxy, seeder, size, repeat)
        rows += measure_report(proxy, seeder, size, repeat)
    stack.stop()
    return rows


# What a broker restarted under the benchmark (the machine's RabbitMQ is
# shared) looks like to it.
BROKER_LOST = (OSError, AMQPError, OperationalError, RpcTimeout, UnknownService)


def measure_with_retries(stack, env, seeder, size, repeat, attempts=3):
    """Measure a size again when the broker went away meanwhile: the
    stored cases are still there, only the measurement is lost."""
    for attempt in range(1, attempts + 1):
        try:
            return measure_size(stack, env, seeder, size, repeat)
        except BROKER_LOST as exc:
            if attempt == attempts:
                raise
            console.print(f"the broker went away ({exc!r}); measuring again")
            stack.stop()
            deadline = time.monotonic() + 600
            while check_rabbitmq(env.amqp_uri) and time.monotonic() < deadline:
                time.sleep(5)
    raise AssertionError("unreachable")


COLUMNS = (
    "stored cases",
    "operation",
    "n",
    "p50 ms",
    "p99 ms",
    *(f"{name} cpu ms" for name in CPU_OF),
    "note",
    "load",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bands", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(",") if size)

    load_all()
    configure_logging("bench", level="WARNING", force=True)
    quiet_amqp()
    env = TestEnvironment()
    workdir = tempfile.mkdtemp(prefix="phoihop-bench-scale-")
    stack = ServiceStack(
        env,
        workdir,
        services=["intake", "reporting"],
        extra_env={"PHOIHOP_REPORTS_DIR": f"{workdir}/reports"},
    )
    results = []
    seeder = None
    try:
        facts = machine(env.amqp_uri, env.mongodb_uri)
        print_machine(facts)
        console.print("building templates from the simulation and the intake service")
        templates = ReportingTemplates()
        stack.start(timeout=180)
        with ClusterRpcProxy(stack.config(), timeout=1800) as proxy:
            seeder = Seeder(
                stack, intake_templates(proxy, stack), templates, bands=args.bands
            )
        stack.stop()
        seeder.prepare()

        for size in sizes:
            started = time.monotonic()
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                seeder.grow_to(size, progress)
            seeded = time.monotonic() - started
            console.print(
                f"{size:,} cases stored; seeding took {seeded:.0f} s "
                f"({len(seeder.open_numbers):,} open)"
            )
            rows = measure_with_retries(stack, env, seeder, size, args.repeat)
            print_table(f"{size:,} stored cases", COLUMNS, rows)
            results.extend(rows)
        print_table("How the cost grows with stored cases", COLUMNS, results)
    finally:
        if seeder is not None:
            seeder.close()
        stack.stop()
        env.close()


if __name__ == "__main__":
    main()
