"""Helpers of the routing service tests: publish events as another service
would, and tap the exchange to see every copy with its routing key."""

import time
import uuid

from kombu import Connection, Consumer, Exchange, Queue, binding

from phoihop.bus import OutboxRelay
from phoihop.config import exchange_name
from phoihop.events import build_event
from phoihop.store import database_name, get_database, make_client, write_outbox

TRIAGE_OFFICER = {"agency": "dic", "officer": "Cán bộ phân loại"}


def triage_payload(case_id, **overrides):
    """A valid ``case.triaged`` payload (intake's contract), with overrides."""
    payload = {
        "case_id": case_id,
        "categories": ["defamation"],
        "legal_basis_suggested": [],
        "sector": None,
        "locality": None,
        "incident": False,
        "journalists_involved": False,
        "severity": "medium",
        "classification": "internal",
        "state": "triaged",
        "previous_state": "received",
    }
    payload.update(overrides)
    return payload


class Publisher:
    """Publishes events through an outbox of its own, as a producer would."""

    def __init__(self, config, name="stand-in"):
        self.config = config
        self.client = make_client(config["MONGODB_URI"])
        self.db = get_database(self.client, database_name(config["DB_PREFIX"], name))
        self.relay = OutboxRelay(
            self.db,
            config["AMQP_URI"],
            exchange_name(config),
            name=name,
            sweep_grace=0,
        )

    def publish(
        self,
        name,
        payload,
        case_id,
        occurred_at=None,
        actor=None,
        classification="internal",
    ):
        envelope = build_event(
            name,
            payload,
            case_id=case_id,
            actor=actor or TRIAGE_OFFICER,
            occurred_at=occurred_at,
            classification=classification,
        )
        write_outbox(self.db, envelope)
        while self.relay.publish_pending():
            pass
        return envelope

    def close(self):
        self.relay._close()
        self.client.close()


class Tap:
    """An exclusive queue on the events exchange, bound to ``keys``."""

    def __init__(self, config, keys):
        self.connection = Connection(config["AMQP_URI"])
        exchange = Exchange(exchange_name(config), type="topic", durable=True)
        exchange(self.connection.default_channel).declare()
        queue = Queue(
            f"test-tap-{uuid.uuid4().hex[:8]}",
            bindings=[binding(exchange, routing_key=key) for key in keys],
            exclusive=True,
            auto_delete=True,
        )
        self.messages = []
        self.consumer = Consumer(
            self.connection,
            queues=[queue],
            callbacks=[self._received],
            accept=["json"],
        )
        self.consumer.consume()

    def _received(self, body, message):
        self.messages.append((time.time(), message.delivery_info["routing_key"], body))
        message.ack()

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.connection.drain_events(timeout=0.05)
            except TimeoutError:
                pass

    def wait_for(self, predicate, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            try:
                self.connection.drain_events(timeout=0.05)
            except TimeoutError:
                pass
        return predicate()

    def find(self, key=None, kind=None, case_id=None):
        return [
            (at, routing_key, body)
            for at, routing_key, body in self.messages
            if (key is None or routing_key == key)
            and (kind is None or body["type"] == kind)
            and (case_id is None or body["case_id"] == case_id)
        ]

    def close(self):
        try:
            self.consumer.cancel()
        finally:
            self.connection.release()
