"""Fixtures of the reporting service tests: a running service on its own
exchange, and a producer that publishes scripted events through the real
outbox relay.

The reporting service binds ``#``: on the run's shared exchange it would
also log what every other test publishes. Each module therefore gets an
exchange of its own, and the service's queues are deleted first, so that
no binding or message left by an earlier module reaches this one.
"""

import time
import uuid

import pytest
from kombu import Connection
from nameko.containers import ServiceContainer
from phoihop.bus import OutboxRelay, dead_letter_queue_name, retry_queue_name
from phoihop.store import database_name, get_database, make_client, write_outbox

from services.reporting.service import LOG_MAX_ATTEMPTS, ReportingService

QUEUES = ("reporting.handle_event",)


def wait_for(predicate, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def delete_reporting_queues(amqp_uri):
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
    """Publishes envelopes as a producing service would: outbox, then relay
    (persistent, confirmed), with the per-agency copies."""

    def __init__(self, config):
        self.client = make_client(config["MONGODB_URI"])
        self.db = get_database(
            self.client, database_name(config["DB_PREFIX"], "scripted")
        )
        self.relay = OutboxRelay(
            self.db, config["AMQP_URI"], config["EVENTS_EXCHANGE"], "scripted"
        )

    def publish(self, events):
        for event in events:
            write_outbox(self.db, event.envelope, event.agencies)
        published = 0
        while True:
            count = self.relay.publish_pending()
            if not count:
                break
            published += count
        return published

    def close(self):
        self.relay._close()
        self.client.close()


@pytest.fixture(scope="module")
def producer(reporting_config):
    producer = Producer(reporting_config)
    yield producer
    producer.close()
