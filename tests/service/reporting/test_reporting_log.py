"""The event log on the real database: one entry per event, no fork under
concurrent writers, and tampering named by ``verify``."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from phoihop.store import apply_indexes, get_database, make_client
from services.reporting.eventlog import (
    INDEXES,
    LOG_COLLECTION,
    META_COLLECTION,
    EventLog,
    verify,
)

START = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)


def event(number, case_id="HP-1", **payload):
    return {
        "id": str(uuid.uuid4()),
        "type": "case.triaged",
        "version": 1,
        "occurred_at": START + timedelta(minutes=number),
        "case_id": case_id,
        "actor": {"agency": "dic", "officer": "Lê Văn C"},
        "correlation_id": "c",
        "causation_id": None,
        "classification": "public",
        "payload": {
            "state": "triaged",
            "previous_state": "received",
            "n": number,
            **payload,
        },
    }


@pytest.fixture
def db(service_config):
    client = make_client(service_config["MONGODB_URI"])
    database = get_database(client, f"{service_config['DB_PREFIX']}_reporting")
    apply_indexes(database, INDEXES)
    yield database
    client.close()


@pytest.fixture
def filled(db):
    log = EventLog(db)
    for number in range(1, 41):
        log.append(event(number))
    return db


def test_same_event_is_logged_once(db):
    log = EventLog(db)
    first = event(1)

    entry, created = log.append(first)
    again, created_again = log.append(dict(first))

    assert created and not created_again
    assert again["_id"] == entry["_id"] == 1
    assert db[LOG_COLLECTION].count_documents({}) == 1


def test_concurrent_writers_never_fork_the_chain(db):
    # Two logs on one database stand for two instances of the service; each
    # is appended to from several threads, and some events come twice (the
    # agency copies of one event).
    logs = [EventLog(db), EventLog(db)]
    events = [event(number, case_id=f"HP-{number % 7}") for number in range(120)]
    failures = []

    def writer(index):
        try:
            for position, item in enumerate(events):
                if position % 4 == index:
                    logs[index % 2].append(item)
                    logs[(index + 1) % 2].append(item)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    seqs = sorted(doc["_id"] for doc in db[LOG_COLLECTION].find({}, {"_id": 1}))
    assert seqs == list(range(1, len(events) + 1))
    assert db[META_COLLECTION].find_one({"_id": "head"})["seq"] == len(events)
    result = verify(db)
    assert result.ok, result.to_dict()


def test_untouched_log_verifies(filled):
    result = verify(filled)

    assert result.ok
    assert result.checked == 40
    assert result.head.seq == 40


def test_one_changed_field_is_named_with_its_entry(filled):
    filled[LOG_COLLECTION].update_one(
        {"_id": 17}, {"$set": {"event.payload.state": "closed"}}
    )

    result = verify(filled)

    assert not result.ok
    assert result.first.seq == 17
    assert result.first.kind == "changed"
    assert result.first.fields == ["event.payload.state"]
    assert result.first.event_type == "case.triaged"


def test_changed_time_of_an_entry_is_named(filled):
    filled[LOG_COLLECTION].update_one(
        {"_id": 5}, {"$set": {"occurred_at": START + timedelta(days=30)}}
    )

    result = verify(filled)

    assert result.first.seq == 5
    assert result.first.fields == ["occurred_at"]


def test_removed_entry_is_named(filled):
    filled[LOG_COLLECTION].delete_one({"_id": 23})

    result = verify(filled)

    assert not result.ok
    assert result.first.seq == 23
    assert result.first.kind == "removed"


def test_rewritten_hash_breaks_the_link_of_the_next_entry(filled):
    filled[LOG_COLLECTION].update_one({"_id": 9}, {"$set": {"hash": "a" * 64}})

    result = verify(filled)

    assert [(problem.seq, problem.kind) for problem in result.problems] == [
        (9, "changed"),
        (10, "relinked"),
    ]


def test_entries_cut_from_the_end_are_caught_by_a_report_anchor(filled):
    anchor = filled[LOG_COLLECTION].find_one({"_id": 40})
    filled[LOG_COLLECTION].delete_many({"_id": {"$gt": 35}})
    last = filled[LOG_COLLECTION].find_one({"_id": 35})
    filled[META_COLLECTION].update_one(
        {"_id": "head"}, {"$set": {"seq": 35, "hash": last["hash"]}}
    )

    assert verify(filled).ok
    result = verify(filled, anchors=[(40, anchor["hash"])])

    assert not result.ok
    assert result.first.kind == "anchor"
    assert result.first.seq == 40
