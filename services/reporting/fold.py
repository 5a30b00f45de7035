"""How one log entry changes the case board and the deadline records.

Pure functions over plain dicts, shared by the live projection and the
rebuild, so both give the same board from the same log. They tolerate what
they do not know: an event type they have no rule for only moves the case's
last event; a payload field they do not read is ignored; an event that
arrives before the one that opened its case is applied all the same.

Where two events set the same field (the categories from triage and then
from assignment, the lead before and after a transfer), the one that
occurred last wins, whatever order they arrived in: each such field keeps
the time and log position of the event that set it.

Classified cases (Art. 4 of 664/QĐ-UBND: protect state secrets): the board
keeps only metadata, never the title or any text of their content.
"""

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime

from phoihop.cases import STATES, is_open
from phoihop.stream import CLASSIFIED_LEVELS

from .eventlog import to_millis

# Kinds of deadline that are the 2-hour initial information of Art. 7.6.d.
INITIAL_INFO_KIND = "initial_info"

DEADLINE_STATUSES = ("open", "due_soon", "overdue", "met", "cancelled")

_LEVELS = ("public", "internal", "confidential", "secret")


def fold_text(text):
    """Lower case without diacritics, so "ha noi" finds "Hà Nội"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", str(text))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))

    return stripped.replace("đ", "d").replace("Đ", "D").lower()


# A word of a folded text: what the board's word index holds.
WORD = re.compile(r"[a-z0-9]+")


def search_words(search):
    """The distinct words of a folded search text. The board indexes them
    so that a text search reads only the cases holding one of its words
    instead of every case (a regular expression cannot use an index)."""
    return sorted(set(WORD.findall(search)))


def set_search(doc, title):
    doc["search"] = f"{fold_text(title)} {fold_text(doc['case_id'])}".strip()
    doc["search_words"] = search_words(doc["search"])


def parse_time(value):
    """An ISO string or datetime as an aware UTC datetime to the millisecond."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_millis(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)

    return to_millis(parsed)


def is_classified(level):
    return level in CLASSIFIED_LEVELS


def new_case(case_id):
    doc = {
        "_id": case_id,
        "case_id": case_id,
        "title": None,
        "classification": None,
        "classified": False,
        "channel": None,
        "channels": [],
        "report_count": 0,
        "state": None,
        "previous_state": None,
        "state_at": None,
        "transitions": [],
        "opened_at": None,
        "categories": [],
        "suggested_categories": [],
        "legal_basis": [],
        "sector": None,
        "locality": None,
        "incident": False,
        "journalists_involved": False,
        "severity": None,
        "lead": None,
        "agencies": [],
        "agency_codes": [],
        "responsible_agencies": [],
        "flags": [],
        "escalations": [],
        "appraisal": None,
        "decision": None,
        "measures": [],
        "consultations": [],
        "opinions": 0,
        "deadlines": [],
        "next_due_at": None,
        "overdue": False,
        "merged_into": None,
        "last_event": None,
        "event_count": 0,
        "versions": {},
    }
    set_search(doc, "")
    return doc


def _is_later(doc, key, at, seq):
    """Whether an event at ``(at, seq)`` is at least as late as the one that
    last set ``key``; if so, record it as the setter."""
    version = doc["versions"].get(key)
    if version is not None and (version["at"], version["seq"]) > (at, seq):
        return False
    doc["versions"][key] = {"at": at, "seq": seq}

    return True


def _add_unique(values, value):
    """Add to a sorted list of distinct values (the order of arrival must not
    show in the result)."""
    if value and value not in values:
        values.append(value)
        values.sort()


def _agency_list(items):
    """``agencies`` of routing events: dicts with agency and role, or codes."""
    result = []
    for item in items or ():
        if isinstance(item, dict) and item.get("agency"):
            result.append({"agency": item["agency"], "role": item.get("role")})
        elif isinstance(item, str):
            result.append({"agency": item, "role": None})
    return result


def _set_classification(doc, level, at, seq):
    if level not in _LEVELS:
        return
    if _is_later(doc, "classification", at, seq):
        doc["classification"] = level


def _set_categories(doc, categories, at, seq):
    if isinstance(categories, list) and _is_later(doc, "categories", at, seq):
        doc["categories"] = sorted({str(item) for item in categories if item})


def _set_plain(doc, payload, keys, at, seq):
    for key in keys:
        if key in payload and _is_later(doc, key, at, seq):
            doc[key] = payload[key]


def _set_assignment(doc, payload, at, seq):
    if not _is_later(doc, "assignment", at, seq):
        return
    if payload.get("lead"):
        doc["lead"] = payload["lead"]
    elif payload.get("to_agency"):
        doc["lead"] = payload["to_agency"]
    if "agencies" in payload:
        doc["agencies"] = _agency_list(payload["agencies"])
        if doc["lead"]:
            for item in doc["agencies"]:
                if item["agency"] == doc["lead"]:
                    item["role"] = "lead"
                elif item["role"] == "lead":
                    item["role"] = "coordinating"


def _record_transition(doc, payload, entry, at, seq):
    state = payload.get("state")
    if state not in STATES:
        return
    doc["transitions"].append(
        {
            "state": state,
            "previous_state": payload.get("previous_state"),
            "at": at,
            "seq": seq,
            "type": entry["type"],
        }
    )
    doc["transitions"].sort(key=lambda item: (item["at"], item["seq"]))
    last = doc["transitions"][-1]
    doc["state"] = last["state"]
    doc["state_at"] = last["at"]
    if len(doc["transitions"]) > 1:
        doc["previous_state"] = doc["transitions"][-2]["state"]
    else:
        doc["previous_state"] = last["previous_state"]


def _find(items, key, value):
    for item in items:
        if item.get(key) == value:
            return item
    return None


def _upsert_measure(doc, payload, at, seq, decision_id=None):
    measure_id = payload.get("measure_id")
    if not measure_id:
        return None
    measure = _find(doc["measures"], "measure_id", measure_id)
    if measure is None:
        measure = {
            "measure_id": measure_id,
            "decision_id": decision_id,
            "kind": None,
            "agency": None,
            "due_at": None,
            "result": None,
            "reported_at": None,
            "late": None,
            "revision": 0,
        }
        doc["measures"].append(measure)
        doc["measures"].sort(key=lambda item: item["measure_id"])
    for key in ("kind", "agency"):
        if payload.get(key):
            measure[key] = payload[key]
    if payload.get("due_at"):
        measure["due_at"] = parse_time(payload["due_at"])
    if payload.get("decision_id") or decision_id:
        measure["decision_id"] = payload.get("decision_id") or decision_id

    return measure


def _apply_case_specific(doc, entry, payload, at, seq):
    kind = entry["type"]
    if kind == "case.opened":
        doc["opened_at"] = at
        if payload.get("channel"):
            doc["channel"] = payload["channel"]
        _add_unique(doc["channels"], payload.get("channel"))
        doc["report_count"] += 1
        if "title" in payload and _is_later(doc, "title", at, seq):
            doc["title"] = payload.get("title")
        if isinstance(payload.get("suggested_categories"), list):
            doc["suggested_categories"] = sorted(set(payload["suggested_categories"]))
        _set_classification(
            doc, payload.get("classification") or entry.get("classification"), at, seq
        )
        about = payload.get("about") if isinstance(payload.get("about"), dict) else {}
        _set_plain(doc, about, ("sector", "locality"), at, seq)
        _set_plain(doc, payload, ("incident", "severity"), at, seq)
    elif kind == "case.report_attached":
        _add_unique(doc["channels"], payload.get("channel"))
        doc["report_count"] += 1
    elif kind == "case.merged":
        doc["merged_into"] = payload.get("into_case_id")
    elif kind == "case.triaged":
        _set_categories(doc, payload.get("categories"), at, seq)
        _set_classification(
            doc, payload.get("classification") or entry.get("classification"), at, seq
        )
        _set_plain(
            doc,
            payload,
            ("sector", "locality", "incident", "journalists_involved", "severity"),
            at,
            seq,
        )
    elif kind == "case.assigned":
        _set_assignment(doc, payload, at, seq)
        _set_categories(doc, payload.get("categories"), at, seq)
        if isinstance(payload.get("responsible_agencies"), list):
            doc["responsible_agencies"] = sorted(set(payload["responsible_agencies"]))
        if isinstance(payload.get("flags"), list):
            doc["flags"] = sorted(set(doc["flags"]) | set(payload["flags"]))
        _set_plain(
            doc, payload, ("sector", "locality", "incident", "severity"), at, seq
        )
    elif kind in ("case.assignment_changed", "case.lead_transferred"):
        _set_assignment(doc, payload, at, seq)
    elif kind == "case.escalated":
        escalation_id = payload.get("escalation_id") or entry["event_id"]
        record = _find(doc["escalations"], "escalation_id", escalation_id)
        if record is None:
            record = {
                "escalation_id": escalation_id,
                "outcome": None,
                "answered_at": None,
            }
            doc["escalations"].append(record)
        record.update(
            {"to": payload.get("to"), "article": payload.get("article"), "at": at}
        )
        doc["escalations"].sort(
            key=lambda item: (item["at"] or at, item["escalation_id"])
        )
    elif kind == "case.escalation_answered":
        escalation_id = payload.get("escalation_id")
        record = _find(doc["escalations"], "escalation_id", escalation_id)
        if record is None:
            record = {
                "escalation_id": escalation_id,
                "to": payload.get("to"),
                "article": None,
                "at": None,
            }
            doc["escalations"].append(record)
        record.update({"outcome": payload.get("outcome"), "answered_at": at})
    elif kind in ("consultation.opened", "meeting.convened"):
        _add_unique(
            doc["consultations"],
            payload.get("consultation_id") or payload.get("meeting_id"),
        )
    elif kind == "consultation.opinion_submitted":
        doc["opinions"] += 1
    elif kind == "case.appraised":
        if _is_later(doc, "appraisal", at, seq):
            doc["appraisal"] = {
                "appraisal_id": payload.get("appraisal_id"),
                "outcome": payload.get("outcome"),
                "legal_basis": list(payload.get("legal_basis") or []),
                "at": at,
            }
            doc["legal_basis"] = list(payload.get("legal_basis") or [])
    elif kind == "case.decided":
        if _is_later(doc, "decision", at, seq):
            doc["decision"] = {
                "decision_id": payload.get("decision_id"),
                "legal_basis": list(payload.get("legal_basis") or []),
                "measure_count": len(payload.get("measures") or []),
                "at": at,
            }
        for item in payload.get("measures") or []:
            if isinstance(item, dict):
                _upsert_measure(doc, item, at, seq, payload.get("decision_id"))
    elif kind == "measure.assigned":
        _upsert_measure(doc, payload, at, seq)
    elif kind == "measure.reported":
        measure = _upsert_measure(doc, payload, at, seq)
        revision = payload.get("revision") or 1
        if measure is not None and revision >= measure["revision"]:
            measure.update(
                {
                    "result": payload.get("result"),
                    "reported_at": at,
                    "late": payload.get("late"),
                    "revision": revision,
                }
            )


def _refresh_derived(doc):
    codes = set()
    if doc["lead"]:
        codes.add(doc["lead"])
    codes.update(item["agency"] for item in doc["agencies"])
    codes.update(item["agency"] for item in doc["measures"] if item.get("agency"))
    codes.update(doc["responsible_agencies"])
    doc["agency_codes"] = sorted(codes)

    doc["classified"] = is_classified(doc["classification"])
    if doc["classified"]:
        # Only metadata of a classified case is kept on the board.
        doc["title"] = None
    set_search(doc, doc["title"] or "")

    pending = [
        item["due_at"]
        for item in doc["deadlines"]
        if item["status"] in ("open", "due_soon", "overdue") and item.get("due_at")
    ]
    doc["next_due_at"] = min(pending) if pending else None
    doc["overdue"] = any(item["status"] == "overdue" for item in doc["deadlines"])


def apply_to_case(doc, entry):
    """Apply one log entry to a case board document (changed in place)."""
    event = entry["event"]
    payload = event.get("payload") or {}
    at = entry["occurred_at"]
    seq = entry["seq"]

    doc["event_count"] += 1
    last = doc["last_event"]
    if last is None or (last["at"], last["seq"]) <= (at, seq):
        doc["last_event"] = {
            "event_id": entry["event_id"],
            "type": entry["type"],
            "at": at,
            "seq": seq,
            "agency": (event.get("actor") or {}).get("agency"),
        }
    level = entry.get("classification")
    if "classification" not in doc["versions"] and level in _LEVELS:
        # Until the case's own classification is known (case.opened or
        # triage), take the most restrictive level seen on its events.
        current = doc["classification"]
        if current is None or _LEVELS.index(level) > _LEVELS.index(current):
            doc["classification"] = level

    _apply_case_specific(doc, entry, payload, at, seq)
    _record_transition(doc, payload, entry, at, seq)

    deadline_id = deadline_id_of(entry)
    if deadline_id:
        record = _find(doc["deadlines"], "deadline_id", deadline_id)
        if record is None:
            record = new_deadline(deadline_id)
            doc["deadlines"].append(record)
            doc["deadlines"].sort(key=lambda item: item["deadline_id"])
        apply_to_deadline(record, entry)
        record.pop("_id", None)
    _refresh_derived(doc)

    return doc


# Deadlines ---------------------------------------------------------------


def deadline_id_of(entry):
    """The deadline an entry is about, if any."""
    kind = entry["type"]
    payload = (entry["event"].get("payload")) or {}
    if kind.startswith("deadline.") or kind in (
        "press.initial_info_due",
        "press.initial_info_overdue",
    ):
        return payload.get("deadline_id")
    if kind == "press.statement_distributed":
        record = payload.get("initial_info")
        if isinstance(record, dict):
            return record.get("deadline_id")
    return None


def new_deadline(deadline_id):
    return {
        "_id": deadline_id,
        "deadline_id": deadline_id,
        "case_id": None,
        "kind": None,
        "initial_info": False,
        "owner_agency": None,
        "due_at": None,
        "started_at": None,
        "subject": None,
        "severity": None,
        "article": None,
        "status": "open",
        "due_soon_at": None,
        "overdue_at": None,
        "met_at": None,
        "cancelled_at": None,
        "late": None,
        "on_time": None,
        "versions": {},
    }


def _earliest(current, candidate):
    if candidate is None:
        return current
    return candidate if current is None or candidate < current else current


def _deadline_status(record):
    if record["cancelled_at"] and not record["met_at"]:
        return "cancelled"
    if record["met_at"]:
        return "met"
    if record["overdue_at"]:
        return "overdue"
    if record["due_soon_at"]:
        return "due_soon"
    return "open"


def apply_to_deadline(record, entry):
    """Apply a ``deadline.*`` or ``press.*`` entry to a deadline record."""
    kind = entry["type"]
    payload = entry["event"].get("payload") or {}
    at = entry["occurred_at"]
    seq = entry["seq"]
    if entry.get("case_id"):
        record["case_id"] = entry["case_id"]

    if kind.startswith("deadline."):
        if _is_later(record, "definition", at, seq):
            for key in ("severity", "article"):
                if payload.get(key) is not None:
                    record[key] = payload[key]
            if payload.get("kind"):
                record["kind"] = payload["kind"]
            if payload.get("owner_agency"):
                record["owner_agency"] = payload["owner_agency"]
            if payload.get("due_at"):
                record["due_at"] = parse_time(payload["due_at"])
            if isinstance(payload.get("subject"), dict):
                record["subject"] = dict(payload["subject"])
        if payload.get("started_at"):
            record["started_at"] = parse_time(payload["started_at"])
        # The earliest of each firing counts, whatever order they arrive in.
        if kind == "deadline.due_soon":
            record["due_soon_at"] = _earliest(record["due_soon_at"], at)
        elif kind == "deadline.overdue":
            fired = parse_time(payload.get("fired_at")) or at
            record["overdue_at"] = _earliest(record["overdue_at"], fired)
        elif kind == "deadline.met":
            record["met_at"] = _earliest(
                record["met_at"], parse_time(payload.get("met_at")) or at
            )
            if "late" in payload:
                record["late"] = bool(payload["late"])
        elif kind == "deadline.cancelled":
            record["cancelled_at"] = _earliest(
                record["cancelled_at"], parse_time(payload.get("cancelled_at")) or at
            )
    elif kind == "press.initial_info_due":
        record["initial_info"] = True
        record["kind"] = record["kind"] or INITIAL_INFO_KIND
        record["owner_agency"] = payload.get("agency") or record["owner_agency"]
        record["started_at"] = parse_time(payload.get("started_at"))
        record["due_at"] = parse_time(payload.get("due_at")) or record["due_at"]
        record["article"] = payload.get("article") or "7.6.d"
    elif kind == "press.initial_info_overdue":
        record["initial_info"] = True
        record["kind"] = record["kind"] or INITIAL_INFO_KIND
        record["owner_agency"] = record["owner_agency"] or payload.get("agency")
        record["due_at"] = record["due_at"] or parse_time(payload.get("due_at"))
        record["overdue_at"] = _earliest(record["overdue_at"], at)
    elif kind == "press.statement_distributed":
        given = payload.get("initial_info") or {}
        record["initial_info"] = True
        record["kind"] = record["kind"] or INITIAL_INFO_KIND
        record["owner_agency"] = record["owner_agency"] or payload.get("agency")
        record["due_at"] = record["due_at"] or parse_time(given.get("due_at"))
        record["started_at"] = record["started_at"] or parse_time(
            given.get("started_at")
        )
        record["met_at"] = _earliest(
            record["met_at"], parse_time(given.get("given_at")) or at
        )

    if record["kind"] == INITIAL_INFO_KIND or record.get("article") == "7.6.d":
        record["initial_info"] = True
    # On time: as the clock's owner said (deadline.met ``late``), else by
    # comparing when the step happened with the due time.
    if record["met_at"] is None:
        record["on_time"] = None
    elif record["late"] is not None:
        record["on_time"] = not record["late"]
    elif record["due_at"] is not None:
        record["on_time"] = record["met_at"] <= record["due_at"]
    record["status"] = _deadline_status(record)

    return record


# Counters ----------------------------------------------------------------


def case_contributions(doc):
    """What one case adds to the board's counters."""
    counts = Counter()
    if doc is None or not (doc["opened_at"] or doc["state"]):
        return counts
    state = doc["state"] or "unknown"
    still_open = is_open(doc["state"]) if doc["state"] in STATES else True
    counts["total"] += 1
    counts[f"state:{state}"] += 1
    if still_open:
        counts["open"] += 1
    if doc["channel"]:
        counts[f"channel:{doc['channel']}"] += 1
    counts[f"classification:{doc['classification'] or 'public'}"] += 1
    for category in doc["categories"] or doc["suggested_categories"]:
        counts[f"category:{category}"] += 1
        if still_open:
            counts[f"category_open:{category}"] += 1

    assigned = {item["agency"]: item["role"] for item in doc["agencies"]}
    if doc["lead"]:
        assigned[doc["lead"]] = "lead"
    for agency, role in assigned.items():
        role = "lead" if role == "lead" else "coordinating"
        counts[f"agency:{agency}:cases"] += 1
        counts[f"agency:{agency}:state:{state}"] += 1
        if still_open:
            counts[f"agency:{agency}:open"] += 1
            counts[f"agency:{agency}:open_{role}"] += 1
    for measure in doc["measures"]:
        if not measure.get("agency"):
            continue
        status = "reported" if measure.get("result") else "pending"
        counts[f"agency:{measure['agency']}:measures_{status}"] += 1
    return counts


def deadline_contributions(record):
    counts = Counter()
    if record is None or not record.get("owner_agency"):
        return counts
    status = record["status"]
    kind = record["kind"] or "unknown"
    counts[f"deadline:{status}"] += 1
    counts[f"deadline_kind:{kind}:{status}"] += 1
    counts[f"agency:{record['owner_agency']}:deadlines_{status}"] += 1
    return counts
