"""The delivery ledger an agency's own runner keeps in SQLite."""

import pytest
from adapter_factories import make_envelope

from phoihop.adapters.ledger import DEAD, DELIVERED, PENDING, SqliteLedger
from phoihop.errors import Conflict


@pytest.fixture
def ledger(tmp_path):
    ledger = SqliteLedger(tmp_path / "ledger.db")
    ledger.open("police")
    yield ledger
    ledger.close()


def test_an_event_is_taken_once_whatever_the_routing_key(ledger):
    envelope = make_envelope()

    first = ledger.accept("police", envelope, "agency.police.case.assigned")
    again = ledger.accept("police", envelope, "case.assigned")

    assert first.state == PENDING and first.lane == "case-1"
    assert again is None


def test_pending_items_come_back_in_the_order_taken_after_a_restart(tmp_path):
    path = tmp_path / "ledger.db"
    ledger = SqliteLedger(path)
    ledger.open("police")
    taken = [make_envelope() for _ in range(3)]
    for envelope in taken:
        ledger.accept("police", envelope, "k")
    ledger.record_done(ledger.pending("police")[0], DELIVERED, [])
    ledger.close()

    reopened = SqliteLedger(path)
    reopened.open("police")
    assert [item.event_id for item in reopened.pending("police")] == [
        envelope["id"] for envelope in taken[1:]
    ]
    reopened.close()


def test_a_dead_letter_sent_back_is_taken_again_at_the_end_of_its_lane(ledger):
    envelope = make_envelope()
    item = ledger.accept("police", envelope, "k")
    ledger.record_dead(item, "refused")
    later = ledger.accept("police", make_envelope(), "k")

    assert ledger.accept("police", envelope, "k") is None
    revived = ledger.accept("police", envelope, "k", replayed=True)

    assert revived.state == PENDING and revived.seq > later.seq
    assert revived.number == item.number
    assert ledger.state_of("police", envelope["id"]) == PENDING


def test_hold_keeps_the_order_in_which_events_failed(ledger):
    for event_id in ("e1", "e2", "e1", "e3"):
        ledger.hold("police", "case-1", event_id)

    assert ledger.held("police", "case-1") == ["e1", "e2", "e3"]
    ledger.unhold("police", "case-1", "e1")
    assert ledger.held("police", "case-1") == ["e2", "e3"]
    assert ledger.release("police", "case-1") == ["e2", "e3"]
    assert ledger.holds("police") == {}


def test_stats_count_each_state_and_held_cases(ledger):
    first = ledger.accept("police", make_envelope(), "k")
    ledger.accept("police", make_envelope(), "k")
    ledger.record_dead(first, "x")
    ledger.hold("police", "case-1", first.event_id)

    stats = ledger.stats("police")

    assert stats[PENDING] == 1 and stats[DEAD] == 1 and stats["held_cases"] == 1


def test_a_second_runner_on_the_same_file_is_refused(tmp_path):
    path = tmp_path / "ledger.db"
    first, second = SqliteLedger(path), SqliteLedger(path)
    assert first.acquire("police", "a", 30)

    with pytest.raises(Conflict):
        second.acquire("police", "b", 30)
    first.close()
    second.close()


def test_a_batch_records_attempts_and_finished_deliveries_in_order(ledger):
    first = ledger.accept("police", make_envelope(), "k")
    second = ledger.accept("police", make_envelope(), "k")
    first.attempts, first.last_error = 2, "receiver down"

    ledger.finish_many(
        [(first, PENDING, None, None), (second, DELIVERED, [{"transport": "x"}], None)]
    )

    [waiting] = ledger.pending("police")
    assert waiting.event_id == first.event_id
    assert waiting.attempts == 2 and waiting.last_error == "receiver down"
    assert ledger.state_of("police", second.event_id) == DELIVERED
