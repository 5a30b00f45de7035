"""The live tail of the events exchange, for people watching as it happens.

DIC watches every event as it happens (DESIGN.md, Events: "the lead
Department's stream binds ``#``"). ``phoihop watch`` and the dashboard's
server-sent events both read it through this module.

A stream has its own queue: exclusive to its connection, deleted by the
broker when the connection closes, never durable, and capped in length with
the oldest messages dropped first. So a watcher that is slow, stuck or gone
costs the bus nothing: publishers are never held back for it, and the
services' own durable queues are untouched.

Use it as an iterator::

    from phoihop.stream import EventStream, StreamFilter

    only = StreamFilter(types=("case.*",), agencies=("police",))
    with EventStream(amqp_uri, exchange, only) as stream:
        for event in stream:          # blocks; ends when stream.close()
            print(event["type"], event["case_id"])

or with a callback, in the caller's thread or greenthread::

    stream = EventStream(amqp_uri, exchange)
    stream.run(lambda event: send(event), stop=stop_flag)   # until stop.is_set()

``get(timeout)`` returns the next matching event or None after ``timeout``
seconds without one (a server-sent-events loop uses that to send a
keep-alive). Each event is the envelope as published (a dict), with each
event shown once even though per-agency copies (``agency.<code>.<type>``)
carry the same event again.

Filters (``StreamFilter``) combine: an event must match every dimension that
is given, and any one value within it. ``types`` are shell-style patterns
(``case.*``, ``deadline.overdue``). ``agencies`` match the acting agency,
the agencies an event names (lead, assigned, owner of a deadline, agency of
a measure, recipients...), the agency of a per-agency copy, and the
agencies assigned to the case earlier in the stream. ``categories`` match
the categories an event carries or, for later events of the same case, those
seen earlier. What the stream learned about cases is held for the most
recent cases only (``case_memory``), and only since the stream started: an
event of an older case whose assignment was not seen does not match an
agency or category filter unless it names them itself.

Classified content (Art. 4 of 664/QĐ-UBND: state secrets) is redacted by
default: for an event classified ``confidential`` or ``secret`` only its
metadata is shown (ids, codes, states, kinds, agencies, times), and free
text is replaced. Pass ``redact=False`` only for a viewer cleared for it.

Shortcoming: when the broker connection drops, the stream reconnects with a
new queue; events published while it was disconnected are not shown (the
event log of the reporting service has them all).
"""

import fnmatch
import json
import os
import socket
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass

from kombu import Connection, Consumer, Exchange, Queue

from phoihop.constants import AGENCY_KEY_PREFIX, EVENTS_EXCHANGE
from phoihop.errors import ServiceUnavailable
from phoihop.logging import get_logger

log = get_logger(__name__)

# Classification levels whose content is not shown to uncleared viewers.
CLASSIFIED_LEVELS = frozenset({"confidential", "secret"})

REDACTED = "[nội dung mật đã ẩn]"

# Messages the broker keeps for one watcher before dropping the oldest.
DEFAULT_MAX_QUEUE_LENGTH = 10_000
# Messages delivered to the watcher ahead of its reading them.
DEFAULT_PREFETCH = 200
# Cases whose agencies and categories the stream remembers for filtering.
DEFAULT_CASE_MEMORY = 20_000
# Event ids remembered to show an event once across its per-agency copies.
SEEN_MEMORY = 50_000

QUEUE_PREFIX = "phoihop.watch"

# Payload keys kept in a redacted event: identifiers, codes and times.
_METADATA_KEYS = frozenset(
    {
        "state",
        "previous_state",
        "next_state",
        "kind",
        "mode",
        "channel",
        "agency",
        "agencies",
        "lead",
        "role",
        "rule",
        "article",
        "to",
        "from_agency",
        "to_agency",
        "owner_agency",
        "press_agency",
        "responsible_agencies",
        "invited",
        "missing",
        "recipients",
        "escalated_to",
        "categories",
        "suggested_categories",
        "legal_basis",
        "legal_basis_suggested",
        "sanction_code",
        "outcome",
        "result",
        "position",
        "change",
        "severity",
        "classification",
        "incident",
        "journalists_involved",
        "revision",
        "cycle",
        "late",
        "on_time",
        "limit_minutes",
        "minutes_before",
        "sector",
        "locality",
        "subject",
        "type",
        "tally",
        "results",
        "flags",
        "format",
        "sha256",
        "matched_by",
        "similarity",
        "threshold",
    }
)


def is_classified(envelope):
    return (envelope or {}).get("classification") in CLASSIFIED_LEVELS


def _is_metadata_key(key):
    return key in _METADATA_KEYS or key.endswith(("_id", "_at", "_agency", "_ids"))


def _redact_value(key, value):
    if isinstance(value, dict):
        return {name: _redact_value(name, item) for name, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(key, item) for item in value]
    if isinstance(value, str) and not _is_metadata_key(key):
        return REDACTED if value else value
    return value


def redact_payload(payload):
    """A copy of ``payload`` with every free-text value replaced."""
    return {key: _redact_value(key, value) for key, value in (payload or {}).items()}


def redact_event(envelope):
    """The envelope as an uncleared viewer may see it.

    Events that are not classified are returned unchanged; classified ones
    get a redacted payload and ``redacted: True``.
    """
    if not is_classified(envelope):
        return envelope
    shown = dict(envelope)
    shown["payload"] = redact_payload(envelope.get("payload"))
    shown["redacted"] = True

    return shown


def _codes(value):
    """Agency codes found in a payload value: a code, a list of codes, or
    dicts with an ``agency`` key."""
    if isinstance(value, str):
        return {value}
    found = set()
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict) and isinstance(item.get("agency"), str):
                found.add(item["agency"])
    return found


_AGENCY_FIELDS = (
    "agency",
    "agencies",
    "lead",
    "from_agency",
    "to_agency",
    "owner_agency",
    "press_agency",
    "responsible_agencies",
    "invited",
    "recipients",
    "escalated_to",
)


def agencies_named(envelope):
    """The agencies an event names itself: actor, payload fields, measures."""
    payload = envelope.get("payload") or {}
    found = set()
    actor = envelope.get("actor") or {}
    if actor.get("agency"):
        found.add(actor["agency"])
    for key in _AGENCY_FIELDS:
        found |= _codes(payload.get(key))
    for measure in payload.get("measures") or ():
        if isinstance(measure, dict) and measure.get("agency"):
            found.add(measure["agency"])

    return found


def categories_named(envelope):
    payload = envelope.get("payload") or {}
    found = set()
    for key in ("categories", "suggested_categories"):
        value = payload.get(key)
        if isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return found


def case_of(envelope):
    payload = envelope.get("payload") or {}
    return envelope.get("case_id") or payload.get("case_id")


def agency_of_routing_key(routing_key):
    """``police`` for ``agency.police.case.assigned``; None otherwise."""
    parts = (routing_key or "").split(".")
    if len(parts) > 2 and parts[0] == AGENCY_KEY_PREFIX:
        return parts[1]
    return None


class CaseMemory:
    """Agencies and categories per case, for the most recent cases."""

    def __init__(self, size=DEFAULT_CASE_MEMORY):
        self.size = size
        self._cases = OrderedDict()

    def get(self, case_id):
        return self._cases.get(case_id) or (frozenset(), frozenset())

    def learn(self, case_id, agencies=(), categories=()):
        if not case_id or not (agencies or categories):
            return
        known_agencies, known_categories = self.get(case_id)
        self._cases[case_id] = (
            known_agencies | frozenset(agencies),
            known_categories | frozenset(categories),
        )
        self._cases.move_to_end(case_id)
        while len(self._cases) > self.size:
            self._cases.popitem(last=False)


@dataclass(frozen=True)
class StreamFilter:
    """Which events a watcher wants; an empty filter takes everything."""

    types: tuple = ()
    agencies: tuple = ()
    cases: tuple = ()
    categories: tuple = ()

    def __post_init__(self):
        for name in ("types", "agencies", "cases", "categories"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(item for item in value or () if item))

    @property
    def is_empty(self):
        return not (self.types or self.agencies or self.cases or self.categories)

    def matches_type(self, event_type):
        if not self.types:
            return True
        return any(
            fnmatch.fnmatchcase(event_type or "", pattern) for pattern in self.types
        )

    def matches(self, envelope, extra_agencies=(), memory=None):
        """Whether ``envelope`` passes; ``extra_agencies`` are those known
        from outside the envelope (the routing key of a per-agency copy)."""
        if not self.matches_type(envelope.get("type")):
            return False
        case_id = case_of(envelope)
        if self.cases and case_id not in self.cases:
            return False
        known_agencies, known_categories = (
            memory.get(case_id) if memory is not None and case_id else ((), ())
        )
        if self.agencies:
            agencies = (
                agencies_named(envelope) | set(extra_agencies) | set(known_agencies)
            )
            if not agencies & set(self.agencies):
                return False
        if self.categories:
            categories = categories_named(envelope) | set(known_categories)
            if not categories & set(self.categories):
                return False
        return True


class EventStream:
    """A tail of the events exchange on its own exclusive, auto-delete queue.

    ``open()`` (or entering the ``with`` block) connects, declares the queue
    and starts consuming; ``close()`` ends iteration and drops the queue.
    Not thread-safe: read a stream from one thread or greenthread.
    """

    def __init__(
        self,
        amqp_uri,
        exchange=EVENTS_EXCHANGE,
        filter=None,  # noqa: A002 - the natural name for the caller
        *,
        redact=True,
        max_queue_length=DEFAULT_MAX_QUEUE_LENGTH,
        prefetch=DEFAULT_PREFETCH,
        case_memory=DEFAULT_CASE_MEMORY,
        connect_timeout=5,
        reconnect=True,
        name=None,
    ):
        self.amqp_uri = amqp_uri
        self.exchange = Exchange(exchange, type="topic", durable=True)
        self.filter = filter or StreamFilter()
        self.redact = redact
        self.max_queue_length = max_queue_length
        self.prefetch = prefetch
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self.name = name or "stream"
        self.memory = CaseMemory(case_memory)
        self.received = 0
        self.shown = 0
        self._shown_ids = OrderedDict()
        self._buffer = deque()
        self._connection = None
        self._consumer = None
        self._queue = None
        self._closed = False

    @property
    def queue_name(self):
        return self._queue.name if self._queue is not None else None

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def open(self):
        """Connect and start consuming; raises ServiceUnavailable when the
        broker cannot be reached."""
        self._closed = False
        try:
            self._connect()
        except (OSError, ConnectionError) as exc:
            raise ServiceUnavailable(
                f"the message broker cannot be reached: {exc}"
            ) from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("amqp", "kombu")):
                raise ServiceUnavailable(
                    f"the message broker refused the stream: {exc}"
                ) from exc
            raise
        return self

    def _connect(self):
        self._release()
        connection = Connection(
            self.amqp_uri, connect_timeout=self.connect_timeout, heartbeat=30
        )
        connection.ensure_connection(max_retries=1, timeout=self.connect_timeout)
        host = socket.gethostname().split(".")[0]
        queue = Queue(
            f"{QUEUE_PREFIX}.{self.name}.{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}",
            exchange=self.exchange,
            routing_key="#",
            durable=False,
            exclusive=True,
            auto_delete=True,
            queue_arguments={
                # The broker keeps at most this many for a slow watcher and
                # drops the oldest: the bus never waits for a watcher.
                "x-max-length": self.max_queue_length,
                "x-overflow": "drop-head",
            },
        )
        channel = connection.channel()
        self.exchange(channel).declare()
        consumer = Consumer(
            channel,
            queues=[queue],
            callbacks=[self._on_message],
            accept=["json"],
            prefetch_count=self.prefetch,
        )
        consumer.consume()
        self._connection = connection
        self._consumer = consumer
        self._queue = queue
        log.debug("stream_opened", queue=queue.name)

    def _on_message(self, body, message):
        # Acknowledged when buffered: the queue's length cap, not the acks,
        # bounds what the broker holds; the prefetch bounds the buffer.
        message.ack()
        if isinstance(body, bytes | str):
            try:
                body = json.loads(body)
            except ValueError:
                return
        if not isinstance(body, dict) or "type" not in body:
            return
        self.received += 1
        self._buffer.append((body, message.delivery_info.get("routing_key")))

    def _accept(self, envelope, routing_key):
        """Learn from the event, then decide whether to show it (once)."""
        case_id = case_of(envelope)
        copy_agency = agency_of_routing_key(routing_key)
        named = agencies_named(envelope)
        if envelope.get("type", "").startswith("case."):
            self.memory.learn(
                case_id,
                agencies=named - {(envelope.get("actor") or {}).get("agency")},
                categories=categories_named(envelope),
            )
        if copy_agency:
            self.memory.learn(case_id, agencies={copy_agency})

        event_id = envelope.get("id")
        if event_id in self._shown_ids:
            return False
        extra = {copy_agency} if copy_agency else set()
        if not self.filter.matches(envelope, extra, self.memory):
            return False
        self._shown_ids[event_id] = True
        while len(self._shown_ids) > SEEN_MEMORY:
            self._shown_ids.popitem(last=False)

        return True

    def get(self, timeout=None):
        """The next matching event, or None when ``timeout`` seconds pass
        without one (or the stream was closed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed:
            while self._buffer:
                envelope, routing_key = self._buffer.popleft()
                if self._accept(envelope, routing_key):
                    self.shown += 1
                    return redact_event(envelope) if self.redact else envelope
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            self._drain(1.0 if remaining is None else min(remaining, 1.0))
        return None

    def _drain(self, timeout):
        try:
            if self._connection is None:
                self._connect()
            self._connection.drain_events(timeout=timeout)
        except TimeoutError:
            return
        except Exception as exc:  # noqa: BLE001 - any broker failure
            if self._closed:
                return
            if not self.reconnect:
                raise ServiceUnavailable(f"the stream lost the broker: {exc}") from exc
            log.warning("stream_reconnecting", error=str(exc))
            self._release()
            time.sleep(min(timeout, 1.0))

    def __iter__(self):
        while not self._closed:
            event = self.get(timeout=1.0)
            if event is not None:
                yield event

    def run(self, callback, stop=None, idle=None, idle_seconds=15.0):
        """Call ``callback(event)`` for each matching event until ``stop``
        (a threading.Event) is set or the stream is closed; ``idle()``, if
        given, is called after each ``idle_seconds`` without an event (a
        server-sent-events loop sends its keep-alive there)."""
        if self._connection is None:
            self.open()
        quiet_since = time.monotonic()
        while not self._closed and not (stop is not None and stop.is_set()):
            event = self.get(timeout=1.0)
            if event is not None:
                callback(event)
                quiet_since = time.monotonic()
            elif idle is not None and time.monotonic() - quiet_since >= idle_seconds:
                idle()
                quiet_since = time.monotonic()

    def close(self):
        self._closed = True
        self._release()

    def _release(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._connection = None
        self._consumer = None
