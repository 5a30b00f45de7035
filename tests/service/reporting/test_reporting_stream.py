"""The live tail on the real broker: each event once, filters, an exclusive
queue that drops the oldest rather than hold the bus back, and ``phoihop
watch`` as JSON lines."""

import json
import threading
import time

import pytest
from amqp.exceptions import NotFound, ResourceLocked
from click.testing import CliRunner
from kombu import Connection

from phoihop.cli import main as cli
from phoihop.stream import EventStream, StreamFilter
from services.reporting.simulation import CaseScript

START_CASE = 7


@pytest.fixture
def script():
    import random
    from datetime import UTC, datetime

    case = CaseScript(
        random.Random(4), START_CASE, "scam", datetime(2026, 11, 9, tzinfo=UTC)
    )
    return case.play()


def drain(stream, timeout=5.0, until=None):
    shown = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = stream.get(timeout=0.5)
        if event is not None:
            shown.append(event)
            if until is not None and len(shown) >= until:
                break
    return shown


def test_stream_shows_each_event_once_although_copies_arrive(
    reporting_config, producer, script
):
    stream = EventStream(
        reporting_config["AMQP_URI"], reporting_config["EVENTS_EXCHANGE"]
    )
    with stream:
        producer.publish(script)
        shown = drain(stream, until=len(script))

    assert [event["id"] for event in shown] == [item.envelope["id"] for item in script]
    assert stream.received > len(script)


def test_agency_filter_follows_the_cases_assigned_to_the_agency(
    reporting_config, producer, script
):
    import random
    from datetime import UTC, datetime

    rejected = CaseScript(
        random.Random(5), 2, "rejected", datetime(2026, 11, 9, tzinfo=UTC)
    ).play()
    only = StreamFilter(types=("case.*",), agencies=("police",))
    stream = EventStream(
        reporting_config["AMQP_URI"], reporting_config["EVENTS_EXCHANGE"], only
    )
    with stream:
        producer.publish(rejected)
        producer.publish(script)
        shown = drain(stream, timeout=3)

    # The police are assigned to the scam, not to the rejected case: its
    # case events are shown from the assignment on.
    events = [item.envelope for item in script]
    assigned = next(
        i for i, item in enumerate(events) if item["type"] == "case.assigned"
    )
    expected = [
        item["id"] for item in events[assigned:] if item["type"].startswith("case.")
    ]
    assert [event["id"] for event in shown] == expected


def test_stream_queue_is_private_and_gone_after_close(reporting_config):
    stream = EventStream(
        reporting_config["AMQP_URI"], reporting_config["EVENTS_EXCHANGE"]
    )
    stream.open()
    name = stream.queue_name
    with Connection(reporting_config["AMQP_URI"]) as other:
        with pytest.raises(ResourceLocked):
            other.channel().queue_declare(name, passive=True)
    stream.close()

    with Connection(reporting_config["AMQP_URI"]) as other:
        with pytest.raises(NotFound):
            other.channel().queue_declare(name, passive=True)


def test_slow_watcher_loses_the_oldest_events_not_the_bus(
    reporting_config, producer, script
):
    stream = EventStream(
        reporting_config["AMQP_URI"],
        reporting_config["EVENTS_EXCHANGE"],
        max_queue_length=3,
        prefetch=1,
    )
    with stream:
        # The watcher reads nothing while everything is published: the
        # broker keeps only the newest few for it.
        producer.publish(script)
        time.sleep(1.0)
        shown = drain(stream, timeout=3)

    assert 0 < len(shown) <= 6
    assert shown[-1]["id"] == script[-1].envelope["id"]


def test_watch_command_writes_json_lines_when_piped(reporting_config, producer, script):
    stop = threading.Event()

    def keep_publishing():
        while not stop.is_set():
            producer.publish(script[:3])
            time.sleep(0.3)

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    try:
        result = CliRunner().invoke(
            cli,
            ["watch", "--type", "case.*", "--limit", "2", "--json"],
            env={
                "AMQP_URI": reporting_config["AMQP_URI"],
                "PHOIHOP_EXCHANGE": reporting_config["EVENTS_EXCHANGE"],
            },
        )
    finally:
        stop.set()
        publisher.join(timeout=10)

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    assert all(line["type"].startswith("case.") for line in lines)


def test_watch_command_says_when_the_broker_is_unreachable():
    result = CliRunner().invoke(
        cli, ["watch", "--amqp-uri", "amqp://guest:guest@127.0.0.1:1/"]
    )

    assert result.exit_code == 3
    assert "RabbitMQ" in result.output
