"""Filtering, de-duplication and redaction of the live stream, without a
broker: messages are handed to the stream as the consumer would."""

import pytest

from phoihop.stream import (
    REDACTED,
    CaseMemory,
    EventStream,
    StreamFilter,
    agency_of_routing_key,
    redact_event,
)


def event(kind, case_id="HP-1", event_id=None, classification="public", **payload):
    return {
        "id": event_id or f"{kind}-{case_id}",
        "type": kind,
        "case_id": case_id,
        "actor": {"agency": "dic", "officer": "Trần Thị B"},
        "classification": classification,
        "occurred_at": "2026-11-03T04:05:06+00:00",
        "payload": payload,
    }


def feed(stream, *messages):
    """Give messages to the stream and return what it shows."""
    for envelope, routing_key in messages:
        stream._buffer.append((envelope, routing_key))
    shown = []
    while stream._buffer:
        envelope, routing_key = stream._buffer.popleft()
        if stream._accept(envelope, routing_key):
            shown.append(envelope)
    return shown


def make(filter_=None):
    return EventStream("amqp://unused/", filter=filter_)


@pytest.mark.parametrize(
    ("patterns", "kind", "shown"),
    [
        (("case.*",), "case.opened", True),
        (("case.*",), "deadline.overdue", False),
        (("deadline.overdue", "press.*"), "press.statement_approved", True),
        ((), "anything.at_all", True),
    ],
    ids=["glob-match", "glob-miss", "several", "no-filter"],
)
def test_type_patterns_select_events(patterns, kind, shown):
    assert StreamFilter(types=patterns).matches(event(kind)) is shown


def test_agency_copy_of_an_event_is_shown_once():
    stream = make()
    opened = event("case.assigned", lead="dic", agencies=[{"agency": "police"}])

    shown = feed(
        stream,
        (opened, "case.assigned"),
        (opened, "agency.police.case.assigned"),
        (opened, "agency.dic.case.assigned"),
    )

    assert shown == [opened]


def test_agency_filter_follows_the_cases_it_was_assigned():
    stream = make(StreamFilter(agencies=("police",)))
    assigned = event(
        "case.assigned", lead="dic", agencies=[{"agency": "dic"}, {"agency": "police"}]
    )
    appraised = event("case.appraised", outcome="violates")
    elsewhere = event("case.appraised", case_id="HP-2", outcome="violates")

    shown = feed(
        stream,
        (assigned, "case.assigned"),
        (appraised, "case.appraised"),
        (elsewhere, "case.appraised"),
    )

    assert [item["id"] for item in shown] == [assigned["id"], appraised["id"]]


def test_agency_filter_matches_a_per_agency_copy_seen_after_its_original():
    stream = make(StreamFilter(agencies=("press-hp",)))
    distributed = event(
        "press.statement_distributed", case_id="HP-3", agency="dept-health"
    )

    shown = feed(
        stream,
        (distributed, "press.statement_distributed"),
        (distributed, "agency.press-hp.press.statement_distributed"),
    )

    assert shown == [distributed]


def test_category_filter_remembers_the_categories_of_a_case():
    stream = make(StreamFilter(categories=("fraud_scam",)))
    triaged = event("case.triaged", categories=["fraud_scam"])
    closed = event("case.closed", reason="done")
    other = event("case.closed", case_id="HP-9", reason="done")

    shown = feed(
        stream,
        (triaged, "case.triaged"),
        (closed, "case.closed"),
        (other, "case.closed"),
    )

    assert [item["type"] for item in shown] == ["case.triaged", "case.closed"]


def test_case_filter_keeps_only_the_named_cases():
    only = StreamFilter(cases=("HP-2",))

    assert only.matches(event("case.opened", case_id="HP-2"))
    assert not only.matches(event("case.opened", case_id="HP-1"))


def test_classified_event_shows_metadata_only():
    secret = event(
        "case.opened",
        classification="secret",
        title="Tài liệu mật bị lộ",
        state="received",
        channel="email",
        content_items=[{"url": "https://x.example/1", "captured_text": "bí mật"}],
        about={"sector": "health", "text": "chi tiết"},
    )
    shown = redact_event(secret)

    assert shown["redacted"] is True
    assert shown["payload"]["title"] == REDACTED
    assert shown["payload"]["content_items"][0]["captured_text"] == REDACTED
    assert shown["payload"]["about"] == {"sector": "health", "text": REDACTED}
    assert shown["payload"]["state"] == "received"
    assert shown["payload"]["channel"] == "email"
    assert secret["payload"]["title"] == "Tài liệu mật bị lộ"


def test_public_event_is_not_redacted():
    public = event("case.opened", title="Tin giả")

    assert redact_event(public) is public


def test_case_memory_forgets_the_oldest_cases():
    memory = CaseMemory(size=2)
    for case_id in ("A", "B", "C"):
        memory.learn(case_id, agencies={"police"})

    assert memory.get("A") == (frozenset(), frozenset())
    assert memory.get("C")[0] == {"police"}


def test_routing_key_of_a_copy_names_its_agency():
    assert agency_of_routing_key("agency.police.case.assigned") == "police"
    assert agency_of_routing_key("case.assigned") is None
