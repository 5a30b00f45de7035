"""Benchmark: rebuilding the projections from the event log, and a month's
report over a month of cases.

Run: .venv/bin/python tests/bench/bench_reporting.py [--scale 1.0] [--skip-verify]

At scale 1 the log is filled, directly in the database, with 1,000,000
hash-chained entries of scripted case lifecycles (``services.reporting
.simulation``) and then indexed, as a bulk load would be; the projections
are rebuilt from them and timed. More cases
are then logged until 100,000 cases were opened in November 2026, the live
projector catches up, and the month's report (figures, Word document with
charts, Excel workbook) is generated and timed. The hash chain of the whole
log is verified last. ``--scale 0.01`` gives a quick run (10,000 entries,
1,000 cases).

Entries are written a chunk of cases at a time, each chunk in time order, as
if the cases of a chunk had arrived together; a real log interleaves cases
over weeks. The database is ``MONGODB_URI`` if set, else a SecantusDB
started for the run. A baseline, measured in the same run on the same
database, gives the bare speed of inserting and reading plain documents.
"""

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from phoihop.contracts import load_all
from phoihop.logging import configure_logging
from phoihop.store import apply_indexes, get_database, make_client
from phoihop.testing import SecantusServer
from services.reporting.eventlog import (
    GENESIS_HASH,
    HEAD_ID,
    INDEXES,
    LOG_COLLECTION,
    META_COLLECTION,
    EventLog,
    make_entry,
    verify,
)
from services.reporting.figures import ReportSources
from services.reporting.generator import generate
from services.reporting.periods import parse_period
from services.reporting.projections import Projector
from services.reporting.service import ReportingSettings
from services.reporting.simulation import simulate, start_of_month

REBUILD_ENTRIES = 1_000_000
REPORT_CASES = 100_000
CHUNK_CASES = 2_000
# Entries a scripted case gives on average (simulation.PATHS).
ENTRIES_PER_CASE = 14.6
INSERT_BATCH = 5_000
BASELINE_DOCS = 100_000


class Timer:
    def __init__(self):
        self.rows = []

    def measure(self, label, count, unit, action):
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
        self.add(label, count, unit, seconds)
        return result

    def add(self, label, count, unit, seconds):
        # Each step is also printed as it ends: a long run shows its progress.
        self.rows.append((label, count, unit, seconds))
        print(f"  {label}: {count:,} {unit} in {seconds:,.1f} s", flush=True)


class LogFiller:
    """Appends hash-chained entries straight into the log collection."""

    def __init__(self, db):
        self.db = db
        self.seq = 0
        self.hash = GENESIS_HASH
        self.cases = 0
        self.next_index = 0

    def add_cases(self, count, seed):
        """Log the events of ``count`` more cases opened in November 2026."""
        recorded = datetime.now(UTC)
        batch = []
        events = simulate(
            count,
            start_of_month(2026, 11),
            days=29,
            seed=seed,
            first_index=self.next_index,
        )
        for event in events:
            self.seq += 1
            entry = make_entry(event.envelope, self.seq, self.hash, recorded)
            self.hash = entry["hash"]
            batch.append(entry)
            if len(batch) >= INSERT_BATCH:
                self.db[LOG_COLLECTION].insert_many(batch, ordered=False)
                batch = []
        if batch:
            self.db[LOG_COLLECTION].insert_many(batch, ordered=False)
        self.db[META_COLLECTION].replace_one(
            {"_id": HEAD_ID},
            {
                "_id": HEAD_ID,
                "seq": self.seq,
                "hash": self.hash,
                "updated_at": recorded,
            },
            upsert=True,
        )
        self.cases += count
        self.next_index += count
        return len(events)

    def fill_until(self, entries=None, cases=None):
        added = 0
        while True:
            if entries is not None and self.seq < entries:
                needed = int((entries - self.seq) / ENTRIES_PER_CASE) + 1
            elif cases is not None and self.cases < cases:
                needed = cases - self.cases
            else:
                return added
            size = max(10, min(CHUNK_CASES, needed))
            added += self.add_cases(size, seed=1000 + self.next_index)


def baseline(db, count):
    docs = [{"_id": index, "n": index, "text": "x" * 400} for index in range(count)]
    started = time.perf_counter()
    for start in range(0, count, INSERT_BATCH):
        db.baseline.insert_many(docs[start : start + INSERT_BATCH], ordered=False)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    read = sum(1 for _ in db.baseline.find({}, batch_size=INSERT_BATCH))
    found = time.perf_counter() - started
    db.baseline.drop()
    return inserted, found, read


def run(scale, skip_verify, database_uri):
    rebuild_entries = max(1_000, int(REBUILD_ENTRIES * scale))
    report_cases = max(100, int(REPORT_CASES * scale))
    client = make_client(database_uri)
    db = get_database(client, f"bench{int(time.time())}_reporting")
    timer = Timer()
    reports_dir = Path(tempfile.mkdtemp(prefix="phoihop-bench-reports-"))

    inserted, found, read = baseline(db, max(1_000, int(BASELINE_DOCS * scale)))
    timer.add("baseline: insert plain documents", read, "documents", inserted)
    timer.add("baseline: read plain documents", read, "documents", found)

    filler = LogFiller(db)
    started = time.perf_counter()
    filler.fill_until(entries=rebuild_entries)
    timer.add(
        "fill the log (simulate, hash, insert)",
        filler.seq,
        "entries",
        time.perf_counter() - started,
    )
    # As a bulk load does: the log's indexes are built once it is filled.
    timer.measure(
        "index the log", filler.seq, "entries", lambda: apply_indexes(db, INDEXES)
    )
    projector = Projector(db, EventLog(db))
    result = timer.measure(
        "rebuild projections from the log",
        filler.seq,
        "entries",
        lambda: projector.rebuild(switch=True),
    )
    rebuilt = (result.cases, result.deadlines)

    before = filler.seq
    timer.measure(
        "fill the log up to the month's cases",
        report_cases,
        "cases",
        lambda: filler.fill_until(cases=report_cases),
    )
    applied = timer.measure(
        "live projector catches up",
        filler.seq - before,
        "entries",
        projector.catch_up,
    )
    assert applied == filler.seq - before, (applied, filler.seq - before)

    period = parse_period("month", "2026-11")
    settings = ReportingSettings().load({"reports_dir": str(reports_dir)})
    head = EventLog(db).head().to_dict()
    data, record = timer.measure(
        "month report: figures, .docx with charts, .xlsx",
        report_cases,
        "cases",
        lambda: generate(
            ReportSources(EventLog(db), projector.projection()),
            period,
            settings,
            log_head=head,
        ),
    )
    if not skip_verify:
        checked = timer.measure(
            "verify the hash chain", filler.seq, "entries", lambda: verify(db)
        )
        assert checked.ok, checked.to_dict()

    console = Console()
    table = Table(title=f"Reporting benchmark (scale {scale})")
    for column in ("step", "count", "unit", "seconds", "per second"):
        table.add_column(
            column, justify="left" if column in ("step", "unit") else "right"
        )
    for label, count, unit, seconds in timer.rows:
        table.add_row(
            label, f"{count:,}", unit, f"{seconds:,.1f}", f"{count / seconds:,.0f}"
        )
    console.print(table)
    console.print(
        f"log: {filler.seq:,} entries, {filler.cases:,} cases; rebuilt board "
        f"{rebuilt[0]:,} cases, {rebuilt[1]:,} deadlines; report counted "
        f"{data.totals['cases_received']:,} cases received in {period.label}; "
        "files: "
        + ", ".join(
            f"{item['format']} {item['size_bytes']:,} B" for item in record["files"]
        )
    )

    client.drop_database(db.name)
    client.close()
    shutil.rmtree(reports_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="1.0: 1,000,000 entries and 100,000 cases",
    )
    parser.add_argument(
        "--skip-verify",
        action="store_true",
        help="do not time the verification of the hash chain",
    )
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", force=True)
    load_all()

    server = None
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = SecantusServer().start()
        uri = server.uri
    try:
        run(args.scale, args.skip_verify, uri)
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
