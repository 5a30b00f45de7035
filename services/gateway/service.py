"""The gateway: the public HTTP API, its OpenAPI document and the DIC dashboard.

Officers and agency adapters call it with their own API keys; it checks
who may do what (``phoihop.auth``), validates the input with the services'
schemas and calls the service that owns the record over RPC, passing the
authenticated caller as the ``actor``. It owns only its credentials.

HTTP endpoints: under ``/api/v1/`` (see ``GET /api/v1/openapi.json`` and
``/api/docs``); the dashboard at ``/dashboard``.
RPC methods: ``health`` (from ServiceBase).
Events emitted: none. Events handled: none (the live stream of the
dashboard tails the events exchange through ``phoihop.stream``).
RPC calls made: intake, routing, consultation, press, reporting (each with
a timeout; a service that does not answer gives HTTP 503).
"""

import base64
import mimetypes
from contextlib import contextmanager
from pathlib import Path

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields, validate
from werkzeug.utils import safe_join
from werkzeug.wrappers import Response

from phoihop.auth import (
    DIC_INSPECTOR,
    check_action,
    check_case,
    is_cleared,
    redact,
)
from phoihop.config import Config, amqp_uri
from phoihop.deadletters import DeadLetters
from phoihop.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from phoihop.service import ServiceBase
from services.gateway import schemas as s
from services.gateway.dashboard import open_event_stream
from services.gateway.errors import BoardBehind, json_dumps
from services.gateway.http import SESSION_COOKIE, Gatekeeper, api
from services.gateway.openapi import build_openapi, render_docs_page
from services.gateway.rpc import ServiceRpc

REPORT_MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
STATIC_DIR = Path(__file__).resolve().parent / "static"
V1 = "/api/v1"
# What a submission answers when its Idempotency-Key was seen before.
SEEN_BEFORE = "The Idempotency-Key was seen: nothing created, what the first became"


class GatewaySettings(Schema):
    """The ``gateway`` section of deploy/config/gateway.yaml."""

    rpc_timeout_seconds = fields.Float(
        load_default=10.0, validate=validate.Range(min=0.1, max=300)
    )
    max_body_bytes = fields.Integer(
        load_default=2 * 1024 * 1024,
        validate=validate.Range(min=1024, max=64 * 1024 * 1024),
    )
    rate_limit_per_minute = fields.Integer(
        load_default=600, validate=validate.Range(min=1)
    )
    rate_limit_burst = fields.Integer(load_default=120, validate=validate.Range(min=1))
    session_hours = fields.Float(
        load_default=8.0, validate=validate.Range(min=0.1, max=72)
    )
    cookie_secure = fields.Boolean(load_default=False)
    stream_heartbeat_seconds = fields.Float(
        load_default=15.0, validate=validate.Range(min=0.5, max=300)
    )
    public_url = fields.String(load_default="")


def _dump(schema, loaded):
    """A validated body back in JSON form, as the service will load it."""
    return schema().dump(loaded)


def _items(result):
    """Lists come back as ``{"items": [...]}`` whatever the service returns."""
    if isinstance(result, list):
        return {"items": result}
    if isinstance(result, dict) and "items" in result:
        return result
    return {"items": [] if result is None else [result]}


def _assigned_agencies(assignment):
    """The lead and agencies of routing's assignment, in the board's keys."""
    return {
        "lead": assignment.get("lead"),
        "agencies": assignment.get("agencies") or [],
    }


class GatewayService(ServiceBase):
    name = "gateway"
    settings = Config(GatewaySettings)

    gate = Gatekeeper()
    intake = ServiceRpc("intake")
    routing = ServiceRpc("routing")
    consultation = ServiceRpc("consultation")
    press = ServiceRpc("press")
    reporting = ServiceRpc("reporting")

    # --- helpers ---

    def _case(self, caller, action, case_id):
        """The case as the board shows it, once the caller may act on it.

        The board is built from the event log and can run seconds behind
        the services under load, while an agency acts on its own copy of
        an event as soon as it arrives. Where the board does not know the
        case, or not yet the caller's assignment, routing (which owns the
        assignments) decides: an unknown case is 404, a case the board has
        not logged yet is 503 with Retry-After, an assignment the board
        has not caught up with is allowed.
        """
        # The board shows classified events' text only when asked to; a
        # caller cleared for classified content asks, and redact() then
        # judges each event by its own level against the caller's clearance.
        try:
            case = self.reporting.get_case(
                case_id,
                include_classified=is_cleared(caller.clearance, "confidential"),
            )
        except NotFound:
            case = None
        if not isinstance(case, dict):
            if self._assignment(case_id) is None:
                raise NotFound(f"case {case_id} does not exist", {"case_id": "unknown"})
            raise BoardBehind(
                f"case {case_id} is not on the case board yet; retry",
                {"case_id": "assigned, not yet logged by the case board"},
            )
        case.setdefault("case_id", case_id)
        try:
            check_case(caller, action, case)
        except Forbidden:
            assignment = self._assignment(case_id)
            if assignment is None:
                raise
            check_case(caller, action, {**case, **_assigned_agencies(assignment)})
        return case

    def _assignment(self, case_id):
        """Routing's assignment of the case, or None when it has none."""
        try:
            return self.routing.get_assignments(case_id)
        except NotFound:
            return None

    def _case_of(self, caller, action, record, kind):
        case_id = record.get("case_id") if isinstance(record, dict) else None
        if not case_id:
            raise NotFound(f"{kind} has no case", {"case_id": "unknown"})
        return self._case(caller, action, case_id)

    # --- documents and pages ---

    @api(
        "GET",
        f"{V1}/openapi.json",
        summary="The OpenAPI 3 document",
        tag="docs",
        public_doc=False,
    )
    def openapi_document(self, request):
        return Response(
            json_dumps(build_openapi(type(self), self.settings.get("public_url"))),
            mimetype="application/json",
        )

    @api(
        "GET",
        "/api/docs",
        summary="API documentation page",
        tag="docs",
        public_doc=False,
    )
    def docs_page(self, request):
        page = render_docs_page(
            build_openapi(type(self), self.settings.get("public_url"))
        )
        return Response(page, mimetype="text/html", headers=_page_headers())

    @api("GET", "/", summary="Start page", tag="docs", public_doc=False)
    def root(self, request):
        return Response("", status=302, headers={"Location": "/dashboard"})

    @api(
        "GET", "/dashboard", summary="DIC dashboard", tag="dashboard", public_doc=False
    )
    def dashboard(self, request):
        page = (STATIC_DIR / "dashboard.html").read_bytes()
        return Response(page, mimetype="text/html", headers=_page_headers())

    @api(
        "GET",
        "/static/<path:name>",
        summary="Dashboard files",
        tag="dashboard",
        public_doc=False,
    )
    def static_file(self, request, name):
        path = safe_join(str(STATIC_DIR), name)
        if path is None or not Path(path).is_file():
            raise NotFound(f"no file {name}", {"name": "unknown"})
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Response(
            Path(path).read_bytes(),
            mimetype=mimetype,
            headers={"Cache-Control": "no-cache"},
        )

    @api(
        "GET",
        f"{V1}/health",
        summary="The gateway answers",
        tag="session",
        response=s.RecordSchema,
    )
    def http_health(self, request):
        return {"service": "gateway", "status": "ok"}

    # --- session and self ---

    @api(
        "POST",
        f"{V1}/session",
        body=s.SessionRequest,
        response=s.SessionSchema,
        summary="Exchange an API key for a dashboard session cookie",
        tag="session",
    )
    def open_session(self, request, body):
        try:
            caller = self.gate.authenticate_key(body["api_key"])
        except Unauthenticated as exc:
            # The key came in the body's field, not in an Authorization
            # header: name the field the dashboard's form shows.
            raise Unauthenticated(
                exc.message, {"api_key": next(iter(exc.fields.values()), "")}
            ) from exc
        check_action(caller, "self.read")
        seconds = int(self.settings.get("session_hours", 8.0) * 3600)
        token = self.gate.credentials.open_session(caller, seconds)
        response = Response(
            json_dumps({"caller": caller.to_dict(), "expires_in": seconds}),
            mimetype="application/json",
        )
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=seconds,
            httponly=True,
            samesite="Strict",
            secure=bool(self.settings.get("cookie_secure")),
            path="/",
        )
        return response

    @api(
        "DELETE",
        f"{V1}/session",
        summary="End the dashboard session",
        tag="session",
        response=s.RecordSchema,
    )
    def close_session(self, request):
        self.gate.credentials.close_session(request.cookies.get(SESSION_COOKIE))
        response = Response(
            json_dumps({"status": "closed"}), mimetype="application/json"
        )
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @api(
        "GET",
        f"{V1}/me",
        action="self.read",
        response=s.CallerSchema,
        summary="Who the credential belongs to",
        tag="session",
    )
    def me(self, request, caller):
        return caller.to_dict()

    # --- reports and quarantine ---

    @api(
        "POST",
        f"{V1}/reports",
        action="reports.submit",
        body=s.ReportInputSchema,
        response=s.RecordSchema,
        status=201,
        tag="reports",
        summary="Submit a report (Art. 5.1)",
        also={200: SEEN_BEFORE},
    )
    def submit_report(self, request, caller, body):
        reporter = body["reporter"]
        if reporter["kind"] == "agency" and reporter.get("agency") != caller.agency:
            if not caller.is_lead:
                raise Forbidden(
                    "an agency reports in its own name",
                    {"reporter.agency": f"must be {caller.agency}"},
                )
        # The caller's officer is the reporter's only when reporting in its
        # own agency's name; DIC recording another agency's report leaves the
        # officer to the form (the audit keeps who submitted it).
        own = reporter.get("agency") == caller.agency
        if reporter["kind"] == "agency" and own and not reporter.get("officer"):
            reporter["officer"] = caller.officer
        # A client that retries sends the same Idempotency-Key: intake then
        # answers with what the first submission became.
        key = body.get("idempotency_key") or _idempotency_key(request)
        result = self.intake.submit_report(
            _dump(s.ReportInputSchema, body), actor=caller.actor(), idempotency_key=key
        )
        # Nothing was created the second time: 200 with the first outcome.
        return (200, result) if result.get("outcome") == "duplicate" else result

    @api(
        "POST",
        f"{V1}/inputs",
        action="reports.submit",
        body=s.InputRequest,
        response=s.RecordSchema,
        status=201,
        tag="reports",
        summary="Submit one input of a channel as it arrived (email, SMS, edXML...)",
        also={200: SEEN_BEFORE},
    )
    def submit_input(self, request, caller, body):
        result = self.intake.submit_input(
            body["channel"],
            body["data"],
            actor=caller.actor(),
            encoding=body["encoding"],
            idempotency_key=body["idempotency_key"] or _idempotency_key(request),
        )
        # As for a report: an input seen before creates nothing (200).
        outcomes = {item.get("outcome") for item in result.get("results") or ()}
        return (200, result) if outcomes == {"duplicate"} else result

    @api(
        "GET",
        f"{V1}/reports/<report_id>",
        action="reports.read",
        tag="reports",
        response=s.RecordSchema,
        summary="Show a report",
    )
    def get_report(self, request, caller, report_id):
        report = self.intake.get_report(report_id)
        reporter = (report or {}).get("reporter") or {}
        if not caller.is_lead and reporter.get("agency") != caller.agency:
            if not report.get("case_id"):
                raise Forbidden(
                    f"report {report_id} was not made by {caller.agency}",
                    {"report_id": "an agency reads its own reports"},
                )
            self._case(caller, "cases.read", report["case_id"])
        return redact(report, caller)

    @api(
        "GET",
        f"{V1}/quarantine",
        action="quarantine.read",
        query=s.QuarantineQuery,
        response=s.ItemsSchema,
        tag="quarantine",
        summary="Inputs kept in quarantine",
    )
    def list_quarantine(self, request, caller, query):
        return _items(self.intake.list_quarantine(**query))

    @api(
        "GET",
        f"{V1}/quarantine/<quarantine_id>",
        action="quarantine.read",
        response=s.RecordSchema,
        tag="quarantine",
        summary="One quarantined input",
    )
    def get_quarantine(self, request, caller, quarantine_id):
        return self.intake.get_quarantine(quarantine_id)

    @api(
        "POST",
        f"{V1}/quarantine/<quarantine_id>/resubmit",
        action="quarantine.resubmit",
        body=s.ResubmitRequest,
        response=s.RecordSchema,
        tag="quarantine",
        summary="Submit a corrected form of a quarantined input",
    )
    def resubmit_quarantined(self, request, caller, quarantine_id, body):
        return self.intake.resubmit_quarantined(
            quarantine_id, body["raw"], actor=caller.actor(), encoding=body["encoding"]
        )

    # --- cases ---

    @api(
        "GET",
        f"{V1}/cases",
        action="cases.list",
        query=s.CaseListQuery,
        response=s.CaseListSchema,
        tag="cases",
        summary="List and search cases (state, agency, category, period, text)",
    )
    def list_cases(self, request, caller, query):
        if not caller.is_lead:
            if query.get("agency") not in (None, caller.agency):
                raise Forbidden(
                    "an agency lists only its own cases",
                    {"agency": f"must be {caller.agency} or absent"},
                )
            query["agency"] = caller.agency
        page = _items(self.reporting.list_cases(s.CaseListQuery().to_filters(query)))
        page["items"] = [redact(item, caller) for item in page["items"]]
        page.setdefault("page", query["page"])
        page.setdefault("page_size", query["page_size"])
        return page

    @api(
        "GET",
        f"{V1}/cases/<case_id>",
        action="cases.read",
        response=s.CaseSchema,
        tag="cases",
        summary="Show a case with its timeline",
    )
    def get_case(self, request, caller, case_id):
        return redact(self._case(caller, "cases.read", case_id), caller)

    @api(
        "POST",
        f"{V1}/cases/<case_id>/triage",
        action="triage.confirm",
        body=s.TriageRequest,
        response=s.RecordSchema,
        tag="cases",
        summary="Confirm the triage of a case",
    )
    def confirm_triage(self, request, caller, case_id, body):
        return self.intake.confirm_triage(
            case_id, actor=caller.actor(), **_dump(s.TriageRequest, body)
        )

    @api(
        "GET",
        f"{V1}/merge-proposals",
        action="merges.list",
        query=s.MergeProposalQuery,
        response=s.ItemsSchema,
        tag="cases",
        summary="Near-duplicate cases proposed for merging",
    )
    def list_merge_proposals(self, request, caller, query):
        return _items(self.intake.list_merge_proposals(**query))

    @api(
        "POST",
        f"{V1}/merge-proposals/<proposal_id>/dismissal",
        action="merges.confirm",
        body=s.DismissRequest,
        response=s.RecordSchema,
        tag="cases",
        summary="Dismiss a merge proposal: the cases are distinct",
    )
    def dismiss_merge_proposal(self, request, caller, proposal_id, body):
        return self.intake.dismiss_merge_proposal(
            proposal_id, actor=caller.actor(), reason=body["reason"]
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/merge",
        action="merges.confirm",
        body=s.MergeRequest,
        response=s.RecordSchema,
        tag="cases",
        summary="Confirm that a case duplicates another",
    )
    def confirm_merge(self, request, caller, case_id, body):
        return self.intake.confirm_merge(
            case_id, body["into_case_id"], actor=caller.actor(), reason=body["reason"]
        )

    # --- routing ---

    @api(
        "GET",
        f"{V1}/cases/<case_id>/assignments",
        action="assignments.read",
        response=s.RecordSchema,
        tag="routing",
        summary="Agencies assigned to a case",
    )
    def get_assignments(self, request, caller, case_id):
        self._case(caller, "assignments.read", case_id)
        return self.routing.get_assignments(case_id)

    @api(
        "POST",
        f"{V1}/cases/<case_id>/agencies",
        action="assignments.change",
        body=s.AddAgencyRequest,
        response=s.RecordSchema,
        tag="routing",
        summary="Add a coordinating agency to a case",
    )
    def add_agency(self, request, caller, case_id, body):
        return self.routing.add_agency(
            case_id, body["agency"], body["reason"], actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/agencies/<agency>/removal",
        action="assignments.change",
        body=s.RemoveAgencyRequest,
        response=s.RecordSchema,
        tag="routing",
        summary="Remove an agency from a case, with the reason",
    )
    def remove_agency(self, request, caller, case_id, agency, body):
        return self.routing.remove_agency(
            case_id, agency, body["reason"], actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/lead",
        action="lead.transfer",
        body=s.TransferLeadRequest,
        response=s.RecordSchema,
        tag="routing",
        summary="Transfer the lead of a case (Art. 7.1.c)",
    )
    def transfer_lead(self, request, caller, case_id, body):
        return self.routing.transfer_lead(
            case_id, body["to_agency"], body["reason"], actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/escalations",
        action="escalations.create",
        body=s.EscalateRequest,
        response=s.RecordSchema,
        status=201,
        tag="routing",
        summary="Escalate to the City People's Committee or the Ministry",
    )
    def escalate(self, request, caller, case_id, body):
        return self.routing.escalate(
            case_id,
            body["to"],
            body["reason"],
            article=body.get("article"),
            actor=caller.actor(),
        )

    @api(
        "GET",
        f"{V1}/escalations",
        action="escalations.read",
        query=s.EscalationFilterSchema,
        response=s.ItemsSchema,
        tag="routing",
        summary="Escalations and their outcomes",
    )
    def list_escalations(self, request, caller, query):
        return _items(
            self.routing.list_escalations(_dump(s.EscalationFilterSchema, query))
        )

    @api(
        "POST",
        f"{V1}/escalations/<escalation_id>/answer",
        action="escalations.answer",
        body=s.EscalationAnswerRequest,
        response=s.RecordSchema,
        tag="routing",
        summary="Record the answer to an escalation",
    )
    def answer_escalation(self, request, caller, escalation_id, body):
        return self.routing.answer_escalation(
            escalation_id,
            body["outcome"],
            body["next_state"],
            actor=caller.actor(),
            note=body["note"],
        )

    @api(
        "GET",
        f"{V1}/deadlines",
        action="deadlines.list",
        query=s.DeadlineFilterSchema,
        response=s.ItemsSchema,
        tag="routing",
        summary="Deadlines due soon or overdue",
    )
    def list_deadlines(self, request, caller, query):
        if not caller.is_lead:
            if query.get("owner_agency") not in (None, caller.agency):
                raise Forbidden(
                    "an agency sees only its own deadlines",
                    {"owner_agency": f"must be {caller.agency} or absent"},
                )
            query["owner_agency"] = caller.agency
        return _items(self.routing.list_deadlines(_dump(s.DeadlineFilterSchema, query)))

    # --- consultation ---

    @api(
        "POST",
        f"{V1}/cases/<case_id>/rounds",
        action="rounds.open",
        body=s.OpenRoundRequest,
        response=s.RecordSchema,
        status=201,
        tag="consultation",
        summary="Open a written-opinion round (Art. 5.2.b)",
    )
    def open_round(self, request, caller, case_id, body):
        return self.consultation.open_round(
            case_id, _dump(s.OpenRoundRequest, body), actor=caller.actor()
        )

    @api(
        "GET",
        f"{V1}/rounds/<consultation_id>",
        action="rounds.read",
        response=s.RecordSchema,
        tag="consultation",
        summary="A written-opinion round",
    )
    def get_round(self, request, caller, consultation_id):
        found = self.consultation.get_round(consultation_id, actor=caller.actor())
        case = self._case_of(caller, "rounds.read", found, "round")
        return redact(found, caller, case.get("classification"))

    @api(
        "POST",
        f"{V1}/rounds/<consultation_id>/opinions",
        action="opinions.submit",
        body=s.OpinionRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Give or revise the opinion of the caller's agency",
    )
    def submit_opinion(self, request, caller, consultation_id, body):
        if body.get("agency") not in (None, caller.agency) and not caller.is_lead:
            raise Forbidden(
                "only DIC records an opinion for another agency",
                {"agency": f"must be {caller.agency} or absent"},
            )
        found = self.consultation.get_round(consultation_id, actor=caller.actor())
        self._case_of(caller, "opinions.submit", found, "round")
        return self.consultation.submit_opinion(
            consultation_id, _dump(s.OpinionRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/rounds/<consultation_id>/close",
        action="rounds.close",
        response=s.RecordSchema,
        tag="consultation",
        summary="Close a round now",
    )
    def close_round(self, request, caller, consultation_id):
        return self.consultation.close_round(consultation_id, actor=caller.actor())

    @api(
        "POST",
        f"{V1}/cases/<case_id>/meetings",
        action="meetings.manage",
        body=s.ConveneMeetingRequest,
        response=s.RecordSchema,
        status=201,
        tag="consultation",
        summary="Convene a meeting (Art. 5.2.a)",
    )
    def convene_meeting(self, request, caller, case_id, body):
        return self.consultation.convene_meeting(
            case_id, _dump(s.ConveneMeetingRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/meetings/<meeting_id>/attendance",
        action="meetings.manage",
        body=s.AttendanceRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Record who attended a meeting",
    )
    def record_attendance(self, request, caller, meeting_id, body):
        return self.consultation.record_attendance(
            meeting_id, _dump(s.AttendanceRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/meetings/<meeting_id>/minutes",
        action="meetings.manage",
        body=s.MinutesRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Record the minutes and conclusions of a meeting",
    )
    def record_minutes(self, request, caller, meeting_id, body):
        return self.consultation.record_minutes(
            meeting_id, _dump(s.MinutesRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/meetings/<meeting_id>/approval",
        action="meetings.manage",
        response=s.RecordSchema,
        tag="consultation",
        summary="Approve the minutes",
    )
    def approve_minutes(self, request, caller, meeting_id):
        return self.consultation.approve_minutes(meeting_id, actor=caller.actor())

    @api(
        "GET",
        f"{V1}/cases/<case_id>/consultation",
        action="meetings.read",
        response=s.RecordSchema,
        tag="consultation",
        summary="Rounds, meetings, appraisal and decision of a case",
    )
    def get_consultation(self, request, caller, case_id):
        case = self._case(caller, "meetings.read", case_id)
        found = self.consultation.get_case(case_id, actor=caller.actor())
        return redact(found, caller, case.get("classification"))

    @api(
        "GET",
        f"{V1}/meetings/<meeting_id>",
        action="meetings.read",
        response=s.RecordSchema,
        tag="consultation",
        summary="A meeting: agenda, attendance, minutes",
    )
    def get_meeting(self, request, caller, meeting_id):
        found = self.consultation.get_meeting(meeting_id, actor=caller.actor())
        case = self._case_of(caller, "meetings.read", found, "meeting")
        return redact(found, caller, case.get("classification"))

    @api(
        "POST",
        f"{V1}/cases/<case_id>/appraisal",
        action="cases.appraise",
        body=s.AppraisalRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Record the appraisal of a case",
    )
    def appraise(self, request, caller, case_id, body):
        return self.consultation.appraise(
            case_id, _dump(s.AppraisalRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/decision",
        action="cases.decide",
        body=s.DecisionRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Decide the handling plan, citing its legal basis",
    )
    def decide(self, request, caller, case_id, body):
        return self.consultation.decide(
            case_id, _dump(s.DecisionRequest, body), actor=caller.actor()
        )

    @api(
        "GET",
        f"{V1}/cases/<case_id>/measures",
        action="measures.read",
        response=s.ItemsSchema,
        tag="consultation",
        summary="Measures of a case",
    )
    def list_measures(self, request, caller, case_id):
        case = self._case(caller, "measures.read", case_id)
        measures = _items(
            self.consultation.list_measures(case_id=case_id, actor=caller.actor())
        )
        measures["items"] = [
            redact(item, caller, case.get("classification"))
            for item in measures["items"]
        ]
        return measures

    @api(
        "POST",
        f"{V1}/cases/<case_id>/measures/<measure_id>/result",
        action="results.report",
        body=s.ResultRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Report the handling result of a measure",
    )
    def report_result(self, request, caller, case_id, measure_id, body):
        if body.get("agency") not in (None, caller.agency) and not caller.is_lead:
            raise Forbidden(
                "only DIC records a result for another agency",
                {"agency": f"must be {caller.agency} or absent"},
            )
        self._case(caller, "results.report", case_id)
        return self.consultation.report_result(
            case_id, measure_id, _dump(s.ResultRequest, body), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/close",
        action="cases.close",
        body=s.CloseRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Close a resolved case",
    )
    def close_case(self, request, caller, case_id, body):
        return self.consultation.close_case(
            case_id, body.get("reason", ""), actor=caller.actor()
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/reopen",
        action="cases.reopen",
        body=s.ReasonRequest,
        response=s.RecordSchema,
        tag="consultation",
        summary="Reopen a case, with the reason",
    )
    def reopen_case(self, request, caller, case_id, body):
        return self.consultation.reopen_case(
            case_id, body["reason"], actor=caller.actor()
        )

    # --- press ---

    @api(
        "POST",
        f"{V1}/cases/<case_id>/statements",
        action="statements.draft",
        body=s.StatementRequest,
        response=s.RecordSchema,
        status=201,
        tag="press",
        summary="Draft a statement (Art. 7.6.d initial information)",
    )
    def draft_statement(self, request, caller, case_id, body):
        if body.get("agency") not in (None, caller.agency) and not caller.is_lead:
            raise Forbidden(
                "a spokesperson speaks for their own agency",
                {"agency": f"must be {caller.agency} or absent"},
            )
        self._case(caller, "statements.draft", case_id)
        content = _dump(s.StatementRequest, body)
        kind = content.pop("kind")
        return self.press.draft_statement(
            case_id, kind, actor=caller.actor(), content=content
        )

    @api(
        "PATCH",
        f"{V1}/statements/<statement_id>",
        action="statements.draft",
        body=s.UpdateRequest,
        response=s.RecordSchema,
        tag="press",
        summary="Change a draft statement (an approved one needs approval again)",
    )
    def update_statement(self, request, caller, statement_id, body):
        self._statement_owner(caller, "statements.draft", statement_id)
        return self.press.update_draft(
            statement_id, _dump(s.UpdateRequest, body), actor=caller.actor()
        )

    @api(
        "GET",
        f"{V1}/statements",
        action="statements.read",
        query=s.StatementListQuery,
        response=s.ItemsSchema,
        tag="press",
        summary="Statements of a case, of an issuing agency or sent to a press agency",
    )
    def list_statements(self, request, caller, query):
        filters = {k: v for k, v in query.items() if v is not None}
        if not caller.is_lead:
            own = caller.agency in (query.get("agency"), query.get("press_agency"))
            if query.get("case_id"):
                self._case(caller, "statements.read", query["case_id"])
            elif not own:
                raise Forbidden(
                    "an agency lists the statements of its cases or its own",
                    {
                        "case_id": "give one of your cases, or agency or press_agency "
                        f"= {caller.agency}"
                    },
                )
        return _items(self.press.list_statements(**filters))

    @api(
        "GET",
        f"{V1}/statements/<statement_id>",
        action="statements.read",
        response=s.RecordSchema,
        tag="press",
        summary="One statement",
    )
    def get_statement(self, request, caller, statement_id):
        statement = self.press.get_statement(statement_id)
        if not caller.is_lead and caller.agency in _recipients(statement):
            # A press agency reads what it was sent: distributed statements
            # carry nothing classified (the press service checks at approval).
            return statement
        case = self._case_of(caller, "statements.read", statement, "statement")
        return redact(statement, caller, case.get("classification"))

    @api(
        "POST",
        f"{V1}/statements/<statement_id>/approval",
        action="statements.approve",
        response=s.RecordSchema,
        tag="press",
        summary="Approve a statement (the agency's spokesperson)",
    )
    def approve_statement(self, request, caller, statement_id):
        self._statement_owner(caller, "statements.approve", statement_id)
        return self.press.approve_statement(statement_id, actor=caller.actor())

    @api(
        "POST",
        f"{V1}/statements/<statement_id>/distribution",
        action="statements.distribute",
        body=s.DistributeRequest,
        response=s.RecordSchema,
        tag="press",
        summary="Send an approved statement to the press agencies",
    )
    def distribute_statement(self, request, caller, statement_id, body):
        self._statement_owner(caller, "statements.distribute", statement_id)
        return self.press.distribute_statement(
            statement_id, actor=caller.actor(), recipients=body.get("recipients")
        )

    @api(
        "POST",
        f"{V1}/statements/<statement_id>/deliveries",
        action="statements.confirm",
        body=s.DeliveryRequest,
        response=s.RecordSchema,
        tag="press",
        summary="A press agency confirms it received a statement",
    )
    def confirm_delivery(self, request, caller, statement_id, body):
        press_agency = body.get("press_agency") or caller.agency
        if press_agency != caller.agency and not caller.is_lead:
            raise Forbidden(
                "a press agency confirms only its own deliveries",
                {"press_agency": f"must be {caller.agency} or absent"},
            )
        statement = self.press.get_statement(statement_id)
        if not caller.is_lead and caller.agency not in _recipients(statement):
            raise Forbidden(
                f"statement {statement_id} was not sent to {caller.agency}",
                {"statement_id": "only a recipient confirms delivery"},
            )
        return self.press.confirm_delivery(
            statement_id, press_agency, actor=caller.actor(), note=body["note"]
        )

    @api(
        "POST",
        f"{V1}/cases/<case_id>/results-notice",
        action="results_notice.draft",
        body=s.ResultsNoticeRequest,
        response=s.RecordSchema,
        status=201,
        tag="press",
        summary="Draft the results notice for the press (Art. 6.6)",
    )
    def draft_results_notice(self, request, caller, case_id, body):
        return self.press.draft_results_notice(
            case_id, actor=caller.actor(), content=_dump(s.ResultsNoticeRequest, body)
        )

    @api(
        "GET",
        f"{V1}/cases/<case_id>/initial-info",
        action="statements.read",
        response=s.RecordSchema,
        tag="press",
        summary="The 2-hour initial information of an incident (Art. 7.6.d)",
    )
    def initial_info_status(self, request, caller, case_id):
        self._case(caller, "statements.read", case_id)
        return self.press.initial_info_status(case_id)

    def _statement_owner(self, caller, action, statement_id):
        statement = self.press.get_statement(statement_id)
        # Art. 7.6.d: an agency's own spokesperson speaks for it; the DIC
        # Inspectorate may act on any statement, a DIC spokesperson on DIC's.
        inspector = caller.is_lead and DIC_INSPECTOR in caller.roles
        if not inspector and statement.get("agency") != caller.agency:
            raise Forbidden(
                f"statement {statement_id} belongs to {statement.get('agency')}",
                {"statement_id": "a spokesperson acts on their agency's statements"},
            )
        self._case_of(caller, action, statement, "statement")
        return statement

    # --- reporting ---

    @api(
        "GET",
        f"{V1}/board/summary",
        action="board.read",
        query=s.BoardQuery,
        response=s.RecordSchema,
        tag="reporting",
        summary="Counts per state, agency and category; deadlines due and overdue",
    )
    def board_summary(self, request, caller, query):
        return self.reporting.board_summary(**query)

    @api(
        "GET",
        f"{V1}/board/workload",
        action="board.read",
        query=s.WorkloadQuery,
        response=s.ItemsSchema,
        tag="reporting",
        summary="Open work per agency",
    )
    def agency_workload(self, request, caller, query):
        return _items(self.reporting.agency_workload(agency=query["agency"]))

    @api(
        "GET",
        f"{V1}/board/compliance",
        action="board.read",
        query=s.ReportRequest,
        response=s.RecordSchema,
        tag="reporting",
        summary="Deadlines met, late and missed in a period",
    )
    def deadline_compliance(self, request, caller, query):
        return self.reporting.deadline_compliance(**_dump(s.ReportRequest, query))

    @api(
        "GET",
        f"{V1}/periodic-reports",
        action="periodic_reports.read",
        query=s.ReportListQuery,
        response=s.ItemsSchema,
        tag="reporting",
        summary="Generated periodic and agency result reports",
    )
    def list_reports(self, request, caller, query):
        query["agency"] = self._own_reports(caller, query.get("agency"))
        return _items(self.reporting.list_reports(**query))

    @api(
        "POST",
        f"{V1}/periodic-reports",
        action="periodic_reports.generate",
        body=s.ReportRequest,
        response=s.RecordSchema,
        status=201,
        tag="reporting",
        summary="Generate the City report (Art. 8.2) or an agency's results (7.6.c)",
    )
    def generate_report(self, request, caller, body):
        body["agency"] = self._own_reports(caller, body.get("agency"))
        return self.reporting.generate_report(
            actor=caller.actor(), **_dump(s.ReportRequest, body)
        )

    @api(
        "GET",
        f"{V1}/periodic-reports/<report_id>/<any(docx, xlsx):file_format>",
        action="periodic_reports.read",
        tag="reporting",
        summary="Download a generated report as .docx or .xlsx",
    )
    def report_file(self, request, caller, report_id, file_format):
        if not caller.is_lead:
            own = self.reporting.list_reports(agency=caller.agency, limit=500)
            if report_id not in {item.get("report_id") for item in own}:
                raise Forbidden(
                    f"report {report_id} is not a report of {caller.agency}",
                    {"report_id": "an agency reads its own result reports"},
                )
        found = self.reporting.get_report_file(report_id, format=file_format)
        content = base64.b64decode(found["content_base64"])
        return Response(
            content,
            mimetype=REPORT_MIMETYPES[file_format],
            headers={
                "Content-Disposition": f'attachment; filename="{found["name"]}"',
                "X-Content-SHA256": found["sha256"],
            },
        )

    def _own_reports(self, caller, agency):
        """DIC compiles the City report; another agency only its own results
        (Art. 7.6.c), so its requests are about itself."""
        if caller.is_lead:
            return agency
        if agency not in (None, caller.agency):
            raise Forbidden(
                "an agency reports and reads only its own results (Art. 7.6.c)",
                {"agency": f"must be {caller.agency} or absent"},
            )
        return caller.agency

    @api(
        "GET",
        f"{V1}/event-log/verification",
        action="log.verify",
        response=s.RecordSchema,
        tag="reporting",
        summary="Verify the hash chain of the event log",
    )
    def verify_log(self, request, caller):
        return self.reporting.verify_log()

    # --- the live stream ---

    @api(
        "GET",
        f"{V1}/stream",
        action="stream.read",
        query=s.StreamQuery,
        tag="reporting",
        summary="Live events (server-sent events)",
        public_doc=False,
    )
    def stream(self, request, caller, query):
        return open_event_stream(
            request,
            caller,
            self.gate.config,
            query,
            heartbeat=float(self.settings.get("stream_heartbeat_seconds", 15.0)),
        )

    # --- dead letters ---

    @api(
        "GET",
        f"{V1}/dead-letters",
        action="deadletters.read",
        query=s.DeadLetterQuery,
        response=s.ItemsSchema,
        tag="operations",
        summary="Messages that failed",
    )
    def list_dead_letters(self, request, caller, query):
        # One queue per request: finding every consumer queue means loading
        # every service's code, which is the CLI's job (phoihop deadletters).
        with _broker():
            letters = DeadLetters(amqp_uri(self.gate.config)).list(
                query["queue"], limit=query["limit"]
            )
        return {
            "items": [
                {k: v for k, v in letter.__dict__.items() if k != "body"}
                for letter in letters
            ]
        }

    @api(
        "POST",
        f"{V1}/dead-letters/replay",
        action="deadletters.replay",
        body=s.ReplayRequest,
        response=s.RecordSchema,
        tag="operations",
        summary="Send dead letters back to their queue",
    )
    def replay_dead_letters(self, request, caller, body):
        ids = set(body["event_ids"]) if body.get("event_ids") else None
        with _broker():
            count = DeadLetters(amqp_uri(self.gate.config)).replay(body["queue"], ids)
        self.log.info(
            "dead_letters_replayed",
            queue=body["queue"],
            count=count,
            key_id=caller.key_id,
        )
        return {"queue": body["queue"], "replayed": count}

    # --- credentials ---

    @api(
        "GET",
        f"{V1}/credentials",
        action="credentials.manage",
        query=s.CredentialQuery,
        response=s.ItemsSchema,
        tag="credentials",
        summary="List credentials",
    )
    def list_credentials(self, request, caller, query):
        return {
            "items": self.gate.credentials.list(
                query.get("agency"), query["include_revoked"]
            )
        }

    @api(
        "POST",
        f"{V1}/credentials",
        action="credentials.manage",
        body=s.CredentialRequest,
        response=s.NewCredentialSchema,
        status=201,
        tag="credentials",
        summary="Create a credential; the key is shown once",
    )
    def create_credential(self, request, caller, body):
        record, key = self.gate.credentials.create(
            body["agency"],
            body["officer"],
            body["roles"],
            clearance=body["clearance"],
            kind=body["kind"],
            days=body["days"],
            note=body["note"],
            created_by=f"{caller.agency}/{caller.officer}",
        )
        return {**record, "api_key": key}

    @api(
        "GET",
        f"{V1}/credentials/<key_id>",
        action="credentials.manage",
        response=s.CredentialSchema,
        tag="credentials",
        summary="One credential",
    )
    def get_credential(self, request, caller, key_id):
        return self.gate.credentials.get(key_id)

    @api(
        "POST",
        f"{V1}/credentials/<key_id>/revocation",
        action="credentials.manage",
        body=s.RevokeRequest,
        response=s.CredentialSchema,
        tag="credentials",
        summary="Revoke a credential at once",
    )
    def revoke_credential(self, request, caller, key_id, body):
        if key_id == caller.key_id:
            raise ValidationError(
                "a credential cannot revoke itself", {"key_id": "use another admin key"}
            )
        return self.gate.credentials.revoke(
            key_id,
            revoked_by=f"{caller.agency}/{caller.officer}",
            reason=body["reason"],
        )


@contextmanager
def _broker():
    """Broker failures of the dead-letter tools answer 503, not 500."""
    try:
        yield
    except (OSError, OperationalError, AMQPError) as exc:
        raise ServiceUnavailable(f"the message broker failed: {exc}") from exc


def _idempotency_key(request):
    given = request.headers.get("Idempotency-Key", "").strip()
    return given[:300] or None


def _recipients(statement):
    codes = set()
    for item in (statement or {}).get("recipients") or ():
        if isinstance(item, str):
            codes.add(item)
        elif isinstance(item, dict):
            codes.add(item.get("agency") or item.get("press_agency"))
    return codes


def _page_headers():
    # The pages load only their own files: no script or style from elsewhere.
    return {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
    }
