"""The press service: initial information within 2 hours, statements to the
press, and publication of handling results (Art. 7.6.d, 7.1.i, 7.7.c, 6.6).

When an incident case is assigned, the agency answerable for its sector or
locality owes city media initial information within 2 hours (Art. 7.6.d): a
durable clock starts, reminders go to the agency before it falls due, and
when it is missed the escalation goes to DIC. A statement is drafted from a
Vietnamese template, approved only by the issuing agency's spokesperson
(from the agency registry), and distributed to every press agency of the
registry through their adapters; each one's delivery is tracked. After a case
is resolved, DIC approves a results notice with the provisions applied and a
legal-education paragraph (Art. 6.6). Nothing classified leaves: a
classified case, or a draft repeating protected content, is refused.

RPC (mutating methods take ``actor`` = ``{"agency", "officer"}``)::

    draft_statement(case_id, kind, actor, content=None)
    update_draft(statement_id, changes, actor)
    approve_statement(statement_id, actor, revision=None)
    distribute_statement(statement_id, actor, recipients=None)
    confirm_delivery(statement_id, press_agency, actor, note="")
    draft_results_notice(case_id, actor, content=None)
    get_statement(statement_id)
    list_statements(case_id=None, agency=None, press_agency=None, kind=None,
                    status=None)
    initial_info_status(case_id)
    compliance(period)
    spokespersons(agency)

Events emitted: ``press.initial_info_due``, ``press.initial_info_overdue``
(copied to DIC: the escalation), ``press.statement_drafted``,
``press.statement_approved``, ``press.statement_distributed`` and
``press.results_published`` (copied to each press agency),
``press.delivery_confirmed``; and, through ``phoihop.deadlines``,
``deadline.set/due_soon/overdue/met/cancelled`` of kind ``initial_info``.

Events handled: ``case.opened``, ``case.triaged``, ``case.assigned``,
``case.assignment_changed``, ``case.lead_transferred``, ``case.merged``,
``case.decided``, ``measure.reported``, ``case.resolved``, ``case.closed``,
``case.reopened``, and ``deadline.overdue`` of its own clocks.
"""

import random
import time
import unicodedata
import uuid
from datetime import UTC, datetime

from nameko.rpc import rpc
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import PyMongoError

from phoihop.bus import subscribe
from phoihop.cases import CLOSED, RESOLVED
from phoihop.config import Config
from phoihop.deadlines import Deadlines
from phoihop.errors import (
    EXPECTED_ERRORS,
    Conflict,
    Forbidden,
    NotFound,
    ValidationError,
)
from phoihop.i18n import t
from phoihop.logging import get_logger
from phoihop.service import ServiceBase
from phoihop.store import AlreadyProcessed, Store, is_transient, utcnow
from services.press import clock as clocks
from services.press import records, review
from services.press.dependencies import Reference
from services.press.disclosure import (
    fingerprint,
    new_key,
    stricter,
)
from services.press.drafting import Drafter
from services.press.schemas import (
    INITIAL_INFO_KIND,
    ActorRequest,
    DistributeRequest,
    DraftRequest,
    PressSettings,
    ResultsDraftRequest,
    UpdateRequest,
    load_request,
)
from services.press.statements import (
    APPROVED,
    DISTRIBUTED,
    DRAFT,
    INITIAL_INFO,
    OFFICIAL,
    RESULTS,
    render_footer,
    shorten,
)

log = get_logger(__name__)

CASES = "cases"
STATEMENTS = "statements"
CLOCKS = "initial_info"

# The deadline kind of Art. 7.6.d; its duration and reminders come from the
# ``press.deadlines`` configuration (deploy/config/press.yaml).
DEADLINE_KIND = INITIAL_INFO_KIND
DEFAULT_DEADLINE_KINDS = {
    DEADLINE_KIND: {
        "duration": "2h",
        "reminders_minutes": [60, 30],
        "article": clocks.ARTICLE,
        "description": "initial information to city media after an incident",
    }
}

SYSTEM = {"agency": "system", "officer": None}
TRANSACTION_ATTEMPTS = 6

INDEXES = {
    STATEMENTS: [
        IndexModel([("case_id", ASCENDING), ("drafted_at", ASCENDING)], name="case"),
        IndexModel([("agency", ASCENDING), ("drafted_at", DESCENDING)], name="agency"),
        IndexModel(
            [("recipients", ASCENDING), ("distributed_at", DESCENDING)],
            name="recipients",
        ),
    ],
    CLOCKS: [
        IndexModel([("due_at", ASCENDING)], name="due"),
        IndexModel([("agency", ASCENDING), ("due_at", ASCENDING)], name="agency"),
    ],
}


class _Retry(Exception):
    """The transaction lost a race (a deadline fired meanwhile); run it
    again on fresh reads."""


def _instant(value):
    """An aware UTC datetime from a payload value (payloads carry ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    return moment.astimezone(UTC)


def _newer(view, field, at):
    """Whether an event of ``at`` may overwrite ``field``: handlers run
    concurrently, so an older event arriving late must not undo a newer."""
    seen = (view.get("as_of") or {}).get(field)
    return seen is None or at >= seen


def _same_person(officer, person):
    def norm(text):
        return unicodedata.normalize("NFC", " ".join((text or "").split())).casefold()

    wanted = norm(officer)
    return bool(wanted) and wanted in (norm(person.name), norm(person.email))


class PressService(ServiceBase):
    name = "press"

    settings = Config(PressSettings)
    store = Store(indexes=INDEXES)
    deadlines = Deadlines(kinds=DEFAULT_DEADLINE_KINDS)
    reference = Reference()

    # Plumbing ---------------------------------------------------------------

    def _transaction(self, work):
        """Run ``work(tx)`` in one transaction, again on a lost race.

        Two workers touching one case (an event and an RPC, or the deadline
        timer) make one transaction abort with a transient error; running it
        again on fresh reads is what the loser should do.
        """
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                with self.store.transaction() as tx:
                    return work(tx)
            except AlreadyProcessed:
                raise
            except _Retry:
                if attempt == TRANSACTION_ATTEMPTS:
                    raise Conflict(
                        t(
                            "bản ghi đang được cập nhật đồng thời; hãy thử lại",
                            "the record changed meanwhile; try again",
                        )
                    ) from None
            except PyMongoError as exc:
                if not is_transient(exc) or attempt == TRANSACTION_ATTEMPTS:
                    raise
                log.debug("press_transaction_retry", attempt=attempt)
            # Events of one case arrive together and touch one case view; a
            # short random pause keeps the losers from colliding again.
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)

    def _actor(self, actor):
        loaded = load_request(ActorRequest, actor, "actor", "actor.")
        if loaded["agency"] not in self.reference.registry:
            raise ValidationError(
                "invalid actor", {"actor.agency": "not an agency of the registry"}
            )

        return loaded

    @property
    def _lead(self):
        return self.reference.registry.lead.code

    @property
    def _drafter(self):
        return Drafter(self.reference)

    def _check(self, doc, view):
        return review.review(self.reference, doc, view)

    def _started_at(self, view, fallback, tx=None):
        """When the case's clock started, or when it was assigned: the time
        an initial-information statement refers to."""
        if tx is None:
            current = self.store.db[CLOCKS].find_one({"_id": view["_id"]})
        else:
            current = tx.db[CLOCKS].find_one({"_id": view["_id"]}, session=tx.session)

        return (current or {}).get("started_at") or view.get("assigned_at") or fallback

    def _view(self, tx, case_id):
        return tx.db[CASES].find_one({"_id": case_id}, session=tx.session) or {}

    def _require_view(self, case_id):
        view = self.store.db[CASES].find_one({"_id": case_id})
        if view is None:
            raise NotFound(
                t(
                    f"dịch vụ báo chí chưa nhận được vụ việc {case_id}",
                    f"the press service has not received case {case_id}",
                ),
                {"case_id": "unknown case"},
            )

        return view

    def _statement(self, statement_id, tx=None):
        if tx is None:
            doc = self.store.db[STATEMENTS].find_one({"_id": statement_id})
        else:
            doc = tx.db[STATEMENTS].find_one({"_id": statement_id}, session=tx.session)
        if doc is None:
            raise NotFound(
                t(
                    f"không có thông cáo {statement_id}",
                    f"statement {statement_id} does not exist",
                ),
                {"statement_id": "unknown statement"},
            )

        return doc

    def _write_statement(self, tx, doc, expected_revision, changes, push=None):
        """Update a statement only if nobody changed it since it was read."""
        update = {"$set": changes}
        if push:
            update["$push"] = push
        result = tx.db[STATEMENTS].update_one(
            {"_id": doc["_id"], "revision": expected_revision, "status": doc["status"]},
            update,
            session=tx.session,
        )
        if result.matched_count != 1:
            raise Conflict(
                t(
                    "thông cáo vừa được người khác thay đổi; hãy tải lại",
                    "the statement changed meanwhile; reload it",
                ),
                {"revision": f"was {expected_revision} when read"},
            )

    # Case facts, from the case's events ----------------------------------------

    def _ensure_view(self, tx, case_id):
        """The case view, created empty with its hashing key if new."""
        tx.db[CASES].update_one(
            {"_id": case_id},
            {"$setOnInsert": {"key": new_key(), "created_at": utcnow()}},
            upsert=True,
            session=tx.session,
        )

        return self._view(tx, case_id)

    def _update_view(self, tx, event, changes, dated=()):
        """Update the case view from an event; fields in ``dated`` only if
        the event is the newest to set them."""
        at = event["occurred_at"]
        view = self._ensure_view(tx, event["case_id"])
        sets = {}
        for field, value in changes.items():
            if field in dated:
                if not _newer(view, field, at):
                    continue
                sets[f"as_of.{field}"] = at
            sets[field] = value
        if "classification" not in changes and _newer(view, "classification", at):
            # Only intake's payloads (opening, triage) set the level; other
            # producers' envelopes may raise it, never lower it, so a
            # producer that leaves the envelope at its default cannot
            # declassify a case.
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
        tx.db[CASES].update_one(
            {"_id": event["case_id"]}, {"$set": sets}, session=tx.session
        )
        view = self._view(tx, event["case_id"])
        if self._is_refused_level(view.get("classification")) and (
            view.get("title") or view.get("summary")
        ):
            # A case classified after it was opened: its title and summary
            # may themselves be classified, so they are no longer kept here.
            tx.db[CASES].update_one(
                {"_id": event["case_id"]},
                {"$set": {"withheld": True}, "$unset": {"title": "", "summary": ""}},
                session=tx.session,
            )
            view = self._view(tx, event["case_id"])

        return view

    def _is_refused_level(self, level):
        return level in self.reference.settings["disclosure"]["refused_case_levels"]

    @subscribe("case.opened")
    def handle_case_opened(self, event):
        """Keep the facts a statement may use: title and summary (never for
        a classified case), and hashes of the captured text (see
        ``disclosure``), never the text itself."""
        payload = event["payload"]
        level = stricter(payload["classification"], event["classification"])

        def work(tx):
            key = self._ensure_view(tx, event["case_id"])["key"]
            items = [
                {"index": index, "fingerprint": found}
                for index, item in enumerate(payload["content_items"])
                if (found := fingerprint(item.get("captured_text"), key))
            ]
            about = payload.get("about") or {}
            changes = {
                "opened_at": event["occurred_at"],
                "items": items,
                "classification": level,
                "sector": about.get("sector"),
                "locality": about.get("locality"),
                "incident": payload["incident"],
            }
            if not self._is_refused_level(level):
                changes["title"] = payload["title"]
                changes["summary"] = shorten(about.get("text") or "")
            view = self._update_view(
                tx,
                event,
                changes,
                dated=("classification", "sector", "locality", "incident"),
            )
            self._draft_for_running_clock(tx, view)
            return len(items)

        items = self._transaction(work)
        log.info("case_facts_received", case_id=event["case_id"], fingerprinted=items)

    def _draft_for_running_clock(self, tx, view):
        """The facts arrived after the clock started (events of a case are
        handled concurrently): prepare the first draft now."""
        current = tx.db[CLOCKS].find_one({"_id": view["_id"]}, session=tx.session)
        if not current or current["status"] != clocks.RUNNING:
            return
        if current.get("statement_id") or not view.get("title"):
            return
        statement_id = self._auto_draft(
            tx, view["_id"], current["agency"], view, current["started_at"]
        )
        tx.db[CLOCKS].update_one(
            {"_id": view["_id"]},
            {"$set": {"statement_id": statement_id}},
            session=tx.session,
        )

    @subscribe("case.triaged")
    def handle_case_triaged(self, event):
        payload = event["payload"]
        changes = {
            "classification": stricter(payload["classification"]),
            "sector": payload.get("sector"),
            "locality": payload.get("locality"),
            "incident": payload["incident"],
            "categories": payload["categories"],
            "posted_at": _instant(payload.get("posted_at")),
            "state": payload["state"],
        }
        self._transaction(
            lambda tx: self._update_view(tx, event, changes, dated=tuple(changes))
        )

    @subscribe("case.decided")
    def handle_case_decided(self, event):
        payload = event["payload"]
        changes = {
            "decision": {
                "decision_id": payload["decision_id"],
                "legal_basis": payload["legal_basis"],
                "measures": payload["measures"],
                "summary": payload.get("summary") or "",
                "decided_at": event["occurred_at"],
            },
            "state": payload["state"],
        }
        self._transaction(
            lambda tx: self._update_view(tx, event, changes, dated=tuple(changes))
        )

    @subscribe("measure.reported")
    def handle_measure_reported(self, event):
        payload = event["payload"]

        def work(tx):
            view = self._view(tx, event["case_id"])
            known = (view.get("results") or {}).get(payload["measure_id"]) or {}
            if known.get("revision", 0) >= payload["revision"]:
                self._update_view(tx, event, {})
                return
            self._update_view(
                tx,
                event,
                {
                    f"results.{payload['measure_id']}": {
                        "result": payload["result"],
                        "revision": payload["revision"],
                    }
                },
            )

        self._transaction(work)

    @subscribe("case.resolved", "case.closed", "case.reopened")
    def handle_case_resolved(self, event):
        payload = event["payload"]
        changes = {"state": payload["state"]}
        if payload["state"] == RESOLVED:
            changes["resolved_at"] = event["occurred_at"]
            changes["resolved_results"] = payload["results"]
        self._transaction(
            lambda tx: self._update_view(tx, event, changes, dated=("state",))
        )

    # The 2-hour clock (Art. 7.6.d) --------------------------------------------

    @subscribe("case.assigned", "case.assignment_changed", "case.lead_transferred")
    def handle_case_assigned(self, event):
        payload = event["payload"]
        changes = {
            "agencies": [item["agency"] for item in payload["agencies"]],
            "lead": payload.get("lead") or payload.get("to_agency"),
        }
        if event["type"] == "case.assigned":
            changes.update(
                sector=payload.get("sector"),
                locality=payload.get("locality"),
                incident=payload["incident"],
                responsible_agencies=payload["responsible_agencies"],
                state=payload["state"],
            )

        def work(tx):
            view = self._update_view(tx, event, changes, dated=tuple(changes))
            if event["type"] == "case.assigned" and not view.get("assigned_at"):
                tx.db[CASES].update_one(
                    {"_id": event["case_id"]},
                    {"$set": {"assigned_at": event["occurred_at"]}},
                    session=tx.session,
                )
                view["assigned_at"] = event["occurred_at"]
            return self._follow_clock(tx, event, view)

        outcome = self._transaction(work)
        if outcome:
            log.info("initial_info_clock", case_id=event["case_id"], **outcome)

    def _responsible(self, view, on):
        return clocks.responsible_agency(
            self.reference.registry,
            view.get("agencies") or [],
            sector=view.get("sector"),
            locality=view.get("locality"),
            on=on,
            named=view.get("responsible_agencies") or (),
        )

    def _follow_clock(self, tx, event, view):
        """Start, move or stop the case's clock after an assignment."""
        case_id = event["case_id"]
        at = event["occurred_at"]
        current = tx.db[CLOCKS].find_one({"_id": case_id}, session=tx.session)

        if current is None:
            if not view.get("incident") or event["type"] != "case.assigned":
                return None
            return self._start_clock(tx, event, view)

        if current["status"] != clocks.RUNNING:
            return None
        if self._is_refused_level(view.get("classification")):
            self._stop_clock(
                tx, current, clocks.EXEMPT, "the case was classified meanwhile"
            )
            return {"action": "exempt", "agency": current["agency"]}
        if not view.get("incident"):
            self._stop_clock(
                tx, current, clocks.CANCELLED, "the case is no longer an incident"
            )
            return {"action": "cancelled", "agency": current["agency"]}
        responsible = self._responsible(view, at)
        if responsible != current["agency"]:
            return self._move_clock(tx, current, responsible, view)

        return None

    def _start_clock(self, tx, event, view):
        case_id = event["case_id"]
        started = event["occurred_at"]
        agency = self._responsible(view, started)
        level = stricter("internal", view.get("classification"))
        doc = {
            "_id": case_id,
            "agency": agency,
            "started_at": started,
            "history": [{"at": utcnow(), "action": "started", "agency": agency}],
        }

        if self._is_refused_level(view.get("classification")):
            # No statement may leave for a classified case (Art. 4), so the
            # clock cannot be met; it is recorded as exempt instead of being
            # counted as missed. DIC sees the case and decides what to say.
            doc.update(
                status=clocks.EXEMPT,
                reason=t(
                    "vụ việc có độ mật: không cung cấp thông tin cho báo chí",
                    "the case is classified: no information goes to the press",
                ),
            )
            tx.db[CLOCKS].insert_one(doc, session=tx.session)
            return {"action": "exempt", "agency": agency}

        deadline = self.deadlines.set(
            tx,
            DEADLINE_KIND,
            subject=("case", case_id),
            owner_agency=agency,
            case_id=case_id,
            start=started,
            classification=level,
        )
        due = deadline["due_at"]
        statement_id = None
        if view.get("title"):
            statement_id = self._auto_draft(tx, case_id, agency, view, started)
        doc.update(
            status=clocks.RUNNING,
            deadline_id=deadline["deadline_id"],
            due_at=_instant(due),
            limit_minutes=round((_instant(due) - started).total_seconds() / 60, 2),
            statement_id=statement_id,
        )
        tx.db[CLOCKS].insert_one(doc, session=tx.session)
        self._emit_due(tx, doc, deadline, level)

        return {"action": "started", "agency": agency, "due_at": due}

    def _emit_due(self, tx, doc, deadline, level):
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
            agencies=[doc["agency"], self._lead],
            classification=level,
            actor=SYSTEM,
        )

    def _move_clock(self, tx, current, agency, view):
        """The agency that owes the information changed: the clock keeps its
        start and due time and goes to the new agency."""
        try:
            self.deadlines.cancel(
                tx,
                deadline_id=current["deadline_id"],
                reason=f"initial information now owed by {agency}",
            )
        except Conflict as exc:
            raise _Retry from exc
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
        moved = {
            "agency": agency,
            "deadline_id": deadline["deadline_id"],
        }
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"]},
            {
                "$set": moved,
                "$push": {
                    "history": {
                        "at": utcnow(),
                        "action": "moved",
                        "agency": agency,
                        "from": current["agency"],
                    }
                },
            },
            session=tx.session,
        )
        self._emit_due(tx, {**current, **moved}, deadline, level)

        return {"action": "moved", "agency": agency, "from": current["agency"]}

    def _stop_clock(self, tx, current, status, reason):
        try:
            self.deadlines.cancel(tx, deadline_id=current["deadline_id"], reason=reason)
        except Conflict as exc:
            raise _Retry from exc
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"], "status": current["status"]},
            {
                "$set": {"status": status, "reason": reason},
                "$push": {"history": {"at": utcnow(), "action": status}},
            },
            session=tx.session,
        )

    @subscribe("case.merged")
    def handle_case_merged(self, event):
        into = event["payload"]["into_case_id"]

        def work(tx):
            self._update_view(
                tx, event, {"state": event["payload"]["state"]}, dated=("state",)
            )
            current = tx.db[CLOCKS].find_one(
                {"_id": event["case_id"]}, session=tx.session
            )
            if current and current["status"] == clocks.RUNNING:
                self._stop_clock(
                    tx, current, clocks.CANCELLED, f"the case was merged into {into}"
                )

        self._transaction(work)

    @subscribe("deadline.overdue")
    def handle_deadline_overdue(self, event):
        """Escalate a missed 2-hour clock to DIC (Art. 7.6.d, Art. 7.1)."""
        payload = event["payload"]
        if payload.get("service") != self.name or payload["kind"] != DEADLINE_KIND:
            return
        case_id = payload["subject"]["id"]

        def work(tx):
            current = tx.db[CLOCKS].find_one({"_id": case_id}, session=tx.session)
            if current is None or current.get("deadline_id") != payload["deadline_id"]:
                return None
            overdue_at = _instant(payload["fired_at"])
            if current["status"] != clocks.RUNNING:
                tx.db[CLOCKS].update_one(
                    {"_id": case_id},
                    {"$set": {"overdue_at": overdue_at}},
                    session=tx.session,
                )
                return None
            drafts = [
                doc["_id"]
                for doc in tx.db[STATEMENTS].find(
                    {"case_id": case_id, "kind": INITIAL_INFO}, session=tx.session
                )
            ]
            tx.db[CLOCKS].update_one(
                {"_id": case_id, "status": clocks.RUNNING},
                {
                    "$set": {
                        "status": clocks.OVERDUE,
                        "overdue_at": overdue_at,
                        "escalated_to": self._lead,
                    },
                    "$push": {
                        "history": {
                            "at": utcnow(),
                            "action": "escalated",
                            "agency": self._lead,
                        }
                    },
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
                    "escalated_to": self._lead,
                    "drafts": drafts,
                },
                case_id=case_id,
                agencies=[self._lead, current["agency"]],
                classification=payload.get("classification", "internal"),
                actor=SYSTEM,
            )
            return current["agency"]

        agency = self._transaction(work)
        if agency:
            log.warning(
                "initial_info_overdue_escalated",
                case_id=case_id,
                agency=agency,
                escalated_to=self._lead,
            )

    # Statements -------------------------------------------------------------

    def _new_statement(
        self, tx, case_id, kind, agency, title, body, inputs, by, **more
    ):
        now = utcnow()
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
        self._emit_statement(tx, "press.statement_drafted", doc, by, title=title)

        return doc

    def _emit_statement(
        self, tx, name, doc, by, classification=None, agencies=(), **extra
    ):
        view = self._view(tx, doc["case_id"])
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
            classification=classification
            or stricter("internal", view.get("classification")),
            actor=by if by.get("officer") else SYSTEM,
        )

    def _auto_draft(self, tx, case_id, agency, view, started):
        """A first draft of the initial information, ready when the clock
        starts, so the agency only adds its position and first measures."""
        drafter = self._drafter
        values = drafter.values(view, agency, started, {})
        title, body = drafter.draft(INITIAL_INFO, values)
        doc = self._new_statement(
            tx,
            case_id,
            INITIAL_INFO,
            agency,
            title,
            body,
            {
                "facts": values["facts"],
                "leadership_position": None,
                "first_measures": [],
            },
            {"agency": agency, "officer": None},
        )

        return doc["_id"]

    def _check_case_agency(self, view, agency):
        if agency == self._lead or agency in (view.get("agencies") or []):
            return
        raise Forbidden(
            t(
                f"{agency} không được phân công xử lý vụ việc {view['_id']}",
                f"{agency} is not assigned to case {view['_id']}",
            ),
            {"agency": "not among the agencies assigned to the case"},
        )

    def _check_may_edit(self, actor, doc):
        allowed = {
            doc["agency"],
            self._lead,
            (doc.get("drafted_by") or {}).get("agency"),
        }
        if actor["agency"] not in allowed:
            raise Forbidden(
                t(
                    f"chỉ {doc['agency']} hoặc Sở TT&TT được sửa thông cáo này",
                    f"only {doc['agency']} or DIC may change this statement",
                ),
                {"actor.agency": "not the issuing agency"},
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def draft_statement(self, case_id, kind, actor, content=None):
        """Draft an initial-information or official statement from its
        template, with the case facts, the leadership position and the
        first measures; returns the statement and its review."""
        actor = self._actor(actor)
        if kind not in (INITIAL_INFO, OFFICIAL):
            raise ValidationError(
                "invalid statement kind",
                {
                    "kind": f"one of {INITIAL_INFO}, {OFFICIAL}; a results notice "
                    "is drafted with draft_results_notice"
                },
            )
        content = load_request(DraftRequest, content, "statement draft", "content.")
        view = self._require_view(case_id)
        current = self.store.db[CLOCKS].find_one({"_id": case_id})
        agency = content.get("agency")
        if agency is None and kind == INITIAL_INFO and current:
            agency = current["agency"]
        agency = agency or actor["agency"]
        if agency not in self.reference.registry:
            raise ValidationError(
                "invalid statement draft", {"content.agency": "not in the registry"}
            )
        if actor["agency"] not in (agency, self._lead):
            raise Forbidden(
                t(
                    "chỉ cơ quan phát ngôn hoặc Sở TT&TT được soạn thông cáo",
                    "only the issuing agency or DIC may draft its statement",
                ),
                {"actor.agency": f"not {agency}"},
            )
        self._check_case_agency(view, agency)

        started = self._started_at(view, utcnow())
        drafter = self._drafter
        values = drafter.values(view, agency, started, content)
        title, body = drafter.draft(kind, values)
        inputs = {
            "facts": content.get("facts") or values["facts"],
            "leadership_position": content.get("leadership_position"),
            "first_measures": content.get("first_measures") or [],
            "body_edited": bool(content.get("body")),
        }
        by = {"agency": actor["agency"], "officer": actor["officer"]}
        doc = self._transaction(
            lambda tx: self._new_statement(
                tx,
                case_id,
                kind,
                agency,
                content.get("title") or title,
                content.get("body") or body,
                dict(inputs),
                by,
            )
        )
        log.info(
            "statement_drafted",
            statement_id=doc["_id"],
            case_id=case_id,
            kind=kind,
            agency=agency,
        )

        return records.statement(doc, self._check(doc, view))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_draft(self, statement_id, changes, actor):
        """Change a draft; an approved one goes back to draft and needs
        approval again. A distributed statement cannot change."""
        actor = self._actor(actor)
        changes = load_request(UpdateRequest, changes, "statement changes", "changes.")

        def work(tx):
            doc = self._statement(statement_id, tx)
            self._check_may_edit(actor, doc)
            if doc["status"] == DISTRIBUTED:
                raise Conflict(
                    t(
                        "thông cáo đã phát hành, không sửa được; "
                        "hãy soạn thông cáo mới",
                        "the statement was distributed and cannot change; "
                        "draft a new one",
                    ),
                    {"status": DISTRIBUTED},
                )
            if changes.get("revision") not in (None, doc["revision"]):
                raise Conflict(
                    t("thông cáo đã có bản sửa mới hơn", "a newer revision exists"),
                    {"revision": f"current revision is {doc['revision']}"},
                )
            return self._apply_changes(tx, doc, changes, actor)

        doc = self._transaction(work)
        view = self.store.db[CASES].find_one({"_id": doc["case_id"]}) or {}

        return records.statement(doc, self._check(doc, view))

    def _apply_changes(self, tx, doc, changes, actor):
        inputs = dict(doc.get("inputs") or {})
        redraw = False
        for field in ("facts", "leadership_position", "first_measures"):
            if field in changes:
                inputs[field] = changes[field]
                redraw = True
        body = changes.get("body")
        body_edited = doc.get("body_edited", False) or body is not None
        if body is None and redraw:
            if doc.get("body_edited"):
                raise Conflict(
                    t(
                        "nội dung thông cáo đã được sửa tay; hãy gửi kèm nội dung mới",
                        "the body was edited by hand; "
                        "send the new body with the change",
                    ),
                    {"changes.body": "required once the body was edited by hand"},
                )
            view = self._view(tx, doc["case_id"])
            started = self._started_at(view, doc["drafted_at"], tx)
            body = self._drafter.redraw(
                doc["kind"], view, doc["agency"], started, inputs
            )
        now = utcnow()
        by = {"agency": actor["agency"], "officer": actor["officer"]}
        revision = doc["revision"] + 1
        sets = {
            "title": changes.get("title") or doc["title"],
            "body": body if body is not None else doc["body"],
            "body_edited": body_edited,
            "inputs": inputs,
            "revision": revision,
            "status": DRAFT,
            "updated_at": now,
            "updated_by": by,
            "approved_by": None,
            "approved_at": None,
            "footer": "",
        }
        self._write_statement(
            tx,
            doc,
            doc["revision"],
            sets,
            push={
                "history": {
                    "at": now,
                    "action": "updated",
                    "by": by,
                    "revision": revision,
                }
            },
        )
        updated = {**doc, **sets}
        self._emit_statement(
            tx, "press.statement_drafted", updated, by, title=updated["title"]
        )

        return updated

    # Review before anything leaves (Art. 4) -------------------------------------

    def _refuse(self, doc, actor, reasons, error):
        """Record a refusal on the statement (its own transaction, so the
        record stays although the call fails), then raise."""
        entry = {
            "at": utcnow(),
            "by": {"agency": actor["agency"], "officer": actor["officer"]},
            "revision": doc["revision"],
            "reasons": reasons,
        }
        self.store.db[STATEMENTS].update_one(
            {"_id": doc["_id"]}, {"$push": {"refusals": entry}}
        )
        log.warning(
            "statement_refused",
            statement_id=doc["_id"],
            case_id=doc["case_id"],
            fields=sorted(reasons),
        )
        raise error

    def _spokesperson(self, agency, officer):
        """The registry's spokesperson of ``agency`` named ``officer``."""
        people = self.reference.registry.spokespersons(agency)
        for person in people:
            if _same_person(officer, person):
                if person.placeholder:
                    raise Forbidden(
                        t(
                            f"{agency} chưa cập nhật người phát ngôn thật trong danh "
                            "mục cơ quan (Điều 7.6.d)",
                            f"{agency} has not named a real spokesperson in the "
                            "agency registry yet (Art. 7.6.d)",
                        ),
                        {"actor.officer": "a placeholder entry of the registry"},
                    )
                return person
        raise Forbidden(
            t(
                f"chỉ người phát ngôn của {agency} được duyệt thông cáo (Điều 7.6.d)",
                f"only a spokesperson of {agency} may approve its statement "
                "(Art. 7.6.d)",
            ),
            {"actor.officer": f"not a spokesperson of {agency} in the registry"},
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def approve_statement(self, statement_id, actor, revision=None):
        """The issuing agency's spokesperson approves the statement; it is
        refused if the case is classified, if it repeats protected content,
        or if a blank of the template is still unfilled."""
        actor = self._actor(actor)
        doc = self._statement(statement_id)
        if doc["status"] != DRAFT:
            raise Conflict(
                t(
                    f"thông cáo đang ở trạng thái {doc['status']}, không duyệt được",
                    f"the statement is {doc['status']}; only a draft is approved",
                ),
                {"status": doc["status"]},
            )
        if revision is not None and revision != doc["revision"]:
            raise Conflict(
                t("thông cáo đã có bản sửa mới hơn", "a newer revision exists"),
                {"revision": f"current revision is {doc['revision']}"},
            )
        if actor["agency"] != doc["agency"]:
            raise Forbidden(
                t(
                    f"thông cáo của {doc['agency']} do người phát ngôn của "
                    f"{doc['agency']} duyệt (Điều 7.6.d)",
                    f"a statement of {doc['agency']} is approved by its own "
                    "spokesperson (Art. 7.6.d)",
                ),
                {"actor.agency": f"must be {doc['agency']}"},
            )
        person = self._spokesperson(doc["agency"], actor["officer"])

        view = self.store.db[CASES].find_one({"_id": doc["case_id"]}) or {}
        result = self._check(doc, view)
        reasons = review.disclosure_reasons(result)
        if reasons:
            self._refuse(
                doc,
                actor,
                reasons,
                Forbidden(
                    t(
                        "không duyệt: thông cáo có thể làm lộ thông tin mật",
                        "refused: the statement could disclose classified information",
                    ),
                    reasons,
                ),
            )
        if result["unfilled"]:
            reasons = review.blank_reasons(result)
            self._refuse(
                doc,
                actor,
                reasons,
                ValidationError(
                    t(
                        "không duyệt: thông cáo còn nội dung chưa điền",
                        "refused: the statement still has blanks to fill",
                    ),
                    reasons,
                ),
            )

        now = utcnow()
        footer = render_footer(
            self.reference.templates,
            doc["kind"],
            self._drafter.footer_values(doc["agency"], person, now),
        )
        by = {"agency": actor["agency"], "officer": actor["officer"]}

        def work(tx):
            sets = {
                "status": APPROVED,
                "approved_by": by,
                "approved_at": now,
                "footer": footer,
                "updated_at": now,
            }
            self._write_statement(
                tx,
                doc,
                doc["revision"],
                sets,
                push={
                    "history": {
                        "at": now,
                        "action": "approved",
                        "by": by,
                        "revision": doc["revision"],
                    }
                },
            )
            approved = {**doc, **sets}
            self._emit_statement(
                tx,
                "press.statement_approved",
                approved,
                by,
                approved_by=by,
                approved_at=now,
            )
            return approved

        approved = self._transaction(work)
        log.info("statement_approved", statement_id=statement_id, agency=doc["agency"])

        return records.statement(approved, self._check(approved, view))

    def _recipients(self, requested):
        press = [agency.code for agency in self.reference.registry.press_agencies()]
        if not requested:
            if not press:
                raise Conflict(
                    t(
                        "danh mục cơ quan không có cơ quan báo chí nào",
                        "the agency registry lists no press agency",
                    ),
                    {"recipients": "none in the registry"},
                )
            return press
        wrong = {
            f"recipients[{index}]": "not a press agency of the registry"
            for index, code in enumerate(requested)
            if code not in press
        }
        if wrong:
            raise ValidationError("invalid recipients", wrong)

        return list(dict.fromkeys(requested))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def distribute_statement(self, statement_id, actor, recipients=None):
        """Send an approved statement to the press agencies (every one of the
        registry unless named); stops the 2-hour clock for initial
        information and records whether it came in time."""
        actor = self._actor(actor)
        requested = load_request(
            DistributeRequest, {"recipients": recipients}, "distribution"
        )["recipients"]
        recipients = self._recipients(requested)
        doc = self._statement(statement_id)
        if actor["agency"] not in (doc["agency"], self._lead):
            raise Forbidden(
                t(
                    f"chỉ {doc['agency']} hoặc Sở TT&TT được phát hành thông cáo này",
                    f"only {doc['agency']} or DIC may distribute this statement",
                ),
                {"actor.agency": "not the issuing agency"},
            )
        if doc["status"] != APPROVED:
            raise Conflict(
                t(
                    "thông cáo phải được người phát ngôn duyệt trước khi phát hành"
                    if doc["status"] == DRAFT
                    else "thông cáo đã được phát hành",
                    "the statement must be approved by the spokesperson first"
                    if doc["status"] == DRAFT
                    else "the statement was already distributed",
                ),
                {"status": doc["status"]},
            )
        # The case may have been classified since approval: check again.
        view = self.store.db[CASES].find_one({"_id": doc["case_id"]}) or {}
        reasons = review.disclosure_reasons(self._check(doc, view))
        if reasons:
            self._refuse(
                doc,
                actor,
                reasons,
                Forbidden(
                    t(
                        "không phát hành: thông cáo có thể làm lộ thông tin mật",
                        "refused: the statement could disclose classified information",
                    ),
                    reasons,
                ),
            )
        by = {"agency": actor["agency"], "officer": actor["officer"]}
        distributed = self._transaction(
            lambda tx: self._distribute(tx, statement_id, recipients, by)
        )
        log.info(
            "statement_distributed",
            statement_id=statement_id,
            case_id=distributed["case_id"],
            kind=distributed["kind"],
            recipients=len(recipients),
            on_time=(distributed.get("initial_info") or {}).get("on_time"),
        )

        return records.statement(distributed)

    def _distribute(self, tx, statement_id, recipients, by):
        doc = self._statement(statement_id, tx)
        if doc["status"] != APPROVED:
            raise Conflict(
                t(
                    "thông cáo đã được phát hành",
                    "the statement was already distributed",
                ),
                {"status": doc["status"]},
            )
        now = utcnow()
        sets = {
            "status": DISTRIBUTED,
            "distributed_at": now,
            "distributed_by": by,
            "recipients": recipients,
            "deliveries": {
                code: {"sent_at": now, "confirmed_at": None} for code in recipients
            },
            "updated_at": now,
        }
        if doc["kind"] == INITIAL_INFO:
            sets["initial_info"] = self._give_initial_info(tx, doc, recipients, by, now)
        self._write_statement(
            tx,
            doc,
            doc["revision"],
            sets,
            push={
                "history": {
                    "at": now,
                    "action": "distributed",
                    "by": by,
                    "revision": doc["revision"],
                }
            },
        )
        sent = {**doc, **sets}
        text = sent["body"] + ("\n\n" + sent["footer"] if sent.get("footer") else "")
        # The per-agency copies (agency.press-hp.press.statement_distributed,
        # ...) are what each press agency's adapter delivers.
        self._emit_statement(
            tx,
            "press.statement_distributed",
            sent,
            by,
            classification="public",
            agencies=recipients,
            case_id=sent["case_id"],
            agency_name=self._drafter.agency_name(sent["agency"]),
            title=sent["title"],
            body=text,
            approved_by=sent["approved_by"],
            approved_at=sent["approved_at"],
            distributed_at=now,
            legal_basis=sent.get("legal_basis") or [],
            initial_info=sets.get("initial_info"),
        )
        if sent["kind"] == RESULTS:
            tx.emit(
                "press.results_published",
                {
                    "statement_id": sent["_id"],
                    "legal_basis": sent.get("legal_basis") or [],
                    "recipients": recipients,
                    "published_at": now,
                },
                case_id=sent["case_id"],
                agencies=[*recipients, self._lead],
                classification="public",
                actor=by,
            )

        return sent

    def _give_initial_info(self, tx, doc, recipients, by, now):
        """Stop the case's 2-hour clock and record when and to whom the
        initial information was given (Art. 7.6.d)."""
        current = tx.db[CLOCKS].find_one({"_id": doc["case_id"]}, session=tx.session)
        if current is None or current["status"] not in (clocks.RUNNING, clocks.OVERDUE):
            return None
        result = clocks.outcome(current["started_at"], current["due_at"], now)
        try:
            self.deadlines.meet(
                tx,
                deadline_id=current["deadline_id"],
                reason=f"statement {doc['_id']} distributed",
            )
        except Conflict as exc:
            raise _Retry from exc
        tx.db[CLOCKS].update_one(
            {"_id": current["_id"], "status": current["status"]},
            {
                "$set": {
                    "status": clocks.GIVEN,
                    "given_at": now,
                    "given_by": by,
                    "given_to": recipients,
                    "statement_id": doc["_id"],
                    **result,
                },
                "$push": {
                    "history": {"at": now, "action": "given", "agency": doc["agency"]}
                },
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

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def confirm_delivery(self, statement_id, press_agency, actor, note=""):
        """A press agency (or DIC on its word) confirms it received the
        statement; confirming twice changes nothing."""
        actor = self._actor(actor)
        if actor["agency"] not in (press_agency, self._lead):
            raise Forbidden(
                t(
                    f"chỉ {press_agency} hoặc Sở TT&TT xác nhận được việc nhận",
                    f"only {press_agency} or DIC may confirm its delivery",
                ),
                {"actor.agency": f"not {press_agency}"},
            )
        note = "" if note is None else note
        if not isinstance(note, str) or len(note) > 2000:
            raise ValidationError(
                "invalid note", {"note": "text of at most 2000 characters"}
            )

        def work(tx):
            doc = self._statement(statement_id, tx)
            if doc["status"] != DISTRIBUTED:
                raise Conflict(
                    t(
                        "thông cáo chưa được phát hành",
                        "the statement was not distributed",
                    ),
                    {"status": doc["status"]},
                )
            record = (doc.get("deliveries") or {}).get(press_agency)
            if record is None:
                raise ValidationError(
                    t("cơ quan này không nhận thông cáo", "not a recipient"),
                    {"press_agency": "not among the statement's recipients"},
                )
            if record.get("confirmed_at"):
                return doc
            now = utcnow()
            by = {"agency": actor["agency"], "officer": actor["officer"]}
            tx.db[STATEMENTS].update_one(
                {"_id": statement_id, f"deliveries.{press_agency}.confirmed_at": None},
                {
                    "$set": {
                        f"deliveries.{press_agency}.confirmed_at": now,
                        f"deliveries.{press_agency}.confirmed_by": by,
                        f"deliveries.{press_agency}.note": note,
                    }
                },
                session=tx.session,
            )
            tx.emit(
                "press.delivery_confirmed",
                {
                    "statement_id": statement_id,
                    "press_agency": press_agency,
                    "confirmed_at": now,
                    "confirmed_by": by,
                    "note": note,
                },
                case_id=doc["case_id"],
                agencies=[doc["agency"]],
                classification="public",
                actor=by,
            )
            return self._statement(statement_id, tx)

        doc = self._transaction(work)

        return records.statement(doc)

    # Results notices (Art. 6.6) ---------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def draft_results_notice(self, case_id, actor, content=None):
        """Draft the results notice of a resolved case for the press: what was
        handled, under which provision, with legal education (Art. 6.6);
        DIC's spokesperson approves it."""
        actor = self._actor(actor)
        content = load_request(
            ResultsDraftRequest, content, "results notice", "content."
        )
        view = self._require_view(case_id)
        self._check_case_agency(view, actor["agency"])
        if view.get("state") not in (RESOLVED, CLOSED) or not view.get("resolved_at"):
            raise Conflict(
                t(
                    "vụ việc chưa xử lý xong; chỉ thông báo kết quả sau khi xử lý xong",
                    "the case is not resolved yet; results are published after it is",
                ),
                {"state": view.get("state") or "unknown"},
            )
        if not view.get("decision"):
            raise Conflict(
                t(
                    "chưa nhận được quyết định xử lý của vụ việc",
                    "the handling decision of the case has not arrived",
                ),
                {"decision": "missing"},
            )
        reported = sum((view.get("resolved_results") or {}).values())
        if len(view.get("results") or {}) < reported:
            # The resolution counts results this service has not received
            # yet; a notice now would show measures as still under way.
            raise Conflict(
                t(
                    "kết quả xử lý của các biện pháp đang được cập nhật; "
                    "hãy thử lại sau ít phút",
                    "the handling results are still arriving; try again shortly",
                ),
                {"results": f"{len(view.get('results') or {})} of {reported}"},
            )
        drafter = self._drafter
        codes = drafter.cited_codes(view)
        values = drafter.results_values(view, self._lead, content)
        title, body = drafter.draft(RESULTS, values)
        by = {"agency": actor["agency"], "officer": actor["officer"]}

        def work(tx):
            open_notice = tx.db[STATEMENTS].find_one(
                {
                    "case_id": case_id,
                    "kind": RESULTS,
                    "status": {"$in": [DRAFT, APPROVED]},
                },
                session=tx.session,
            )
            if open_notice:
                raise Conflict(
                    t(
                        f"đã có thông báo kết quả đang soạn: {open_notice['_id']}",
                        "a results notice is already in progress: "
                        f"{open_notice['_id']}",
                    ),
                    {"statement_id": open_notice["_id"]},
                )
            return self._new_statement(
                tx,
                case_id,
                RESULTS,
                self._lead,
                content.get("title") or title,
                content.get("body") or body,
                {"facts": values["facts"], "body_edited": bool(content.get("body"))},
                by,
                legal_basis=codes,
            )

        doc = self._transaction(work)
        checks = self._check(doc, view)
        posted_at = view.get("posted_at")
        if posted_at and codes:
            checks["legal_basis"] = [
                problem.to_dict()
                for problem in self.reference.catalogue.check(codes, posted_at)
            ]

        return records.statement(doc, checks)

    # Reading ----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_statement(self, statement_id):
        doc = self._statement(statement_id)
        view = self.store.db[CASES].find_one({"_id": doc["case_id"]}) or {}
        checks = self._check(doc, view) if doc["status"] != DISTRIBUTED else None

        return records.statement(doc, checks)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_statements(
        self, case_id=None, agency=None, press_agency=None, kind=None, status=None
    ):
        """Statements of a case, issued by an agency, or sent to a press
        agency; newest first."""
        query = {}
        if case_id:
            query["case_id"] = case_id
        if agency:
            query["agency"] = agency
        if press_agency:
            query["recipients"] = press_agency
        if not query:
            raise ValidationError(
                "say whose statements",
                {"case_id": "give case_id, agency or press_agency"},
            )
        if kind:
            query["kind"] = kind
        if status:
            query["status"] = status
        cursor = (
            self.store.db[STATEMENTS]
            .find(query)
            .sort("drafted_at", DESCENDING)
            .limit(self.reference.settings["list_limit"])
        )

        return [records.statement_summary(doc) for doc in cursor]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def initial_info_status(self, case_id):
        """The 2-hour clock of a case: who owes it, due when, reminders,
        and when the information was given and to whom."""
        view = self._require_view(case_id)
        current = self.store.db[CLOCKS].find_one({"_id": case_id})
        if current is None:
            return {
                "case_id": case_id,
                "status": "none",
                "incident": bool(view.get("incident")),
                "assigned_at": records.iso(view.get("assigned_at")),
            }
        deadline = None
        if current.get("deadline_id"):
            deadline = self.deadlines.get(current["deadline_id"])
        statements = (
            self.store.db[STATEMENTS]
            .find({"case_id": case_id, "kind": INITIAL_INFO})
            .sort("drafted_at", ASCENDING)
        )

        return records.clock(current, deadline, list(statements))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def compliance(self, period):
        """On-time, late and missing initial information for the clocks
        that fell due in ``period`` (see ``clock.parse_period``)."""
        start, end = clocks.parse_period(period)
        found = self.store.db[CLOCKS].find(
            {"due_at": {"$gte": start, "$lt": end}},
        )
        also_exempt = self.store.db[CLOCKS].find(
            {"status": clocks.EXEMPT, "started_at": {"$gte": start, "$lt": end}}
        )

        return clocks.compliance_report([*found, *also_exempt], start, end, utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def spokespersons(self, agency):
        """Who may speak for ``agency`` (Art. 7.6.d), from the registry."""
        return [
            person.to_dict() for person in self.reference.registry.spokespersons(agency)
        ]
