"""Delivery receipts are events the bus accepts like any other."""

from datetime import UTC, datetime

from phoihop.adapters.runner import receipt_event
from phoihop.events import load_envelope


def test_receipt_is_a_valid_event_envelope():
    envelope = receipt_event(
        "adapter.delivered",
        {
            "adapter": "police",
            "agency": "police",
            "event_id": "e-1",
            "event_type": "case.assigned",
            "attempts": 1,
            "delivered_at": datetime(2026, 3, 1, tzinfo=UTC),
            "transports": ["webhook"],
            "receipts": [{"transport": "webhook", "status": 200}],
        },
        case_id="case-1",
        actor={"agency": "police", "officer": "adapter:police"},
        causation_id="e-1",
    )

    loaded = load_envelope(envelope)

    assert loaded["payload"]["delivered_at"] == "2026-03-01T00:00:00+00:00"
    assert loaded["causation_id"] == "e-1"
    assert loaded["classification"] == "internal"
