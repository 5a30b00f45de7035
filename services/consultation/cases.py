"""Consultation's own view of the cases, and the one place it moves a case.

The view is fed by routing's and intake's events (``case.assigned``,
``case.triaged``, escalations, lead and assignment changes); no other
service's database is read. ``CaseStore.move`` loads nothing by itself: the
caller loads the case inside a transaction, and ``move`` checks the
transition (``phoihop.cases``), writes the new state and emits the event that
carries ``state`` and ``previous_state``, all in that one transaction.
"""

import random
import time

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from phoihop.cases import ESCALATED, check_transition
from phoihop.errors import Conflict, IllegalTransition, NotFound
from phoihop.i18n import t
from phoihop.logging import get_logger
from phoihop.store import is_transient, utcnow

from . import rules

log = get_logger(__name__)

CASES = "cases"

# Attempts at a transaction that lost a write conflict to another worker on
# the same case; each retry starts from a fresh snapshot.
TRANSACTION_ATTEMPTS = 8

INDEXES = {
    CASES: [
        IndexModel([("state", ASCENDING)], name="state"),
        IndexModel([("agencies.agency", ASCENDING)], name="agency"),
    ],
}


def atomic(store, work, attempts=TRANSACTION_ATTEMPTS):
    """Run ``work(tx)`` in one transaction, again if it lost a write conflict.

    Two workers changing the same case or round conflict on the document;
    MongoDB aborts one with a transient error and that one is run again from
    the start, so a check done inside ``work`` is never stale when written.
    A duplicate key on an upsert is the same race, seen from the index.
    """
    for attempt in range(1, attempts + 1):
        try:
            with store.transaction() as tx:
                return work(tx)
        except Exception as exc:
            retry = is_transient(exc) or isinstance(exc, DuplicateKeyError)
            if not retry or attempt == attempts:
                raise
            log.debug("transaction_retried", attempt=attempt, error=type(exc).__name__)
            time.sleep(random.uniform(0.005, 0.03) * attempt)

    raise AssertionError("unreachable")


class CaseStore:
    """Reads and writes the ``cases`` collection within a transaction."""

    def __init__(self, clock=utcnow):
        self.clock = clock

    def get(self, db, case_id):
        case = db[CASES].find_one({"_id": case_id})
        if case is None:
            raise self._not_found(case_id)
        return case

    def load(self, tx, case_id):
        case = tx.db[CASES].find_one({"_id": case_id}, session=tx.session)
        if case is None:
            raise self._not_found(case_id)
        return case

    def _not_found(self, case_id):
        return NotFound(
            t(
                f"hồ sơ {case_id} chưa được phân công tới dịch vụ tham vấn",
                f"case {case_id} is not known to consultation (not assigned yet)",
            ),
            {"case_id": "no case.assigned received for this case"},
        )

    def update(self, tx, case, changes=None, push=None):
        """Write ``changes`` and bump the version; a concurrent writer of the
        same case makes one of the two transactions conflict and retry."""
        now = self.clock()
        update = {
            "$set": {**(changes or {}), "updated_at": now},
            "$inc": {"version": 1},
        }
        if push:
            update["$push"] = push
        result = tx.db[CASES].update_one(
            {"_id": case["_id"], "version": case["version"]},
            update,
            session=tx.session,
        )
        if result.matched_count != 1:
            raise Conflict(
                t(
                    f"hồ sơ {case['_id']} vừa được thay đổi; hãy thử lại",
                    f"case {case['_id']} changed meanwhile; try again",
                ),
                {"case_id": "concurrent change"},
            )
        case.update(changes or {})
        case["version"] += 1
        case["updated_at"] = now

    def check(self, case, target):
        """Raise IllegalTransition unless the case may move to ``target``.

        The ways out of ``escalated`` are the answer of the City People's
        Committee or the Ministry (Art. 7.1.a/g/h), which routing records;
        consultation waits for it rather than moving the case itself.
        """
        if case["state"] == ESCALATED:
            raise IllegalTransition(
                t(
                    f"hồ sơ {case['_id']} đang chờ ý kiến cấp trên (đã báo cáo "
                    "vượt thẩm quyền); chưa thể chuyển trạng thái",
                    f"case {case['_id']} is escalated and awaits the answer of the "
                    f"City People's Committee or the Ministry; it cannot go to "
                    f"{target!r} before that",
                ),
                {
                    "state": "current state is 'escalated'; the answer to the "
                    "escalation sets the next state"
                },
            )
        check_transition(case["state"], target, case["_id"])

    def move(
        self,
        tx,
        case,
        target,
        event,
        payload,
        *,
        actor,
        agencies=(),
        allow_stay=False,
        changes=None,
        push=None,
    ):
        """Move ``case`` to ``target`` and emit ``event`` in the transaction.

        ``allow_stay`` lets an action that may happen more than once in a
        state (a second round while verifying) keep the state; the event
        then says ``state == previous_state``.
        """
        current = case["state"]
        if not (allow_stay and current == target):
            self.check(case, target)
        now = self.clock()

        entry = {
            "state": target,
            "previous_state": current,
            "event": event,
            "at": now,
            "actor": actor,
        }
        state_changes = {"state": target, "state_at": now, **(changes or {})}
        self.update(tx, case, state_changes, {"history": entry, **(push or {})})

        return self.emit(
            tx,
            case,
            event,
            {**payload, "state": target, "previous_state": current},
            actor=actor,
            agencies=agencies,
        )

    def emit(self, tx, case, event, payload, *, actor, agencies=()):
        """Emit an event about ``case`` with the case's classification."""
        return tx.emit(
            event,
            payload,
            case_id=case["_id"],
            agencies=[code for code in agencies if code],
            classification=case.get("classification") or "public",
            actor=actor,
        )

    # Following the events of routing and intake ---------------------------

    def follow(
        self, tx, case_id, fields, state=None, occurred_at=None, classification=None
    ):
        """Apply what another service said about a case.

        Events of one case may arrive in any order, and routing does not see
        consultation's moves before it emits; ``rules.followed_state`` says
        when the state an event carries is taken.
        """
        now = self.clock()
        case = tx.db[CASES].find_one({"_id": case_id}, session=tx.session)
        if case is None:
            doc = {
                "_id": case_id,
                "state": state or "assigned",
                "state_at": occurred_at or now,
                "version": 1,
                "cycle": 1,
                "lead": "dic",
                "agencies": [],
                "classification": classification or "public",
                "appraisals": [],
                "decisions": [],
                "history": [],
                "created_at": now,
                "updated_at": now,
                **fields,
            }
            tx.db[CASES].insert_one(doc, session=tx.session)
            return doc

        changes = dict(fields)
        if classification:
            changes["classification"] = classification
        taken = rules.followed_state(
            case["state"], case.get("state_at"), state, occurred_at
        )
        if taken:
            changes["state"] = taken
            changes["state_at"] = occurred_at or now
            log.info(
                "case_state_followed",
                case_id=case_id,
                state=taken,
                previous_state=case["state"],
            )
        elif state and state != case["state"]:
            log.warning(
                "case_state_not_followed",
                case_id=case_id,
                state=state,
                current_state=case["state"],
            )
        self.update(tx, case, changes)

        return case
