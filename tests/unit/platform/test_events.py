"""The event envelope and the registry of versioned payload schemas."""

import uuid

import pytest
from marshmallow import Schema, fields

from phoihop.errors import UnknownEventType, ValidationError
from phoihop.events import EventRegistry, build_event, load_envelope


def test_unknown_type_is_refused_at_publish():
    with pytest.raises(UnknownEventType) as refused:
        build_event("case.teleported", {})

    assert "type" in refused.value.fields


def test_invalid_payload_names_the_field():
    with pytest.raises(ValidationError) as refused:
        build_event("platform.ping", {"sequence": -3})

    assert list(refused.value.fields) == ["payload.sequence"]


def test_unknown_payload_field_is_refused():
    with pytest.raises(ValidationError) as refused:
        build_event("platform.ping", {"sequence": 1, "colour": "red"})

    assert "payload.colour" in refused.value.fields


def test_built_event_is_a_valid_envelope_in_utc():
    event = build_event("platform.ping", {"sequence": 1}, case_id="C-9")

    loaded = load_envelope(event)
    assert loaded["occurred_at"].utcoffset().total_seconds() == 0
    assert loaded["correlation_id"] == event["id"]
    assert uuid.UUID(loaded["id"])


def test_envelope_without_actor_is_refused_naming_it():
    event = build_event("platform.ping", {"sequence": 1})
    del event["actor"]

    with pytest.raises(ValidationError) as refused:
        load_envelope(event)

    assert "event.actor" in refused.value.fields


def test_latest_version_is_the_default_and_old_versions_stay_readable():
    registry = EventRegistry()

    class V1(Schema):
        a = fields.Integer()

    class V2(Schema):
        b = fields.Integer()

    registry.register("case.sample", V1, 1)
    registry.register("case.sample", V2, 2)

    assert registry.get("case.sample").version == 2
    assert registry.get("case.sample", 1).schema is V1
