"""Test data for the adapter unit tests."""

import uuid
from datetime import UTC, datetime

from phoihop.adapters.adapter import AdapterEvent


def make_envelope(event_type="case.assigned", payload=None, **overrides):
    event_id = str(uuid.uuid4())
    envelope = {
        "id": event_id,
        "type": event_type,
        "version": 1,
        "occurred_at": datetime(2026, 3, 1, 2, 30, tzinfo=UTC).isoformat(),
        "case_id": "case-1",
        "actor": {"agency": "dic", "officer": "Nguyễn Văn A"},
        "correlation_id": event_id,
        "causation_id": None,
        "classification": "public",
        "payload": payload if payload is not None else {},
    }
    envelope.update(overrides)
    return envelope


def make_event(event_type="case.assigned", payload=None, **overrides):
    envelope = make_envelope(event_type, payload, **overrides)
    return AdapterEvent(
        id=envelope["id"],
        type=envelope["type"],
        version=1,
        occurred_at=datetime.fromisoformat(envelope["occurred_at"]),
        case_id=envelope["case_id"],
        actor=envelope["actor"],
        correlation_id=envelope["correlation_id"],
        causation_id=None,
        classification=envelope["classification"],
        payload=envelope["payload"],
        routing_key=event_type,
        envelope=envelope,
    )
