"""What an adapter receives: the checked envelope, redacted to its clearance.

Classified content (state secrets above all) must not reach an agency that
is not cleared for it (DESIGN.md, Security; Art. 4 of the regulation: the
handling must protect state secrets). An uncleared adapter still learns
that an event concerns it, and its ids, states, agencies, deadlines and
codes, so it can act through the API with a cleared officer; everything
else is removed. The list of keys kept is an allow-list: a field added to
an event later is removed until someone decides it is safe.
"""

import copy

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.adapters.adapter import AdapterEvent
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import ValidationError
from phoihop.events import ActorSchema, UtcDateTime

# Marks a redacted envelope; the runner of a remote adapter reads it.
REDACTION_KEY = "redaction"

# Payload keys that never carry content: identifiers, states, codes, the
# agencies involved and the clock. Nested mappings are filtered with the
# same list.
KEPT_KEYS = frozenset(
    {
        "abstain",
        "agency",
        "agencies",
        "agree",
        "appraisal_id",
        "approved_at",
        "article",
        "cancelled_at",
        "categories",
        "change",
        "channel",
        "confirmed_at",
        "consultation_id",
        "cycle",
        "deadline_id",
        "decision_id",
        "disagree",
        "distributed_at",
        "due_at",
        "end",
        "escalated_to",
        "escalation_id",
        "fired_at",
        "from_agency",
        "id",
        "incident",
        "invited",
        "journalists_involved",
        "kind",
        "late",
        "lead",
        "legal_basis",
        "limit_minutes",
        "locality",
        "matched",
        "measure_id",
        "measures",
        "meeting_id",
        "met_at",
        "minutes_before",
        "missing",
        "mode",
        "next_state",
        "outcome",
        "owner_agency",
        "period",
        "position",
        "press_agency",
        "previous_state",
        "published_at",
        "recipients",
        "report_id",
        "report_kind",
        "responsible_agencies",
        "result",
        "revision",
        "role",
        "rule",
        "sanction_code",
        "sector",
        "severity",
        "started_at",
        "starts_at",
        "start",
        "state",
        "statement_id",
        "subject",
        "tally",
        "target",
        "to",
        "to_agency",
        "type",
    }
)


class _EnvelopeSchema(Schema):
    """The envelope as an adapter checks it: the payload is taken as it is,
    since a redacted payload no longer satisfies its producer's schema."""

    class Meta:
        unknown = RAISE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=3, max=200))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = UtcDateTime(required=True)
    case_id = fields.String(load_default=None, allow_none=True)
    actor = fields.Nested(ActorSchema, required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    classification = fields.String(
        load_default="public", validate=validate.OneOf(CLASSIFICATIONS)
    )
    payload = fields.Dict(required=True)
    redaction = fields.Dict(load_default=None, allow_none=True)


# Built once: a schema instance is reusable, and building one per message
# costs more than the check itself.
_ENVELOPE_SCHEMA = None


def _envelope_schema():
    global _ENVELOPE_SCHEMA
    if _ENVELOPE_SCHEMA is None:
        _ENVELOPE_SCHEMA = _EnvelopeSchema()
    return _ENVELOPE_SCHEMA


def is_envelope_shaped(body):
    """A cheap first look: a mapping with an id, a type and a payload. The
    full check runs when the event is delivered."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("id"), str)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("payload"), dict)
    )


def check_envelope(body):
    """Validate a received envelope; raise ValidationError naming the field."""
    if not isinstance(body, dict):
        raise ValidationError(
            "the message is not an event envelope", {"event": "not a JSON object"}
        )
    try:
        loaded = _envelope_schema().load(body)
    except SchemaError as exc:
        raise ValidationError(
            "invalid event envelope",
            {f"event.{key}": str(value) for key, value in exc.messages.items()},
        ) from exc
    loaded["id"] = str(loaded["id"])

    return loaded


def is_cleared(registry, agency, classification):
    """True when ``agency`` may see content of ``classification``.

    An unknown level counts as the most restricted one: a typo must not
    open classified content to everyone.
    """
    if classification not in CLASSIFICATIONS:
        return False
    if registry is None:
        return classification == "public"

    return registry.has_clearance(agency, classification)


def _filter(value, removed, path):
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if key in KEPT_KEYS:
                kept[key] = _filter(item, removed, f"{path}{key}.")
            else:
                removed.append(f"{path}{key}")
        return kept
    if isinstance(value, list):
        return [_filter(item, removed, path) for item in value]
    return value


def redact_envelope(envelope):
    """A copy of ``envelope`` whose payload keeps only ``KEPT_KEYS``."""
    removed = []
    redacted = copy.deepcopy(envelope)
    redacted["payload"] = _filter(envelope.get("payload") or {}, removed, "")
    redacted[REDACTION_KEY] = {
        "classification": envelope.get("classification"),
        "removed": sorted(set(removed)),
    }

    return redacted


def for_agency(envelope, agency, registry):
    """The envelope as ``agency`` may see it (redacted when not cleared)."""
    if envelope.get(REDACTION_KEY):
        return envelope
    if is_cleared(registry, agency, envelope.get("classification", "public")):
        return envelope

    return redact_envelope(envelope)


def adapter_event(envelope, routing_key, agency, registry, replayed=False):
    """Check ``envelope`` and build the AdapterEvent ``agency`` receives."""
    visible = for_agency(envelope, agency, registry)
    loaded = check_envelope(visible)
    redaction = loaded.get("redaction") or {}

    return AdapterEvent(
        id=loaded["id"],
        type=loaded["type"],
        version=loaded["version"],
        occurred_at=loaded["occurred_at"],
        case_id=loaded["case_id"],
        actor=loaded["actor"],
        correlation_id=loaded["correlation_id"],
        causation_id=loaded["causation_id"],
        classification=loaded["classification"],
        payload=loaded["payload"],
        routing_key=routing_key,
        envelope=visible,
        redacted=bool(redaction),
        redacted_fields=tuple(redaction.get("removed", ())),
        replayed=replayed,
    )
