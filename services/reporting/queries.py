"""Reading the projections for the gateway: the case board, one case with its
timeline, the board's counts, per-agency workload and deadline compliance.

Everything returned is JSON-safe (datetimes as ISO strings in UTC). Case
content of classified cases never reaches here from the board (it keeps
only their metadata); their timeline, read from the log, is redacted unless
the caller says the viewer is cleared.
"""

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from phoihop.errors import NotFound
from phoihop.stream import redact_event

from . import labels
from .figures import compliance_counts, compliance_row
from .fold import WORD, fold_text
from .periods import local_midnight_utc

# Board fields shown in a list of cases.
LIST_FIELDS = {
    "case_id": 1,
    "title": 1,
    "state": 1,
    "previous_state": 1,
    "state_at": 1,
    "lead": 1,
    "agency_codes": 1,
    "categories": 1,
    "suggested_categories": 1,
    "channel": 1,
    "classification": 1,
    "classified": 1,
    "incident": 1,
    "severity": 1,
    "opened_at": 1,
    "last_event": 1,
    "next_due_at": 1,
    "overdue": 1,
    "report_count": 1,
}

OPEN_DEADLINE = ("open", "due_soon")


def jsonable(value):
    """Datetimes to ISO strings, recursively; other values unchanged."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items() if key != "versions"}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    return value


def case_query(filters):
    """The MongoDB query of loaded ``CaseFilterSchema`` filters."""
    query = {}
    if filters.get("state"):
        query["state"] = {"$in": list(filters["state"])}
    if filters.get("agency"):
        query["agency_codes"] = filters["agency"]
    if filters.get("category"):
        query["$or"] = [
            {"categories": filters["category"]},
            {"categories": [], "suggested_categories": filters["category"]},
        ]
    if filters.get("classification"):
        query["classification"] = filters["classification"]
    period = filters.get("period") or {}
    opened = {}
    if period.get("start"):
        opened["$gte"] = local_midnight_utc(period["start"])
    if period.get("end"):
        opened["$lt"] = local_midnight_utc(period["end"] + timedelta(days=1))
    if opened:
        query["opened_at"] = opened
    if filters.get("text"):
        query.update(text_query(filters["text"]))
    return query


def text_query(text):
    """Cases whose title or id holds ``text`` from the start of a word:
    "ngan hang" finds "Giả mạo ngân hàng", "gan hang" does not.

    Starting at a word makes every word of the text (the last one perhaps
    cut short) the beginning of a word of the case, so the board's word
    index narrows the search to the cases holding the longest of them;
    the phrase itself is then checked on those alone."""
    folded = fold_text(text).strip()
    phrase = re.escape(folded)
    if WORD.match(folded):
        phrase = f"(?:^|[^a-z0-9]){phrase}"
    query = {"search": {"$regex": phrase}}
    words = WORD.findall(folded)
    if words:
        longest = max(words, key=len)
        # Words are [a-z0-9]: "\x7f" sorts after every word they begin.
        query["search_words"] = {"$gte": longest, "$lt": longest + "\x7f"}
    return query


def list_cases(projection, filters):
    query = case_query(filters)
    page, size = filters["page"], filters["page_size"]
    total = projection.board.count_documents(query)
    cursor = (
        projection.board.find(query, LIST_FIELDS)
        .sort([("last_event.at", DESCENDING), ("_id", ASCENDING)])
        .skip((page - 1) * size)
        .limit(size)
    )
    return {
        "items": [jsonable(doc) for doc in cursor],
        "total": total,
        "page": page,
        "page_size": size,
    }


def timeline_item(entry, cleared):
    event = entry["event"] if cleared else redact_event(entry["event"])
    return {
        "seq": entry["seq"],
        "event_id": entry["event_id"],
        "type": entry["type"],
        "occurred_at": jsonable(entry["occurred_at"]),
        "recorded_at": jsonable(entry["recorded_at"]),
        "actor": event.get("actor"),
        "classification": entry.get("classification"),
        "payload": event.get("payload"),
        "redacted": bool(event.get("redacted")),
    }


def get_case(projection, event_log, case_id, cleared=False):
    doc = projection.board.find_one({"_id": case_id})
    if doc is None:
        raise NotFound(
            f"case {case_id} is not on the board",
            {"case_id": "no event of this case has been logged"},
        )
    case = jsonable(doc)
    case.pop("_id", None)
    case["timeline"] = [
        timeline_item(entry, cleared) for entry in event_log.case_timeline(case_id)
    ]
    return case


def _split(counts, prefix):
    return {
        key[len(prefix) :]: value
        for key, value in counts.items()
        if key.startswith(prefix) and ":" not in key[len(prefix) :]
    }


def _deadline_view(record, cases):
    case = cases.get(record.get("case_id")) or {}
    return {
        "deadline_id": record["deadline_id"],
        "case_id": record.get("case_id"),
        "title": case.get("title"),
        "kind": record.get("kind"),
        "kind_label": labels.deadline_kind(record.get("kind")),
        "owner_agency": record.get("owner_agency"),
        "due_at": jsonable(record.get("due_at")),
        "status": record.get("status"),
        "initial_info": record.get("initial_info", False),
    }


def _with_cases(projection, records):
    ids = list({record.get("case_id") for record in records if record.get("case_id")})
    cases = {}
    for start in range(0, len(ids), 100):
        for doc in projection.board.find(
            {"_id": {"$in": ids[start : start + 100]}}, {"title": 1}
        ):
            cases[doc["_id"]] = doc
    return [_deadline_view(record, cases) for record in records]


def overdue_query(now):
    """Deadlines past due and not met: fired as overdue, or due by the clock
    although the overdue event has not been logged yet."""
    return {
        "$or": [
            {"status": "overdue"},
            {"status": {"$in": list(OPEN_DEADLINE)}, "due_at": {"$lt": now}},
        ]
    }


def board_summary(projection, now, due_soon_hours, limit):
    counts = projection.counts()
    soon_query = {
        "status": {"$in": list(OPEN_DEADLINE)},
        "due_at": {"$gte": now, "$lt": now + timedelta(hours=due_soon_hours)},
    }
    due_soon = list(
        projection.deadlines.find(soon_query).sort("due_at", ASCENDING).limit(limit)
    )
    overdue = list(
        projection.deadlines.find(overdue_query(now))
        .sort("due_at", ASCENDING)
        .limit(limit)
    )
    agencies = defaultdict(dict)
    for key, value in counts.items():
        if key.startswith("agency:") and key.count(":") == 2:
            _, code, name = key.split(":")
            agencies[code][name] = value

    return {
        "generated_at": jsonable(now),
        "total": counts.get("total", 0),
        "open": counts.get("open", 0),
        "by_state": _split(counts, "state:"),
        "by_category": _split(counts, "category:"),
        "open_by_category": _split(counts, "category_open:"),
        "by_channel": _split(counts, "channel:"),
        "by_classification": _split(counts, "classification:"),
        "by_agency": {
            code: {
                "cases": values.get("cases", 0),
                "open": values.get("open", 0),
                "open_lead": values.get("open_lead", 0),
                "open_coordinating": values.get("open_coordinating", 0),
            }
            for code, values in sorted(agencies.items())
        },
        "due_soon_hours": due_soon_hours,
        "due_soon_count": projection.deadlines.count_documents(soon_query),
        "due_soon": _with_cases(projection, due_soon),
        "overdue_count": projection.deadlines.count_documents(overdue_query(now)),
        "overdue": _with_cases(projection, overdue),
    }


def agency_workload(projection, now, agency=None):
    counts = projection.counts()
    per_agency = defaultdict(lambda: {"by_state": {}})
    for key, value in counts.items():
        if not key.startswith("agency:"):
            continue
        _, code, rest = key.split(":", 2)
        if agency and code != agency:
            continue
        if rest.startswith("state:"):
            per_agency[code]["by_state"][rest[len("state:") :]] = value
        else:
            per_agency[code][rest] = value
    late_now = Counter()
    query = overdue_query(now)
    if agency:
        query = {"$and": [query, {"owner_agency": agency}]}
    for record in projection.deadlines.find(query, {"owner_agency": 1}):
        late_now[record.get("owner_agency")] += 1

    result = []
    for code in sorted(set(per_agency) | set(late_now)):
        values = per_agency[code]
        result.append(
            {
                "agency": code,
                "name": labels.agency(code),
                "cases": values.get("cases", 0),
                "open": values.get("open", 0),
                "open_lead": values.get("open_lead", 0),
                "open_coordinating": values.get("open_coordinating", 0),
                "by_state": {k: v for k, v in values["by_state"].items() if v},
                "measures_pending": values.get("measures_pending", 0),
                "measures_reported": values.get("measures_reported", 0),
                "deadlines_open": values.get("deadlines_open", 0)
                + values.get("deadlines_due_soon", 0),
                "deadlines_met": values.get("deadlines_met", 0),
                "deadlines_overdue": late_now.get(code, 0),
            }
        )
    return result


def deadline_compliance(projection, period, now, agency=None):
    query = {"due_at": {"$gte": period.start_utc, "$lt": period.end_utc}}
    if agency:
        query["owner_agency"] = agency
    records = list(projection.deadlines.find(query))
    by_kind = defaultdict(list)
    by_owner = defaultdict(list)
    for record in records:
        by_kind[record.get("kind") or "unknown"].append(record)
        by_owner[record.get("owner_agency")].append(record)

    def summary(items):
        counts = compliance_counts(items, now)
        row = compliance_row("", counts)
        return {
            "due": counts["due"],
            "on_time": counts["on_time"],
            "late": counts["late"],
            "missed": counts["missed"],
            "pending": counts["pending"],
            "cancelled": counts["cancelled"],
            "on_time_rate": row[-1],
        }

    initial = [record for record in records if record.get("initial_info")]
    initial_by_owner = defaultdict(list)
    for record in initial:
        initial_by_owner[record.get("owner_agency")].append(record)
    return {
        "period": period.to_dict(),
        "agency": agency,
        "total": summary(records),
        "by_kind": {kind: summary(items) for kind, items in sorted(by_kind.items())},
        "by_agency": {
            code: summary(items) for code, items in sorted(by_owner.items(), key=str)
        },
        "initial_info": {
            "total": summary(initial),
            "by_agency": {
                code: summary(items)
                for code, items in sorted(initial_by_owner.items(), key=str)
            },
        },
    }
