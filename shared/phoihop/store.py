"""MongoDB access for services: one client per container, one database each.

A service declares its indexes in code (``Store(indexes={...})``); they are
applied when the container starts. State changes and the events they cause
are written in one transaction (the outbox, DESIGN.md Reliability rules), so
an event is published if and only if its state change committed. Datetimes
are timezone-aware UTC on the way in and on the way out.
"""

import time
from contextlib import contextmanager
from datetime import UTC, datetime

import eventlet
from bson.codec_options import CodecOptions
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, IndexModel, MongoClient, WriteConcern
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)
from pymongo.read_concern import ReadConcern

from phoihop.config import db_prefix, exchange_name, mongodb_uri
from phoihop.constants import INBOX_COLLECTION, OUTBOX_COLLECTION
from phoihop.errors import ServiceUnavailable
from phoihop.events import agency_routing_key, build_event
from phoihop.logging import get_logger

log = get_logger(__name__)

# Context-data keys the event entrypoint sets for the worker (phoihop.bus).
CTX_EVENT_ID = "event_id"
CTX_CORRELATION_ID = "correlation_id"
CTX_CASE_ID = "case_id"
CTX_CONSUMER = "phoihop_consumer"
CTX_ACTOR = "phoihop_actor"

BUS_INDEXES = {
    OUTBOX_COLLECTION: [
        IndexModel([("sent_at", ASCENDING), ("created_at", ASCENDING)], name="pending"),
        IndexModel([("event_id", ASCENDING)], name="event_id"),
    ],
    INBOX_COLLECTION: [IndexModel([("processed_at", ASCENDING)], name="processed_at")],
}


def utcnow():
    return datetime.now(UTC)


def make_client(uri, **kwargs):
    """A MongoClient that returns aware UTC datetimes."""
    return MongoClient(uri, tz_aware=True, tzinfo=UTC, **kwargs)


def database_name(prefix, service):
    return f"{prefix}_{service}"


def get_database(client, name):
    # Majority read and write concerns: a committed state change must survive
    # a primary failover in production (MongoDB 7 replica set).
    return client.get_database(
        name,
        codec_options=CodecOptions(tz_aware=True, tzinfo=UTC),
        write_concern=WriteConcern("majority"),
        read_concern=ReadConcern("majority"),
    )


def apply_indexes(db, indexes):
    """Create the declared indexes; existing identical ones are left alone."""
    for collection, models in indexes.items():
        if models:
            db[collection].create_indexes(list(models))


def inbox_id(consumer, event_id):
    return f"{consumer}:{event_id}"


class AlreadyProcessed(Exception):
    """Raised inside a transaction when its inbound event was handled before."""


class Transaction:
    """One MongoDB transaction and the events it will publish.

    ``emit`` validates the event now (publish-time validation) and writes it
    to the outbox inside the same transaction as the state change.
    """

    def __init__(self, db, session, origin):
        self.db = db
        self.session = session
        self.origin = origin
        self.events = []
        self.records = []

    def emit(
        self,
        name,
        payload,
        *,
        case_id=None,
        agencies=(),
        classification="public",
        actor=None,
        version=None,
    ):
        envelope = build_event(
            name,
            payload,
            case_id=case_id if case_id is not None else self.origin.get(CTX_CASE_ID),
            actor=actor or self.origin.get(CTX_ACTOR),
            correlation_id=self.origin.get(CTX_CORRELATION_ID),
            causation_id=self.origin.get(CTX_EVENT_ID),
            classification=classification,
            version=version,
        )
        self.records.extend(
            write_outbox(self.db, envelope, agencies, session=self.session)
        )
        self.events.append(envelope)

        return envelope


def write_outbox(db, envelope, agencies=(), session=None):
    """Insert an envelope and its per-agency copies into the outbox."""
    now = utcnow()
    keys = [envelope["type"]] + [
        agency_routing_key(code, envelope["type"]) for code in dict.fromkeys(agencies)
    ]
    records = [
        {
            "event_id": envelope["id"],
            "routing_key": key,
            "envelope": envelope,
            "created_at": now,
            "sent_at": None,
        }
        for key in keys
    ]
    db[OUTBOX_COLLECTION].insert_many(records, session=session, ordered=True)

    return records


class ServiceStore:
    """What a worker gets: the service's database and a transaction helper."""

    def __init__(self, provider, origin):
        self._provider = provider
        self.db = provider.db
        self.client = provider.client
        self.origin = origin

    @contextmanager
    def transaction(self):
        """Run a block in one transaction; its emitted events are published
        after commit.

        Inside an event worker, the inbound event is recorded in the inbox in
        the same transaction: if it was already handled, ``AlreadyProcessed``
        is raised and the event entrypoint acknowledges without doing more.
        """
        with self.client.start_session() as session:
            with session.start_transaction():
                consumer = self.origin.get(CTX_CONSUMER)
                event_id = self.origin.get(CTX_EVENT_ID)
                if consumer and event_id:
                    try:
                        self.db[INBOX_COLLECTION].insert_one(
                            {
                                "_id": inbox_id(consumer, event_id),
                                "processed_at": utcnow(),
                            },
                            session=session,
                        )
                    except DuplicateKeyError as exc:
                        raise AlreadyProcessed(event_id) from exc
                tx = Transaction(self.db, session, self.origin)
                yield tx
        if tx.records:
            self._provider.hand_over(tx.records)

    def emit(self, name, payload, **kwargs):
        """Emit an event with no other state change, in its own transaction."""
        with self.transaction() as tx:
            return tx.emit(name, payload, **kwargs)

    def is_processed(self, consumer, event_id):
        found = self.db[INBOX_COLLECTION].find_one(
            {"_id": inbox_id(consumer, event_id)}
        )
        return found is not None

    def mark_processed(self, consumer, event_id):
        try:
            self.db[INBOX_COLLECTION].insert_one(
                {"_id": inbox_id(consumer, event_id), "processed_at": utcnow()}
            )
        except DuplicateKeyError:
            pass


class Store(DependencyProvider):
    """The service's MongoDB database, its indexes and its outbox relay.

    ``setup()`` runs once at container start: it builds the client, checks the
    server answers, applies the declared indexes and prepares the relay.
    ``start()`` starts the relay's greenthread; ``stop()`` stops it and
    closes the client. Each worker gets a ``ServiceStore``.
    """

    # How long stop() waits for the dependencies that retained the client.
    RELEASE_TIMEOUT = 30.0

    def __init__(self, indexes=None, relay=True):
        self.indexes = indexes or {}
        self.with_relay = relay
        self.client = None
        self.db = None
        self.relay = None
        self.holders = set()

    def retain(self, holder):
        """Keep the client open until ``holder`` calls ``release``.

        Nameko stops a container's dependencies side by side, so a
        dependency that still writes while it stops (the adapter host
        records its last deliveries) would otherwise find the client
        closed, and the work it finished would be done again after the
        next start.
        """
        self.holders.add(holder)

    def release(self, holder):
        self.holders.discard(holder)

    def setup(self):
        from phoihop.bus import OutboxRelay
        from phoihop.contracts import load_all

        # Events are validated when emitted: every domain's types must be
        # registered before the first worker runs.
        load_all()
        config = self.container.config
        self.client = make_client(mongodb_uri(config), serverSelectionTimeoutMS=10000)
        name = database_name(db_prefix(config), self.container.service_name)
        self.db = get_database(self.client, name)
        try:
            apply_indexes(self.db, {**BUS_INDEXES, **self.indexes})
        except (ConnectionFailure, OperationFailure) as exc:
            raise ServiceUnavailable(f"database not reachable: {exc}") from exc
        if self.with_relay:
            self.relay = OutboxRelay(
                self.db,
                config["AMQP_URI"],
                exchange_name(config),
                name=self.container.service_name,
            )
        log.debug("store_ready", database=name)

    def start(self):
        if self.relay:
            self.relay.start(self.container.spawn_managed_thread)

    def stop(self):
        if self.relay:
            self.relay.stop()
        deadline = time.monotonic() + self.RELEASE_TIMEOUT
        while self.holders and time.monotonic() < deadline:
            # A greenthread sleep: the holders stop in this same hub.
            eventlet.sleep(0.05)
        if self.holders:
            log.warning(
                "store_closed_while_retained",
                holders=sorted(type(holder).__name__ for holder in self.holders),
            )
        if self.client:
            self.client.close()

    def kill(self):
        self.stop()

    def hand_over(self, records):
        """Give committed outbox records to the relay to publish now."""
        if self.relay:
            self.relay.hand_over(records)

    def get_dependency(self, worker_ctx):
        return ServiceStore(self, worker_ctx.context_data)


def is_transient(exc):
    """True when retrying the operation may succeed."""
    if isinstance(exc, ConnectionFailure):
        return True
    if isinstance(exc, PyMongoError):
        return exc.has_error_label("TransientTransactionError")
    return False
