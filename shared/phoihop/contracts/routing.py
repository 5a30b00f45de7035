"""Event types of routing (assignments, escalations) and of the deadline engine.

The ``deadline.*`` types are shared: every service that keeps a clock with
``phoihop.deadlines`` (routing, consultation, press) emits them, with its own
deadline kinds. They are declared here, once, because routing was their
first producer.
"""

from marshmallow import Schema, fields, validate

from phoihop.cases import ESCALATED, STATES, TRANSITIONS
from phoihop.constants import CLASSIFICATIONS
from phoihop.events import UtcDateTime, event_type

ROLES = ("lead", "coordinating")
ESCALATION_TARGETS = ("city", "ministry")
# What the City People's Committee or the Ministry answered.
ESCALATION_OUTCOMES = (
    "directed",  # the City directs agencies to handle it (Art. 7.1.a, 7.1.h)
    "returned",  # sent back to DIC to handle within its own authority
    "removal_requested",  # the Ministry asked the platform to remove (7.1.g)
    "removal_refused",  # the Ministry declined the removal proposal
)
SEVERITIES = ("low", "medium", "high", "critical")
CHANGES = ("added", "removed")

_code = validate.Length(min=1, max=64)
_reason = validate.Length(min=3, max=2000)
_state = validate.OneOf(STATES)


class AssignmentSchema(Schema):
    """One agency taking part in a case, and why (rule and article)."""

    agency = fields.String(required=True, validate=_code)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    rule = fields.String(required=True, validate=validate.Length(min=1, max=100))
    article = fields.String(required=True, validate=validate.Length(min=1, max=40))
    matched = fields.String(load_default="", validate=validate.Length(max=200))
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


@event_type("case.assigned", description="lead and coordinating agencies computed")
class CaseAssignedPayload(Schema):
    lead = fields.String(required=True, validate=_code)
    agencies = fields.List(
        fields.Nested(AssignmentSchema), required=True, validate=validate.Length(min=1)
    )
    # Departments and local committees answerable for the sector or locality
    # (Art. 7.6); the press service gives the 2-hour clock of Art. 7.6.d to
    # them when ``incident`` is true.
    responsible_agencies = fields.List(fields.String(validate=_code), required=True)
    categories = fields.List(fields.String(), required=True)
    sector = fields.String(load_default=None, allow_none=True)
    locality = fields.String(load_default=None, allow_none=True)
    incident = fields.Boolean(required=True)
    journalists_involved = fields.Boolean(load_default=False)
    severity = fields.String(load_default=None, allow_none=True)
    flags = fields.List(fields.String(), load_default=list)
    state = fields.String(required=True, validate=validate.Equal("assigned"))
    previous_state = fields.String(required=True, validate=_state)


@event_type("case.assignment_changed", description="an agency added or removed")
class AssignmentChangedPayload(Schema):
    agency = fields.String(required=True, validate=_code)
    change = fields.String(required=True, validate=validate.OneOf(CHANGES))
    reason = fields.String(required=True, validate=_reason)
    lead = fields.String(required=True, validate=_code)
    agencies = fields.List(fields.Nested(AssignmentSchema), required=True)


@event_type("case.lead_transferred", description="the lead moved to another agency")
class LeadTransferredPayload(Schema):
    from_agency = fields.String(required=True, validate=_code)
    to_agency = fields.String(required=True, validate=_code)
    reason = fields.String(required=True, validate=_reason)
    agencies = fields.List(fields.Nested(AssignmentSchema), required=True)


@event_type("case.escalated", description="to the City People's Committee or Ministry")
class CaseEscalatedPayload(Schema):
    escalation_id = fields.String(required=True)
    to = fields.String(required=True, validate=validate.OneOf(ESCALATION_TARGETS))
    reason = fields.String(required=True, validate=_reason)
    article = fields.String(required=True, validate=validate.Length(min=1, max=40))
    due_at = UtcDateTime(load_default=None, allow_none=True)
    state = fields.String(required=True, validate=validate.Equal(ESCALATED))
    previous_state = fields.String(required=True, validate=_state)


@event_type("case.escalation_answered", description="the escalation's outcome")
class EscalationAnsweredPayload(Schema):
    escalation_id = fields.String(required=True)
    to = fields.String(required=True, validate=validate.OneOf(ESCALATION_TARGETS))
    outcome = fields.String(required=True, validate=validate.OneOf(ESCALATION_OUTCOMES))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    next_state = fields.String(
        required=True, validate=validate.OneOf(sorted(TRANSITIONS[ESCALATED]))
    )
    state = fields.String(required=True, validate=_state)
    previous_state = fields.String(required=True, validate=validate.Equal(ESCALATED))


class SubjectSchema(Schema):
    """What a deadline waits on: a case, a consultation, a statement..."""

    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DeadlinePayload(Schema):
    """Common to every ``deadline.*`` event (any service may emit them)."""

    deadline_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=64))
    owner_agency = fields.String(required=True, validate=_code)
    due_at = UtcDateTime(required=True)
    subject = fields.Nested(SubjectSchema, required=True)
    severity = fields.String(load_default=None, allow_none=True)
    article = fields.String(load_default="", validate=validate.Length(max=40))
    service = fields.String(load_default="", validate=validate.Length(max=64))
    classification = fields.String(
        load_default="internal", validate=validate.OneOf(CLASSIFICATIONS)
    )


@event_type("deadline.set", description="a clock started")
class DeadlineSetPayload(DeadlinePayload):
    started_at = UtcDateTime(required=True)
    working_days = fields.Boolean(load_default=False)


@event_type("deadline.due_soon", description="a reminder before the due time")
class DeadlineDueSoonPayload(DeadlinePayload):
    minutes_before = fields.Float(required=True, validate=validate.Range(min=0))


@event_type("deadline.overdue", description="the due time passed, step not done")
class DeadlineOverduePayload(DeadlinePayload):
    fired_at = UtcDateTime(required=True)


@event_type("deadline.met", description="the awaited step happened")
class DeadlineMetPayload(DeadlinePayload):
    met_at = UtcDateTime(required=True)
    late = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


@event_type("deadline.cancelled", description="the clock no longer applies")
class DeadlineCancelledPayload(DeadlinePayload):
    cancelled_at = UtcDateTime(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
