"""How the press service's records read to callers.

Stored documents keep datetimes as aware UTC and ids as ``_id``; RPC answers
are JSON-safe dicts with ISO times. Classified material never appears here:
a case view keeps only hashes of its content items, and a refusal names the
field and character range, not the text.
"""


def iso(value):
    return value.isoformat() if value is not None else None


def officer(value):
    if not value:
        return None
    return {"agency": value.get("agency"), "officer": value.get("officer")}


def delivery(code, record):
    return {
        "press_agency": code,
        "sent_at": iso(record.get("sent_at")),
        "confirmed": record.get("confirmed_at") is not None,
        "confirmed_at": iso(record.get("confirmed_at")),
        "confirmed_by": officer(record.get("confirmed_by")),
        "note": record.get("note", ""),
    }


def initial_info_record(record):
    if not record:
        return None
    return {
        "deadline_id": record["deadline_id"],
        "started_at": iso(record["started_at"]),
        "due_at": iso(record["due_at"]),
        "given_at": iso(record["given_at"]),
        "on_time": record["on_time"],
        "minutes": record["minutes"],
    }


def statement(doc, checks=None):
    """A statement as the gateway shows it, with its review when given."""
    deliveries = doc.get("deliveries") or {}
    answer = {
        "statement_id": doc["_id"],
        "case_id": doc["case_id"],
        "kind": doc["kind"],
        "agency": doc["agency"],
        "status": doc["status"],
        "revision": doc["revision"],
        "title": doc["title"],
        "body": doc["body"],
        "footer": doc.get("footer") or "",
        "inputs": doc.get("inputs") or {},
        "legal_basis": doc.get("legal_basis") or [],
        "drafted_by": officer(doc.get("drafted_by")),
        "drafted_at": iso(doc.get("drafted_at")),
        "updated_at": iso(doc.get("updated_at")),
        "approved_by": officer(doc.get("approved_by")),
        "approved_at": iso(doc.get("approved_at")),
        "distributed_by": officer(doc.get("distributed_by")),
        "distributed_at": iso(doc.get("distributed_at")),
        "recipients": doc.get("recipients") or [],
        "deliveries": [
            delivery(code, deliveries[code]) for code in doc.get("recipients") or []
        ],
        "initial_info": initial_info_record(doc.get("initial_info")),
        "refusals": [
            {
                "at": iso(item["at"]),
                "by": officer(item["by"]),
                "revision": item["revision"],
                "reasons": item["reasons"],
            }
            for item in doc.get("refusals") or []
        ],
    }
    if checks is not None:
        answer["checks"] = checks

    return answer


def statement_summary(doc):
    """One line of a list: no body, the delivery count."""
    deliveries = doc.get("deliveries") or {}
    return {
        "statement_id": doc["_id"],
        "case_id": doc["case_id"],
        "kind": doc["kind"],
        "agency": doc["agency"],
        "status": doc["status"],
        "revision": doc["revision"],
        "title": doc["title"],
        "drafted_at": iso(doc.get("drafted_at")),
        "approved_at": iso(doc.get("approved_at")),
        "distributed_at": iso(doc.get("distributed_at")),
        "recipients": doc.get("recipients") or [],
        "confirmed": sorted(
            code for code, item in deliveries.items() if item.get("confirmed_at")
        ),
    }


def clock(doc, deadline=None, statements=()):
    """The initial-information record of a case (Art. 7.6.d)."""
    answer = {
        "case_id": doc["_id"],
        "agency": doc["agency"],
        "status": doc["status"],
        "deadline_id": doc.get("deadline_id"),
        "started_at": iso(doc.get("started_at")),
        "due_at": iso(doc.get("due_at")),
        "limit_minutes": doc.get("limit_minutes"),
        "given_at": iso(doc.get("given_at")),
        "given_by": officer(doc.get("given_by")),
        "given_to": doc.get("given_to") or [],
        "statement_id": doc.get("statement_id"),
        "on_time": doc.get("on_time"),
        "minutes": doc.get("minutes"),
        "overdue_at": iso(doc.get("overdue_at")),
        "escalated_to": doc.get("escalated_to"),
        "reason": doc.get("reason", ""),
        "history": [
            {**item, "at": iso(item["at"])} for item in doc.get("history") or []
        ],
        "reminders": [],
        "statements": [statement_summary(item) for item in statements],
    }
    if deadline is not None:
        answer["reminders"] = deadline["reminders"]
        answer["deadline_state"] = deadline["state"]

    return answer
