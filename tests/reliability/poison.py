"""Building and sending poison: messages straight into consumer queues.

The fault tests publish through the default exchange to a queue by name,
as a misbehaving producer or an operator's mistake would, bypassing the
routing of the events exchange.
"""

import inspect
import time
import uuid

from accounting import read_lines

from phoihop.bus import EventSubscriber
from phoihop.constants import INBOX_COLLECTION, OUTBOX_COLLECTION
from phoihop.runner import SERVICES, service_class
from phoihop.store import utcnow


def service_queues():
    """(queue, routing keys) of every event entrypoint of every service."""
    for service in SERVICES:
        cls = service_class(service)
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventSubscriber):
                    yield f"{service}.{method_name}", entrypoint.keys


def envelope(event_type, payload, case_id):
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": utcnow().isoformat(),
        "case_id": case_id,
        "actor": {"agency": "dic", "officer": "Kiểm thử"},
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "classification": "internal",
        "payload": payload,
    }


def bound_type(keys, agency=None):
    """An event type ``keys`` route to the queue (the agency's copies
    first: an adapter's own copy is what it delivers for sure)."""
    for key in keys:
        if agency and key.startswith(f"agency.{agency}."):
            rest = key[len(f"agency.{agency}.") :]
            return "case.assigned" if "#" in rest or "*" in rest else rest
    for key in keys:
        if "*" not in key and "#" not in key:
            return key
    return "case.opened"


def handled_before(stack, queue):
    """An envelope ``queue`` has already handled (its inbox says so)."""
    service = queue.split(".")[0]
    prefix = f"{queue}:"
    for entry in (
        stack.database(service)[INBOX_COLLECTION]
        .find({"_id": {"$regex": f"^{prefix}"}})
        .limit(20)
    ):
        event_id = entry["_id"][len(prefix) :]
        for source in SERVICES:
            record = stack.database(source)[OUTBOX_COLLECTION].find_one(
                {"event_id": event_id}
            )
            if record:
                return record["envelope"]
    return None


def publish(connection, queue, body):
    """Straight to ``queue`` through the default exchange; bytes as they
    are, announced as JSON."""
    producer = connection.Producer()
    if isinstance(body, bytes):
        producer.publish(
            body,
            exchange="",
            routing_key=queue,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )
    else:
        producer.publish(
            body, exchange="", routing_key=queue, serializer="json", delivery_mode=2
        )


def drain(connection, queue):
    """Take every message of ``queue``; returns how many there were."""
    channel = connection.channel()
    taken = 0
    try:
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                return taken
            taken += 1
    finally:
        channel.close()


def wait_for_outcome(fault_stack, letters, sentinels, since, timeout):
    """Poll until the dead-letter queues hold ``letters`` and every sentinel
    (adapter, event id) has a delivered line; returns (depths, late)."""
    deadline = time.monotonic() + timeout
    while True:
        depths = fault_stack.stack.queue_depths(sorted(letters))
        delivered = set(read_lines(fault_stack.folders, since))
        late = {key: queue for key, queue in sentinels.items() if key not in delivered}
        if (depths == letters and not late) or time.monotonic() >= deadline:
            return depths, late
        time.sleep(1)
