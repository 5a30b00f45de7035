"""Schemas of the public API: query strings, bodies and answers.

Bodies that a service also takes are the service's own schemas, imported
from where that service publishes them (``phoihop.reports`` for reports,
``phoihop.contracts.consultation`` for consultation requests), so the
gateway refuses exactly what the service would refuse and the OpenAPI
document shows it. The others are declared here. Answer schemas are open
(unknown keys pass) because the services may add fields to their records.
"""

from marshmallow import INCLUDE, RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from phoihop.auth import CREDENTIAL_KINDS, MAX_KEY_DAYS, ROLES
from phoihop.cases import STATES
from phoihop.constants import CLASSIFICATIONS
from phoihop.contracts.consultation import (
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
from phoihop.contracts.reporting import GRANULARITIES, REPORT_KINDS, ReportRequest
from phoihop.contracts.routing import ESCALATION_OUTCOMES
from phoihop.events import UtcDateTime
from phoihop.reports import CHANNELS, SEVERITIES, ReportInputSchema
from services.press.schemas import DistributeRequest, DraftRequest, UpdateRequest
from services.press.schemas import ResultsDraftRequest as ResultsNoticeRequest
from services.routing.schemas import DeadlineFilterSchema, EscalationFilterSchema

__all__ = [
    "AppraisalRequest",
    "AttendanceRequest",
    "CloseRequest",
    "ConveneMeetingRequest",
    "DeadlineFilterSchema",
    "DecisionRequest",
    "DistributeRequest",
    "EscalationFilterSchema",
    "MinutesRequest",
    "OpenRoundRequest",
    "OpinionRequest",
    "ReasonRequest",
    "ReportInputSchema",
    "ReportRequest",
    "ResultRequest",
    "ResultsNoticeRequest",
    "UpdateRequest",
]

_AGENCY = validate.Regexp(r"^[a-z][a-z0-9_-]{1,63}$", error="an agency code")
_ID = validate.Regexp(r"^[A-Za-z0-9._:-]{1,100}$", error="an identifier")
_TEXT = 20_000
ENCODINGS = ("text", "base64")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Open(Schema):
    class Meta:
        unknown = INCLUDE


def _routing_reason():
    # The routing service's own bounds for a reason.
    return fields.String(required=True, validate=validate.Length(min=3, max=2000))


def _reason(required=True):
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=_TEXT))
    return fields.String(load_default="", validate=validate.Length(max=_TEXT))


# --- errors ---


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"example": "forbidden"})
    message = fields.String(required=True)
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "field name -> why it was refused"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


# --- query strings ---


class PageQuery(_Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=1_000_000)
    )


class CaseListQuery(_Strict):
    """Search of the case board (the reporting service's filters)."""

    state = fields.List(
        fields.String(validate=validate.OneOf(STATES)), load_default=list
    )
    agency = fields.String(load_default=None, validate=_AGENCY)
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    text = fields.String(
        load_default=None,
        validate=[
            validate.Length(min=1, max=200),
            # Blank text would match every case, which no search means.
            validate.Regexp(r"\s*\S", error="must not be blank"),
        ],
        metadata={
            "description": "words of the title or the case id, from the start "
            "of a word, with or without diacritics ('ngan hang' finds "
            "'Giả mạo ngân hàng')"
        },
    )
    start = fields.Date(
        load_default=None, metadata={"description": "opened on or after (local day)"}
    )
    end = fields.Date(
        load_default=None, metadata={"description": "opened on or before (local day)"}
    )
    classification = fields.String(
        load_default=None, validate=validate.OneOf(CLASSIFICATIONS)
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _check_period(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise SchemaError("must not be before start", "end")

    def to_filters(self, data):
        """The ``filters`` argument of ``reporting.list_cases``."""
        filters = {
            key: value
            for key, value in self.dump(data).items()
            if value not in (None, []) and key not in ("start", "end")
        }
        if data.get("start") or data.get("end"):
            filters["period"] = {
                "start": data["start"].isoformat() if data.get("start") else None,
                "end": data["end"].isoformat() if data.get("end") else None,
            }
        return filters


class BoardQuery(_Strict):
    due_soon_hours = fields.Float(
        load_default=None, validate=validate.Range(min=0.1, max=720)
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500))


class WorkloadQuery(_Strict):
    agency = fields.String(load_default=None, validate=_AGENCY)


class ReportListQuery(_Strict):
    kind = fields.String(
        load_default=None, validate=validate.OneOf(REPORT_KINDS + GRANULARITIES)
    )
    agency = fields.String(load_default=None, validate=_AGENCY)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class QuarantineQuery(PageQuery):
    status = fields.String(
        load_default=None, validate=validate.OneOf(("quarantined", "resubmitted"))
    )
    channel = fields.String(load_default=None, validate=validate.Length(max=32))


class StatementListQuery(_Strict):
    """Whose statements: of a case, issued by an agency, or sent to one."""

    case_id = fields.String(load_default=None, validate=_ID)
    agency = fields.String(load_default=None, validate=_AGENCY)
    press_agency = fields.String(load_default=None, validate=_AGENCY)
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(("initial_info", "official", "results")),
    )
    status = fields.String(load_default=None, validate=validate.Length(max=32))


class MeasureQuery(_Strict):
    state = fields.String(
        load_default=None, validate=validate.OneOf(("assigned", "reported", "overdue"))
    )


class MergeProposalQuery(_Strict):
    status = fields.String(
        load_default="proposed",
        validate=validate.OneOf(("proposed", "confirmed", "dismissed")),
    )
    case_id = fields.String(load_default=None, validate=_ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


# A consumer queue: <service>.<handler>, or an adapter's queue.
_QUEUE = validate.Regexp(
    r"^(?!amq\.)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$",
    error="a consumer queue name such as reporting.handle_event",
)


class DeadLetterQuery(_Strict):
    queue = fields.String(
        required=True,
        validate=[validate.Length(min=3, max=200), _QUEUE],
        metadata={
            "description": "the consumer queue (phoihop deadletters list shows all)"
        },
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CredentialQuery(_Strict):
    agency = fields.String(load_default=None, validate=_AGENCY)
    include_revoked = fields.Boolean(load_default=False)


class RemoveAgencyRequest(_Strict):
    reason = _routing_reason()


class StreamQuery(_Strict):
    type = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), load_default=list
    )
    case_id = fields.String(load_default=None, validate=_ID)
    agency = fields.String(load_default=None, validate=_AGENCY)


# --- bodies ---


class TriageRequest(_Strict):
    """An officer confirms (or corrects) the suggested triage of a case."""

    categories = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]*$")),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    sector = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    locality = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    incident = fields.Boolean(required=True, truthy={True}, falsy={False})
    journalists_involved = fields.Boolean(required=True, truthy={True}, falsy={False})
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    classification = fields.String(
        required=True, validate=validate.OneOf(CLASSIFICATIONS)
    )
    posted_at = UtcDateTime(load_default=None, allow_none=True)


class MergeRequest(_Strict):
    into_case_id = fields.String(required=True, validate=_ID)
    reason = _reason(required=False)


class DismissRequest(_Strict):
    reason = _reason(required=False)


class ResubmitRequest(_Strict):
    """The corrected input of a quarantined entry, in its channel's form."""

    raw = fields.String(required=True, validate=validate.Length(min=1))
    encoding = fields.String(load_default="text", validate=validate.OneOf(ENCODINGS))


class InputRequest(_Strict):
    """One input of a channel as it arrived (an email, an SMS webhook
    payload, an edXML package, a CSV file, ...), parsed by intake."""

    channel = fields.String(required=True, validate=validate.OneOf((*CHANNELS, "mbox")))
    data = fields.String(required=True, validate=validate.Length(min=1))
    encoding = fields.String(load_default="text", validate=validate.OneOf(ENCODINGS))
    idempotency_key = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=300)
    )


class AddAgencyRequest(_Strict):
    agency = fields.String(required=True, validate=_AGENCY)
    role = fields.String(
        load_default="coordinating", validate=validate.OneOf(("coordinating",))
    )
    reason = _routing_reason()


class TransferLeadRequest(_Strict):
    to_agency = fields.String(required=True, validate=_AGENCY)
    reason = _routing_reason()


class EscalateRequest(_Strict):
    """Art. 7.1.a/h to the City People's Committee; 7.1.g to the Ministry."""

    to = fields.String(required=True, validate=validate.OneOf(("city", "ministry")))
    reason = _routing_reason()
    article = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=32)
    )


class EscalationAnswerRequest(_Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(ESCALATION_OUTCOMES))
    next_state = fields.String(
        required=True,
        validate=validate.OneOf(
            ("verifying", "decided", "handling", "closed", "rejected")
        ),
    )
    note = _reason(required=False)


class StatementRequest(DraftRequest):
    """A draft statement: initial information (Art. 7.6.d) or official
    information (Art. 7.1.i); the other fields are the press service's."""

    kind = fields.String(
        load_default="initial_info",
        validate=validate.OneOf(("initial_info", "official")),
    )


class DeliveryRequest(_Strict):
    """``press_agency`` only when DIC records a confirmation on its word."""

    press_agency = fields.String(load_default=None, allow_none=True, validate=_AGENCY)
    note = _reason(required=False)


class ReplayRequest(_Strict):
    queue = fields.String(
        required=True, validate=[validate.Length(min=3, max=200), _QUEUE]
    )
    event_ids = fields.List(
        fields.String(validate=_ID), load_default=None, allow_none=True
    )


class CredentialRequest(_Strict):
    agency = fields.String(required=True, validate=_AGENCY)
    officer = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    clearance = fields.String(
        load_default="internal", validate=validate.OneOf(CLASSIFICATIONS)
    )
    kind = fields.String(
        load_default="officer", validate=validate.OneOf(CREDENTIAL_KINDS)
    )
    days = fields.Integer(
        load_default=90, validate=validate.Range(min=1, max=MAX_KEY_DAYS)
    )
    note = fields.String(load_default="", validate=validate.Length(max=500))


class RevokeRequest(_Strict):
    reason = _reason()


class SessionRequest(_Strict):
    api_key = fields.String(required=True, validate=validate.Length(min=1, max=200))


# --- answers ---


class CallerSchema(_Open):
    key_id = fields.String()
    agency = fields.String()
    agency_kind = fields.String()
    officer = fields.String()
    roles = fields.List(fields.String())
    clearance = fields.String()
    kind = fields.String()


class CaseSchema(_Open):
    case_id = fields.String()
    state = fields.String()
    title = fields.Raw(allow_none=True)
    classification = fields.String()
    agencies = fields.List(fields.Raw())
    categories = fields.List(fields.Raw())
    timeline = fields.List(fields.Dict())
    redacted = fields.Boolean()


class CaseListSchema(_Open):
    items = fields.List(fields.Dict())
    total = fields.Integer(allow_none=True)
    limit = fields.Integer()
    offset = fields.Integer()


class ItemsSchema(_Open):
    items = fields.List(fields.Raw())


class RecordSchema(_Open):
    """A record as its service keeps it."""


class CredentialSchema(_Open):
    key_id = fields.String()
    agency = fields.String()
    officer = fields.String()
    roles = fields.List(fields.String())
    clearance = fields.String()
    status = fields.String()
    expires_at = fields.String()


class NewCredentialSchema(CredentialSchema):
    api_key = fields.String(metadata={"description": "shown once; store it safely"})


class SessionSchema(_Open):
    caller = fields.Nested(CallerSchema)
    expires_in = fields.Integer()
