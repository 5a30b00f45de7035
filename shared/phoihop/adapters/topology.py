"""Names and shapes of the queues an adapter uses, declared in one place.

Every adapter ``<name>`` has:

- ``adapter.<name>``: durable, bound to the events exchange with the
  adapter's keys only. The host consumes it.
- ``adapter.<name>.dlx`` (fanout exchange) -> ``adapter.<name>.dlq``: where
  deliveries that failed for good go, with the error in their headers;
  ``phoihop deadletters replay adapter.<name>`` sends them back.

An adapter that an agency runs in its own process (``run: remote``) also has
``adapter.<name>.remote`` (with its own ``.dlx`` and ``.dlq``): the host
copies the events of ``adapter.<name>`` into it, already redacted for the
agency's clearance, and the agency's RabbitMQ user may read only that queue.
Classified content therefore never reaches a queue an uncleared agency can
read, and the agency's user needs no right on the events exchange (binding a
queue to it would need read access there, which would let it see every
event).
"""

import re

from kombu import Exchange, Queue, binding

from phoihop.bus import events_exchange
from phoihop.constants import AGENCY_KEY_PREFIX

QUEUE_PREFIX = "adapter"
REMOTE_SUFFIX = "remote"

# Adapter names become queue and user names: keep them short and plain.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")

# Only one consumer of an adapter queue receives messages at a time: a
# second host (a standby) takes over when the first one's connection drops,
# and per-case order is never split between two consumers.
QUEUE_ARGUMENTS = {"x-single-active-consumer": True}


def queue_name(adapter):
    return f"{QUEUE_PREFIX}.{adapter}"


def remote_queue_name(adapter):
    return f"{QUEUE_PREFIX}.{adapter}.{REMOTE_SUFFIX}"


def dead_letter_exchange_name(queue):
    return f"{queue}.dlx"


def dead_letter_queue_name(queue):
    return f"{queue}.dlq"


def agency_key(agency, pattern):
    """The routing key of an agency's copies: ``agency.<code>.<pattern>``."""
    return f"{AGENCY_KEY_PREFIX}.{agency}.{pattern}"


def adapter_queues(adapter):
    """Every queue of an adapter whose dead letters an operator may list."""
    return [queue_name(adapter), remote_queue_name(adapter)]


def is_valid_name(name):
    return bool(NAME_PATTERN.match(name or ""))


def topic_matches(pattern, key):
    """True when an AMQP topic ``pattern`` matches the dotted ``key``.

    ``*`` stands for exactly one word and ``#`` for zero or more words, as
    RabbitMQ's topic exchange reads them.
    """
    return _match(pattern.split("."), key.split("."))


def _match(words, parts):
    if not words:
        return not parts
    head, rest = words[0], words[1:]
    if head == "#":
        return any(_match(rest, parts[index:]) for index in range(len(parts) + 1))
    if not parts:
        return False
    if head == "*" or head == parts[0]:
        return _match(rest, parts[1:])
    return False


def delivery_queue(name, keys, exchange):
    """The durable queue ``name`` bound to ``exchange`` with ``keys``."""
    return Queue(
        name,
        bindings=[binding(exchange, routing_key=key) for key in keys],
        durable=True,
        queue_arguments=QUEUE_ARGUMENTS,
    )


def plain_queue(name):
    """A queue fed through the default exchange (the remote one)."""
    return Queue(name, durable=True, queue_arguments=QUEUE_ARGUMENTS)


def declare_dead_letters(channel, queue):
    """Declare ``<queue>.dlx`` and ``<queue>.dlq`` and bind them."""
    exchange = Exchange(dead_letter_exchange_name(queue), type="fanout", durable=True)
    exchange(channel).declare()
    Queue(
        dead_letter_queue_name(queue),
        exchange=exchange,
        routing_key="",
        durable=True,
    )(channel).declare()


def declare_adapter_queue(channel, adapter, keys, exchange_name):
    """Declare the events exchange, ``adapter.<name>`` with exactly ``keys``
    and its dead letters; stale bindings of earlier versions are removed so
    the queue never receives more than the adapter declares."""
    exchange = events_exchange(exchange_name)
    exchange(channel).declare()
    name = queue_name(adapter)
    queue = delivery_queue(name, keys, exchange)(channel)
    queue.declare()
    declare_dead_letters(channel, name)

    return queue


def unbind_stale(channel, adapter, current_keys, previous_keys, exchange_name):
    """Remove bindings an earlier configuration made and this one does not."""
    for key in set(previous_keys) - set(current_keys):
        channel.queue_unbind(queue_name(adapter), exchange_name, routing_key=key)


def declare_remote_queue(channel, adapter):
    """Declare ``adapter.<name>.remote`` and its dead letters."""
    name = remote_queue_name(adapter)
    plain_queue(name)(channel).declare()
    declare_dead_letters(channel, name)

    return name
