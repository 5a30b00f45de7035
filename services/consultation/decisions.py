"""Appraisal, handling decision, measures and handling results (Art. 6.4-6.5,
Art. 7.6.c, Art. 8.2), and the end of a case: resolved, closed, reopened.

An appraisal counts only after a consultation of its verification cycle (a
closed written round or a meeting with approved minutes, Art. 5.2) and
cites codes in force on the day the content was posted. A decision cites
only what the appraisal confirmed; each measure has its agency and due date,
and the case is resolved when every measure has a handling result.
"""

import uuid

from pymongo import ASCENDING, IndexModel

from phoihop.cases import (
    APPRAISED,
    CLOSED,
    DECIDED,
    HANDLING,
    REJECTED,
    RESOLVED,
    VERIFYING,
)
from phoihop.contracts.consultation import DOES_NOT_VIOLATE, VIOLATES
from phoihop.errors import Conflict, Forbidden, NotFound, ValidationError
from phoihop.i18n import t
from phoihop.logging import get_logger

from . import rules
from .meetings import APPROVED, MEETINGS
from .rounds import OPEN, ROUNDS

log = get_logger(__name__)

MEASURES = "measures"
ASSIGNED = "assigned"
REPORTED = "reported"
MEASURE_DEADLINE = "measure"

INDEXES = {
    MEASURES: [
        IndexModel([("case_id", ASCENDING), ("decision_id", ASCENDING)], name="case"),
        IndexModel(
            [("agency", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)],
            name="agency_state",
        ),
    ],
}


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def current(records, cycle):
    """The latest record of a case's current verification cycle, or None."""
    mine = [record for record in records if record.get("cycle", 1) == cycle]
    return mine[-1] if mine else None


class Decisions:
    """Appraising, deciding, reporting results and ending cases."""

    def __init__(self, cases, reference, deadlines, clock):
        self.cases = cases
        self.reference = reference
        self.deadlines = deadlines
        self.clock = clock

    # Appraisal ----------------------------------------------------------

    def appraise(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        self._require_lead(actor, case, ("thẩm định hồ sơ", "appraise a case"))
        # Checked first so that a case in the wrong state is refused with its
        # state and the allowed moves, before any other reason.
        self.cases.check(case, APPRAISED)
        basis = self._consultation_basis(tx, case)
        posted_at = data.get("posted_at") or case.get("posted_at")
        if data["outcome"] == DOES_NOT_VIOLATE and data["legal_basis"]:
            raise ValidationError(
                t(
                    "nội dung không vi phạm thì không viện dẫn căn cứ pháp lý",
                    "content that does not violate cites no legal basis",
                ),
                {"legal_basis": "must be empty when the outcome is does_not_violate"},
            )
        if data["outcome"] == VIOLATES or data["legal_basis"]:
            rules.check_confirmed_legal_basis(
                self.reference.catalogue, data["legal_basis"], posted_at
            )

        appraisal = {
            "appraisal_id": new_id("appraisal"),
            "cycle": case.get("cycle", 1),
            "outcome": data["outcome"],
            "legal_basis": data["legal_basis"],
            "art_4_2_consideration": data["art_4_2_consideration"],
            "summary": data["summary"],
            "reason": data["reason"],
            "posted_at": posted_at,
            "appraised_by": actor,
            "appraised_at": self.clock(),
            "basis": basis,
        }
        changes = {"posted_at": posted_at} if posted_at else {}
        self.cases.move(
            tx,
            case,
            APPRAISED,
            "case.appraised",
            {
                "appraisal_id": appraisal["appraisal_id"],
                "outcome": appraisal["outcome"],
                "legal_basis": appraisal["legal_basis"],
                "art_4_2_consideration": appraisal["art_4_2_consideration"],
                "appraised_by": actor,
                "posted_at": posted_at,
                "summary": appraisal["summary"],
                "basis": basis,
            },
            actor=actor,
            agencies=self._case_agencies(case),
            changes=changes,
            push={"appraisals": appraisal},
        )
        case.setdefault("appraisals", []).append(appraisal)

        # Art. 4.2: content found not to violate is not handled; the case
        # ends in "rejected" with the reason, in the same transaction.
        if data["outcome"] == DOES_NOT_VIOLATE:
            self.cases.move(
                tx,
                case,
                REJECTED,
                "case.rejected",
                {"reason": data["reason"], "appraisal_id": appraisal["appraisal_id"]},
                actor=actor,
                agencies=self._case_agencies(case),
            )
        log.info("case_appraised", case_id=case_id, outcome=data["outcome"])

        return appraisal

    def _consultation_basis(self, tx, case):
        """The closed rounds and approved meetings the appraisal rests on."""
        cycle = case.get("cycle", 1)
        rounds = list(
            tx.db[ROUNDS].find(
                {"case_id": case["_id"], "cycle": cycle}, session=tx.session
            )
        )
        still_open = [item["_id"] for item in rounds if item["state"] == OPEN]
        if still_open:
            raise Conflict(
                t(
                    "còn vòng lấy ý kiến đang mở: "
                    + ", ".join(still_open)
                    + "; hãy kết thúc trước khi thẩm định",
                    "written rounds are still open: "
                    + ", ".join(still_open)
                    + "; close them before appraising",
                ),
                {"consultations": "round still open"},
            )
        meetings = tx.db[MEETINGS].find(
            {"case_id": case["_id"], "cycle": cycle, "state": APPROVED},
            session=tx.session,
        )
        basis = {
            "consultations": [item["_id"] for item in rounds],
            "meetings": [item["_id"] for item in meetings],
        }
        if not basis["consultations"] and not basis["meetings"]:
            raise Conflict(
                t(
                    "thẩm định cần một vòng lấy ý kiến đã kết thúc hoặc một cuộc họp "
                    "có biên bản đã phê duyệt (Điều 5.2)",
                    "an appraisal needs a closed written round or a meeting with "
                    "approved minutes (Art. 5.2)",
                ),
                {"consultations": "no consultation in this verification cycle"},
            )

        return basis

    # Decision -------------------------------------------------------------

    def decide(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        self._require_lead(
            actor, case, ("quyết định phương án xử lý", "decide the handling")
        )
        cycle = case.get("cycle", 1)
        # An escalation answered with "decided" (the City People's Committee
        # directs the handling, Art. 7.1.a/h) puts the case in "decided"
        # before there is a decision; the plan is then recorded in place.
        awaiting_plan = (
            case["state"] == DECIDED
            and current(case.get("decisions", []), cycle) is None
        )
        if not awaiting_plan:
            self.cases.check(case, DECIDED)
        appraisal = current(case.get("appraisals", []), cycle)
        confirmed = (
            appraisal["legal_basis"]
            if appraisal and appraisal["outcome"] == VIOLATES
            else []
        )
        legal_basis = rules.decision_legal_basis(data.get("legal_basis"), confirmed)
        posted_at = appraisal["posted_at"]
        rules.check_confirmed_legal_basis(
            self.reference.catalogue, legal_basis, posted_at
        )
        now = self.clock()
        severity = case.get("severity")
        for measure in data["measures"]:
            if measure.get("due_at") is None:
                measure["due_at"] = self.deadlines.due_at(MEASURE_DEADLINE, severity)
        errors = rules.measure_problems(
            data["measures"],
            self.reference.catalogue,
            self.reference.registry,
            posted_at,
            now,
            self.reference.lead,
        )
        if errors:
            raise ValidationError(
                t("phương án xử lý không hợp lệ", "the handling plan is not valid"),
                errors,
            )

        decision_id = new_id("decision")
        measures = [
            self._new_measure(tx, case, decision_id, legal_basis, item, now)
            for item in data["measures"]
        ]
        decision = {
            "decision_id": decision_id,
            "cycle": case.get("cycle", 1),
            "appraisal_id": appraisal["appraisal_id"],
            "legal_basis": legal_basis,
            "summary": data["summary"],
            "measure_ids": [measure["_id"] for measure in measures],
            "decided_by": actor,
            "decided_at": now,
        }
        self.cases.move(
            tx,
            case,
            DECIDED,
            "case.decided",
            {
                "decision_id": decision_id,
                "legal_basis": legal_basis,
                "measures": [self._measure_ref(measure) for measure in measures],
                "summary": data["summary"],
                "appraisal_id": appraisal["appraisal_id"],
            },
            actor=actor,
            agencies=self._case_agencies(case) + [m["agency"] for m in measures],
            push={"decisions": decision},
            allow_stay=awaiting_plan,
        )
        case.setdefault("decisions", []).append(decision)
        self._assign_measures(tx, case, measures, actor)
        log.info(
            "case_decided",
            case_id=case_id,
            decision_id=decision_id,
            measures=len(measures),
        )

        return decision, measures

    def _new_measure(self, tx, case, decision_id, legal_basis, item, now):
        measure = {
            "_id": new_id("measure"),
            "case_id": case["_id"],
            "decision_id": decision_id,
            "cycle": case.get("cycle", 1),
            "kind": item["kind"],
            "agency": item["agency"],
            "due_at": item["due_at"],
            "description": item["description"],
            "target": item.get("target"),
            "platform": item.get("platform"),
            "sanction_code": item.get("sanction_code"),
            "legal_basis": legal_basis,
            "state": ASSIGNED,
            "assigned_at": now,
            "result": None,
            "results": [],
        }
        self.deadlines.set(
            tx,
            MEASURE_DEADLINE,
            subject=("measure", measure["_id"]),
            owner_agency=item["agency"],
            case_id=case["_id"],
            due_at=item["due_at"],
            severity=case.get("severity"),
            classification=case.get("classification") or "internal",
        )
        tx.db[MEASURES].insert_one(measure, session=tx.session)

        return measure

    @staticmethod
    def _measure_ref(measure):
        return {
            "measure_id": measure["_id"],
            "kind": measure["kind"],
            "agency": measure["agency"],
            "due_at": measure["due_at"],
            "sanction_code": measure["sanction_code"],
            "target": measure["target"],
        }

    def _assign_measures(self, tx, case, measures, actor):
        """Send each measure to its agency; the first one takes the case into
        handling, so every ``measure.assigned`` says the case is handling."""
        for index, measure in enumerate(measures):
            payload = {
                **self._measure_ref(measure),
                "decision_id": measure["decision_id"],
                "platform": measure["platform"],
                "description": measure["description"],
                "legal_basis": measure["legal_basis"],
            }
            if index == 0:
                self.cases.move(
                    tx,
                    case,
                    HANDLING,
                    "measure.assigned",
                    payload,
                    actor=actor,
                    agencies=[measure["agency"]],
                )
                continue
            self.cases.emit(
                tx,
                case,
                "measure.assigned",
                {**payload, "state": HANDLING, "previous_state": HANDLING},
                actor=actor,
                agencies=[measure["agency"]],
            )

    # Handling results -----------------------------------------------------

    def get_measure(self, db, measure_id, session=None):
        found = db[MEASURES].find_one({"_id": measure_id}, session=session)
        if found is None:
            raise NotFound(
                t(
                    f"không có biện pháp {measure_id}",
                    f"there is no measure {measure_id}",
                ),
                {"measure_id": "unknown measure"},
            )
        return found

    def report(self, tx, case_id, measure_id, data, actor):
        measure = self.get_measure(tx.db, measure_id, tx.session)
        if measure["case_id"] != case_id:
            raise NotFound(
                t(
                    f"hồ sơ {case_id} không có biện pháp {measure_id}",
                    f"case {case_id} has no measure {measure_id}",
                ),
                {"measure_id": f"belongs to another case, not {case_id}"},
            )
        case = self.cases.load(tx, measure["case_id"])
        agency = rules.answering_agency(
            actor,
            case,
            data.get("agency"),
            [measure["agency"]],
            "is responsible for the measure",
            self.reference.lead,
        )
        if agency != measure["agency"]:
            raise Forbidden(
                t(
                    f"biện pháp {measure_id} do {measure['agency']} thực hiện; "
                    f"{agency} không thể báo cáo kết quả",
                    f"measure {measure_id} is assigned to {measure['agency']}; "
                    f"{agency} cannot report its result",
                ),
                {"agency": f"must be {measure['agency']}"},
            )
        if case["state"] not in (HANDLING, RESOLVED):
            raise Conflict(
                t(
                    f"hồ sơ {case['_id']} đang ở trạng thái {case['state']}; chỉ "
                    "báo cáo kết quả khi đang xử lý",
                    f"case {case['_id']} is {case['state']}; handling results are "
                    "reported while it is handling or resolved",
                ),
                {"state": f"current state is {case['state']!r}"},
            )

        now = self.clock()
        revision = len(measure["results"]) + 1
        recorded_by = actor if agency != actor["agency"] else None
        result = {
            "result": data["result"],
            "evidence": data["evidence"],
            "note": data["note"],
            "difficulties": data["difficulties"],
            "revision": revision,
            "reported_at": now,
            "officer": actor.get("officer"),
            "recorded_by": recorded_by,
            "late": now > measure["due_at"],
        }
        tx.db[MEASURES].update_one(
            {"_id": measure_id},
            {
                "$set": {"result": result, "state": REPORTED},
                "$push": {"results": result},
            },
            session=tx.session,
        )
        if measure["result"] is None:
            self.deadlines.meet(
                tx,
                kind=MEASURE_DEADLINE,
                subject=("measure", measure_id),
                reason="handling result reported",
            )
        measure.update(result=result, state=REPORTED)

        self.cases.emit(
            tx,
            case,
            "measure.reported",
            {
                "measure_id": measure_id,
                "decision_id": measure["decision_id"],
                "kind": measure["kind"],
                "agency": agency,
                "result": result["result"],
                "evidence": result["evidence"],
                "note": result["note"],
                "difficulties": result["difficulties"],
                "revision": revision,
                "late": result["late"],
                "recorded_by": recorded_by,
            },
            actor=actor,
            agencies=[case.get("lead")],
        )
        self._resolve_when_reported(tx, case, measure, actor)
        log.info(
            "measure_reported",
            case_id=case["_id"],
            measure_id=measure_id,
            result=result["result"],
        )

        return measure

    def _resolve_when_reported(self, tx, case, measure, actor):
        """Once every measure of the decision has a result, the case is
        resolved; a later revision of a result leaves it resolved."""
        measures = self.measures_of(tx.db, measure["decision_id"], tx.session)
        if case["state"] != HANDLING:
            self.cases.update(tx, case)
            return
        if rules.unreported(measures):
            # Touch the case so two last reports racing each other conflict,
            # and exactly one of them resolves it.
            self.cases.update(tx, case)
            return

        self.cases.move(
            tx,
            case,
            RESOLVED,
            "case.resolved",
            {
                "decision_id": measure["decision_id"],
                "results": rules.results_count(measures),
                "reason": "every measure has a handling result",
            },
            actor=actor,
            agencies=self._case_agencies(case),
        )

    def measures_of(self, db, decision_id, session=None):
        return list(
            db[MEASURES]
            .find({"decision_id": decision_id}, session=session)
            .sort("assigned_at", ASCENDING)
        )

    # Closing and reopening --------------------------------------------------

    def close(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        self._require_lead(actor, case, ("đóng hồ sơ", "close a case"))
        decision = current(case.get("decisions", []), case.get("cycle", 1))
        if decision is not None and case["state"] in (DECIDED, HANDLING):
            waiting = rules.unreported(
                self.measures_of(tx.db, decision["decision_id"], tx.session)
            )
            if waiting:
                listed = ", ".join(
                    f"{item['_id']} ({item['kind']}, {item['agency']})"
                    for item in waiting
                )
                raise Conflict(
                    t(
                        f"chưa thể đóng hồ sơ {case_id}: còn biện pháp chưa báo cáo "
                        f"kết quả: {listed}",
                        f"case {case_id} cannot be closed: measures without a "
                        f"handling result: {listed}",
                    ),
                    {
                        f"measures.{item['_id']}": f"no result from {item['agency']}"
                        for item in waiting
                    },
                )

        self.cases.move(
            tx,
            case,
            CLOSED,
            "case.closed",
            {"reason": data.get("reason", "")},
            actor=actor,
            agencies=self._case_agencies(case),
        )
        log.info("case_closed", case_id=case_id)

        return case

    def reopen(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        self._require_lead(actor, case, ("mở lại hồ sơ", "reopen a case"))
        cycle = case.get("cycle", 1) + 1
        self.cases.move(
            tx,
            case,
            VERIFYING,
            "case.reopened",
            {"reason": data["reason"], "cycle": cycle},
            actor=actor,
            agencies=self._case_agencies(case),
            changes={"cycle": cycle},
        )
        log.info("case_reopened", case_id=case_id, cycle=cycle)

        return case

    # Helpers ----------------------------------------------------------------

    def _require_lead(self, actor, case, action):
        rules.require_lead(actor, case, action, self.reference.lead)

    @staticmethod
    def _case_agencies(case):
        return [entry["agency"] for entry in case.get("agencies", [])]
