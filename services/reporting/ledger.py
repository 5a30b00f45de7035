"""The dependency that gives workers the event log and keeps projections live.

One ``EventLog`` per container (its lock makes the container's workers
append one at a time) and one projector greenthread that applies new
entries to the projections as soon as a worker wakes it, and at least every
``poll_seconds`` (another instance of the service may have appended).
"""

import threading
import time

from nameko.extensions import DependencyProvider
from pymongo.errors import InvalidOperation

from phoihop.logging import get_logger
from phoihop.store import Store

from .eventlog import EventLog
from .projections import Projector

log = get_logger(__name__)

DEFAULT_POLL_SECONDS = 1.0
# How long the projector waits after a wake-up for more entries to arrive.
DEFAULT_BATCH_DELAY_SECONDS = 0.5


class Ledger:
    """What a worker gets: append to the log, read it, read projections."""

    def __init__(self, provider):
        self._provider = provider
        self.log = provider.event_log
        self.projector = provider.projector

    def append(self, event):
        entry, created = self.log.append(event)
        if created:
            self._provider.wake()
        return entry, created

    def projection(self):
        return self.projector.projection()

    def catch_up(self):
        """Apply every logged entry now (before a report is compiled)."""
        return self.projector.catch_up()


class EventLedger(DependencyProvider):
    """The service's event log and live projections.

    ``setup()`` runs once at container start and reads the polling interval
    (nothing to open: the log uses the ``Store`` dependency's database,
    which may not be set up yet).
    ``start()`` builds the log and the projector on that database and
    starts the projector's greenthread; ``stop()`` ends it, letting the
    batch in hand finish. Each worker gets a ``Ledger``.
    """

    def __init__(
        self,
        poll_seconds=DEFAULT_POLL_SECONDS,
        batch_delay=DEFAULT_BATCH_DELAY_SECONDS,
    ):
        self.poll_seconds = poll_seconds
        self.batch_delay = batch_delay
        self.event_log = None
        self.projector = None
        self._init_lock = threading.Lock()
        self._wake = threading.Event()
        self._running = False
        self._thread = None

    def setup(self):
        section = self.container.config.get("reporting") or {}
        self.poll_seconds = float(
            section.get("projection_poll_seconds", self.poll_seconds)
        )

    def _store(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Store):
                return dependency
        raise LookupError("the reporting service needs a Store dependency")

    def _ensure(self):
        with self._init_lock:
            if self.event_log is None:
                db = self._store().db
                self.event_log = EventLog(db)
                self.projector = Projector(db, self.event_log)
                self.projector.current()
                self.projector.upgrade()

    def start(self):
        self._ensure()
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run)

    def stop(self):
        self._running = False
        self._wake.set()
        if self._thread is not None:
            try:
                self._thread.wait()
            except Exception:  # noqa: BLE001 - the loop logs its own errors
                pass
            self._thread = None

    def kill(self):
        self._running = False
        self._wake.set()

    def wake(self):
        self._wake.set()

    def _run(self):
        failures = 0
        while self._running:
            # Cleared before reading the log, so that a wake-up arriving
            # while a batch is applied is not lost.
            self._wake.clear()
            try:
                applied = self.projector.catch_up(max_entries=5000)
                failures = 0
            except InvalidOperation:
                # The database client was closed: the container is stopping.
                return
            except Exception as exc:  # noqa: BLE001 - keep projecting after errors
                failures += 1
                delay = min(0.2 * 2**failures, 10.0)
                log.warning("projection_error", error=str(exc), retry_in=delay)
                time.sleep(delay)
                continue
            if applied:
                log.debug("projection_applied", entries=applied)
                # Let the next entries of a burst gather: one batch applies
                # many at the cost of a few (one write per case touched).
                time.sleep(self.batch_delay)
                continue
            if self._wake.wait(self.poll_seconds):
                time.sleep(self.batch_delay)

    def get_dependency(self, worker_ctx):
        self._ensure()
        return Ledger(self)
