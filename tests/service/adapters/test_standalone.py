"""An adapter run by its agency, outside the host: provisioned user and queue,
events handed over redacted to its clearance, and no access to any other
agency's queue."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from adapter_support import (
    Publisher,
    adapters_config,
    delivered_events,
    jsonl_transport,
    wait_for,
)
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from phoihop.adapters.provisioning import RabbitMqCtl, provision_remote_adapter
from phoihop.adapters.standalone import StandaloneAdapter
from phoihop.adapters.topology import queue_name, remote_queue_name
from services.adapters.host import AdapterHost
from services.adapters.service import AdaptersService


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:6]
    return {"police": f"police-{suffix}", "journalists": f"journalists-{suffix}"}


@pytest.fixture
def rabbitmqctl(names):
    users = RabbitMqCtl()
    yield users
    for name in names.values():
        users.delete_user(f"adapter-{name}")


def opinion_requested(agency):
    return {
        "consultation_id": "round-7",
        "agency": agency,
        "question": "Bài đăng có tiết lộ bí mật nhà nước về quốc phòng không?",
        "due_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    }


def test_standalone_adapter_receives_its_events_and_cannot_read_another_queue(
    container_factory, service_config, rabbitmqctl, names, tmp_path
):
    police, journalists = names["police"], names["journalists"]
    instances = {
        police: {"plugin": "police", "run": "remote"},
        journalists: {"plugin": "journalists", "run": "remote"},
    }
    config = adapters_config(service_config, instances)
    uri = config["AMQP_URI"]
    police_access = provision_remote_adapter(police, uri, rabbitmqctl)
    journalists_access = provision_remote_adapter(journalists, uri, rabbitmqctl)

    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert all(runner.wait_active(30) for runner in host.runners.values())

    # The police run their adapter with their own user, no nameko, no database.
    agency_config = {
        "AMQP_URI": police_access.amqp_uri,
        "EVENTS_EXCHANGE": config["EVENTS_EXCHANGE"],
        "adapters": {
            "defaults": {"retry_delays": [0.2]},
            "instances": {
                police: {
                    "plugin": "police",
                    "run": "remote",
                    "transports": [jsonl_transport(tmp_path / "police")],
                }
            },
        },
    }
    standalone = StandaloneAdapter(police, agency_config, tmp_path / "police.db")
    standalone.start()
    try:
        assert standalone.runner.wait_active(30), standalone.runner.fatal
        publisher = Publisher(config)
        for agency in ("police", "journalists"):
            publisher.emit(
                "consultation.opinion_requested",
                opinion_requested(agency),
                agencies=[agency],
                case_id="secret-case",
                classification="secret",
            )
        publisher.flush()
        publisher.close()
        assert wait_for(lambda: len(delivered_events(tmp_path / "police")) == 1, 45)
    finally:
        standalone.stop()

    [delivered] = delivered_events(tmp_path / "police")
    # The police are cleared for secret content: nothing was removed.
    assert delivered["payload"]["question"].startswith("Bài đăng")
    assert "redaction" not in delivered

    # The journalists' association is not: its queue holds the event without
    # the question, marked as redacted.
    with Connection(journalists_access.amqp_uri) as connection:
        queue = Queue(remote_queue_name(journalists), no_declare=True)
        assert wait_for(
            lambda: (
                connection.default_channel.queue_declare(
                    queue.name, passive=True
                ).message_count
                == 1
            ),
            45,
        )
        message = queue(connection.default_channel).get(no_ack=False)
        redacted = message.decode()
        message.reject(requeue=True)
    assert "question" not in redacted["payload"]
    assert redacted["payload"]["consultation_id"] == "round-7"
    assert "question" in redacted["redaction"]["removed"]

    # The police user may read its own queue and nothing else.
    refused_queues = [
        remote_queue_name(journalists),
        queue_name(journalists),
        queue_name(police),
    ]
    for other in refused_queues:
        with Connection(police_access.amqp_uri) as connection:
            channel = connection.channel()
            with pytest.raises(AccessRefused):
                channel.basic_get(other)
    # Nor can it route the events exchange into a queue of its own.
    with Connection(police_access.amqp_uri) as connection:
        with pytest.raises(AccessRefused):
            Queue(
                f"{police}.spy",
                exchange=Exchange(config["EVENTS_EXCHANGE"], type="topic"),
                routing_key="#",
            )(connection.channel()).declare()
