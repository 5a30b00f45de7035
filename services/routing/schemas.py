"""Inputs of the routing service: its configuration section and RPC calls.

Every RPC input is loaded through a schema here, so a bad call is refused
with ``ValidationError`` naming the field and the reason.
"""

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.contracts.routing import ESCALATION_OUTCOMES, ESCALATION_TARGETS
from phoihop.deadlines import STATES as DEADLINE_STATES
from phoihop.deadlines import DeadlinePolicySchema
from phoihop.errors import ValidationError
from phoihop.events import ActorSchema, UtcDateTime

# Art. 7.1.a and 7.1.h send a case beyond DIC's authority to the City
# People's Committee; Art. 7.1.g sends removal proposals to the Ministry.
ESCALATION_ARTICLES = {
    "city": ("7.1.a", "7.1.h"),
    "ministry": ("7.1.g",),
}
ESCALATION_STATES = ("open", "answered")

_code = validate.Length(min=1, max=64)
_reason = validate.Length(
    min=3, max=2000, error="give a reason of 3 to 2000 characters"
)


class RegistrySettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    path = fields.String(load_default="", allow_none=True)
    extra_paths = fields.List(fields.String(), load_default=list)


class RoutingSettingsSchema(Schema):
    """The ``routing:`` section of ``deploy/config/routing.yaml``."""

    class Meta:
        unknown = RAISE

    registry = fields.Nested(RegistrySettingsSchema, load_default=dict)
    deadlines = fields.Nested(DeadlinePolicySchema, load_default=dict)
    # Deadline kinds set on every assignment, owned by the lead. Only the
    # clocks routing knows how to end (met on appraisal or resolution,
    # cancelled on rejection or merge) may be listed: any other kind would
    # run on after the case closed and count as missed.
    assignment_deadlines = fields.List(
        fields.String(validate=validate.OneOf(("verification", "resolution"))),
        load_default=lambda: ["verification", "resolution"],
    )
    escalation_deadline = fields.String(
        load_default="escalation_answer",
        allow_none=True,
        validate=validate.OneOf(("escalation_answer",)),
    )
    max_page_size = fields.Integer(
        load_default=500, validate=validate.Range(min=1, max=5000)
    )


class _Input(Schema):
    class Meta:
        unknown = RAISE

    actor = fields.Nested(ActorSchema, required=True)


class AddAgencySchema(_Input):
    case_id = fields.String(required=True, validate=_code)
    agency = fields.String(required=True, validate=_code)
    reason = fields.String(required=True, validate=_reason)


class RemoveAgencySchema(AddAgencySchema):
    pass


class TransferLeadSchema(_Input):
    case_id = fields.String(required=True, validate=_code)
    to_agency = fields.String(required=True, validate=_code)
    reason = fields.String(required=True, validate=_reason)


class EscalateSchema(_Input):
    case_id = fields.String(required=True, validate=_code)
    to = fields.String(required=True, validate=validate.OneOf(ESCALATION_TARGETS))
    reason = fields.String(required=True, validate=_reason)
    article = fields.String(load_default=None, allow_none=True)


class AnswerEscalationSchema(_Input):
    escalation_id = fields.String(required=True, validate=_code)
    outcome = fields.String(required=True, validate=validate.OneOf(ESCALATION_OUTCOMES))
    next_state = fields.String(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class DeadlineFilterSchema(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(validate=validate.OneOf(DEADLINE_STATES))
    kind = fields.String(validate=_code)
    owner_agency = fields.String(validate=_code)
    case_id = fields.String(validate=_code)
    due_before = UtcDateTime()
    due_after = UtcDateTime()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000))


class EscalationFilterSchema(Schema):
    class Meta:
        unknown = RAISE

    case_id = fields.String(validate=_code)
    to = fields.String(validate=validate.OneOf(ESCALATION_TARGETS))
    state = fields.String(validate=validate.OneOf(ESCALATION_STATES))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000))


def _flatten(messages, prefix=""):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = "; ".join(str(item) for item in value)
    return flat


def load_input(schema, data, what):
    """Load an RPC input; ``ValidationError`` names each bad field."""
    try:
        return schema().load(data)
    except SchemaError as exc:
        raise ValidationError(f"invalid {what}", _flatten(exc.messages)) from exc
