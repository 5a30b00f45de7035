"""The routing service: which agencies take part in a case (Art. 7), the
escalations beyond DIC's authority, and the case's clocks.

A triaged case is assigned by the responsibility matrix of the agency
registry: DIC leads unless it transfers the lead (Art. 7.1), and every
agency whose categories, sector or locality match coordinates, each with the
rule and article that brought it in. Officers add or remove agencies and
transfer the lead with a reason. A case beyond DIC's authority is escalated
to the City People's Committee (Art. 7.1.a, 7.1.h), a removal proposal to
the Ministry (Art. 7.1.g); each escalation is a record with its own outcome.
On assignment the lead's clocks start (verification, resolution); they are
met when the case is appraised or resolved, and cancelled when it ends
otherwise. The 2-hour initial information of Art. 7.6.d is the press
service's clock: ``case.assigned`` carries ``incident`` and the
``responsible_agencies`` it needs.

RPC (mutating methods take ``actor`` = ``{"agency", "officer"}``)::

    get_assignments(case_id)
    add_agency(case_id, agency, reason, actor)
    remove_agency(case_id, agency, reason, actor)
    transfer_lead(case_id, to_agency, reason, actor)
    escalate(case_id, to, reason, actor, article=None)
    answer_escalation(escalation_id, outcome, next_state, actor, note="")
    list_deadlines(filters=None)
    list_escalations(filters=None)
    list_agencies(on=None)

Events emitted (each also as ``agency.<code>.<type>`` for the agencies of
the case): ``case.assigned``, ``case.assignment_changed``,
``case.lead_transferred``, ``case.escalated``, ``case.escalation_answered``,
and through ``phoihop.deadlines`` ``deadline.set``, ``deadline.due_soon``,
``deadline.overdue``, ``deadline.met``, ``deadline.cancelled``.

Events handled: ``case.triaged`` (assign); ``consultation.opened``,
``meeting.convened``, ``case.appraised``, ``case.rejected``,
``case.decided``, ``case.resolved``, ``case.closed``, ``case.reopened``,
``case.merged`` (the case's state as routing sees it, and its clocks).
"""

import random
import time
import uuid
from datetime import datetime

from nameko.rpc import rpc
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import PyMongoError

from phoihop.agencies import as_day
from phoihop.bus import subscribe
from phoihop.cases import (
    APPRAISED,
    ASSIGNED,
    CLOSED,
    ESCALATED,
    MERGED,
    RECEIVED,
    REJECTED,
    RESOLVED,
    TRIAGED,
    VERIFYING,
    check_transition,
)
from phoihop.config import Config
from phoihop.deadlines import Deadlines
from phoihop.errors import (
    EXPECTED_ERRORS,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)
from phoihop.logging import get_logger
from phoihop.service import ServiceBase
from phoihop.store import CTX_CORRELATION_ID, Store, is_transient, utcnow
from services.routing import policy as rules
from services.routing.dependencies import AgencyRegistry
from services.routing.schemas import (
    ESCALATION_ARTICLES,
    AddAgencySchema,
    AnswerEscalationSchema,
    DeadlineFilterSchema,
    EscalateSchema,
    EscalationFilterSchema,
    RemoveAgencySchema,
    RoutingSettingsSchema,
    TransferLeadSchema,
    load_input,
)

log = get_logger(__name__)

# States in which a (new) triage still decides the assignment; later on,
# officers change agencies by hand.
ASSIGNABLE_STATES = (None, RECEIVED, TRIAGED, ASSIGNED)

# The clocks routing keeps. Durations are configuration
# (deploy/config/routing.yaml); these defaults apply where it says nothing.
VERIFICATION = "verification"
RESOLUTION = "resolution"
ESCALATION_ANSWER = "escalation_answer"
DEFAULT_DEADLINE_KINDS = {
    VERIFICATION: {
        "duration": "3wd",
        "by_severity": {"critical": "4h", "high": "1wd"},
        "article": "7.1.c",
        "description": "the lead verifies and appraises the content",
    },
    RESOLUTION: {
        "duration": "15wd",
        "by_severity": {"critical": "2wd", "high": "5wd"},
        "article": "7.6.c",
        "description": "the case is handled and its result reported",
    },
    ESCALATION_ANSWER: {
        "duration": "5wd",
        "by_severity": {"critical": "1wd"},
        "article": "7.1.a",
        "description": "the City People's Committee or the Ministry answers",
    },
}

# What ends each clock: the awaited step (met) or the end of the case
# otherwise (cancelled), by the state an event of another service reports.
MEETS = {
    APPRAISED: (VERIFICATION,),
    REJECTED: (VERIFICATION,),
    RESOLVED: (VERIFICATION, RESOLUTION),
    CLOSED: (VERIFICATION, RESOLUTION),
}
CANCELS = {
    REJECTED: (RESOLUTION,),
    MERGED: (VERIFICATION, RESOLUTION),
}

TRANSIENT_ATTEMPTS = 5


def _actor(data):
    return {"agency": data["agency"], "officer": data.get("officer")}


def _history(action, actor, **details):
    return {"at": utcnow(), "action": action, "actor": actor, **details}


def _emit_assignment_change(tx, case, agencies, data, change, recipients, actor):
    """``case.assignment_changed`` for an agency added or removed by an
    officer, with a copy for each of ``recipients``."""
    tx.emit(
        "case.assignment_changed",
        {
            "agency": data["agency"],
            "change": change,
            "reason": data["reason"],
            "lead": case["lead"],
            "agencies": agencies,
        },
        case_id=case["_id"],
        agencies=recipients,
        classification=case.get("classification", "internal"),
        actor=actor,
    )


def _codes(agencies):
    return [item["agency"] for item in agencies]


def _public_case(doc):
    return {
        "case_id": doc["_id"],
        "state": doc.get("state"),
        "lead": doc.get("lead"),
        "agencies": doc.get("agencies", []),
        "responsible_agencies": doc.get("responsible_agencies", []),
        "flags": doc.get("flags", []),
        "categories": doc.get("categories", []),
        "sector": doc.get("sector"),
        "locality": doc.get("locality"),
        "incident": doc.get("incident", False),
        "journalists_involved": doc.get("journalists_involved", False),
        "severity": doc.get("severity"),
        "classification": doc.get("classification", "internal"),
        "assigned_at": _iso(doc.get("assigned_at")),
        "history": [
            {**item, "at": _iso(item.get("at"))} for item in doc.get("history", [])
        ],
    }


def _public_escalation(doc):
    return {
        "escalation_id": doc["_id"],
        "case_id": doc["case_id"],
        "to": doc["to"],
        "article": doc["article"],
        "reason": doc["reason"],
        "state": doc["state"],
        "requested_by": doc["requested_by"],
        "requested_at": _iso(doc["requested_at"]),
        "previous_state": doc["previous_state"],
        "due_at": _iso(doc.get("due_at")),
        "outcome": doc.get("outcome"),
        "next_state": doc.get("next_state"),
        "note": doc.get("note", ""),
        "answered_by": doc.get("answered_by"),
        "answered_at": _iso(doc.get("answered_at")),
    }


def _iso(value):
    return value.isoformat() if value is not None else None


class RoutingService(ServiceBase):
    name = "routing"

    settings = Config(RoutingSettingsSchema)
    store = Store(
        indexes={
            "cases": [
                IndexModel([("state", ASCENDING)], name="state"),
                IndexModel([("agencies.agency", ASCENDING)], name="agency"),
            ],
            "escalations": [
                IndexModel([("case_id", ASCENDING)], name="case"),
                IndexModel(
                    [("state", ASCENDING), ("requested_at", DESCENDING)], name="open"
                ),
            ],
        }
    )
    registry = AgencyRegistry()
    deadlines = Deadlines(kinds=DEFAULT_DEADLINE_KINDS)

    # -- events -----------------------------------------------------------

    @subscribe("case.triaged")
    def handle_case_triaged(self, event):
        """Assign a triaged case by the responsibility matrix of Art. 7."""
        if not event["case_id"]:
            raise ValidationError(
                "case.triaged without a case id", {"event.case_id": "required"}
            )
        plan = self._retrying(self._assign, event, conflict=False)
        if plan is not None:
            log.info(
                "case_assigned",
                case_id=event["case_id"],
                lead=plan.lead,
                agencies=_codes(plan.agencies),
                flags=plan.flags,
            )

    def _assign(self, event):
        case_id = event["case_id"]
        payload = event["payload"]
        occurred = event["occurred_at"]
        triage = {
            **payload,
            "classification": payload.get("classification") or event["classification"],
        }

        with self.store.transaction() as tx:
            cases = tx.db.cases
            case = cases.find_one({"_id": case_id}, session=tx.session)
            state = case.get("state") if case else None
            if state not in ASSIGNABLE_STATES:
                # Officers change agencies by hand once work has begun; the
                # triage is kept in the case's history so it is not lost.
                log.warning(
                    "case_triage_after_assignment_kept_as_history",
                    case_id=case_id,
                    state=state,
                )
                cases.update_one(
                    {"_id": case_id},
                    {
                        "$push": {
                            "history": _history(
                                "triage_not_applied", event["actor"], state=state
                            )
                        }
                    },
                    session=tx.session,
                )
                return None
            if case and case.get("triaged_at") and case["triaged_at"] > occurred:
                log.info("case_triage_older_than_current_ignored", case_id=case_id)
                return None

            previous = case.get("overrides") if case else None
            overrides = rules.Overrides.from_doc(previous)
            # The registry as it stood on the day of the triage: agencies and
            # localities have validity dates, and a late delivery routes as
            # it would have on time.
            plan = rules.AssignmentPolicy(self.registry).plan(
                triage, on=as_day(occurred), overrides=overrides
            )
            now = utcnow()
            classification = triage["classification"]
            view = {
                "state": ASSIGNED,
                "state_at": now,
                "lead": plan.lead,
                "agencies": plan.agencies,
                "responsible_agencies": plan.responsible_agencies,
                "flags": plan.flags,
                "categories": list(payload.get("categories") or []),
                "sector": payload.get("sector"),
                "locality": payload.get("locality"),
                "incident": bool(payload.get("incident")),
                "journalists_involved": bool(payload.get("journalists_involved")),
                "severity": payload.get("severity"),
                "classification": classification,
                "posted_at": payload.get("posted_at"),
                "correlation_id": event["correlation_id"],
                "triaged_at": occurred,
                "assigned_at": now,
                "overrides": overrides.to_doc(),
            }
            cases.update_one(
                {"_id": case_id},
                {
                    "$set": view,
                    "$push": {
                        "history": _history(
                            "assigned",
                            event["actor"],
                            agencies=_codes(plan.agencies),
                            flags=plan.flags,
                        )
                    },
                },
                upsert=True,
                session=tx.session,
            )
            tx.emit(
                "case.assigned",
                {
                    "lead": plan.lead,
                    "agencies": plan.agencies,
                    "responsible_agencies": plan.responsible_agencies,
                    "categories": view["categories"],
                    "sector": view["sector"],
                    "locality": view["locality"],
                    "incident": view["incident"],
                    "journalists_involved": view["journalists_involved"],
                    "severity": view["severity"],
                    "flags": plan.flags,
                    "state": ASSIGNED,
                    "previous_state": TRIAGED,
                },
                case_id=case_id,
                agencies=_codes(plan.agencies),
                classification=classification,
            )
            self._start_case_clocks(tx, case_id, plan.lead, view, now)

        return plan

    def _start_case_clocks(self, tx, case_id, lead, view, start):
        for kind in self.settings["assignment_deadlines"]:
            self.deadlines.set(
                tx,
                kind,
                subject=("case", case_id),
                owner_agency=lead,
                severity=view.get("severity"),
                case_id=case_id,
                start=start,
                classification=view.get("classification") or "internal",
            )

    @subscribe(
        "consultation.opened",
        "meeting.convened",
        "case.appraised",
        "case.rejected",
        "case.decided",
        "case.resolved",
        "case.closed",
        "case.reopened",
        "case.merged",
    )
    def handle_case_progress(self, event):
        """Follow the case's state and settle the clocks it ends."""
        if not event["case_id"] or not event["payload"].get("state"):
            raise ValidationError(
                f"{event['type']} without a case id or state",
                {"event.case_id": "required", "payload.state": "required"},
            )
        newer = self._retrying(self._follow, event, conflict=False)
        log.info(
            "case_state_followed",
            case_id=event["case_id"],
            state=event["payload"]["state"],
            newer=newer,
        )

    def _follow(self, event):
        case_id = event["case_id"]
        state = event["payload"]["state"]
        occurred = event["occurred_at"]

        with self.store.transaction() as tx:
            case = tx.db.cases.find_one({"_id": case_id}, session=tx.session)
            newer = (
                case is None
                or case.get("state_at") is None
                or (occurred >= case["state_at"])
            )
            if newer:
                tx.db.cases.update_one(
                    {"_id": case_id},
                    {
                        "$set": {"state": state, "state_at": occurred},
                        "$setOnInsert": {"agencies": [], "history": []},
                    },
                    upsert=True,
                    session=tx.session,
                )
            subject = ("case", case_id)
            label = event["type"]
            for kind in MEETS.get(state, ()):
                self.deadlines.meet(tx, kind=kind, subject=subject, reason=label)
            for kind in CANCELS.get(state, ()):
                self.deadlines.cancel(tx, kind=kind, subject=subject, reason=label)
            if event["type"] == "case.reopened" and case and case.get("lead"):
                # A reopened case is verified again (DESIGN.md, The case):
                # new clocks for the lead.
                self._start_case_clocks(tx, case_id, case["lead"], case, utcnow())

        return newer

    # -- queries ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_assignments(self, case_id):
        """The case's agencies, why each takes part, flags and open clocks."""
        case = self.store.db.cases.find_one({"_id": case_id})
        if case is None or not case.get("agencies"):
            raise NotFound(
                f"case {case_id} has no assignment", {"case_id": "not assigned yet"}
            )
        result = _public_case(case)
        result["deadlines"] = self.deadlines.list(case_id=case_id)
        result["escalations"] = [
            _public_escalation(doc)
            for doc in self.store.db.escalations.find({"case_id": case_id}).sort(
                "requested_at", ASCENDING
            )
        ]

        return result

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_deadlines(self, filters=None):
        """Deadlines of routing's clocks, by state, kind, agency, case, due."""
        query = load_input(DeadlineFilterSchema, filters or {}, "deadline filters")
        limit = min(query.pop("limit"), self.settings["max_page_size"])

        return self.deadlines.list(**query, limit=limit)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_escalations(self, filters=None):
        query = load_input(EscalationFilterSchema, filters or {}, "escalation filters")
        limit = min(query.pop("limit"), self.settings["max_page_size"])
        cursor = (
            self.store.db.escalations.find(query)
            .sort("requested_at", DESCENDING)
            .limit(limit)
        )

        return [_public_escalation(doc) for doc in cursor]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_agencies(self, on=None):
        """The agencies valid on a day (ISO date; today by default)."""
        try:
            day = as_day(on) if on else None
        except ValueError as exc:
            raise ValidationError("invalid date", {"on": "use YYYY-MM-DD"}) from exc

        return [agency.to_dict() for agency in self.registry.agencies(day)]

    # -- officers' changes ----------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def add_agency(self, case_id, agency, reason, actor):
        """Bring an agency into the case, with the officer's reason."""
        data = load_input(
            AddAgencySchema,
            {"case_id": case_id, "agency": agency, "reason": reason, "actor": actor},
            "request to add an agency",
        )
        return self._retrying(self._add_agency, data)

    def _add_agency(self, data):
        actor = _actor(data["actor"])
        with self.store.transaction() as tx:
            case = self._case_for_change(tx, data["case_id"], actor)
            agencies, added = rules.add_agency(
                case["agencies"], data["agency"], data["reason"], self.registry
            )
            overrides = rules.Overrides.from_doc(case.get("overrides"))
            overrides.added[data["agency"]] = added
            overrides.removed.pop(data["agency"], None)
            self._save_change(
                tx,
                case,
                agencies,
                overrides,
                actor,
                "agency_added",
                agency=data["agency"],
                reason=data["reason"],
            )
            _emit_assignment_change(
                tx, case, agencies, data, "added", _codes(agencies), actor
            )

        log.info("agency_added", case_id=case["_id"], agency=data["agency"])
        return self._reload(case["_id"])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def remove_agency(self, case_id, agency, reason, actor):
        """Take an agency out of the case, with the officer's reason."""
        data = load_input(
            RemoveAgencySchema,
            {"case_id": case_id, "agency": agency, "reason": reason, "actor": actor},
            "request to remove an agency",
        )
        return self._retrying(self._remove_agency, data)

    def _remove_agency(self, data):
        actor = _actor(data["actor"])
        with self.store.transaction() as tx:
            case = self._case_for_change(tx, data["case_id"], actor)
            agencies = rules.remove_agency(case["agencies"], data["agency"])
            overrides = rules.Overrides.from_doc(case.get("overrides"))
            overrides.added.pop(data["agency"], None)
            overrides.removed[data["agency"]] = data["reason"]
            self._save_change(
                tx,
                case,
                agencies,
                overrides,
                actor,
                "agency_removed",
                agency=data["agency"],
                reason=data["reason"],
            )
            # The removed agency gets its copy too: it must learn it is out.
            _emit_assignment_change(
                tx,
                case,
                agencies,
                data,
                "removed",
                [*_codes(agencies), data["agency"]],
                actor,
            )

        log.info("agency_removed", case_id=case["_id"], agency=data["agency"])
        return self._reload(case["_id"])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def transfer_lead(self, case_id, to_agency, reason, actor):
        """Move the lead from DIC (or the current lead) to another agency."""
        data = load_input(
            TransferLeadSchema,
            {
                "case_id": case_id,
                "to_agency": to_agency,
                "reason": reason,
                "actor": actor,
            },
            "request to transfer the lead",
        )
        return self._retrying(self._transfer_lead, data)

    def _transfer_lead(self, data):
        actor = _actor(data["actor"])
        to_agency = data["to_agency"]
        with self.store.transaction() as tx:
            case = self._case_for_change(tx, data["case_id"], actor)
            from_agency, agencies = rules.transfer_lead(
                case["agencies"], to_agency, data["reason"], self.registry
            )
            overrides = rules.Overrides.from_doc(case.get("overrides"))
            overrides.lead = to_agency
            overrides.lead_reason = data["reason"]
            overrides.removed.pop(to_agency, None)
            self._save_change(
                tx,
                case,
                agencies,
                overrides,
                actor,
                "lead_transferred",
                agency=to_agency,
                from_agency=from_agency,
                reason=data["reason"],
                lead=to_agency,
            )
            tx.emit(
                "case.lead_transferred",
                {
                    "from_agency": from_agency,
                    "to_agency": to_agency,
                    "reason": data["reason"],
                    "agencies": agencies,
                },
                case_id=case["_id"],
                agencies=_codes(agencies),
                classification=case.get("classification", "internal"),
                actor=actor,
            )
            self._hand_over_clocks(tx, case["_id"], from_agency, to_agency)

        log.info("lead_transferred", case_id=case["_id"], to_agency=to_agency)
        return self._reload(case["_id"])

    def _hand_over_clocks(self, tx, case_id, from_agency, to_agency):
        # The lead's clocks follow the lead; their due times do not move.
        for kind in self.settings["assignment_deadlines"]:
            for old in self.deadlines.cancel(
                tx,
                kind=kind,
                subject=("case", case_id),
                owner_agency=from_agency,
                reason=f"lead transferred to {to_agency}",
            ):
                self.deadlines.set(
                    tx,
                    kind,
                    subject=("case", case_id),
                    owner_agency=to_agency,
                    severity=old["severity"],
                    case_id=case_id,
                    start=as_datetime(old["started_at"]),
                    due_at=as_datetime(old["due_at"]),
                    classification=old["classification"],
                )

    # -- escalation -----------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def escalate(self, case_id, to, reason, actor, article=None):
        """Send a case to the City People's Committee (Art. 7.1.a, 7.1.h) or
        a removal proposal to the Ministry (Art. 7.1.g)."""
        data = load_input(
            EscalateSchema,
            {
                "case_id": case_id,
                "to": to,
                "reason": reason,
                "actor": actor,
                "article": article,
            },
            "escalation",
        )
        allowed = ESCALATION_ARTICLES[data["to"]]
        article = data["article"] or allowed[0]
        if article not in allowed:
            raise ValidationError(
                f"article {article} does not send a case to the {data['to']}",
                {"article": f"one of {', '.join(allowed)}"},
            )
        data["article"] = article

        return self._retrying(self._escalate, data)

    def _escalate(self, data):
        actor = _actor(data["actor"])
        lead = self.registry.lead.code
        if actor["agency"] != lead:
            # Advising the City and proposing removal to the Ministry are the
            # lead Department's own duties (Art. 7.1.a, g, h).
            raise Forbidden(
                "only the lead Department escalates a case",
                {"actor.agency": f"must be {lead}"},
            )
        with self.store.transaction() as tx:
            case = self._load_case(tx, data["case_id"])
            self._correlate(case)
            previous = case.get("state")
            check_transition(previous, ESCALATED, case["_id"])
            now = utcnow()
            escalation_id = str(uuid.uuid4())
            due_at = None
            kind = self.settings["escalation_deadline"]
            if kind:
                clock = self.deadlines.set(
                    tx,
                    kind,
                    subject=("escalation", escalation_id),
                    owner_agency=data["to"],
                    severity=case.get("severity"),
                    case_id=case["_id"],
                    start=now,
                    classification=case.get("classification", "internal"),
                )
                due_at = as_datetime(clock["due_at"])
            record = {
                "_id": escalation_id,
                "case_id": case["_id"],
                "to": data["to"],
                "article": data["article"],
                "reason": data["reason"],
                "state": "open",
                "requested_by": actor,
                "requested_at": now,
                "previous_state": previous,
                "due_at": due_at,
            }
            tx.db.escalations.insert_one(record, session=tx.session)
            tx.db.cases.update_one(
                {"_id": case["_id"]},
                {
                    "$set": {"state": ESCALATED, "state_at": now},
                    "$push": {
                        "history": _history(
                            "escalated",
                            actor,
                            to=data["to"],
                            escalation_id=escalation_id,
                            article=data["article"],
                            reason=data["reason"],
                        )
                    },
                },
                session=tx.session,
            )
            tx.emit(
                "case.escalated",
                {
                    "escalation_id": escalation_id,
                    "to": data["to"],
                    "reason": data["reason"],
                    "article": data["article"],
                    "due_at": due_at,
                    "state": ESCALATED,
                    "previous_state": previous,
                },
                case_id=case["_id"],
                agencies=[data["to"], *_codes(case.get("agencies", []))],
                classification=case.get("classification", "internal"),
                actor=actor,
            )

        log.info("case_escalated", case_id=case["_id"], to=data["to"])
        return _public_escalation(record)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def answer_escalation(self, escalation_id, outcome, next_state, actor, note=""):
        """Record what the City or the Ministry answered, and where the case
        goes on from there."""
        data = load_input(
            AnswerEscalationSchema,
            {
                "escalation_id": escalation_id,
                "outcome": outcome,
                "next_state": next_state,
                "actor": actor,
                "note": note,
            },
            "escalation answer",
        )
        return self._retrying(self._answer_escalation, data)

    def _answer_escalation(self, data):
        actor = _actor(data["actor"])
        with self.store.transaction() as tx:
            record = tx.db.escalations.find_one(
                {"_id": data["escalation_id"]}, session=tx.session
            )
            if record is None:
                raise NotFound(
                    f"escalation {data['escalation_id']} does not exist",
                    {"escalation_id": "unknown"},
                )
            if actor["agency"] not in (record["to"], self.registry.lead.code):
                raise Forbidden(
                    "only the addressee or the lead Department records the answer",
                    {"actor.agency": f"must be {record['to']} or the lead"},
                )
            if record["state"] != "open":
                raise Conflict(
                    f"escalation {record['_id']} was already answered",
                    {"escalation_id": f"outcome {record.get('outcome')}"},
                )
            case = self._load_case(tx, record["case_id"])
            self._correlate(case)
            if case.get("state") != ESCALATED:
                raise Conflict(
                    f"case {case['_id']} is not escalated",
                    {"state": f"current state is {case.get('state')!r}"},
                )
            next_state = data["next_state"]
            check_transition(ESCALATED, next_state, case["_id"])
            now = utcnow()
            answer = {
                "state": "answered",
                "outcome": data["outcome"],
                "note": data["note"],
                "next_state": next_state,
                "answered_by": actor,
                "answered_at": now,
            }
            tx.db.escalations.update_one(
                {"_id": record["_id"], "state": "open"},
                {"$set": answer},
                session=tx.session,
            )
            tx.db.cases.update_one(
                {"_id": case["_id"]},
                {
                    "$set": {"state": next_state, "state_at": now},
                    "$push": {
                        "history": _history(
                            "escalation_answered",
                            actor,
                            escalation_id=record["_id"],
                            outcome=data["outcome"],
                            next_state=next_state,
                        )
                    },
                },
                session=tx.session,
            )
            self.deadlines.meet(
                tx,
                subject=("escalation", record["_id"]),
                reason=f"answered: {data['outcome']}",
            )
            self._settle_after_answer(tx, case["_id"], next_state, data["outcome"])
            tx.emit(
                "case.escalation_answered",
                {
                    "escalation_id": record["_id"],
                    "to": record["to"],
                    "outcome": data["outcome"],
                    "note": data["note"],
                    "next_state": next_state,
                    "state": next_state,
                    "previous_state": ESCALATED,
                },
                case_id=case["_id"],
                agencies=[record["to"], *_codes(case.get("agencies", []))],
                classification=case.get("classification", "internal"),
                actor=actor,
            )

        log.info(
            "escalation_answered",
            case_id=case["_id"],
            escalation_id=record["_id"],
            outcome=data["outcome"],
        )
        return _public_escalation({**record, **answer})

    def _settle_after_answer(self, tx, case_id, next_state, outcome):
        subject = ("case", case_id)
        reason = f"escalation answered: {outcome}"
        if next_state == CLOSED:
            for kind in (VERIFICATION, RESOLUTION):
                self.deadlines.meet(tx, kind=kind, subject=subject, reason=reason)
        elif next_state == REJECTED:
            for kind in (VERIFICATION, RESOLUTION):
                self.deadlines.cancel(tx, kind=kind, subject=subject, reason=reason)
        elif next_state != VERIFYING:
            self.deadlines.meet(tx, kind=VERIFICATION, subject=subject, reason=reason)

    # -- helpers --------------------------------------------------------

    def _retrying(self, operation, data, conflict=True):
        # Two workers writing at once (two officers on one case, or the
        # database's own conflict detection between concurrent transactions):
        # MongoDB aborts one with a transient error, and running it again
        # reads the other's change and applies this one on top (or refuses
        # it). Retrying here, at once, keeps the bus's slower back-off for
        # real failures. ``conflict`` turns the last failure into a Conflict
        # for an RPC caller; an event handler lets it reach the bus, which
        # retries later.
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return operation(data)
            except PyMongoError as exc:
                if not is_transient(exc):
                    if conflict:
                        raise ServiceUnavailable(f"database error: {exc}") from exc
                    raise
                if attempt == TRANSIENT_ATTEMPTS:
                    if conflict:
                        raise Conflict(
                            "the case changed meanwhile; try again",
                            {"case_id": "concurrent change"},
                        ) from exc
                    raise
                log.debug("transaction_retried", attempt=attempt, error=str(exc))
                time.sleep(random.uniform(0.01, 0.05) * attempt)

    def _load_case(self, tx, case_id):
        case = tx.db.cases.find_one({"_id": case_id}, session=tx.session)
        if case is None or not case.get("agencies"):
            raise NotFound(
                f"case {case_id} has no assignment", {"case_id": "not assigned yet"}
            )
        return case

    def _case_for_change(self, tx, case_id, actor):
        case = self._load_case(tx, case_id)
        allowed = {self.registry.lead.code, case.get("lead")}
        if actor["agency"] not in allowed:
            raise Forbidden(
                "only the lead of the case or the lead Department changes its agencies",
                {"actor.agency": f"must be one of {', '.join(sorted(allowed))}"},
            )
        if case.get("state") in (CLOSED, MERGED, REJECTED):
            raise Conflict(
                f"case {case_id} is {case['state']}; its agencies no longer change",
                {"state": case["state"]},
            )
        self._correlate(case)

        return case

    def _correlate(self, case):
        # Events an officer causes belong to the case's flow: they carry the
        # correlation id of the case's triage.
        if case.get("correlation_id"):
            self.store.origin.setdefault(CTX_CORRELATION_ID, case["correlation_id"])

    def _save_change(self, tx, case, agencies, overrides, actor, action, **details):
        lead = next(item["agency"] for item in agencies if item["role"] == "lead")
        tx.db.cases.update_one(
            {"_id": case["_id"]},
            {
                "$set": {
                    "agencies": agencies,
                    "lead": lead,
                    "overrides": overrides.to_doc(),
                },
                "$push": {"history": _history(action, actor, **details)},
            },
            session=tx.session,
        )
        case["lead"] = lead

    def _reload(self, case_id):
        return _public_case(self.store.db.cases.find_one({"_id": case_id}))


def as_datetime(value):
    """An aware datetime from the ISO text of a deadline view."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
