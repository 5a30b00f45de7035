"""The hash chain's pure parts: canonical JSON, entry hashes, field digests."""

from datetime import UTC, datetime

from services.reporting.eventlog import (
    GENESIS_HASH,
    canonical_json,
    changed_fields,
    entry_hash,
    make_entry,
)


def envelope(**overrides):
    base = {
        "id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        "type": "case.triaged",
        "version": 1,
        "occurred_at": datetime(2026, 11, 3, 4, 5, 6, 123456, tzinfo=UTC),
        "case_id": "HP-1",
        "actor": {"agency": "dic", "officer": "Nguyễn Văn A"},
        "correlation_id": "c-1",
        "causation_id": None,
        "classification": "public",
        "payload": {
            "state": "triaged",
            "previous_state": "received",
            "categories": ["x"],
        },
    }
    base.update(overrides)
    return base


def test_canonical_json_ignores_key_order_and_keeps_vietnamese_text():
    first = canonical_json({"b": 1, "a": "Hải Phòng"})
    second = canonical_json({"a": "Hải Phòng", "b": 1})

    assert first == second
    assert "Hải Phòng".encode() in first


def test_canonical_json_writes_datetimes_to_the_millisecond():
    moment = datetime(2026, 11, 3, 4, 5, 6, 123999, tzinfo=UTC)

    assert canonical_json(moment) == b'"2026-11-03T04:05:06.123Z"'


def test_entry_hash_covers_the_link_to_the_previous_entry():
    entry = make_entry(envelope(), 1, GENESIS_HASH, datetime.now(UTC))
    relinked = {**entry, "prev_hash": "f" * 64}

    assert entry_hash(entry) == entry["hash"]
    assert entry_hash(relinked) != entry["hash"]


def test_entry_times_are_truncated_so_a_database_round_trip_keeps_the_hash():
    recorded = datetime(2026, 11, 3, 4, 5, 7, 987654, tzinfo=UTC)
    entry = make_entry(envelope(), 1, GENESIS_HASH, recorded)

    assert entry["recorded_at"].microsecond == 987000
    assert entry["occurred_at"].microsecond == 123000
    assert entry_hash(entry) == entry["hash"]


def test_changed_payload_field_is_named_by_its_path():
    entry = make_entry(envelope(), 7, GENESIS_HASH, datetime.now(UTC))
    entry["event"]["payload"]["state"] = "closed"

    assert entry_hash(entry) != entry["hash"]
    assert changed_fields(entry) == ["event.payload.state"]


def test_added_and_removed_fields_are_named():
    entry = make_entry(envelope(), 7, GENESIS_HASH, datetime.now(UTC))
    del entry["event"]["payload"]["categories"]
    entry["event"]["payload"]["extra"] = 1

    assert changed_fields(entry) == ["event.payload.categories", "event.payload.extra"]


def test_case_id_is_taken_from_the_payload_when_the_envelope_has_none():
    entry = make_entry(
        envelope(case_id=None, payload={"case_id": "HP-9"}),
        1,
        GENESIS_HASH,
        datetime.now(UTC),
    )

    assert entry["case_id"] == "HP-9"
    assert entry["event"]["occurred_at"].startswith("2026-11-03T04:05:06")
