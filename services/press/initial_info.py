"""The 2-hour initial-information clock of each incident case (Art. 7.6.d).

One record per case (collection ``initial_info``) says who owes the
information, when the clock started and falls due, and how it ended: given
(when, by whom, to which press agencies, on time or not), escalated to DIC
when missed, cancelled, or exempt for a classified case. The durable timer
with its reminders is a ``phoihop.deadlines`` deadline of kind
``initial_info``, set, met and cancelled in the same transaction as the
record.
"""

from pymongo import ASCENDING, IndexModel

from phoihop.errors import Conflict
from phoihop.i18n import t
from phoihop.store import utcnow
from services.press import clock as rules
from services.press.casebook import Retry, instant
from services.press.disclosure import stricter
from services.press.statementbook import STATEMENTS, SYSTEM
from services.press.statements import INITIAL_INFO

CLOCKS = "initial_info"

# The deadline kind; its duration and reminders come from the
# ``press.deadlines`` configuration (deploy/config/press.yaml).
DEADLINE_KIND = "initial_info"
DEFAULT_DEADLINE_KINDS = {
    DEADLINE_KIND: {
        "duration": "2h",
        "reminders_minutes": [60, 30],
        "article": rules.ARTICLE,
        "description": "initial information to city media after an incident",
    }
}

INDEXES = [
    IndexModel([("due_at", ASCENDING)], name="due"),
    IndexModel([("agency", ASCENDING), ("due_at", ASCENDING)], name="agency"),
    IndexModel([("status", ASCENDING), ("started_at", ASCENDING)], name="status"),
]


class InitialInfoClock:
    """The clocks as one worker sees them.

    ``prepare_draft(tx, case_id, agency, view, started_at)`` makes the first
    draft of the statement and returns its id.
    """

    def __init__(self, deadlines, registry, refused_levels, prepare_draft):
        self.deadlines = deadlines
        self.registry = registry
        self.refused_levels = refused_levels
        self.prepare_draft = prepare_draft

    @property
    def lead(self):
        return self.registry.lead.code

    def get(self, db, case_id, session=None):
        return db[CLOCKS].find_one({"_id": case_id}, session=session)

    def responsible(self, view, on):
        return rules.responsible_agency(
            self.registry,
            view.get("agencies") or [],
            sector=view.get("sector"),
            locality=view.get("locality"),
            on=on,
            named=view.get("responsible_agencies") or (),
        )

    def follow(self, tx, event, view):
        """Start, move or stop the case's clock after an assignment."""
        current = self.get(tx.db, event["case_id"], tx.session)
        if current is None:
            if not view.get("incident") or event["type"] != "case.assigned":
                return None
            return self.start(tx, event, view)

        if current["status"] != rules.RUNNING:
            return None
        if view.get("classification") in self.refused_levels:
            self.stop(tx, current, rules.EXEMPT, "the case was classified meanwhile")
            return {"action": "exempt", "agency": current["agency"]}
        if not view.get("incident"):
            self.stop(tx, current, rules.CANCELLED, "the case is no longer an incident")
            return {"action": "cancelled", "agency": current["agency"]}
        responsible = self.responsible(view, event["occurred_at"])
        if responsible != current["agency"]:
            return self.move(tx, current, responsible, view)

        return None

    def start(self, tx, event, view):
        """The clock starts when the incident case is assigned."""
        case_id = event["case_id"]
        started = event["occurred_at"]
        agency = self.responsible(view, started)
        doc = {
            "_id": case_id,
            "agency": agency,
            "started_at": started,
            "history": [{"at": utcnow(), "action": "started", "agency": agency}],
        }

        if view.get("classification") in self.refused_levels:
            # No statement may leave for a classified case (Art. 4), so the
            # clock cannot be met; it is recorded as exempt instead of being
            # counted as missed. DIC sees the case and decides what to say.
            doc.update(
                status=rules.EXEMPT,
                reason=t(
                    "vụ việc có độ mật: không cung cấp thông tin cho báo chí",
                    "the case is classified: no information goes to the press",
                ),
            )
            tx.db[CLOCKS].insert_one(doc, session=tx.session)
            return {"action": "exempt", "agency": agency}

        level = stricter("internal", view.get("classification"))
        deadline = self.deadlines.set(
            tx,
            DEADLINE_KIND,
            subject=("case", case_id),
            owner_agency=agency,
            case_id=case_id,
            start=started,
            classification=level,
        )
        due = instant(deadline["due_at"])
        statement_id = None
        if view.get("title"):
            statement_id = self.prepare_draft(tx, case_id, agency, view, started)
        doc.update(
            status=rules.RUNNING,
            deadline_id=deadline["deadline_id"],
            due_at=due,
            limit_minutes=round((due - started).total_seconds() / 60, 2),
            statement_id=statement_id,
        )
        tx.db[CLOCKS].insert_one(doc, session=tx.session)
        self.emit_due(tx, doc, deadline, level)

        return {"action": "started", "agency": agency, "due_at": due.isoformat()}

    def emit_due(self, tx, doc, deadline, level):
        tx.emit(
            "press.initial_info_due",
            {
                "deadline_id": doc["deadline_id"],
                "statement_id": doc.get("statement_id"),
                "agency": doc["agency"],
                "started_at": doc["started_at"],
                "due_at": doc["due_at"],
                "limit_minutes": doc["limit_minutes"],
                "reminders_minutes_before": [
                    item["minutes_before"] for item in deadline["reminders"]
                ],
            },
            case_id=doc["_id"],
            agencies=[doc["agency"], self.lead],
            classification=level,
            actor=SYSTEM,
        )

    def _cancel_deadline(self, tx, deadline_id, reason):
        try:
            self.deadlines.cancel(tx, deadline_id=deadline_id, reason=reason)
        except Conflict as exc:
            # The timer fired this deadline meanwhile: run again on its state.
            raise Retry from exc

    def move(self, tx, current, agency, view):
        """The agency that owes the information changed: the clock keeps its
        start and due time and goes to the new agency."""
        self._cancel_deadline(
            tx, current["deadline_id"], f"initial information now owed by {agency}"
        )
        level = stricter("internal", view.get("classification"))
        deadline = self.deadlines.set(
            tx,
            DEADLINE_KIND,
            subject=("case", current["_id"]),
            owner_agency=agency,
            case_id=current["_id"],
            start=current["started_at"],
            due_at=current["due_at"],
            classification=level,
        )
        moved = {"agency": agency, "deadline_id": deadline["deadline_id"]}
        entry = {
            "at": utcnow(),
            "action": "moved",
            "agency": agency,
            "from": current["agency"],
        }
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"]},
            {"$set": moved, "$push": {"history": entry}},
            session=tx.session,
        )
        self.emit_due(tx, {**current, **moved}, deadline, level)

        return {"action": "moved", "agency": agency, "from": current["agency"]}

    def stop(self, tx, current, status, reason):
        self._cancel_deadline(tx, current["deadline_id"], reason)
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"], "status": current["status"]},
            {
                "$set": {"status": status, "reason": reason},
                "$push": {"history": {"at": utcnow(), "action": status}},
            },
            session=tx.session,
        )

    def stop_running(self, tx, case_id, status, reason):
        current = self.get(tx.db, case_id, tx.session)
        if current and current["status"] == rules.RUNNING:
            self.stop(tx, current, status, reason)

    def draft_if_missing(self, tx, view):
        """The case facts arrived after the clock started (events of a case
        are handled concurrently): prepare the first draft now."""
        current = self.get(tx.db, view["_id"], tx.session)
        if not current or current["status"] != rules.RUNNING:
            return
        if current.get("statement_id") or not view.get("title"):
            return
        statement_id = self.prepare_draft(
            tx, view["_id"], current["agency"], view, current["started_at"]
        )
        tx.db[CLOCKS].update_one(
            {"_id": view["_id"]},
            {"$set": {"statement_id": statement_id}},
            session=tx.session,
        )

    def escalate(self, tx, case_id, payload):
        """The deadline fell due with nothing given: record it and escalate
        to DIC (Art. 7.6.d, 7.1). Returns the agency that missed it."""
        current = self.get(tx.db, case_id, tx.session)
        if current is None or current.get("deadline_id") != payload["deadline_id"]:
            return None
        overdue_at = instant(payload["fired_at"])
        if current["status"] != rules.RUNNING:
            # Given (late) before this firing was handled: keep the record.
            tx.db[CLOCKS].update_one(
                {"_id": case_id},
                {"$set": {"overdue_at": overdue_at}},
                session=tx.session,
            )
            return None
        drafts = [
            doc["_id"]
            for doc in tx.db[STATEMENTS].find(
                {"case_id": case_id, "kind": INITIAL_INFO},
                {"_id": 1},
                session=tx.session,
            )
        ]
        entry = {"at": utcnow(), "action": "escalated", "agency": self.lead}
        tx.db[CLOCKS].update_one(
            {"_id": case_id, "status": rules.RUNNING},
            {
                "$set": {
                    "status": rules.OVERDUE,
                    "overdue_at": overdue_at,
                    "escalated_to": self.lead,
                },
                "$push": {"history": entry},
            },
            session=tx.session,
        )
        tx.emit(
            "press.initial_info_overdue",
            {
                "deadline_id": payload["deadline_id"],
                "agency": current["agency"],
                "started_at": current["started_at"],
                "due_at": current["due_at"],
                "escalated_to": self.lead,
                "drafts": drafts,
            },
            case_id=case_id,
            agencies=[self.lead, current["agency"]],
            classification=payload.get("classification", "internal"),
            actor=SYSTEM,
        )

        return current["agency"]

    def give(self, tx, statement, recipients, by, now):
        """Stop the clock: the initial information was given at ``now`` to
        ``recipients``. Returns the record the distributed event carries,
        or None when the case has no clock to stop."""
        current = self.get(tx.db, statement["case_id"], tx.session)
        if current is None or current["status"] not in (rules.RUNNING, rules.OVERDUE):
            return None
        result = rules.outcome(current["started_at"], current["due_at"], now)
        try:
            self.deadlines.meet(
                tx,
                deadline_id=current["deadline_id"],
                reason=f"statement {statement['_id']} distributed",
            )
        except Conflict as exc:
            raise Retry from exc
        entry = {"at": now, "action": "given", "agency": statement["agency"]}
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"], "status": current["status"]},
            {
                "$set": {
                    "status": rules.GIVEN,
                    "given_at": now,
                    "given_by": by,
                    "given_to": recipients,
                    "statement_id": statement["_id"],
                    **result,
                },
                "$push": {"history": entry},
            },
            session=tx.session,
        )

        return {
            "deadline_id": current["deadline_id"],
            "started_at": current["started_at"],
            "due_at": current["due_at"],
            "given_at": now,
            **result,
        }
