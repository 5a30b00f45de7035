"""The press service's own view of each case, kept from the case's events.

No service reads another's database, so what a statement may say about a
case (title, summary, sector, locality, agencies, classification, decision,
handling results) is copied here from the events of intake, routing and
consultation. Events of one case are handled concurrently and may arrive out
of order: a field is overwritten only by an event newer than the one that
set it. Classified material is not kept: a classified case has no title or
summary here, and content items are kept only as keyed hashes
(``disclosure``).
"""

import random
import time
from datetime import UTC, datetime

from pymongo.errors import PyMongoError

from phoihop.errors import Conflict, NotFound
from phoihop.i18n import t
from phoihop.logging import get_logger
from phoihop.store import AlreadyProcessed, is_transient, utcnow
from services.press.disclosure import new_key, stricter

log = get_logger(__name__)

CASES = "cases"
TRANSACTION_ATTEMPTS = 6


class Retry(Exception):
    """The transaction lost a race (a deadline fired meanwhile); run it
    again on fresh reads."""


def atomic(store, work, attempts=TRANSACTION_ATTEMPTS):
    """Run ``work(tx)`` in one transaction, again on a lost race.

    Two workers touching one case (events arriving together, an RPC, the
    deadline timer) make one transaction abort with a transient error;
    running it again on fresh reads is what the loser should do. A redelivered
    event (``AlreadyProcessed``) and every domain error go straight out.
    """
    for attempt in range(1, attempts + 1):
        try:
            with store.transaction() as tx:
                return work(tx)
        except AlreadyProcessed:
            raise
        except Retry:
            if attempt == attempts:
                raise Conflict(
                    t(
                        "bản ghi đang được cập nhật đồng thời; hãy thử lại",
                        "the record changed meanwhile; try again",
                    )
                ) from None
        except PyMongoError as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            log.debug("press_transaction_retry", attempt=attempt)
        # A short random pause keeps the losers from colliding again.
        time.sleep(random.uniform(0.01, 0.05) * 2**attempt)


def instant(value):
    """An aware UTC datetime from a payload value (payloads carry ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    return moment.astimezone(UTC)


def is_newer(view, field, at):
    """Whether an event of ``at`` may overwrite ``field`` of the view."""
    seen = (view.get("as_of") or {}).get(field)
    return seen is None or at >= seen


def get(db, case_id, session=None):
    return db[CASES].find_one({"_id": case_id}, session=session) or {}


def require(db, case_id):
    view = db[CASES].find_one({"_id": case_id})
    if view is None:
        raise NotFound(
            t(
                f"dịch vụ báo chí chưa nhận được vụ việc {case_id}",
                f"the press service has not received case {case_id}",
            ),
            {"case_id": "unknown case"},
        )

    return view


def ensure(tx, case_id):
    """The case view, created empty with its hashing key if new."""
    tx.db[CASES].update_one(
        {"_id": case_id},
        {"$setOnInsert": {"key": new_key(), "created_at": utcnow()}},
        upsert=True,
        session=tx.session,
    )

    return get(tx.db, case_id, tx.session)


def update(tx, event, changes, dated=(), refused_levels=()):
    """Update the view from an event; fields in ``dated`` only if the event
    is the newest to set them. Returns the view as stored."""
    case_id = event["case_id"]
    at = event["occurred_at"]
    view = ensure(tx, case_id)
    sets = {}
    for field, value in changes.items():
        if field in dated:
            if not is_newer(view, field, at):
                continue
            sets[f"as_of.{field}"] = at
        sets[field] = value
    if "classification" not in changes and is_newer(view, "classification", at):
        # Only intake's payloads (opening, triage) set the level; other
        # producers' envelopes may raise it, never lower it, so a producer
        # that leaves the envelope at its default cannot declassify a case.
        raised = stricter(view.get("classification"), event["classification"])
        if raised != view.get("classification"):
            sets["classification"] = raised
            sets["as_of.classification"] = at
    sets["max_classification"] = stricter(
        view.get("max_classification"),
        event["classification"],
        sets.get("classification"),
    )
    sets["updated_at"] = utcnow()
    tx.db[CASES].update_one({"_id": case_id}, {"$set": sets}, session=tx.session)

    view = get(tx.db, case_id, tx.session)
    if view.get("classification") in refused_levels and (
        view.get("title") or view.get("summary")
    ):
        # A case classified after it was opened: its title and summary may
        # themselves be classified, so they are no longer kept here.
        tx.db[CASES].update_one(
            {"_id": case_id},
            {"$set": {"withheld": True}, "$unset": {"title": "", "summary": ""}},
            session=tx.session,
        )
        view = get(tx.db, case_id, tx.session)

    return view
