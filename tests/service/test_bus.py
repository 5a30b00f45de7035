"""The reliable bus on the real broker and database: outbox, relay, retries,
dead letters and replay."""

import threading
import time

import pytest
from nameko.rpc import rpc

from phoihop.bus import OutboxRelay, subscribe
from phoihop.config import exchange_name
from phoihop.deadletters import DeadLetters
from phoihop.errors import ValidationError
from phoihop.events import build_event
from phoihop.store import Store, database_name, get_database, make_client, write_outbox

received = []
received_lock = threading.Lock()


class ProducerService:
    name = "producer"
    store = Store()

    @rpc
    def ping(self, sequence):
        with self.store.transaction() as tx:
            tx.db.pings.insert_one({"sequence": sequence}, session=tx.session)
            tx.emit("platform.ping", {"sequence": sequence})


class ConsumerService:
    name = "consumer"
    store = Store()

    @subscribe("platform.ping", max_attempts=3, retry_delays=(0.2, 0.2))
    def handle_ping(self, event):
        sequence = event["payload"]["sequence"]
        with received_lock:
            received.append((event["id"], sequence))
        if event["payload"]["note"] == "poison":
            raise RuntimeError(f"cannot handle ping {sequence}")
        with self.store.transaction() as tx:
            tx.db.seen.insert_one({"sequence": sequence}, session=tx.session)


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(autouse=True)
def _clear_received():
    received.clear()


def test_invalid_payload_is_refused_at_publish_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        build_event("platform.ping", {"sequence": "not a number"})

    assert "payload.sequence" in refused.value.fields


def test_event_emitted_in_transaction_reaches_consumer_once(
    container_factory, service_config
):
    producer = container_factory(ProducerService, service_config)
    consumer = container_factory(ConsumerService, service_config)
    consumer.start()
    producer.start()

    from nameko.testing.services import entrypoint_hook

    with entrypoint_hook(producer, "ping") as ping:
        for sequence in range(5):
            ping(sequence)

    assert wait_for(lambda: len(received) == 5), received
    assert sorted(seq for _, seq in received) == [0, 1, 2, 3, 4]


def test_relay_crash_after_publish_still_delivers_exactly_once(
    container_factory, service_config
):
    consumer = container_factory(ConsumerService, service_config)
    consumer.start()
    client = make_client(service_config["MONGODB_URI"])
    db = get_database(client, database_name(service_config["DB_PREFIX"], "producer"))
    envelope = build_event("platform.ping", {"sequence": 7})
    write_outbox(db, envelope)

    # The first relay publishes, then "crashes" before marking the record sent.
    crashed = OutboxRelay(
        db, service_config["AMQP_URI"], exchange_name(service_config), sweep_grace=0
    )
    assert crashed.publish_pending(stop_after_publish=True) == 1
    crashed._close()
    db.outbox.update_many({}, {"$unset": {"lease_until": "", "lease_owner": ""}})

    # The restarted relay publishes the same record again and marks it.
    restarted = OutboxRelay(
        db, service_config["AMQP_URI"], exchange_name(service_config), sweep_grace=0
    )
    assert restarted.publish_pending() == 1
    restarted._close()

    consumer_db = get_database(
        client, database_name(service_config["DB_PREFIX"], "consumer")
    )
    assert wait_for(lambda: consumer_db.seen.count_documents({}) == 1)
    time.sleep(1.0)
    assert consumer_db.seen.count_documents({}) == 1
    assert db.outbox.count_documents({"sent_at": None}) == 0


def test_relay_stopped_before_publish_delivers_after_restart(
    container_factory, service_config
):
    consumer = container_factory(ConsumerService, service_config)
    consumer.start()
    client = make_client(service_config["MONGODB_URI"])
    db = get_database(client, database_name(service_config["DB_PREFIX"], "producer"))
    write_outbox(db, build_event("platform.ping", {"sequence": 11}))
    time.sleep(0.5)
    assert received == []

    relay = OutboxRelay(
        db, service_config["AMQP_URI"], exchange_name(service_config), sweep_grace=0
    )
    relay.start()
    try:
        assert wait_for(lambda: len(received) == 1)
    finally:
        relay.stop()
    assert received[0][1] == 11


def test_failing_message_goes_to_dead_letter_queue_and_replays(
    container_factory, service_config
):
    consumer = container_factory(ConsumerService, service_config)
    consumer.start()
    client = make_client(service_config["MONGODB_URI"])
    db = get_database(client, database_name(service_config["DB_PREFIX"], "producer"))
    poison = build_event("platform.ping", {"sequence": 1, "note": "poison"})
    write_outbox(db, poison)
    for sequence in range(2, 6):
        write_outbox(db, build_event("platform.ping", {"sequence": sequence}))
    relay = OutboxRelay(
        db, service_config["AMQP_URI"], exchange_name(service_config), sweep_grace=0
    )
    relay.publish_pending()
    relay._close()

    # The others flow while the poison one is retried and dead-lettered.
    consumer_db = get_database(
        client, database_name(service_config["DB_PREFIX"], "consumer")
    )
    assert wait_for(lambda: consumer_db.seen.count_documents({}) == 4)
    letters = DeadLetters(service_config["AMQP_URI"])
    assert wait_for(lambda: letters.count("consumer.handle_ping") == 1)
    attempts = [seq for _, seq in received if seq == 1]
    assert len(attempts) == 3

    [letter] = letters.list("consumer.handle_ping")
    assert letter.event_id == poison["id"]
    assert letter.attempts == 3
    assert "cannot handle ping 1" in letter.error
    assert letters.count("consumer.handle_ping") == 1

    assert letters.replay("consumer.handle_ping") == 1
    assert wait_for(lambda: len([s for _, s in received if s == 1]) == 4)
