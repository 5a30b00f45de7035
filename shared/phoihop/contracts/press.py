"""Event types emitted by the press service.

The press service keeps the 2-hour clock of initial information for incidents
(Art. 7.6.d), carries statements (thông cáo, "statement") from draft to
approval by a spokesperson and distribution to the press agencies (Art. 7.1.i,
7.7.c), and publishes the results of handling with legal education (Art. 6.6).
None of these events moves a case, so none carries ``state``.

Per-agency copies: ``press.initial_info_due`` and
``press.initial_info_overdue`` go to the responsible agency and to DIC
(``agency.dic.press.initial_info_overdue`` is the escalation);
``press.statement_distributed`` and ``press.results_published`` go to every
recipient press agency (``agency.press-hp.press.statement_distributed``),
whose adapter delivers the text.
"""

from marshmallow import Schema, fields, validate

from phoihop.events import UtcDateTime, event_type

STATEMENT_KINDS = ("initial_info", "official", "results")
INITIAL_INFO_OUTCOMES = ("on_time", "late")

_CODE = validate.Length(min=1, max=64)


class OfficerSchema(Schema):
    """Who acted on a statement: an agency and the officer by name."""

    agency = fields.String(required=True, validate=_CODE)
    officer = fields.String(load_default=None, allow_none=True)


class StatementRefSchema(Schema):
    """What every statement event says about the statement."""

    statement_id = fields.String(required=True, validate=validate.Length(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(STATEMENT_KINDS))
    agency = fields.String(required=True, validate=_CODE)
    recipients = fields.List(fields.String(validate=_CODE), required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))


@event_type(
    "press.initial_info_due",
    description="the 2-hour initial-information clock of an incident started",
)
class InitialInfoDuePayload(Schema):
    """Art. 7.6.d: the responsible agency owes city media initial information."""

    deadline_id = fields.String(required=True)
    statement_id = fields.String(load_default=None, allow_none=True)
    agency = fields.String(required=True, validate=_CODE)
    started_at = UtcDateTime(required=True)
    due_at = UtcDateTime(required=True)
    limit_minutes = fields.Float(required=True, validate=validate.Range(min=0))
    reminders_minutes_before = fields.List(fields.Float(), load_default=list)
    article = fields.String(load_default="7.6.d")


@event_type(
    "press.initial_info_overdue",
    description="no initial information by the 2-hour limit; escalated to DIC",
)
class InitialInfoOverduePayload(Schema):
    """The escalation DIC's adapter receives as
    ``agency.dic.press.initial_info_overdue``."""

    deadline_id = fields.String(required=True)
    agency = fields.String(required=True, validate=_CODE)
    started_at = UtcDateTime(required=True)
    due_at = UtcDateTime(required=True)
    escalated_to = fields.String(required=True, validate=_CODE)
    drafts = fields.List(fields.String(), load_default=list)
    article = fields.String(load_default="7.6.d")


@event_type("press.statement_drafted", description="a statement draft or revision")
class StatementDraftedPayload(StatementRefSchema):
    title = fields.String(required=True)


@event_type("press.statement_approved", description="a spokesperson approved")
class StatementApprovedPayload(StatementRefSchema):
    approved_by = fields.Nested(OfficerSchema, required=True)
    approved_at = UtcDateTime(required=True)


class InitialInfoRecordSchema(Schema):
    """When initial information was given against its 2-hour clock."""

    deadline_id = fields.String(required=True)
    started_at = UtcDateTime(required=True)
    due_at = UtcDateTime(required=True)
    given_at = UtcDateTime(required=True)
    on_time = fields.Boolean(required=True)
    minutes = fields.Float(required=True)


@event_type(
    "press.statement_distributed",
    description="a statement went to the press agencies; copies per agency",
)
class StatementDistributedPayload(StatementRefSchema):
    """The text the press agencies' adapters deliver, as approved."""

    case_id = fields.String(load_default=None, allow_none=True)
    agency_name = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    approved_by = fields.Nested(OfficerSchema, required=True)
    approved_at = UtcDateTime(required=True)
    distributed_at = UtcDateTime(required=True)
    legal_basis = fields.List(fields.String(), load_default=list)
    initial_info = fields.Nested(
        InitialInfoRecordSchema, load_default=None, allow_none=True
    )


@event_type(
    "press.delivery_confirmed",
    description="a press agency confirmed it received a statement",
)
class DeliveryConfirmedPayload(Schema):
    statement_id = fields.String(required=True)
    press_agency = fields.String(required=True, validate=_CODE)
    confirmed_at = UtcDateTime(required=True)
    confirmed_by = fields.Nested(OfficerSchema, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


@event_type(
    "press.results_published",
    description="a results notice went to the press (Art. 6.6)",
)
class ResultsPublishedPayload(Schema):
    statement_id = fields.String(required=True)
    legal_basis = fields.List(fields.String(), required=True)
    recipients = fields.List(fields.String(validate=_CODE), required=True)
    published_at = UtcDateTime(required=True)
