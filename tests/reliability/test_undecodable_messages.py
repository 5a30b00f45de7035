"""Bodies that cannot even be decoded (announced as JSON, not UTF-8): each
one ends in the dead-letter queue of the queue it was sent to, with the
reason, and the events behind it are handled.

Kombu's default for such a body is to acknowledge it with a log line, which
drops it; a consumer that lets the decoding error through instead
reconnects and gets the same message again, for ever.
"""

import time
import uuid

import pytest
from kombu import Connection
from poison import (
    bound_type,
    envelope,
    handled_before,
    publish,
    service_queues,
    wait_for_outcome,
)

from phoihop.adapters.topology import remote_queue_name
from phoihop.bus import dead_letter_queue_name
from phoihop.constants import HEADER_ERROR

NOT_JSON = b"\x00\xffce n'est pas du JSON {"


def dead_letter_errors(amqp_uri, queue):
    """The error headers of the messages of a dead-letter queue (consumed)."""
    errors = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                break
            errors.append((message.headers or {}).get(HEADER_ERROR, ""))
        channel.close()
    return errors


def wait_for_letters(stack, expected, timeout):
    deadline = time.monotonic() + timeout
    depths = {}
    while time.monotonic() < deadline:
        depths = stack.queue_depths(sorted(expected))
        if depths == expected:
            break
        time.sleep(1)
    return depths


@pytest.mark.timeout(120)
def test_undecodable_body_in_a_service_queue_is_dead_lettered(fault_stack):
    stack = fault_stack.stack
    expected = {}
    behind = {}
    with Connection(stack.test_env.amqp_uri) as connection:
        for queue, _ in service_queues():
            publish(connection, queue, NOT_JSON)
            expected[dead_letter_queue_name(queue)] = 1
            previous = handled_before(stack, queue)
            if previous is not None:
                publish(connection, queue, previous)
                behind[queue] = previous["id"]

    depths = wait_for_letters(stack, expected, timeout=60)
    backlog = {
        name: count
        for name, count in stack.backlog().items()
        if not name.endswith(".dlq")
    }
    errors = {
        name: dead_letter_errors(stack.test_env.amqp_uri, name) for name in expected
    }

    print(f"\nundecodable bodies dead-lettered: {sum(depths.values())}/{len(expected)}")
    print(f"handled events sent behind them and acknowledged: {len(behind)}")
    assert depths == expected
    assert backlog == {}
    assert all(
        len(found) == 1 and "cannot be decoded" in found[0] for found in errors.values()
    ), errors


@pytest.mark.timeout(120)
def test_undecodable_body_in_an_adapter_queue_is_dead_lettered(fault_stack, since):
    stack = fault_stack.stack
    expected = {}
    sentinels = {}
    queues = {f"adapter.{name}": name for name in fault_stack.bindings}
    queues[remote_queue_name("police")] = "police"
    with Connection(stack.test_env.amqp_uri) as connection:
        for queue, adapter in queues.items():
            event_type = bound_type(fault_stack.bindings[adapter], adapter)
            sentinel = envelope(
                event_type, {"agency": adapter}, f"case-after-{uuid.uuid4().hex[:8]}"
            )
            publish(connection, queue, NOT_JSON)
            publish(connection, queue, sentinel)
            expected[f"{queue}.dlq"] = 1
            sentinels[(adapter, sentinel["id"])] = queue

    try:
        depths, late = wait_for_outcome(
            fault_stack, expected, sentinels, since, timeout=30
        )
        print(f"\nundecodable bodies dead-lettered: {sum(depths.values())}")
        print(f"events delivered behind them: {len(sentinels) - len(late)}")

        assert depths == expected
        assert late == {}
    finally:
        purge_until_empty(stack, [*queues, *expected])


def purge_until_empty(stack, queues, timeout=40):
    """Leave ``queues`` empty for the next test: a consumer stuck on a
    message it cannot read holds it between reconnections, so purge until
    nothing has come back for a few seconds."""
    held = {name: n for name, n in stack.backlog().items() if name in queues}
    deadline = time.monotonic() + timeout
    empty_polls = 0
    while held and time.monotonic() < deadline and empty_polls < 4:
        with Connection(stack.test_env.amqp_uri) as connection:
            channel = connection.channel()
            for queue in queues:
                channel.queue_purge(queue)
            channel.close()
        time.sleep(1)
        still = {name: n for name, n in stack.backlog().items() if name in queues}
        empty_polls = 0 if still else empty_polls + 1
