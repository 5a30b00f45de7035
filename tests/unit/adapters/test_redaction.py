"""Classified content is removed from what an uncleared agency receives."""

from adapter_factories import make_envelope

from phoihop.adapters.envelopes import adapter_event, for_agency, redact_envelope
from phoihop.agencies import shipped_registry

REQUEST = {
    "consultation_id": "round-1",
    "agency": "journalists",
    "question": "Nội dung có tiết lộ bí mật nhà nước không?",
    "due_at": "2026-03-03T02:00:00+00:00",
}


def test_redaction_keeps_ids_states_and_agencies_and_removes_text():
    envelope = make_envelope("consultation.opinion_requested", REQUEST)

    redacted = redact_envelope(envelope)

    assert redacted["payload"] == {
        "consultation_id": "round-1",
        "agency": "journalists",
        "due_at": "2026-03-03T02:00:00+00:00",
    }
    assert redacted["redaction"]["removed"] == ["question"]
    assert envelope["payload"]["question"], "the original is left untouched"


def test_nested_content_is_removed_inside_kept_lists():
    payload = {
        "measures": [
            {
                "measure_id": "m1",
                "kind": "removal_request",
                "agency": "dic",
                "description": "gỡ bài viết tại https://example.invalid/p/1",
            },
        ],
        "summary": "Tóm tắt vụ việc",
    }

    redacted = redact_envelope(make_envelope("case.decided", payload))

    assert redacted["payload"] == {
        "measures": [{"measure_id": "m1", "kind": "removal_request", "agency": "dic"}]
    }
    assert set(redacted["redaction"]["removed"]) == {"measures.description", "summary"}


def test_secret_event_reaches_a_confidential_agency_redacted_and_a_cleared_one_whole():
    registry = shipped_registry()
    envelope = make_envelope(
        "consultation.opinion_requested", REQUEST, classification="secret"
    )

    journalists = adapter_event(envelope, "k", "journalists", registry)
    police = adapter_event(envelope, "k", "police", registry)

    assert journalists.redacted and "question" not in journalists.payload
    assert journalists.redacted_fields == ("question",)
    assert not police.redacted and police.payload["question"] == REQUEST["question"]


def test_confidential_event_reaches_a_confidential_agency_whole():
    envelope = make_envelope(
        "consultation.opinion_requested", REQUEST, classification="confidential"
    )

    assert for_agency(envelope, "journalists", shipped_registry()) is envelope


def test_unknown_agency_gets_only_public_content():
    envelope = make_envelope(
        "consultation.opinion_requested", REQUEST, classification="internal"
    )

    assert (
        "question" not in for_agency(envelope, "nobody", shipped_registry())["payload"]
    )


def test_an_envelope_redacted_upstream_is_not_redacted_again():
    once = redact_envelope(
        make_envelope("case.closed", {"reason": "x", "state": "closed"})
    )

    assert for_agency(once, "journalists", shipped_registry()) is once
