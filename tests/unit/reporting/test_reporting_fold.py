"""The case board fold: order of arrival does not matter, classified cases
keep only metadata, deadlines and the 2-hour initial information."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.reporting.eventlog import GENESIS_HASH, make_entry
from services.reporting.fold import (
    apply_to_case,
    apply_to_deadline,
    case_contributions,
    deadline_id_of,
    new_case,
    new_deadline,
    search_words,
)
from services.reporting.simulation import PATHS, CaseScript

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def entries_of(events):
    entries, previous = [], GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        entry = make_entry(event.envelope, seq, previous, START)
        previous = entry["hash"]
        entries.append(entry)
    return entries


def script(path, index=3, classification=None):
    case = CaseScript(random.Random(index), index, path, START, previous_case="HP-0")
    events = case.play()
    if classification:
        for event in events:
            event.envelope["classification"] = classification
    return case, entries_of(sorted(events, key=lambda item: item.occurred_at))


def fold(entries):
    doc = None
    deadlines = {}
    for entry in entries:
        if entry.get("case_id"):
            doc = doc or new_case(entry["case_id"])
            apply_to_case(doc, entry)
        deadline_id = deadline_id_of(entry)
        if deadline_id:
            record = deadlines.setdefault(deadline_id, new_deadline(deadline_id))
            apply_to_deadline(record, entry)
    return doc, deadlines


@pytest.mark.parametrize("path", sorted(set(PATHS) - {"merged"}), ids=str)
def test_board_is_the_same_whatever_order_events_arrive_in(path):
    _, entries = script(path)
    in_order = fold(entries)
    shuffled = list(entries)
    random.Random(11).shuffle(shuffled)

    assert fold(shuffled) == in_order


def test_closed_scam_has_its_lead_agencies_measures_and_results():
    case, entries = script("scam", index=8)
    doc, _ = fold(entries)

    assert doc["state"] == "closed"
    assert doc["previous_state"] == "resolved"
    assert doc["lead"] == "dic"
    assert doc["agency_codes"] == ["dic", "police"]
    assert doc["categories"] == ["fraud_scam", "impersonation"]
    assert doc["title"].startswith("Trang giả mạo ngân hàng")
    assert {measure["kind"] for measure in doc["measures"]} == {
        "removal_request",
        "police_referral",
    }
    assert all(measure["result"] for measure in doc["measures"])
    assert doc["last_event"]["type"] == "case.closed"


def test_classified_case_keeps_no_title_or_text_on_the_board():
    case, entries = script("classified", index=6)
    doc, _ = fold(entries)

    assert doc["classification"] == "secret"
    assert doc["classified"] is True
    assert doc["title"] is None
    assert doc["search"] == case.case_id.lower()
    text = repr(doc)
    assert "mật của cơ quan" not in text
    assert "Nội dung được ghi nhận" not in text


def test_assignment_arriving_before_the_opening_still_gives_the_assigned_case():
    _, entries = script("in_progress", index=7)
    opened = next(entry for entry in entries if entry["type"] == "case.opened")
    assigned = next(entry for entry in entries if entry["type"] == "case.assigned")
    doc = new_case(opened["case_id"])
    apply_to_case(doc, assigned)
    apply_to_case(doc, opened)

    assert doc["state"] == "assigned"
    assert doc["opened_at"] == opened["occurred_at"]
    assert doc["lead"] == "dic"


def test_unknown_event_type_only_moves_the_last_event():
    _, entries = script("rejected", index=2)
    doc, _ = fold(entries)
    before = {key: value for key, value in doc.items() if key != "last_event"}
    stranger = make_entry(
        {
            "id": "7e0c4b1e-0000-4000-8000-000000000001",
            "type": "future.thing_happened",
            "version": 3,
            "occurred_at": (START + timedelta(days=40)).isoformat(),
            "case_id": doc["case_id"],
            "actor": {"agency": "dic", "officer": None},
            "correlation_id": "x",
            "payload": {"novel": {"nested": [1, 2]}},
        },
        len(entries) + 1,
        entries[-1]["hash"],
        START,
    )
    apply_to_case(doc, stranger)

    assert doc["last_event"]["type"] == "future.thing_happened"
    assert doc["event_count"] == before["event_count"] + 1
    assert doc["state"] == before["state"] == "rejected"


def test_initial_information_given_late_is_met_but_not_on_time():
    _, entries = script("incident_late", index=5)
    _, deadlines = fold(entries)
    initial = [record for record in deadlines.values() if record["initial_info"]]

    assert len(initial) == 1
    assert initial[0]["status"] == "met"
    assert initial[0]["on_time"] is False
    assert initial[0]["overdue_at"] == initial[0]["due_at"]


def test_initial_information_given_within_two_hours_is_on_time():
    _, entries = script("incident", index=1)
    _, deadlines = fold(entries)
    (initial,) = [record for record in deadlines.values() if record["initial_info"]]

    assert initial["status"] == "met"
    assert initial["on_time"] is True
    assert initial["due_at"] - initial["started_at"] == timedelta(hours=2)


def test_case_counts_toward_its_state_category_and_agencies():
    _, entries = script("scam", index=8)
    doc, _ = fold(entries)
    counts = case_contributions(doc)

    assert counts["total"] == 1
    assert counts["state:closed"] == 1
    assert counts["open"] == 0
    assert counts["category:fraud_scam"] == 1
    assert counts["agency:dic:cases"] == 1
    assert counts["agency:police:cases"] == 1
    assert counts["agency:police:measures_reported"] == 1


def test_classified_case_search_words_are_those_of_its_id_alone():
    case, entries = script("classified", index=6)
    doc, _ = fold(entries)

    assert doc["search_words"] == search_words(case.case_id.lower())
