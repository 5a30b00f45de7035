"""Fixtures of the reporting service tests: a running service on its own
exchange, and a producer that publishes scripted events on the real broker
as a service's outbox relay does.

The reporting service binds ``#``: on the run's shared exchange it would
also log what every other test publishes. Each module therefore gets an
exchange of its own, and the service's queues are deleted first (on the
run's own virtual host), so that no binding or message left by an earlier
module reaches this one.
"""

import uuid
from urllib.parse import unquote, urlparse

import pytest
from kombu import Connection
from nameko.containers import ServiceContainer

from phoihop.bus import dead_letter_queue_name, events_exchange, retry_queue_name
from phoihop.events import agency_routing_key
from phoihop.store import database_name, get_database, make_client
from services.reporting.service import LOG_MAX_ATTEMPTS, ReportingService

QUEUES = ("reporting.handle_event",)


def logged_count(db):
    """Entries in the log, from its head (counting documents is slow)."""
    head = db.event_log_meta.find_one({"_id": "head"})
    return head["seq"] if head else 0


def delete_reporting_queues(amqp_uri):
    """Delete the service's queues, but only on the test run's own virtual
    host: on a shared one they may be a running stack's."""
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/"))
    if not vhost.startswith("phoihop-test-"):
        return
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for queue in QUEUES:
            names = [queue, dead_letter_queue_name(queue)] + [
                retry_queue_name(queue, attempt)
                for attempt in range(1, LOG_MAX_ATTEMPTS)
            ]
            for name in names:
                channel.queue_delete(name)


@pytest.fixture(scope="module")
def reporting_config(test_env, tmp_path_factory):
    config = test_env.config(EVENTS_EXCHANGE=f"phoihop.events.r{uuid.uuid4().hex[:8]}")
    config["reporting"] = {
        "reports_dir": str(tmp_path_factory.mktemp("reports")),
        "projection_poll_seconds": 0.2,
    }
    delete_reporting_queues(config["AMQP_URI"])
    return config


@pytest.fixture(scope="module")
def reporting(reporting_config):
    container = ServiceContainer(ReportingService, reporting_config)
    container.start()
    yield container
    container.stop()


@pytest.fixture(scope="module")
def reporting_db(reporting_config):
    client = make_client(reporting_config["MONGODB_URI"])
    yield get_database(
        client, database_name(reporting_config["DB_PREFIX"], "reporting")
    )
    client.close()


class Producer:
    """Publishes envelopes as the outbox relay of a producing service does:
    persistent messages on the events exchange, the event under its type
    and its per-agency copies under ``agency.<code>.<type>``."""

    def __init__(self, config):
        # Published without waiting for each confirm (slow on a busy test
        # process); the tests wait until the service has logged them all.
        self.connection = Connection(config["AMQP_URI"])
        self.exchange = events_exchange(config["EVENTS_EXCHANGE"])
        self.producer = self.connection.Producer(serializer="json")
        self.exchange(self.producer.channel).declare()

    def publish(self, events):
        published = 0
        for event in events:
            envelope = event.envelope
            keys = [envelope["type"]] + [
                agency_routing_key(code, envelope["type"]) for code in event.agencies
            ]
            for key in keys:
                self.producer.publish(
                    envelope,
                    exchange=self.exchange,
                    routing_key=key,
                    delivery_mode=2,
                    message_id=envelope["id"],
                )
                published += 1
        return published

    def close(self):
        self.connection.release()


@pytest.fixture(scope="module")
def producer(reporting_config):
    producer = Producer(reporting_config)
    yield producer
    producer.close()
