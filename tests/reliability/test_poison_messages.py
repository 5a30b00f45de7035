"""A poison message in every consumer queue: it ends in that queue's
dead-letter queue, and what comes behind it still flows.

Straight to each ``<service>.<handler>`` queue and each adapter queue,
through the default exchange: a JSON document that is not an event, and a
well-formed event its consumer cannot handle (for a
service, a payload its event type refuses; for an adapter, a payload its
notice cannot be written from, retried until its attempts run out). Behind
them: for a service, an event the queue had already handled (acknowledged
as done); for an adapter, a new event, which must be delivered. Then a small
load runs through the whole stack, and the counts of the crash test must
hold for it. Bodies that are not JSON at all have a test of their own
(``test_undecodable_messages``).
"""

import copy
import uuid

import pytest
from faults import Corpus, assert_invariants
from kombu import Connection
from poison import (
    bound_type,
    drain,
    envelope,
    handled_before,
    publish,
    service_queues,
    wait_for_outcome,
)

from phoihop.adapters.topology import remote_queue_name
from phoihop.bus import dead_letter_queue_name
from phoihop.errors import ValidationError
from phoihop.events import load_envelope
from phoihop.store import utcnow

NOT_AN_EVENT = {"hello": "this is not an event", "id": 42}
# A payload no event type of the contracts takes: required fields absent
# and a field no schema declares.
REFUSED_PAYLOAD = {"x_not_a_field": {"nested": [1, 2, 3]}}
# Adapters take payloads as they come; this one cannot be written as a
# notice (the list of measures is a number).
UNWRITABLE_PAYLOAD = {"measures": 5, "period": "not a period"}


@pytest.mark.timeout(480)
def test_poison_goes_to_the_dead_letter_queue_and_nothing_behind_it_waits(
    fault_stack, since
):
    stack = fault_stack.stack
    # Some traffic first, so that every queue has handled real events.
    seed = Corpus.build("pz0", 40, triage_every=5)
    seeding = fault_stack.load(seed).start()
    assert seeding.wait(timeout=90), seeding.summary()
    fault_stack.settle_and_count("before the poison", seed, seeding, since, timeout=60)

    expected_letters = {}
    sentinels = {}
    duplicates = {}
    with Connection(stack.test_env.amqp_uri) as connection:
        for queue, keys in service_queues():
            refused = envelope(bound_type(keys), REFUSED_PAYLOAD, "case-poison")
            with pytest.raises(ValidationError):
                load_envelope(copy.deepcopy(refused))
            for body in (NOT_AN_EVENT, refused):
                publish(connection, queue, body)
            expected_letters[dead_letter_queue_name(queue)] = 2
            previous = handled_before(stack, queue)
            if previous is not None:
                publish(connection, queue, previous)
                duplicates[queue] = previous["id"]

        adapter_queues = {f"adapter.{name}": name for name in fault_stack.bindings}
        adapter_queues[remote_queue_name("police")] = "police"
        for queue, adapter in adapter_queues.items():
            agency = adapter
            event_type = bound_type(fault_stack.bindings[adapter], agency)
            failing = envelope(
                event_type, UNWRITABLE_PAYLOAD, f"case-poison-{uuid.uuid4().hex[:8]}"
            )
            sentinel = envelope(
                event_type, {"agency": agency}, f"case-after-{uuid.uuid4().hex[:8]}"
            )
            for body in (NOT_AN_EVENT, failing, sentinel):
                publish(connection, queue, body)
            sentinels[(adapter, sentinel["id"])] = queue
            # The host hands a remote adapter's events over as they are; the
            # agency's runner is where the unwritable one fails.
            if queue == "adapter.police":
                expected_letters["adapter.police.dlq"] = 1
                expected_letters["adapter.police.remote.dlq"] = (
                    expected_letters.get("adapter.police.remote.dlq", 0) + 1
                )
            else:
                expected_letters[f"{queue}.dlq"] = (
                    expected_letters.get(f"{queue}.dlq", 0) + 2
                )

    # Services refuse both at once; adapters try the unwritable event for
    # about 7.5 s (their retry delays) before giving up.
    depths, late = wait_for_outcome(
        fault_stack, expected_letters, sentinels, since, timeout=120
    )

    print("\ndead letters per queue (found / expected)")
    for name, count in sorted(expected_letters.items()):
        print(f"  {name:<48} {depths.get(name, 0):>3} / {count}")
    print(f"  sentinels delivered behind the poison: {len(sentinels) - len(late)}")
    print(f"  handled events sent again and skipped: {len(duplicates)}")

    assert depths == expected_letters
    assert late == {}, f"not delivered behind the poison: {late}"
    for queue in duplicates:
        service = queue.split(".")[0]
        assert stack.stack.health(service), f"{service} stopped answering"
    backlog = {
        name: count
        for name, count in stack.backlog().items()
        if not name.endswith(".dlq")
    }
    assert backlog == {}, f"messages stuck behind the poison: {backlog}"
    with Connection(stack.test_env.amqp_uri) as connection:
        for name in expected_letters:
            drain(connection, name)

    # The stack still does its whole job.
    since_load = utcnow()
    after = Corpus.build("pz1", 60, triage_every=5)
    load = fault_stack.load(after).start()
    assert load.wait(timeout=90), load.summary()
    counts = fault_stack.settle_and_count(
        "after the poison", after, load, since_load, timeout=90
    )
    assert_invariants(counts, load)
