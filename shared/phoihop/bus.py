"""The reliable event bus: outbox relay, event entrypoint, retries, dead letters.

- ``OutboxRelay`` publishes outbox records to the one durable topic exchange,
  persistent and with publisher confirms, and marks them sent. A crash between
  publish and mark publishes the record again on restart; consumers are
  idempotent on event id, so the effect is exactly once.
- ``subscribe`` is the nameko entrypoint for events: a durable queue per
  handler, bound to the routing keys it names. A handler that raises is
  retried after a back-off (a per-attempt delay queue whose TTL dead-letters
  the message back), and after the last attempt the message goes to the
  handler's dead-letter queue with the error and the attempt count.
- ``DeadLetters`` lists and replays what sits in a dead-letter queue.
"""

import collections
import json
import random
import socket
import threading
import time
import traceback
from datetime import timedelta
from functools import partial

import eventlet
from kombu import Connection, Exchange, Queue, binding
from kombu.exceptions import OperationalError
from nameko.messaging import Consumer, QueueConsumer
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from phoihop.config import exchange_name
from phoihop.constants import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_DELAYS_SECONDS,
    HEADER_ATTEMPTS,
    HEADER_ERROR,
    HEADER_FAILED_AT,
    HEADER_QUEUE,
    INBOX_COLLECTION,
    OUTBOX_COLLECTION,
    RELAY_BATCH_SIZE,
    RELAY_IDLE_POLL_SECONDS,
    RELAY_LEASE_SECONDS,
    RELAY_SWEEP_GRACE_SECONDS,
)
from phoihop.errors import UnknownEventType, ValidationError
from phoihop.events import load_envelope
from phoihop.logging import bind_ids, get_logger
from phoihop.store import (
    CTX_ACTOR,
    CTX_CASE_ID,
    CTX_CONSUMER,
    CTX_CORRELATION_ID,
    CTX_EVENT_ID,
    AlreadyProcessed,
    Store,
    inbox_id,
    is_transient,
    utcnow,
)

log = get_logger(__name__)

# Transient database errors (write conflicts between concurrent
# transactions, a failover) are retried in process this many times before
# they count as a failed attempt.
MAX_CONFLICT_RETRIES = 8

# Errors that no retry can cure: the message itself is wrong.
PERMANENT_ERRORS = (ValidationError, UnknownEventType)


def events_exchange(name):
    return Exchange(name, type="topic", durable=True)


def retry_queue_name(queue, attempt):
    return f"{queue}.retry.{attempt}"


def dead_letter_queue_name(queue):
    return f"{queue}.dlq"


def confirmed_connection(uri):
    # confirm_publish makes basic_publish wait for the broker's ack: a
    # publish that returns has been taken in charge by RabbitMQ.
    return Connection(uri, transport_options={"confirm_publish": True}, heartbeat=30)


RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 2,
}


class OutboxRelay:
    """Publishes a service's outbox to the events exchange.

    Two paths lead to the broker. The fast one: after a transaction commits,
    the store hands its records over and the relay publishes them at once,
    in commit order. The sweep: every ``RELAY_IDLE_POLL_SECONDS`` the relay
    looks for records still unsent after ``RELAY_SWEEP_GRACE_SECONDS`` (those
    of a process that crashed between commit and publish, or written by a
    relay-less writer) and claims them with a lease, so that two instances of
    a service do not publish the same record at the same moment.

    Usable inside a nameko container (``start`` with the container's
    ``spawn_managed_thread``) or on its own in a plain thread (tests, tools).
    """

    def __init__(self, db, amqp_uri, exchange, name="relay", sweep_grace=None):
        self.db = db
        self.outbox = db[OUTBOX_COLLECTION]
        self.amqp_uri = amqp_uri
        self.exchange = events_exchange(exchange)
        self.name = name
        self.owner = f"{name}@{socket.gethostname()}:{id(self)}"
        self.sweep_grace = (
            RELAY_SWEEP_GRACE_SECONDS if sweep_grace is None else sweep_grace
        )
        self._handed = collections.deque()
        self._wake = threading.Event()
        self._running = False
        self._thread = None
        self._connection = None
        self._producer = None
        self._last_sweep = 0.0
        self.published = 0

    def start(self, spawn=None):
        self._running = True
        if spawn is None:
            self._thread = threading.Thread(
                target=self.run, name=f"relay-{self.name}", daemon=True
            )
            self._thread.start()
        else:
            self._thread = spawn(self.run)

    def stop(self):
        self._running = False
        self._wake.set()
        if self._thread is not None and hasattr(self._thread, "join"):
            self._thread.join(timeout=5)
        elif self._thread is not None:
            try:
                self._thread.wait()
            except Exception:  # noqa: BLE001 - the loop logs its own errors
                pass
        self._close()

    def wake(self):
        self._wake.set()

    def hand_over(self, records):
        self._handed.extend(records)
        self._wake.set()

    def run(self):
        failures = 0
        while self._running:
            try:
                count = self.publish_handed()
                if time.monotonic() - self._last_sweep >= RELAY_IDLE_POLL_SECONDS:
                    count += self.publish_pending()
                    self._last_sweep = time.monotonic()
                failures = 0
            except (OSError, OperationalError, PyMongoError) as exc:
                failures += 1
                delay = min(0.2 * 2**failures, 5.0)
                log.warning(
                    "relay_error", relay=self.name, error=str(exc), retry_in=delay
                )
                self._close()
                time.sleep(delay)
                continue
            if count == 0 and not self._handed:
                self._wake.wait(RELAY_IDLE_POLL_SECONDS)
                self._wake.clear()

    def _ensure_producer(self):
        if self._producer is None:
            self._connection = confirmed_connection(self.amqp_uri)
            self._connection.ensure_connection(max_retries=3)
            self._producer = self._connection.Producer(serializer="json")
            self.exchange(self._producer.channel).declare()
        return self._producer

    def _close(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._connection = None
        self._producer = None

    def publish_handed(self):
        """Publish the records handed over by committed transactions."""
        if not self._handed:
            return 0
        batch = []
        while self._handed and len(batch) < RELAY_BATCH_SIZE:
            batch.append(self._handed.popleft())
        try:
            self._publish(batch)
        except BaseException:
            # Put the batch back in front: it is published on the next turn
            # (or by the sweep, if this process dies first).
            self._handed.extendleft(reversed(batch))
            raise
        self._mark_sent(batch)

        return len(batch)

    def claim(self, limit=RELAY_BATCH_SIZE):
        """Lease up to ``limit`` stale pending records to this relay."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.sweep_grace)
        candidates = list(
            self.outbox.find({"sent_at": None, "created_at": {"$lte": cutoff}})
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        ids = [
            doc["_id"]
            for doc in candidates
            if doc.get("lease_until") is None or doc["lease_until"] < now
        ]
        if not ids:
            return []
        lease = now + timedelta(seconds=RELAY_LEASE_SECONDS)
        self.outbox.update_many(
            {"_id": {"$in": ids}, "sent_at": None},
            {"$set": {"lease_until": lease, "lease_owner": self.owner}},
        )

        return list(
            self.outbox.find(
                {"_id": {"$in": ids}, "lease_owner": self.owner, "sent_at": None}
            ).sort("_id", ASCENDING)
        )

    def publish_pending(self, stop_after_publish=False):
        """Sweep: publish one batch of stale records; returns how many.

        ``stop_after_publish`` publishes without marking the records sent, as
        a crash right after the broker's confirm would; tests use it.
        """
        records = self.claim()
        if not records:
            return 0
        self._publish(records)
        if not stop_after_publish:
            self._mark_sent(records)
        log.info("outbox_swept", relay=self.name, count=len(records))

        return len(records)

    def _publish(self, records):
        producer = self._ensure_producer()
        for record in records:
            envelope = record["envelope"]
            producer.publish(
                envelope,
                exchange=self.exchange,
                routing_key=record["routing_key"],
                delivery_mode=2,
                message_id=envelope["id"],
                retry=True,
                retry_policy=RETRY_POLICY,
            )
            self.published += 1

    def _mark_sent(self, records):
        self.outbox.update_many(
            {"_id": {"$in": [record["_id"] for record in records]}},
            {
                "$set": {"sent_at": utcnow()},
                "$unset": {"lease_until": "", "lease_owner": ""},
            },
        )


def declare_consumer_queues(channel, queue, max_attempts, retry_delays):
    """Declare the delay queues and the dead-letter queue of one consumer.

    Each delay queue holds messages for a fixed time (queue TTL, so messages
    expire in order) and then dead-letters them through the default exchange
    back to the consumer's queue.
    """
    for attempt in range(1, max_attempts):
        delay = retry_delays[min(attempt - 1, len(retry_delays) - 1)]
        Queue(
            retry_queue_name(queue, attempt),
            durable=True,
            queue_arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
            },
        )(channel).declare()
    Queue(dead_letter_queue_name(queue), durable=True)(channel).declare()


def describe_error(exc_info):
    exc = exc_info[1]
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:2000]


class _EventQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except for a message whose body cannot be
    decoded (not UTF-8, not JSON): kombu's default acknowledges it with a
    log line, which would drop it; here it goes to the dead-letter queue of
    the entrypoint that received it."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            if isinstance(provider, EventSubscriber):
                consumer.on_decode_error = provider.handle_undecodable
        return consumers


class EventSubscriber(Consumer):
    """Entrypoint: handle events whose routing key matches ``keys``.

    The queue ``<service>.<method>`` is durable and bound to the events
    exchange once per key. The message is acknowledged only after the worker
    finished and, on failure, after its retry copy or dead letter has been
    confirmed by the broker: a crash at any point redelivers it rather than
    losing it.
    """

    def __init__(
        self, *keys, max_attempts=DEFAULT_MAX_ATTEMPTS, retry_delays=None, **kwargs
    ):
        if not keys:
            raise ValueError("subscribe() needs at least one routing key")
        self.keys = keys
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays or DEFAULT_RETRY_DELAYS_SECONDS)
        # A redelivered event and a write conflict are part of normal work:
        # nameko logs them as warnings, and handle_result deals with them.
        expected = tuple(kwargs.pop("expected_exceptions", ()) or ())
        kwargs["expected_exceptions"] = (AlreadyProcessed, OperationFailure, *expected)
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    @property
    def queue_name(self):
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self):
        from phoihop.contracts import load_all

        load_all()
        config = self.container.config
        exchange = events_exchange(exchange_name(config))
        self.queue = Queue(
            self.queue_name,
            bindings=[binding(exchange, routing_key=key) for key in self.keys],
            durable=True,
        )
        self.amqp_uri = config["AMQP_URI"]
        with Connection(self.amqp_uri) as connection:
            channel = connection.default_channel
            exchange(channel).declare()
            declare_consumer_queues(
                channel, self.queue_name, self.max_attempts, self.retry_delays
            )
        self.publisher = _SharedPublisher.for_uri(self.amqp_uri)
        super().setup()

    queue_consumer = _EventQueueConsumer()

    def _store(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Store):
                return dependency
        return None

    def handle_undecodable(self, message, exc):
        """A body that cannot be decoded goes to the dead-letter queue as
        it came, with the reason; it is acknowledged only once there."""
        error = f"the message body cannot be decoded: {exc}"[:2000]
        log.warning("event_malformed", queue=self.queue_name, error=error)
        try:
            self.publisher.publish(
                message.body,
                routing_key=dead_letter_queue_name(self.queue_name),
                headers={
                    **(message.headers or {}),
                    HEADER_ATTEMPTS: 1,
                    HEADER_ERROR: error,
                    HEADER_QUEUE: self.queue_name,
                    HEADER_FAILED_AT: utcnow().isoformat(),
                    "x-phoihop-routing-key": message.delivery_info.get("routing_key"),
                },
                content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary",
            )
        except Exception as exc:  # noqa: BLE001 - leave it to the broker
            log.error("event_settle_failed", queue=self.queue_name, error=str(exc))
            message.requeue()
            return
        message.ack()

    def handle_message(self, body, message):
        attempts = int((message.headers or {}).get(HEADER_ATTEMPTS, 0))
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except ValueError:
                pass
        try:
            event = load_envelope(body)
        except (ValidationError, TypeError) as exc:
            # A malformed message cannot get better with retries: it goes to
            # the dead-letter queue at once, with the reason.
            log.warning("event_malformed", queue=self.queue_name, error=str(exc))
            self._dead_letter(message, body, str(exc), attempts + 1)
            self.queue_consumer.ack_message(message)
            return

        store = self._store()
        if store is not None and store.db[INBOX_COLLECTION].find_one(
            {"_id": inbox_id(self.queue_name, event["id"])}
        ):
            log.info(
                "event_duplicate_skipped", queue=self.queue_name, event_id=event["id"]
            )
            self.queue_consumer.ack_message(message)
            return

        self._spawn(message, body, event, attempts, conflicts=0)

    def _spawn(self, message, body, event, attempts, conflicts):
        context_data = {
            CTX_EVENT_ID: event["id"],
            CTX_CASE_ID: event["case_id"],
            CTX_CORRELATION_ID: event["correlation_id"],
            CTX_CONSUMER: self.queue_name,
            CTX_ACTOR: event["actor"],
        }
        handle_result = partial(
            self.handle_result, message, body, event, attempts, conflicts
        )
        bind_ids(event_id=event["id"], case_id=event["case_id"])
        self.container.spawn_worker(
            self, (event,), {}, context_data=context_data, handle_result=handle_result
        )

    def handle_result(
        self,
        message,
        body,
        event,
        attempts,
        conflicts,
        worker_ctx,
        result=None,
        exc_info=None,
    ):
        if exc_info is not None and isinstance(exc_info[1], AlreadyProcessed):
            exc_info = None
        if exc_info is not None and is_transient(exc_info[1]):
            if conflicts < MAX_CONFLICT_RETRIES:
                # Two transactions touched the same document, or the database
                # blinked: run the handler again soon, in this process, without
                # counting an attempt (MongoDB's own advice for
                # TransientTransactionError). The message stays unacked.
                eventlet.sleep(random.uniform(0.02, 0.2) * (conflicts + 1))
                self._spawn(message, body, event, attempts, conflicts + 1)
                return result, None
        try:
            if exc_info is None:
                store = self._store()
                if store is not None:
                    self._mark_processed(store, event["id"])
            else:
                self._retry_or_dead_letter(message, body, exc_info, attempts + 1)
        except Exception as exc:  # noqa: BLE001 - leave the message unacked
            # Neither the retry copy nor the dead letter could be written:
            # requeue so that nothing is lost; the broker redelivers it.
            log.error("event_settle_failed", queue=self.queue_name, error=str(exc))
            self.queue_consumer.requeue_message(message)
            return result, None
        self.queue_consumer.ack_message(message)

        # The worker's failure has been dealt with (retry or dead letter);
        # returning no exc_info keeps nameko from logging it a second time.
        return result, None

    def _mark_processed(self, store, event_id):
        try:
            store.db[INBOX_COLLECTION].insert_one(
                {"_id": inbox_id(self.queue_name, event_id), "processed_at": utcnow()}
            )
        except DuplicateKeyError:
            pass

    def _retry_or_dead_letter(self, message, body, exc_info, attempts):
        error = describe_error(exc_info)
        permanent = isinstance(exc_info[1], PERMANENT_ERRORS)
        if attempts < self.max_attempts and not permanent:
            log.warning(
                "event_retry_scheduled",
                queue=self.queue_name,
                attempts=attempts,
                error=error,
            )
            self.publisher.publish(
                body,
                routing_key=retry_queue_name(self.queue_name, attempts),
                headers={
                    **(message.headers or {}),
                    HEADER_ATTEMPTS: attempts,
                    HEADER_ERROR: error,
                },
            )
            return
        self._dead_letter(message, body, error, attempts)

    def _dead_letter(self, message, body, error, attempts):
        log.error(
            "event_dead_lettered", queue=self.queue_name, attempts=attempts, error=error
        )
        self.publisher.publish(
            body,
            routing_key=dead_letter_queue_name(self.queue_name),
            headers={
                **(message.headers or {}),
                HEADER_ATTEMPTS: attempts,
                HEADER_ERROR: error,
                HEADER_QUEUE: self.queue_name,
                HEADER_FAILED_AT: utcnow().isoformat(),
                "x-phoihop-routing-key": message.delivery_info.get("routing_key"),
            },
        )


subscribe = EventSubscriber.decorator


class _SharedPublisher:
    """One confirmed connection per broker URI, shared by a process's
    entrypoints, for retry copies and dead letters (default exchange)."""

    _instances = {}
    _lock = threading.Lock()

    def __init__(self, uri):
        self.uri = uri
        self._lock = eventlet.semaphore.Semaphore()
        self._connection = None
        self._producer = None

    @classmethod
    def for_uri(cls, uri):
        with cls._lock:
            if uri not in cls._instances:
                cls._instances[uri] = cls(uri)
            return cls._instances[uri]

    def publish(self, body, routing_key, headers, **raw):
        """Publish ``body`` as JSON; with ``content_type`` (and
        ``content_encoding``) in ``raw``, bytes are published as they are."""
        with self._lock:
            for attempt in range(3):
                try:
                    if self._producer is None:
                        self._connection = confirmed_connection(self.uri)
                        self._producer = self._connection.Producer(serializer="json")
                    self._producer.publish(
                        body,
                        exchange="",
                        routing_key=routing_key,
                        headers=headers,
                        delivery_mode=2,
                        retry=True,
                        retry_policy=RETRY_POLICY,
                        **raw,
                    )
                    return
                except (OSError, OperationalError):
                    self._reset()
                    if attempt == 2:
                        raise
                    time.sleep(0.5)

    def _reset(self):
        try:
            if self._connection is not None:
                self._connection.release()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
        self._connection = None
        self._producer = None
