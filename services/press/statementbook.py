"""Statements as stored, and the events that tell of them.

A statement goes ``draft -> approved -> distributed``; a change to an
approved one takes it back to draft. Every write names the revision and the
status it read, so two officers working on one statement cannot overwrite
each other: the second is told to reload. Each step is written together
with its event in one transaction (the outbox).
"""

import uuid

from pymongo import ASCENDING, DESCENDING, IndexModel

from phoihop.errors import Conflict, NotFound
from phoihop.i18n import t
from phoihop.store import utcnow
from services.press.statements import DRAFT

STATEMENTS = "statements"

INDEXES = [
    IndexModel([("case_id", ASCENDING), ("drafted_at", ASCENDING)], name="case"),
    IndexModel([("agency", ASCENDING), ("drafted_at", DESCENDING)], name="agency"),
    IndexModel(
        [("recipients", ASCENDING), ("distributed_at", DESCENDING)],
        name="recipients",
    ),
]

# The actor of what the service does on its own (a draft prepared when a
# clock starts, an escalation).
SYSTEM = {"agency": "system", "officer": None}


def get(db, statement_id, session=None):
    doc = db[STATEMENTS].find_one({"_id": statement_id}, session=session)
    if doc is None:
        raise NotFound(
            t(
                f"không có thông cáo {statement_id}",
                f"statement {statement_id} does not exist",
            ),
            {"statement_id": "unknown statement"},
        )

    return doc


def emit(tx, name, doc, by, classification, agencies=(), **extra):
    """Emit a ``press.statement_*`` event about ``doc``."""
    tx.emit(
        name,
        {
            "statement_id": doc["_id"],
            "kind": doc["kind"],
            "agency": doc["agency"],
            "recipients": doc.get("recipients") or [],
            "revision": doc["revision"],
            **extra,
        },
        case_id=doc["case_id"],
        agencies=agencies,
        classification=classification,
        actor=by if by.get("officer") else SYSTEM,
    )


def create(tx, case_id, kind, agency, title, body, inputs, by, classification, **more):
    """Store a new draft and emit ``press.statement_drafted``."""
    now = utcnow()
    inputs = dict(inputs)
    doc = {
        "_id": str(uuid.uuid4()),
        "case_id": case_id,
        "kind": kind,
        "agency": agency,
        "status": DRAFT,
        "revision": 1,
        "title": title,
        "body": body,
        "body_edited": bool(inputs.pop("body_edited", False)),
        "inputs": inputs,
        "drafted_by": by,
        "drafted_at": now,
        "updated_at": now,
        "recipients": [],
        "deliveries": {},
        "refusals": [],
        "history": [{"at": now, "action": "drafted", "by": by, "revision": 1}],
        **more,
    }
    tx.db[STATEMENTS].insert_one(doc, session=tx.session)
    emit(tx, "press.statement_drafted", doc, by, classification, title=title)

    return doc


def write(tx, doc, changes, action, by):
    """Apply ``changes`` if the statement is still as read (its revision and
    status), with a line of history; returns the statement as written."""
    now = changes.get("updated_at") or utcnow()
    entry = {
        "at": now,
        "action": action,
        "by": by,
        "revision": changes.get("revision", doc["revision"]),
    }
    result = tx.db[STATEMENTS].update_one(
        {"_id": doc["_id"], "revision": doc["revision"], "status": doc["status"]},
        {"$set": {**changes, "updated_at": now}, "$push": {"history": entry}},
        session=tx.session,
    )
    if result.matched_count != 1:
        raise Conflict(
            t(
                "thông cáo vừa được người khác thay đổi; hãy tải lại",
                "the statement changed meanwhile; reload it",
            ),
            {"revision": f"was {doc['revision']} when read"},
        )

    return {**doc, **changes, "updated_at": now}


def record_refusal(db, doc, by, reasons):
    """Keep a refused approval or distribution on the statement's record
    (outside the failing call's transaction, so that it stays)."""
    entry = {"at": utcnow(), "by": by, "revision": doc["revision"], "reasons": reasons}
    db[STATEMENTS].update_one({"_id": doc["_id"]}, {"$push": {"refusals": entry}})
