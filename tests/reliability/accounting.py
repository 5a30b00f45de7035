"""Counting what a load left behind: cases, deliveries, queues.

The truth about what was published is the outbox of every service (each
record is an event and the routing key it went out under, marked sent by
the relay). From it and each adapter's bindings follows the set of events
every adapter must have delivered; the JSON-lines files the adapters wrote
say what they did deliver, and their ledgers which events they declined
(``ignored``). Reports and cases are read from the intake database and
compared with the reporting service's board.
"""

import json
import sqlite3
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from phoihop.adapters.topology import topic_matches
from phoihop.constants import OUTBOX_COLLECTION
from phoihop.stack import available_services

NEVER_DELIVERED_PREFIX = "adapter."


@dataclass
class Deliveries:
    expected: int = 0
    delivered: int = 0
    ignored: int = 0
    duplicates: int = 0
    lost: int = 0
    unexpected: int = 0
    per_adapter: dict = field(default_factory=dict)
    lost_examples: list = field(default_factory=list)
    duplicate_examples: list = field(default_factory=list)


@dataclass
class Cases:
    expected: int = 0
    found: int = 0
    reports_sent: int = 0
    reports_stored: int = 0
    missing: list = field(default_factory=list)
    doubled: list = field(default_factory=list)
    split_groups: list = field(default_factory=list)
    shared_cases: list = field(default_factory=list)
    case_ids: list = field(default_factory=list)


def outbox_records(stack, since):
    """(service, record) of every outbox record written since ``since``."""
    records = []
    for service in available_services():
        outbox = stack.database(service)[OUTBOX_COLLECTION]
        for record in outbox.find(
            {"created_at": {"$gte": since}},
            {"event_id": 1, "routing_key": 1, "envelope.type": 1, "sent_at": 1},
        ):
            records.append((service, record))
    return records


def unsent(stack):
    """Outbox records not yet published, per service."""
    counts = {}
    for service in available_services():
        count = stack.database(service)[OUTBOX_COLLECTION].count_documents(
            {"sent_at": None}
        )
        if count:
            counts[service] = count
    return counts


def pending_deliveries(stack, remote_ledgers):
    """Deliveries adapters took and have not finished, per adapter."""
    counts = Counter()
    for doc in stack.database("adapters")["deliveries"].find(
        {"state": "pending"}, {"adapter": 1}
    ):
        counts[doc["adapter"]] += 1
    for path in remote_ledgers:
        for adapter, count in _sqlite(
            path,
            "SELECT adapter, COUNT(*) FROM deliveries WHERE state = 'pending' "
            "GROUP BY adapter",
        ):
            counts[f"{adapter} (remote)"] += count
    return dict(counts)


def _sqlite(path, query):
    if not path.exists():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def wait_until_quiet(stack, remote_ledgers, timeout, settle_polls=3):
    """Wait until nothing is left to do: no unsent outbox record, no message
    in any queue (ready or unacknowledged) and no pending delivery, three
    polls in a row. Returns (seconds waited, what was still left)."""
    started = time.monotonic()
    quiet = 0
    left = {}
    last_report = started
    while time.monotonic() - started < timeout:
        left = {
            "outbox": unsent(stack),
            "queues": stack.backlog(),
            "deliveries": pending_deliveries(stack, remote_ledgers),
        }
        if any(left.values()):
            quiet = 0
            if time.monotonic() - last_report >= 20:
                print(f"  waiting: {left}")
                last_report = time.monotonic()
        else:
            quiet += 1
            if quiet >= settle_polls:
                return time.monotonic() - started, {}
        time.sleep(1.0)
    return time.monotonic() - started, {name: v for name, v in left.items() if v}


def count_cases(stack, corpus, outcomes):
    """Every report of ``corpus`` stored once, in the one case of its group."""
    result = Cases(expected=corpus.groups, reports_sent=len(outcomes))
    group_of = {report.key: report.group for report in corpus.reports}
    stored = Counter()
    cases_of_group = defaultdict(set)
    groups_of_case = defaultdict(set)
    reports = stack.database("intake")["reports"]
    for doc in reports.find(
        {"idempotency_key": {"$in": list(group_of)}},
        {"idempotency_key": 1, "case_id": 1},
    ):
        key = doc["idempotency_key"]
        stored[key] += 1
        cases_of_group[group_of[key]].add(doc["case_id"])
        groups_of_case[doc["case_id"]].add(group_of[key])
    result.reports_stored = sum(stored.values())
    result.missing = sorted(key for key in group_of if stored[key] == 0)
    result.doubled = sorted(key for key, count in stored.items() if count > 1)
    result.split_groups = sorted(
        group for group, cases in cases_of_group.items() if len(cases) > 1
    )
    result.shared_cases = sorted(
        case for case, groups in groups_of_case.items() if len(groups) > 1
    )
    result.found = len(groups_of_case)
    result.case_ids = sorted(groups_of_case)
    return result


def read_lines(folders, since):
    """(adapter, event id) of every JSON line written since ``since``."""
    lines = []
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            with open(path, encoding="utf-8") as stream:
                for text in stream:
                    if not text.strip():
                        continue
                    line = json.loads(text)
                    written = datetime.fromisoformat(line["written_at"])
                    if written >= since:
                        lines.append((line["adapter"], line["event"]["id"]))
    return lines


def ignored(stack, remote_ledgers):
    """(adapter, event id) the adapters' ledgers record as declined."""
    found = set()
    for doc in stack.database("adapters")["deliveries"].find(
        {"state": "ignored"}, {"adapter": 1, "event_id": 1}
    ):
        found.add((doc["adapter"], doc["event_id"]))
    for path in remote_ledgers:
        found.update(
            _sqlite(
                path, "SELECT adapter, event_id FROM deliveries WHERE state='ignored'"
            )
        )
    return found


def count_deliveries(stack, bindings, folders, remote_ledgers, since):
    """Each published event against each adapter whose bindings match one
    of its routing keys: delivered exactly once, or declined by it."""
    keys_of_event = defaultdict(set)
    for _, record in outbox_records(stack, since):
        event_type = record["envelope"]["type"]
        if event_type.startswith(NEVER_DELIVERED_PREFIX):
            continue
        keys_of_event[record["event_id"]].add(record["routing_key"])

    expected = {
        adapter: {
            event_id
            for event_id, keys in keys_of_event.items()
            if any(topic_matches(p, key) for p in patterns for key in keys)
        }
        for adapter, patterns in bindings.items()
    }
    written = Counter(read_lines(folders, since))
    declined = ignored(stack, remote_ledgers)

    result = Deliveries()
    for adapter, events in sorted(expected.items()):
        delivered = {e for (a, e) in written if a == adapter}
        skipped = {e for (a, e) in declined if a == adapter and e in events}
        lost = events - delivered - skipped
        extra = delivered - events
        doubled = {e: n for (a, e), n in written.items() if a == adapter and n > 1}
        result.per_adapter[adapter] = {
            "expected": len(events),
            "delivered": len(delivered & events),
            "ignored": len(skipped),
            "duplicates": sum(n - 1 for n in doubled.values()),
            "lost": len(lost),
            "unexpected": len(extra),
        }
        result.lost_examples += [(adapter, e) for e in sorted(lost)[:3]]
        result.duplicate_examples += [(adapter, e) for e in sorted(doubled)[:3]]
    for counts in result.per_adapter.values():
        result.expected += counts["expected"]
        result.delivered += counts["delivered"]
        result.ignored += counts["ignored"]
        result.duplicates += counts["duplicates"]
        result.lost += counts["lost"]
        result.unexpected += counts["unexpected"]
    return result


def dead_letters(depths):
    return {name: count for name, count in depths.items() if name.endswith(".dlq")}


def print_table(title, rows):
    """A small two-column table on stdout (pytest -s, or the captured
    output of a failing test)."""
    width = max(len(str(name)) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 14))
    for name, value in rows:
        print(f"{str(name):<{width}}  {value:>10}")
    print("-" * (width + 14))
