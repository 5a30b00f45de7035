"""Written-opinion rounds (Art. 5.2.b): DIC asks the coordinating agencies one
question in writing, each invited agency answers (and may revise its answer)
until the round closes, and the closed round keeps its tally and dissent.

A round closes when every invited agency has answered, when the lead closes
it, or at its due date. Each invited agency has its own opinion deadline in
the deadline engine, so reminders go to the agency that owes an answer and a
missing answer leaves its own overdue record; the first of those overdue
firings closes the round.

A round of a case that intake merges into another is not closed early: it
runs to its due date, and its answers stay on the merged case's record.
"""

import uuid

from pymongo import ASCENDING, IndexModel

from phoihop.cases import VERIFYING
from phoihop.contracts.consultation import (
    CLOSED_ALL_ANSWERED,
    CLOSED_BY_LEAD,
    CLOSED_DUE,
    WRITTEN,
)
from phoihop.errors import Conflict, Forbidden, NotFound, ValidationError
from phoihop.i18n import local_time, t
from phoihop.logging import get_logger

from . import rules

log = get_logger(__name__)

ROUNDS = "rounds"
OPEN = "open"
CLOSED = "closed"

# Deadline kinds of the deadline engine's configuration: an invited agency's
# opinion (reminders, overdue record), and the default length of a round
# opened without a due date (a policy only; no deadline of this kind is set).
OPINION_DEADLINE = "written_opinion"
ROUND_DEADLINE = "written_round"

INDEXES = {
    ROUNDS: [
        IndexModel([("case_id", ASCENDING), ("opened_at", ASCENDING)], name="case"),
        IndexModel([("state", ASCENDING), ("due_at", ASCENDING)], name="open_due"),
        IndexModel([("invited", ASCENDING), ("state", ASCENDING)], name="invited"),
    ],
}


def new_round_id():
    return f"round-{uuid.uuid4().hex[:16]}"


class Rounds:
    """Opening, answering and closing written rounds, inside a transaction."""

    def __init__(self, cases, reference, deadlines, clock):
        self.cases = cases
        self.reference = reference
        self.deadlines = deadlines
        self.clock = clock

    def get(self, db, consultation_id, session=None):
        found = db[ROUNDS].find_one({"_id": consultation_id}, session=session)
        if found is None:
            raise NotFound(
                t(
                    f"không có vòng lấy ý kiến {consultation_id}",
                    f"there is no written round {consultation_id}",
                ),
                {"consultation_id": "unknown round"},
            )
        return found

    def open(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        lead = self.reference.lead
        rules.require_lead(
            actor, case, ("mở vòng lấy ý kiến", "open a written round"), lead
        )
        now = self.clock()
        if data.get("due_at") is None:
            data = {
                **data,
                "due_at": self.deadlines.due_at(ROUND_DEADLINE, case.get("severity")),
            }
        self._check_invitation(data, actor, now)

        round_id = new_round_id()
        doc = {
            "_id": round_id,
            "case_id": case_id,
            "cycle": case.get("cycle", 1),
            "mode": WRITTEN,
            "question": data["question"],
            "invited": data["invited"],
            "due_at": data["due_at"],
            "state": OPEN,
            "opened_at": now,
            "opened_by": actor,
            "opinions": {},
            "revisions": [],
            "overdue": [],
        }
        tx.db[ROUNDS].insert_one(doc, session=tx.session)
        self._set_deadlines(tx, case, doc)

        self.cases.move(
            tx,
            case,
            VERIFYING,
            "consultation.opened",
            {
                "consultation_id": round_id,
                "mode": WRITTEN,
                "question": data["question"],
                "invited": data["invited"],
                "due_at": data["due_at"],
                "cycle": doc["cycle"],
            },
            actor=actor,
            agencies=data["invited"],
            allow_stay=True,
        )
        for agency in data["invited"]:
            self.cases.emit(
                tx,
                case,
                "consultation.opinion_requested",
                {
                    "consultation_id": round_id,
                    "agency": agency,
                    "question": data["question"],
                    "due_at": data["due_at"],
                },
                actor=actor,
                agencies=[agency],
            )
        log.info(
            "round_opened",
            case_id=case_id,
            consultation_id=round_id,
            invited=len(data["invited"]),
        )

        return doc

    def _check_invitation(self, data, actor, now):
        registry = self.reference.registry
        errors = {}
        for index, agency in enumerate(data["invited"]):
            if not registry.is_active(agency):
                errors[f"invited[{index}]"] = (
                    f"{agency} is not an agency in the registry"
                )
            elif agency == actor["agency"]:
                errors[f"invited[{index}]"] = "the lead does not answer its own round"
        if data["due_at"] <= now:
            errors["due_at"] = "must be in the future"
        if errors:
            raise ValidationError(
                t("vòng lấy ý kiến không hợp lệ", "the written round is not valid"),
                errors,
            )

    def _set_deadlines(self, tx, case, doc):
        """One deadline per invited agency: its reminders and, if it does not
        answer in time, its overdue record. They share the round's due time,
        so the first of them to go overdue also closes the round."""
        for agency in doc["invited"]:
            self.deadlines.set(
                tx,
                OPINION_DEADLINE,
                subject=("consultation", doc["_id"]),
                owner_agency=agency,
                case_id=case["_id"],
                due_at=doc["due_at"],
                severity=case.get("severity"),
                classification=case.get("classification") or "internal",
            )

    def submit(self, tx, consultation_id, data, actor):
        doc = self.get(tx.db, consultation_id, tx.session)
        case = self.cases.load(tx, doc["case_id"])
        agency = rules.answering_agency(
            actor,
            case,
            data.get("agency"),
            doc["invited"],
            "invited to the round",
            self.reference.lead,
        )
        if agency not in doc["invited"]:
            raise Forbidden(
                t(
                    f"cơ quan {agency} không được mời cho ý kiến trong vòng "
                    f"{consultation_id}; cơ quan được mời: {', '.join(doc['invited'])}",
                    f"agency {agency} was not invited to round {consultation_id}; "
                    f"invited: {', '.join(doc['invited'])}",
                ),
                {"agency": "not invited to this round"},
            )
        now = self.clock()
        self._require_open(doc, now)
        errors = rules.unknown_codes(self.reference.catalogue, data["legal_basis"])
        if errors:
            raise ValidationError(
                t(
                    "ý kiến đề xuất mã căn cứ pháp lý không có trong danh mục",
                    "the opinion proposes codes not in the legal-basis catalogue",
                ),
                errors,
            )

        previous = doc["opinions"].get(agency)
        revision = (previous or {}).get("revision", 0) + 1
        recorded_by = actor if agency != actor["agency"] else None
        opinion = {
            "position": data["position"],
            "reasoning": data["reasoning"],
            "legal_basis": list(dict.fromkeys(data["legal_basis"])),
            "attachments": data["attachments"],
            "revision": revision,
            "submitted_at": now,
            "officer": actor.get("officer"),
            "recorded_by": recorded_by,
        }
        doc["opinions"][agency] = opinion
        tx.db[ROUNDS].update_one(
            {"_id": consultation_id, "state": OPEN},
            {
                "$set": {f"opinions.{agency}": opinion},
                "$push": {"revisions": {"agency": agency, **opinion}},
            },
            session=tx.session,
        )
        if previous is None:
            self.deadlines.meet(
                tx,
                kind=OPINION_DEADLINE,
                subject=("consultation", consultation_id),
                owner_agency=agency,
                reason="opinion submitted",
            )

        self.cases.emit(
            tx,
            case,
            "consultation.opinion_submitted",
            {
                "consultation_id": consultation_id,
                "agency": agency,
                "position": opinion["position"],
                "reasoning": opinion["reasoning"],
                "legal_basis": opinion["legal_basis"],
                "attachments": opinion["attachments"],
                "revision": revision,
                "recorded_by": recorded_by,
            },
            actor=actor,
            agencies=[case.get("lead")],
        )
        log.info(
            "opinion_submitted",
            consultation_id=consultation_id,
            agency=agency,
            revision=revision,
        )
        if rules.is_all_answered(doc["invited"], doc["opinions"]):
            self.close(tx, doc, case, CLOSED_ALL_ANSWERED, actor)

        return doc

    def _require_open(self, doc, now):
        if doc["state"] == CLOSED:
            raise Conflict(
                t(
                    f"vòng lấy ý kiến {doc['_id']} đã kết thúc lúc "
                    f"{local_time(doc['closed_at'])}; không nhận thêm ý kiến",
                    f"round {doc['_id']} closed at {doc['closed_at'].isoformat()} "
                    f"({doc['close_reason']}); opinions are no longer accepted",
                ),
                {"consultation_id": "round closed"},
            )
        if now >= doc["due_at"]:
            raise Conflict(
                t(
                    f"vòng lấy ý kiến {doc['_id']} đã hết hạn lúc "
                    f"{local_time(doc['due_at'])}; không nhận thêm ý kiến",
                    f"round {doc['_id']} was due at {doc['due_at'].isoformat()}; "
                    "opinions are no longer accepted",
                ),
                {"consultation_id": "round past its due date"},
            )

    def close_by_lead(self, tx, consultation_id, actor):
        doc = self.get(tx.db, consultation_id, tx.session)
        case = self.cases.load(tx, doc["case_id"])
        rules.require_lead(
            actor,
            case,
            ("kết thúc vòng lấy ý kiến", "close a written round"),
            self.reference.lead,
        )
        if doc["state"] == CLOSED:
            raise Conflict(
                t(
                    f"vòng lấy ý kiến {consultation_id} đã kết thúc",
                    f"round {consultation_id} is already closed",
                ),
                {"consultation_id": "round closed"},
            )

        return self.close(tx, doc, case, CLOSED_BY_LEAD, actor)

    def close_at_due(self, tx, consultation_id, actor):
        """Close a round whose due date came (idempotent: a closed round is
        left as it is)."""
        doc = self.get(tx.db, consultation_id, tx.session)
        if doc["state"] == CLOSED:
            return doc
        case = self.cases.load(tx, doc["case_id"])

        return self.close(tx, doc, case, CLOSED_DUE, actor)

    def close(self, tx, doc, case, reason, actor):
        summary = rules.summarize_round(doc["invited"], doc["opinions"])
        now = self.clock()
        closing = {
            "state": CLOSED,
            "closed_at": now,
            "close_reason": reason,
            "tally": summary.tally,
            "outcome": summary.outcome,
            "dissent": summary.dissent,
            "missing": summary.missing,
            "legal_basis_proposed": summary.legal_basis_proposed,
        }
        result = tx.db[ROUNDS].update_one(
            {"_id": doc["_id"], "state": OPEN},
            {"$set": closing},
            session=tx.session,
        )
        if result.matched_count != 1:
            raise Conflict(
                f"round {doc['_id']} was closed meanwhile",
                {"consultation_id": "round closed"},
            )
        doc.update(closing)

        # Closed before its due date, the round no longer waits for the
        # missing agencies. At the due date their deadlines have fired as
        # overdue: that is the record of who did not answer, and it stays.
        if reason != CLOSED_DUE:
            for agency in summary.missing:
                self.deadlines.cancel(
                    tx,
                    kind=OPINION_DEADLINE,
                    subject=("consultation", doc["_id"]),
                    owner_agency=agency,
                    reason=f"round closed ({reason})",
                )

        # Closing a round does not move the case, but it touches it, so an
        # appraisal racing the last answer conflicts and sees the round closed.
        self.cases.update(tx, case)
        self.cases.emit(
            tx,
            case,
            "consultation.closed",
            {
                "consultation_id": doc["_id"],
                "reason": reason,
                "tally": summary.tally,
                "outcome": summary.outcome,
                "dissent": summary.dissent,
                "missing": summary.missing,
                "legal_basis_proposed": summary.legal_basis_proposed,
            },
            actor=actor,
            agencies=doc["invited"],
        )
        log.info(
            "round_closed",
            consultation_id=doc["_id"],
            reason=reason,
            outcome=summary.outcome,
            missing=len(summary.missing),
        )

        return doc

    def record_overdue(self, tx, consultation_id, agency, at):
        """Keep, on the round, that an agency's opinion went overdue."""
        tx.db[ROUNDS].update_one(
            {"_id": consultation_id, "overdue.agency": {"$ne": agency}},
            {"$push": {"overdue": {"agency": agency, "at": at}}},
            session=tx.session,
        )

    def for_case(self, db, case_id):
        return list(db[ROUNDS].find({"case_id": case_id}).sort("opened_at", ASCENDING))
