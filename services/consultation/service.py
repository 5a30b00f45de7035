"""The consultation service: how agencies check, verify and appraise reported
content together (Art. 5.2: a meeting or written opinions), agree the
handling decision with its legal basis, carry out its measures and report
the results (Art. 6.4-6.5, Art. 7.6.c, Art. 8.2).

RPC (mutating methods take ``actor`` {agency, officer}; only DIC, or the
agency the lead was transferred to, opens rounds, convenes meetings,
appraises, decides, closes and reopens; an agency answers only for itself):
    open_round(case_id, request, actor)
    submit_opinion(consultation_id, request, actor)
    close_round(consultation_id, actor)
    get_round(consultation_id, actor=None)
    convene_meeting(case_id, request, actor)
    record_attendance(meeting_id, request, actor)
    record_minutes(meeting_id, request, actor)
    approve_minutes(meeting_id, actor)
    get_meeting(meeting_id, actor=None)
    appraise(case_id, request, actor)
    decide(case_id, request, actor)
    report_result(case_id, measure_id, request, actor)
    close_case(case_id, reason="", actor)
    reopen_case(case_id, reason, actor)
    get_case(case_id, actor=None)
    list_measures(case_id=None, agency=None, state=None, limit=100, actor=None)
Request shapes are the schemas of ``phoihop.contracts.consultation``.

Events emitted: consultation.opened, consultation.opinion_requested (and
agency.<code>.…), consultation.opinion_submitted, consultation.closed,
meeting.convened, meeting.minutes_approved, case.appraised, case.rejected,
case.decided, measure.assigned, measure.reported, case.resolved,
case.closed, case.reopened; deadline.* through the deadline engine.

Events handled: case.triaged, case.assigned, case.assignment_changed,
case.lead_transferred, case.escalated, case.escalation_answered,
case.merged (the case view); deadline.overdue of its own deadline kinds
(an overdue answer is recorded and closes its round at the due date; an
overdue measure is recorded).
"""

from marshmallow import INCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from phoihop.agencies import shipped_registry
from phoihop.bus import subscribe
from phoihop.config import Config
from phoihop.contracts.consultation import (
    ActorRef,
    AppraisalRequest,
    AttendanceRequest,
    CloseRequest,
    ConveneMeetingRequest,
    DecisionRequest,
    MinutesRequest,
    OpenRoundRequest,
    OpinionRequest,
    ReasonRequest,
    ResultRequest,
)
from phoihop.deadlines import Deadlines
from phoihop.errors import EXPECTED_ERRORS, Forbidden, ValidationError
from phoihop.events import validate_payload
from phoihop.i18n import t
from phoihop.legal import default_catalogue
from phoihop.service import ServiceBase
from phoihop.store import Store, utcnow

from . import cases as case_store
from . import decisions as decision_store
from . import meetings as meeting_store
from . import rounds as round_store
from . import rules, views
from .cases import CaseStore, atomic

SYSTEM_ACTOR = {"agency": "system", "officer": "consultation"}

# Events of routing and intake that feed the case view.
FOLLOWED_EVENTS = (
    "case.triaged",
    "case.assigned",
    "case.assignment_changed",
    "case.lead_transferred",
    "case.escalated",
    "case.escalation_answered",
    "case.merged",
)

MEASURE_STATES = (decision_store.ASSIGNED, decision_store.REPORTED, "overdue")

# Deadline kinds and their defaults; the ``deadlines`` key of the config
# section overrides them (phoihop.deadlines.DeadlinePolicySchema).
DEADLINE_KINDS = {
    round_store.ROUND_DEADLINE: {
        "duration": "3wd",
        "by_severity": {"critical": "4h", "high": "1wd"},
        "article": "5.2.b",
        "description": "how long a round given no due date runs",
    },
    round_store.OPINION_DEADLINE: {
        "duration": "3wd",
        "by_severity": {"critical": "4h", "high": "1wd"},
        "article": "5.2.b",
        "description": "an invited agency gives its written opinion",
    },
    decision_store.MEASURE_DEADLINE: {
        "duration": "5wd",
        "by_severity": {"critical": "1d", "high": "2wd"},
        "article": "7.6.c",
        "description": "the responsible agency reports its handling result",
    },
}


class ConsultationSettings(Schema):
    """The ``consultation`` section of ``deploy/config/consultation.yaml``."""

    class Meta:
        unknown = INCLUDE

    max_page_size = fields.Integer(
        load_default=500, validate=validate.Range(min=1, max=5000)
    )
    deadlines = fields.Dict(load_default=dict)


class Reference(DependencyProvider):
    """The legal-basis catalogue and the agency registry.

    ``setup()`` loads and validates both once, when the container starts: a
    bad catalogue or registry stops the service there with the file, row and
    field at fault, not at the first appraisal.
    """

    def setup(self):
        self.catalogue = default_catalogue()
        self.registry = shipped_registry()
        self.lead = self.registry.lead.code

    def get_dependency(self, worker_ctx):
        return self


def load_request(schema, data, what):
    """Validate an RPC request; a bad one is refused naming every field."""
    try:
        return schema().load(data if data is not None else {})
    except SchemaError as exc:
        raise ValidationError(
            t(f"yêu cầu {what} không hợp lệ", f"invalid {what} request"),
            _flatten(exc.messages),
        ) from exc


def _flatten(messages, prefix=""):
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = (
                f"{prefix}[{key}]"
                if isinstance(key, int)
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            flat.update(_flatten(value, name))
    else:
        items = messages if isinstance(messages, list) else [messages]
        flat[prefix or "request"] = "; ".join(str(item) for item in items)

    return flat


def load_actor(actor):
    if not isinstance(actor, dict):
        raise ValidationError(
            t("thiếu người thực hiện", "the actor is missing"),
            {"actor": "{agency, officer} of the authenticated caller"},
        )
    try:
        return ActorRef().load(actor)
    except SchemaError as exc:
        raise ValidationError(
            t("người thực hiện không hợp lệ", "invalid actor"),
            _flatten(exc.messages, "actor"),
        ) from exc


class ConsultationService(ServiceBase):
    name = "consultation"

    settings = Config(ConsultationSettings)
    store = Store(
        indexes={
            **case_store.INDEXES,
            **round_store.INDEXES,
            **meeting_store.INDEXES,
            **decision_store.INDEXES,
        }
    )
    reference = Reference()
    deadlines = Deadlines(kinds=DEADLINE_KINDS)

    # Workers' helpers, built per call around the worker's dependencies.

    def _cases(self):
        return CaseStore(utcnow)

    def _rounds(self):
        return round_store.Rounds(self._cases(), self.reference, self.deadlines, utcnow)

    def _meetings(self):
        return meeting_store.Meetings(self._cases(), self.reference, utcnow)

    def _decisions(self):
        return decision_store.Decisions(
            self._cases(), self.reference, self.deadlines, utcnow
        )

    def _atomic(self, work):
        return atomic(self.store, work)

    # Written rounds -------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def open_round(self, case_id, request, actor):
        actor = load_actor(actor)
        data = load_request(OpenRoundRequest, request, "mở vòng lấy ý kiến")
        rounds = self._rounds()
        doc = self._atomic(lambda tx: rounds.open(tx, case_id, data, actor))

        return views.round_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def submit_opinion(self, consultation_id, request, actor):
        actor = load_actor(actor)
        data = load_request(OpinionRequest, request, "ý kiến")
        rounds = self._rounds()
        doc = self._atomic(lambda tx: rounds.submit(tx, consultation_id, data, actor))
        agency = data.get("agency") or actor["agency"]

        return views.round_view(doc, agency, is_lead=False)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def close_round(self, consultation_id, actor):
        actor = load_actor(actor)
        rounds = self._rounds()
        doc = self._atomic(lambda tx: rounds.close_by_lead(tx, consultation_id, actor))

        return views.round_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_round(self, consultation_id, actor=None):
        viewer = load_actor(actor) if actor is not None else None
        doc = self._rounds().get(self.store.db, consultation_id)
        case = self._cases().get(self.store.db, doc["case_id"])
        is_lead = viewer is None or rules.is_lead(viewer, case, self.reference.lead)
        if not is_lead and viewer["agency"] not in doc["invited"]:
            raise Forbidden(
                t(
                    f"cơ quan {viewer['agency']} không tham gia vòng {consultation_id}",
                    f"agency {viewer['agency']} takes no part in round "
                    f"{consultation_id}",
                ),
                {"actor.agency": "not invited to this round"},
            )

        return views.round_view(doc, (viewer or {}).get("agency"), is_lead)

    # Meetings -------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def convene_meeting(self, case_id, request, actor):
        actor = load_actor(actor)
        data = load_request(ConveneMeetingRequest, request, "triệu tập cuộc họp")
        meetings = self._meetings()
        doc = self._atomic(lambda tx: meetings.convene(tx, case_id, data, actor))

        return views.meeting_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def record_attendance(self, meeting_id, request, actor):
        actor = load_actor(actor)
        data = load_request(AttendanceRequest, request, "danh sách dự họp")
        meetings = self._meetings()
        doc = self._atomic(
            lambda tx: meetings.record_attendance(tx, meeting_id, data, actor)
        )

        return views.meeting_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def record_minutes(self, meeting_id, request, actor):
        actor = load_actor(actor)
        data = load_request(MinutesRequest, request, "biên bản họp")
        meetings = self._meetings()
        doc = self._atomic(
            lambda tx: meetings.record_minutes(tx, meeting_id, data, actor)
        )

        return views.meeting_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def approve_minutes(self, meeting_id, actor):
        actor = load_actor(actor)
        meetings = self._meetings()
        doc = self._atomic(lambda tx: meetings.approve_minutes(tx, meeting_id, actor))

        return views.meeting_view(doc)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_meeting(self, meeting_id, actor=None):
        doc = self._meetings().get(self.store.db, meeting_id)
        if actor is not None:
            viewer = load_actor(actor)
            case = self._cases().get(self.store.db, doc["case_id"])
            lead = rules.is_lead(viewer, case, self.reference.lead)
            if not lead and viewer["agency"] not in doc["invited"]:
                raise Forbidden(
                    t(
                        f"cơ quan {viewer['agency']} không được mời họp {meeting_id}",
                        f"agency {viewer['agency']} is not invited to {meeting_id}",
                    ),
                    {"actor.agency": "not invited to this meeting"},
                )

        return views.meeting_view(doc)

    # Appraisal, decision, results -------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def appraise(self, case_id, request, actor):
        actor = load_actor(actor)
        data = load_request(AppraisalRequest, request, "thẩm định")
        decisions = self._decisions()
        appraisal = self._atomic(
            lambda tx: decisions.appraise(tx, case_id, data, actor)
        )

        return views.json_safe(appraisal)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def decide(self, case_id, request, actor):
        actor = load_actor(actor)
        data = load_request(DecisionRequest, request, "quyết định xử lý")
        decisions = self._decisions()
        decision, measures = self._atomic(
            lambda tx: decisions.decide(tx, case_id, data, actor)
        )

        return views.json_safe(
            {**decision, "measures": [views.measure_view(m) for m in measures]}
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def report_result(self, case_id, measure_id, request, actor):
        actor = load_actor(actor)
        data = load_request(ResultRequest, request, "kết quả xử lý")
        decisions = self._decisions()
        measure = self._atomic(
            lambda tx: decisions.report(tx, case_id, measure_id, data, actor)
        )

        return views.measure_view(measure)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def close_case(self, case_id, reason="", actor=None):
        actor = load_actor(actor)
        data = load_request(CloseRequest, {"reason": reason or ""}, "đóng hồ sơ")
        decisions = self._decisions()
        self._atomic(lambda tx: decisions.close(tx, case_id, data, actor))

        return self.get_case(case_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reopen_case(self, case_id, reason, actor=None):
        actor = load_actor(actor)
        data = load_request(ReasonRequest, {"reason": reason}, "mở lại hồ sơ")
        decisions = self._decisions()
        self._atomic(lambda tx: decisions.reopen(tx, case_id, data, actor))

        return self.get_case(case_id)

    # Reading -------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_case(self, case_id, actor=None):
        viewer = load_actor(actor) if actor is not None else None
        db = self.store.db
        case = self._cases().get(db, case_id)
        rounds = self._rounds().for_case(db, case_id)
        meetings = self._meetings().for_case(db, case_id)
        measures = list(
            db[decision_store.MEASURES]
            .find({"case_id": case_id})
            .sort("assigned_at", 1)
        )
        if viewer is not None and not rules.is_lead(viewer, case, self.reference.lead):
            involved = views.involved_agencies(case, rounds, meetings, measures)
            if viewer["agency"] not in involved:
                raise Forbidden(
                    t(
                        f"cơ quan {viewer['agency']} không tham gia hồ sơ {case_id}",
                        f"agency {viewer['agency']} takes no part in case {case_id}",
                    ),
                    {"actor.agency": "not involved in this case"},
                )

        return views.case_view(
            case, rounds, meetings, measures, viewer, self.reference.lead
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_measures(
        self, case_id=None, agency=None, state=None, limit=100, actor=None
    ):
        """Measures by responsible agency and state (assigned, reported, or
        overdue: assigned and past its due date), soonest due first."""
        errors = {}
        if state is not None and state not in MEASURE_STATES:
            errors["state"] = f"one of {', '.join(MEASURE_STATES)}"
        if not isinstance(limit, int) or not 1 <= limit <= self.settings.get(
            "max_page_size", 500
        ):
            errors["limit"] = f"an integer from 1 to {self.settings['max_page_size']}"
        if errors:
            raise ValidationError(
                t("tham số tra cứu không hợp lệ", "invalid measure query"), errors
            )
        if actor is not None:
            viewer = load_actor(actor)
            if viewer["agency"] != self.reference.lead:
                if agency not in (None, viewer["agency"]):
                    raise Forbidden(
                        t(
                            f"cơ quan {viewer['agency']} chỉ xem được biện pháp của "
                            "mình",
                            f"agency {viewer['agency']} may list only its own measures",
                        ),
                        {"agency": f"must be {viewer['agency']}"},
                    )
                agency = viewer["agency"]

        query = {}
        if agency:
            query["agency"] = agency
        if case_id:
            query["case_id"] = case_id
        now = utcnow()
        if state == "overdue":
            query.update(state=decision_store.ASSIGNED, due_at={"$lt": now})
        elif state:
            query["state"] = state
        found = (
            self.store.db[decision_store.MEASURES]
            .find(query)
            .sort([("due_at", 1), ("_id", 1)])
            .limit(limit)
        )

        return [views.measure_view(item, now) for item in found]

    # Events --------------------------------------------------------------------

    @subscribe(*FOLLOWED_EVENTS)
    def handle_case_event(self, event):
        """Keep the case view in step with routing and intake."""
        if not event.get("case_id"):
            raise ValidationError(
                f"{event['type']} without a case_id", {"event.case_id": "required"}
            )
        payload = validate_payload(event["type"], event["payload"], event["version"])
        fields_, state = follow_fields(event["type"], payload)
        cases = self._cases()
        self._atomic(
            lambda tx: cases.follow(
                tx,
                event["case_id"],
                fields_,
                state=state,
                occurred_at=event["occurred_at"],
                classification=event.get("classification"),
            )
        )
        self.log.info("case_followed", type=event["type"], state=state)

    @subscribe("deadline.overdue")
    def handle_deadline_overdue(self, event):
        """Record answers and measures that went overdue (the engine's event
        is the overdue record itself); an overdue answer means the round's
        due date has come, so the round closes."""
        payload = validate_payload(event["type"], event["payload"], event["version"])
        kind = payload["kind"]
        if payload.get("service") != self.name or kind not in (
            round_store.OPINION_DEADLINE,
            decision_store.MEASURE_DEADLINE,
        ):
            return
        subject_id = payload["subject"]["id"]
        rounds = self._rounds()

        def work(tx):
            if kind == round_store.OPINION_DEADLINE:
                rounds.record_overdue(
                    tx, subject_id, payload["owner_agency"], payload["fired_at"]
                )
                rounds.close_at_due(tx, subject_id, SYSTEM_ACTOR)
                return
            tx.db[decision_store.MEASURES].update_one(
                {"_id": subject_id},
                {"$set": {"overdue_at": payload["fired_at"]}},
                session=tx.session,
            )

        self._atomic(work)
        self.log.info("deadline_overdue_handled", kind=kind, subject=subject_id)


def follow_fields(kind, payload):
    """What an event of routing or intake changes in the case view, and the
    state it says the case is in (None when it does not say)."""
    if kind == "case.triaged":
        keys = ("categories", "sector", "locality", "incident", "posted_at")
        fields_ = {key: payload.get(key) for key in keys if key in payload}
        fields_["severity"] = payload.get("severity")
        if fields_.get("posted_at") is None:
            fields_.pop("posted_at", None)
        return fields_, payload.get("state")
    if kind == "case.assigned":
        keys = ("lead", "agencies", "categories", "sector", "locality", "incident")
        fields_ = {key: payload.get(key) for key in keys}
        fields_["flags"] = payload.get("flags", [])
        if payload.get("severity"):
            fields_["severity"] = payload["severity"]
        return fields_, payload.get("state")
    if kind == "case.assignment_changed":
        return {"lead": payload["lead"], "agencies": payload["agencies"]}, None
    if kind == "case.lead_transferred":
        return {"lead": payload["to_agency"], "agencies": payload["agencies"]}, None
    if kind == "case.escalated":
        return {"escalation_id": payload["escalation_id"]}, payload.get("state")

    return {}, payload.get("state")
