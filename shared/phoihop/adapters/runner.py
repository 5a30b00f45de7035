"""The delivery engine of one adapter, on kombu, with or without nameko.

The host runs one ``AdapterRunner`` per adapter; an agency runs one in its
own process (``phoihop adapters run``). Each runner has its own connection,
channel and prefetch, its own workers and its own dead-letter queue, so a
slow or failing adapter never delays another.

How one message goes:

1. the consumer thread takes what the broker has sent (up to the prefetch),
   writes the batch to the ledger in one round trip (``accept_many``; a
   duplicate event id is dropped here) and only then acknowledges it. A
   message that is not an event goes straight to the dead-letter queue;
2. each item joins the lane of its case (``LaneScheduler``); a worker takes
   the head of a ready lane, builds the event the agency may see (redacted
   when it is not cleared) and calls the adapter;
3. success goes to the ledger writer, which records many deliveries (and
   their receipt events, on the host) in one transaction; a failure is
   retried after a back-off that grows with each attempt, while the case's
   later events wait and other cases go on; when the attempts run out, or
   the adapter refused the event, it goes to the dead-letter queue and its
   case is held (see ``phoihop.adapters.ledger``). When several cases fail
   in a row the receiver is taken to be down and one lane probes it for
   all (``_trip_breaker``); its first success wakes every waiting lane.

When the ledger cannot be written the channel is closed: every unacknowledged
message returns to the queue in its order, and the consumer connects again
after a pause.
"""

import queue
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from amqp.exceptions import AccessRefused, NotFound
from kombu import Connection, Consumer, Exchange, Queue
from kombu.exceptions import OperationalError

from phoihop.adapters.adapter import DELIVERED, Attempt
from phoihop.adapters.envelopes import adapter_event, is_envelope_shaped
from phoihop.adapters.errors import DeliveryRefused
from phoihop.adapters.lanes import LaneScheduler
from phoihop.adapters.ledger import DEAD, IGNORED, PENDING, lane_of
from phoihop.adapters.topology import (
    dead_letter_exchange_name,
    dead_letter_queue_name,
    declare_adapter_queue,
    declare_remote_queue,
    unbind_stale,
)
from phoihop.bus import RETRY_POLICY, confirmed_connection, describe_error
from phoihop.constants import (
    EVENTS_EXCHANGE,
    HEADER_ATTEMPTS,
    HEADER_ERROR,
    HEADER_FAILED_AT,
    HEADER_QUEUE,
)
from phoihop.contracts.adapters import RECEIPT_KEYS
from phoihop.errors import ValidationError
from phoihop.events import registry as event_registry
from phoihop.logging import get_logger
from phoihop.store import utcnow

log = get_logger(__name__)

HEADER_REPLAYED = "x-phoihop-replayed"
HEADER_ROUTING_KEY = "x-phoihop-routing-key"
HEADER_EVENT_ID = "x-phoihop-event-id"

# Defaults per adapter; the configuration overrides each.
DEFAULT_PREFETCH = 20
DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_ATTEMPTS = 20
# Seconds before attempt 2, 3, ...; the last value repeats. With 20 attempts
# a receiver may be down for about two hours before anything is
# dead-lettered.
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
DEFAULT_LEASE_SECONDS = 30.0

# How long the consumer waits for one more message before it records the
# batch it holds, and how long a finished delivery waits for others to be
# recorded with it (one ledger transaction for many deliveries).
BATCH_WAIT_SECONDS = 0.005
FINISH_WAIT_SECONDS = 0.01

# Lanes that must fail, with no success between, before the runner takes
# the receiver to be down (see ``_trip_breaker``).
BREAKER_LANES = 3

# Events the host never hands to adapters: its own receipts (a receipt for
# a receipt would never end).
NEVER_DELIVERED_PREFIX = "adapter."


@dataclass
class RunnerSettings:
    """How one adapter's queue is consumed."""

    queue: str
    keys: tuple = ()
    # True: declare the queue with exactly ``keys`` (the host); False: the
    # queue must exist (an agency's restricted user cannot declare).
    declare: bool = True
    exchange: str = EVENTS_EXCHANGE
    prefetch: int = DEFAULT_PREFETCH
    concurrency: int = DEFAULT_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_delays: tuple = DEFAULT_RETRY_DELAYS
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    # The host hands this adapter's events to ``adapter.<name>.remote``.
    remote: bool = False
    reconnect_delay_max: float = 15.0


@dataclass
class RunnerStatus:
    """What ``phoihop adapters list --live`` shows for one adapter."""

    name: str
    agency: str
    queue: str
    active: bool
    connected: bool
    backlog: int
    waiting_lanes: int
    delivered: int
    failed: int
    duplicates: int
    last_error: str
    fatal: str
    ledger: dict = field(default_factory=dict)


_RECEIPT_SCHEMAS = {}


def receipt_event(name, payload, **envelope):
    """The envelope of a receipt event, validated as ``build_event`` does.

    Receipts are one per delivery, so their schemas are built once here
    rather than on every call (marshmallow schemas are reusable).
    """
    schema = _RECEIPT_SCHEMAS.get(name)
    if schema is None:
        schema = _RECEIPT_SCHEMAS[name] = event_registry.get(name).schema()
    event_id = str(uuid.uuid4())

    return {
        "id": event_id,
        "type": name,
        "version": event_registry.latest_version(name),
        "occurred_at": utcnow().isoformat(),
        "case_id": envelope["case_id"],
        "actor": envelope["actor"],
        "correlation_id": envelope.get("correlation_id") or event_id,
        "causation_id": envelope.get("causation_id"),
        "classification": envelope.get("classification", "internal"),
        "payload": schema.dump(schema.load(payload)),
    }


class _LedgerUnavailable(Exception):
    """The ledger could not record a message: stop consuming for a while."""


class _Publisher:
    """A confirmed connection for dead letters, shared by the workers."""

    def __init__(self, uri):
        self.uri = uri
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None

    def publish(self, body, exchange, headers):
        with self._lock:
            try:
                if self._producer is None:
                    self._connection = confirmed_connection(self.uri)
                    self._producer = self._connection.Producer(serializer="json")
                self._producer.publish(
                    body,
                    exchange=exchange,
                    routing_key="",
                    headers=headers,
                    delivery_mode=2,
                    retry=True,
                    retry_policy=RETRY_POLICY,
                )
            except (OSError, OperationalError):
                self._reset()
                raise

    def _reset(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._connection = None
        self._producer = None

    def close(self):
        with self._lock:
            self._reset()


class AdapterRunner:
    """Consumes one adapter's queue and delivers its events; see the module
    docstring. ``start`` returns at once; ``stop`` waits for the workers."""

    def __init__(self, adapter, amqp_uri, ledger, settings, registry=None):
        self.adapter = adapter
        self.amqp_uri = amqp_uri
        self.ledger = ledger
        self.settings = settings
        self.registry = registry
        self.name = adapter.name
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.scheduler = LaneScheduler()
        self.publisher = _Publisher(amqp_uri)
        self.log = log.bind(adapter=self.name, queue=settings.queue)
        self._running = False
        self._active = threading.Event()
        self._connected = threading.Event()
        self._threads = []
        self._failing = False
        # Deliveries under way; a runner that lost and regained its lease
        # waits for them before reloading the ledger, or it could start the
        # same delivery twice.
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        # The holds of this adapter's cases, kept in memory while it holds
        # its lease (only its workers and release_case change them).
        self._holds = {}
        self._holds_lock = threading.Lock()
        self._finished = queue.Queue()
        # Event ids delivered and handed to the ledger writer, not yet
        # recorded: still pending in the ledger, but not to be delivered again.
        self._unrecorded = set()
        self._breaker_lock = threading.Lock()
        self._failed_lanes = set()
        self._open_until = 0.0
        self._probe_lane = None
        self._batch = []
        self.delivered = 0
        self.failed = 0
        self.duplicates = 0
        self.last_error = ""
        self.fatal = ""

    # Life cycle ----------------------------------------------------------

    def start(self):
        self._running = True
        self._spawn(self._keep_lease, "lease")
        self._spawn(self._consume, "consumer")
        self._spawn(self._record_finished, "ledger")
        for number in range(self.settings.concurrency):
            self._spawn(self._work, f"worker-{number}")

    def _spawn(self, target, role):
        thread = threading.Thread(
            target=target, name=f"adapter-{self.name}-{role}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout=10.0):
        self._running = False
        self._active.clear()
        self.scheduler.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        self._threads = []
        self.publisher.close()
        try:
            self.ledger.release_lease(self.name, self.owner)
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself
            # At shutdown the database client may already be closed; the
            # lease then runs out on its own within lease_seconds.
            self.log.debug("adapter_lease_release_failed", error=str(exc))
        self.adapter.close()

    def wait_active(self, timeout=30.0):
        """Block until the runner holds its lease and its consumer is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fatal:
                return False
            if self._active.is_set() and self._connected.is_set():
                return True
            time.sleep(0.05)
        return False

    @property
    def is_active(self):
        return self._active.is_set()

    def status(self):
        try:
            ledger = self.ledger.stats(self.name)
        except Exception as exc:  # noqa: BLE001 - status must answer anyway
            ledger = {"error": str(exc)}
        return RunnerStatus(
            name=self.name,
            agency=self.adapter.agency,
            queue=self.settings.queue,
            active=self._active.is_set(),
            connected=self._connected.is_set(),
            backlog=self.scheduler.backlog(),
            waiting_lanes=self.scheduler.waiting_lanes(),
            delivered=self.delivered,
            failed=self.failed,
            duplicates=self.duplicates,
            last_error=self.last_error,
            fatal=self.fatal,
            ledger=ledger,
        )

    # The lease: one process at a time delivers for this adapter. ----------

    def _keep_lease(self):
        renew_every = max(self.settings.lease_seconds / 3, 0.5)
        opened = False
        while self._running:
            if not opened:
                # The ledger continues its running numbers; a database that
                # is not there yet is waited for, not a reason to give up.
                try:
                    self.ledger.open(self.name)
                    opened = True
                except Exception as exc:  # noqa: BLE001 - retried below
                    self.log.warning("adapter_ledger_unavailable", error=str(exc))
                    self._sleep(renew_every)
                    continue
            try:
                held = self.ledger.acquire(
                    self.name, self.owner, self.settings.lease_seconds
                )
            except Exception as exc:  # noqa: BLE001 - keep trying; log why
                if getattr(exc, "code", None) == "conflict":
                    self.fatal = str(exc)
                    self.log.error("adapter_lease_refused", error=str(exc))
                    return
                self.log.warning("adapter_lease_error", error=str(exc))
                held = self._active.is_set()
            if held and not self._active.is_set():
                self._activate()
            elif not held and self._active.is_set():
                self.log.warning("adapter_lease_lost")
                self._active.clear()
                self.scheduler.clear()
            self._sleep(renew_every)

    def _activate(self):
        # Deliveries left pending by an earlier run (or another host) come
        # first, in their order.
        deadline = time.monotonic() + 60
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        self.scheduler.clear()
        with self._holds_lock:
            self._holds = self.ledger.holds(self.name)
        pending = self.ledger.pending(self.name)
        for item in pending:
            item.recovered = True
            self.scheduler.add(item.lane, item)
        self._active.set()
        self.log.info("adapter_active", pending=len(pending))

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while self._running and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))

    # Consuming -----------------------------------------------------------

    def _consume(self):
        failures = 0
        while self._running:
            if not self._active.is_set():
                self._sleep(0.2)
                continue
            try:
                self._consume_once()
                failures = 0
            except (AccessRefused, NotFound) as exc:
                # The user may not read the queue, or it does not exist: no
                # reconnection will change that until an operator acts.
                self.fatal = f"{type(exc).__name__}: {exc}"
                self.log.error("adapter_queue_refused", error=self.fatal)
                self._connected.clear()
                return
            except Exception as exc:  # noqa: BLE001 - broker or ledger: reconnect
                failures += 1
                delay = min(0.5 * 2**failures, self.settings.reconnect_delay_max)
                self.last_error = describe_error((type(exc), exc, None))
                self.log.warning(
                    "adapter_consumer_error", error=self.last_error, retry_in=delay
                )
                self._connected.clear()
                self._sleep(delay)

    def _consume_once(self):
        with Connection(self.amqp_uri, heartbeat=30, connect_timeout=10) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            if self.settings.declare:
                self._declare(channel)
            else:
                # Fails with NotFound when the queue was never provisioned,
                # with AccessRefused when the user may not touch it.
                channel.queue_declare(self.settings.queue, passive=True)
            queue = Queue(self.settings.queue, no_declare=True)
            consumer = Consumer(
                channel,
                queues=[queue],
                callbacks=[self._on_message],
                accept=["json"],
                no_ack=False,
                prefetch_count=self.settings.prefetch,
                on_decode_error=self._on_undecodable,
            )
            with consumer:
                self._connected.set()
                self.log.info("adapter_consuming", prefetch=self.settings.prefetch)
                self._batch = []
                while self._running and self._active.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        connection.heartbeat_check()
                        continue
                    # Take what else has arrived, then record the lot in one
                    # round trip to the ledger before acknowledging any.
                    while len(self._batch) < self.settings.prefetch:
                        try:
                            connection.drain_events(timeout=BATCH_WAIT_SECONDS)
                        except TimeoutError:
                            break
                    self._accept_batch()
            self._connected.clear()

    def _declare(self, channel):
        previous = self.ledger.bindings(self.name)
        declare_adapter_queue(
            channel, self.name, self.settings.keys, self.settings.exchange
        )
        if self.settings.remote:
            # The queue the agency reads must exist before the first event
            # is handed over: a message to a queue that does not exist would
            # be dropped by the default exchange.
            declare_remote_queue(channel, self.name)
        unbind_stale(
            channel, self.name, self.settings.keys, previous, self.settings.exchange
        )
        self.ledger.set_bindings(self.name, self.settings.keys)

    def _on_undecodable(self, message, exc):
        # A body that is not JSON would otherwise leave drain_events, be
        # taken for a broker failure and come back first after reconnecting,
        # for ever: the queue would stop. It goes to the dead-letter queue
        # (bytes kept, base64 inside the JSON) and is acknowledged once there.
        headers = message.headers or {}
        routing_key = headers.get(HEADER_ROUTING_KEY) or message.delivery_info.get(
            "routing_key", ""
        )
        self._dead_letter_raw(
            message.body,
            headers,
            routing_key,
            f"the message body cannot be decoded: {exc}",
        )
        message.ack()

    def _on_message(self, body, message):
        headers = message.headers or {}
        routing_key = headers.get(HEADER_ROUTING_KEY) or message.delivery_info.get(
            "routing_key", ""
        )
        if not is_envelope_shaped(body):
            self._dead_letter_raw(
                body, headers, routing_key, "the message is not an event envelope"
            )
            message.ack()
            return
        if str(body.get("type", "")).startswith(NEVER_DELIVERED_PREFIX):
            message.ack()
            return
        self._batch.append(
            (body, routing_key, bool(headers.get(HEADER_REPLAYED)), message)
        )

    def _accept_batch(self):
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            items = self.ledger.accept_many(
                self.name, [(body, key, replayed) for body, key, replayed, _ in batch]
            )
        except Exception as exc:  # noqa: BLE001 - closes the channel: requeued in order
            raise _LedgerUnavailable(str(exc)) from exc
        # Scheduled before acknowledged: an acknowledgement lost with the
        # connection must not leave a recorded delivery without a worker.
        seen = []
        for (body, _, _, _), item in zip(batch, items, strict=True):
            if item is None:
                self.duplicates += 1
                seen.append(body)
                continue
            self.scheduler.add(item.lane, item)
        if seen:
            self._recover(seen)
        for *_, message in batch:
            message.ack()

    def _recover(self, envelopes):
        """Schedule the redelivered events that the ledger holds as pending
        but no lane does: recorded just before a connection or the ledger
        failed, their first copy never reached a worker."""
        # A delivery in progress is in its lane until it is handed to the
        # ledger writer, and unrecorded from then until written: looked at
        # in that order, before the ledger, it is never taken for an orphan.
        orphans = [
            envelope["id"]
            for envelope in envelopes
            if not self.scheduler.contains(lane_of(envelope), envelope["id"])
            and envelope["id"] not in self._unrecorded
        ]
        if not orphans:
            return
        for item in self.ledger.pending_among(self.name, orphans):
            item.recovered = True
            self.scheduler.add(item.lane, item)
            self.log.info("adapter_delivery_recovered", event_id=item.event_id)

    # Delivering ----------------------------------------------------------

    def _work(self):
        while self._running:
            if not self._active.is_set():
                self._sleep(0.2)
                continue
            taken = self.scheduler.take(timeout=0.5)
            if taken is None:
                continue
            lane, item = taken
            with self._in_flight_lock:
                self._in_flight += 1
            try:
                delay = self._process(item)
            except Exception as exc:  # noqa: BLE001 - the ledger or broker failed
                delay = self._retry_delay(max(item.attempts, 1))
                self.last_error = describe_error((type(exc), exc, None))
                self.log.warning(
                    "adapter_bookkeeping_failed",
                    event_id=item.event_id,
                    error=self.last_error,
                    retry_in=delay,
                )
            finally:
                with self._in_flight_lock:
                    self._in_flight -= 1
            if delay is None:
                self.scheduler.done(lane)
            else:
                self.scheduler.retry_later(lane, delay)

    def _retry_delay(self, attempts):
        delays = self.settings.retry_delays
        base = delays[min(attempts - 1, len(delays) - 1)]
        # A little jitter so the lanes of one receiver do not all knock at
        # the same second when it comes back.
        return base * random.uniform(0.9, 1.1)

    def _process(self, item):
        """Deliver one item; returns None when done, or the seconds to wait."""
        item.attempts += 1
        held = self._held(item.case_id)
        if held and held[0] != item.event_id:
            self._fail_for_good(
                item,
                f"held behind event {held[0]} of case {item.case_id}, which failed "
                "for good; replay the dead letters in order or release the case",
                held_behind=held[0],
            )
            return None

        wait = self._breaker_wait(item.lane)
        if wait:
            # Not an attempt: the receiver is down, one lane probes for all.
            item.attempts -= 1
            return wait

        try:
            event = adapter_event(
                item.envelope,
                item.routing_key,
                self.adapter.agency,
                self.registry,
                replayed=item.replayed,
            )
        except ValidationError as exc:
            self._fail_for_good(item, str(exc))
            return None
        event.number = item.number
        event.attempt = Attempt(
            number=item.attempts,
            done_transports=set(item.done_transports),
            maybe_delivered=item.recovered or item.attempts > 1,
        )
        bound = self.log.bind(
            event_id=item.event_id, case_id=item.case_id, event_type=event.type
        )

        try:
            outcome = self.adapter.dispatch(event)
        except DeliveryRefused as exc:
            item.done_transports = sorted(event.attempt.done_transports)
            self._fail_for_good(
                item, describe_error((type(exc), exc, None)), event=event
            )
            return None
        except Exception as exc:  # noqa: BLE001 - any other failure is retried
            item.done_transports = sorted(event.attempt.done_transports)
            error = describe_error((type(exc), exc, None))
            self.last_error = error
            if item.attempts >= self.settings.max_attempts:
                self._fail_for_good(item, error, event=event)
                return None
            delay = self._retry_delay(item.attempts)
            item.last_error = error
            item.next_attempt_at = utcnow() + timedelta(seconds=delay)
            self._finished.put((item, PENDING, None, None))
            self._trip_breaker(item.lane, delay)
            self._failing = True
            bound.warning(
                "adapter_delivery_retry",
                attempts=item.attempts,
                error=error,
                retry_in=round(delay, 1),
            )
            return delay

        item.done_transports = sorted(event.attempt.done_transports)
        state = DELIVERED if outcome == DELIVERED else IGNORED
        receipt = None
        if state == DELIVERED and self.ledger.emits_receipts:
            receipt = self._receipt(item, event)
        self._finish(item, state, event.attempt.receipts, receipt)
        if held:
            self._unhold(item.case_id, item.event_id)
        if state == DELIVERED:
            self.delivered += 1
            bound.info("adapter_delivered", attempts=item.attempts)
        else:
            bound.debug("adapter_event_ignored")
        self._close_breaker()
        if self._failing:
            # The receiver answers again: the lanes waiting for their
            # back-off try now rather than in up to ten minutes.
            self._failing = False
            self.scheduler.wake_all()

        return None

    # The breaker: when the receiver is down, one lane probes. -----------

    def _trip_breaker(self, lane, delay):
        """Count a failed lane; from ``BREAKER_LANES`` different lanes
        failing with no success between, the receiver is taken to be down:
        the other lanes wait for this lane's next try instead of knocking
        each on its own (which would load the database and the receiver
        for nothing). A single case failing alone never trips it, so it
        never holds back the other cases."""
        with self._breaker_lock:
            self._failed_lanes.add(lane)
            if len(self._failed_lanes) < BREAKER_LANES:
                return
            until = time.monotonic() + delay
            if until > self._open_until:
                self._open_until = until
                self._probe_lane = lane

    def _breaker_wait(self, lane):
        with self._breaker_lock:
            now = time.monotonic()
            if self._open_until <= now or lane == self._probe_lane:
                return 0
            return self._open_until - now + random.uniform(0, 0.5)

    def _close_breaker(self):
        with self._breaker_lock:
            self._failed_lanes.clear()
            self._open_until = 0.0
            self._probe_lane = None

    # Holds --------------------------------------------------------------

    def _held(self, case_id):
        if not case_id:
            return []
        with self._holds_lock:
            return list(self._holds.get(case_id, ()))

    def _hold(self, case_id, event_id):
        self.ledger.hold(self.name, case_id, event_id)
        with self._holds_lock:
            held = self._holds.setdefault(case_id, [])
            if event_id not in held:
                held.append(event_id)

    def _unhold(self, case_id, event_id):
        self.ledger.unhold(self.name, case_id, event_id)
        with self._holds_lock:
            held = self._holds.get(case_id, [])
            if event_id in held:
                held.remove(event_id)
            if not held:
                self._holds.pop(case_id, None)

    def release_case(self, case_id):
        """Forget the hold of ``case_id``; returns the event ids it held."""
        with self._holds_lock:
            self._holds.pop(case_id, None)
            return self.ledger.release(self.name, case_id)

    # Recording finished deliveries, many in one transaction. -------------

    def _finish(self, item, state, receipts, receipt_event):
        """Hand a finished delivery to the ledger writer and go on.

        The writer records many deliveries in one transaction, a few
        milliseconds later. Should the process die in between, the
        delivery is made again at restart, with the same event id: a
        receiver that keeps each ``Idempotency-Key`` once sees the case's
        events once and in order, as it does for a crash just after any
        delivery.
        """
        self._unrecorded.add(item.event_id)
        self._finished.put((item, state, receipts, receipt_event))

    def _record_finished(self):
        failures = 0
        waiting = []
        while self._running or waiting or not self._finished.empty():
            if not waiting:
                try:
                    waiting.append(self._finished.get(timeout=0.5))
                except queue.Empty:
                    continue
                time.sleep(FINISH_WAIT_SECONDS)
            while len(waiting) < 500:
                try:
                    waiting.append(self._finished.get_nowait())
                except queue.Empty:
                    break
            try:
                self.ledger.finish_many(waiting)
            except Exception as exc:  # noqa: BLE001 - kept and written again
                failures += 1
                if not self._running and failures > 3:
                    self.log.error(
                        "adapter_ledger_unwritten", count=len(waiting), error=str(exc)
                    )
                    return
                self.log.warning(
                    "adapter_ledger_write_failed", count=len(waiting), error=str(exc)
                )
                time.sleep(min(0.5 * 2**failures, 10))
                continue
            failures = 0
            for item, *_ in waiting:
                self._unrecorded.discard(item.event_id)
            waiting = []

    def _receipt(self, item, event):
        known = RECEIPT_KEYS
        receipts = [
            {key: value for key, value in receipt.items() if key in known}
            for receipt in event.attempt.receipts
        ]
        return receipt_event(
            "adapter.delivered",
            {
                "adapter": self.name,
                "agency": self.adapter.agency,
                "event_id": item.event_id,
                "event_type": event.type,
                "attempts": item.attempts,
                "redacted": event.redacted,
                "delivered_at": utcnow(),
                "transports": sorted(event.attempt.done_transports),
                "receipts": receipts,
            },
            case_id=item.case_id,
            actor={"agency": self.adapter.agency, "officer": f"adapter:{self.name}"},
            correlation_id=event.correlation_id,
            causation_id=item.event_id,
            classification="internal",
        )

    def _failure_event(self, item, event_type, error, held_behind):
        return receipt_event(
            "adapter.delivery_failed",
            {
                "adapter": self.name,
                "agency": self.adapter.agency,
                "event_id": item.event_id,
                "event_type": event_type or "unknown",
                "attempts": max(item.attempts, 1),
                "failed_at": utcnow(),
                "error": error[:2000],
                "dead_letter_queue": dead_letter_queue_name(self.settings.queue),
                "held_behind": held_behind,
            },
            case_id=item.case_id,
            actor={"agency": self.adapter.agency, "officer": f"adapter:{self.name}"},
            correlation_id=item.envelope.get("correlation_id"),
            causation_id=item.event_id,
            classification="internal",
        )

    def _fail_for_good(self, item, error, event=None, held_behind=None):
        """Dead-letter ``item`` and hold its case so order survives."""
        self._publish_dead_letter(
            item.envelope,
            {
                HEADER_ATTEMPTS: item.attempts,
                HEADER_ERROR: error[:2000],
                HEADER_QUEUE: self.settings.queue,
                HEADER_FAILED_AT: utcnow().isoformat(),
                HEADER_ROUTING_KEY: item.routing_key,
                HEADER_EVENT_ID: item.event_id,
            },
        )
        if item.case_id:
            self._hold(item.case_id, item.event_id)
        receipt = None
        if self.ledger.emits_receipts:
            event_type = event.type if event else item.envelope.get("type")
            receipt = self._failure_event(item, event_type, error, held_behind)
        self.ledger.record_dead(item, error, receipt)
        self.failed += 1
        self.last_error = error
        self.log.error(
            "adapter_dead_lettered",
            event_id=item.event_id,
            case_id=item.case_id,
            attempts=item.attempts,
            error=error[:500],
        )

    def _dead_letter_raw(self, body, headers, routing_key, error):
        self.log.warning("adapter_message_malformed", error=error[:500])
        self._publish_dead_letter(
            body,
            {
                **headers,
                HEADER_ATTEMPTS: 1,
                HEADER_ERROR: error[:2000],
                HEADER_QUEUE: self.settings.queue,
                HEADER_FAILED_AT: utcnow().isoformat(),
                HEADER_ROUTING_KEY: routing_key,
            },
        )
        self.failed += 1

    def _publish_dead_letter(self, body, headers):
        exchange = Exchange(
            dead_letter_exchange_name(self.settings.queue), type="fanout", durable=True
        )
        self.publisher.publish(body, exchange, headers)


__all__ = ["AdapterRunner", "RunnerSettings", "RunnerStatus", "DEAD"]
