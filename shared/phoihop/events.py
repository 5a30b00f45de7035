"""The event envelope and the registry of event types.

Every event on the bus is an envelope (DESIGN.md, Events) whose ``payload``
is validated by the schema registered for its type and version. Publishing
an unknown type or an invalid payload is refused before anything is written,
with an error that names the field at fault.

Event types are declared by the domain modules in ``phoihop.contracts``; each
registers its types at import, and ``phoihop.contracts.load_all()`` imports
them all in one explicit call.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.constants import AGENCY_KEY_PREFIX, CLASSIFICATIONS
from phoihop.errors import UnknownEventType, ValidationError

# An event type is exactly "<domain>.<name>": consumers that want every event
# once (the event log) bind "*.*", which the agency copies
# ("agency.<code>.<type>") never match.
_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


class UtcDateTime(fields.AwareDateTime):
    """An aware datetime, converted to UTC on load and on dump."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value.astimezone(UTC), attr, obj, **kwargs)


class ActorSchema(Schema):
    """Who caused the event: an agency and, when a person acted, the officer."""

    class Meta:
        unknown = RAISE

    agency = fields.String(required=True, validate=validate.Length(min=1, max=64))
    officer = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200)
    )


class EnvelopeSchema(Schema):
    """The envelope around every event; ``payload`` is checked per type."""

    class Meta:
        unknown = RAISE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(_TYPE_PATTERN))
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


@dataclass(frozen=True)
class EventType:
    """One registered event type at one version."""

    name: str
    version: int
    schema: type
    description: str = ""


class EventRegistry:
    """Event types by name and version; the latest version is the default."""

    def __init__(self):
        self._types = {}

    def register(self, name, schema, version=1, description=""):
        if not re.match(_TYPE_PATTERN, name):
            raise ValueError(f"event type {name!r} must read <domain>.<name>")
        key = (name, version)
        existing = self._types.get(key)
        if existing and existing.schema is not schema:
            raise ValueError(f"event type {name} v{version} is already registered")
        self._types[key] = EventType(name, version, schema, description)
        return schema

    def get(self, name, version=None):
        if version is None:
            version = self.latest_version(name)
        try:
            return self._types[(name, version)]
        except KeyError:
            raise UnknownEventType(
                f"unknown event type {name!r} version {version}",
                {"type": "not in the event registry; declare it in phoihop.contracts"},
            ) from None

    def latest_version(self, name):
        versions = [v for (n, v) in self._types if n == name]
        if not versions:
            raise UnknownEventType(
                f"unknown event type {name!r}",
                {"type": "not in the event registry; declare it in phoihop.contracts"},
            )
        return max(versions)

    def names(self):
        return sorted({name for name, _ in self._types})

    def __contains__(self, name):
        return any(n == name for n, _ in self._types)


registry = EventRegistry()


def event_type(name, version=1, description=""):
    """Class decorator registering a payload schema for ``name``."""

    def decorator(schema):
        return registry.register(name, schema, version, description)

    return decorator


def _prefix_errors(messages, prefix):
    if isinstance(messages, dict):
        flat = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}"
            if isinstance(value, dict):
                flat.update(_prefix_errors(value, name))
            else:
                flat[name] = "; ".join(str(item) for item in value)
        return flat
    return {prefix: "; ".join(str(item) for item in messages)}


def validate_payload(name, payload, version=None):
    """Validate a payload against its registered schema; return it loaded."""
    kind = registry.get(name, version)
    try:
        return kind.schema().load(payload)
    except SchemaError as exc:
        raise ValidationError(
            f"invalid payload for event {name!r} v{kind.version}",
            _prefix_errors(exc.messages, "payload"),
        ) from exc


def build_event(
    name,
    payload,
    *,
    case_id=None,
    actor=None,
    correlation_id=None,
    causation_id=None,
    classification="public",
    version=None,
    occurred_at=None,
):
    """Build a validated envelope, ready to be stored in the outbox.

    The payload is validated and then dumped back, so what is stored is
    JSON-safe (datetimes as ISO strings) and what consumers receive is exactly
    what the schema allows.
    """
    kind = registry.get(name, version)
    loaded = validate_payload(name, payload, kind.version)
    event_id = str(uuid.uuid4())
    envelope = {
        "id": event_id,
        "type": name,
        "version": kind.version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "case_id": case_id,
        "actor": actor or {"agency": "system", "officer": None},
        "correlation_id": correlation_id or event_id,
        "causation_id": causation_id,
        "classification": classification,
        "payload": kind.schema().dump(loaded),
    }
    load_envelope(envelope)

    return envelope


def load_envelope(envelope):
    """Validate a received envelope; returns it with typed fields.

    ``occurred_at`` becomes an aware UTC datetime and ``id`` a string.
    """
    try:
        loaded = EnvelopeSchema().load(envelope)
    except SchemaError as exc:
        raise ValidationError(
            "invalid event envelope", _prefix_errors(exc.messages, "event")
        ) from exc
    loaded["id"] = str(loaded["id"])
    if loaded["type"] in registry:
        validate_payload(loaded["type"], loaded["payload"], loaded["version"])

    return loaded


def agency_routing_key(agency_code, name):
    """The routing key of the copy of an event meant for one agency."""
    return f"{AGENCY_KEY_PREFIX}.{agency_code}.{name}"
