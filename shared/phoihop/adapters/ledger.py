"""The delivery ledger: every event an adapter took, and what became of it.

The runner writes each event to the ledger *before* it acknowledges the
message to RabbitMQ, then delivers from the ledger. This buys three things:

- idempotency: the ledger's key is (adapter, event id), so a redelivered
  message, or the same event arriving under two routing keys (an agency
  copy and a broad key), is delivered once;
- order per case without holding the broker: events of a case wait in the
  ledger behind a failing one, so a case in trouble never takes prefetch
  slots from the other cases of the adapter;
- retries that survive a restart: a pending delivery is found again when
  the runner starts.

When a delivery fails for good it goes to the dead-letter queue and its case
is *held*: later events of that case follow it into the dead-letter queue
(in order), until the held events are replayed in order, or an operator
releases the case. Nothing is delivered out of order behind an operator's
back.

Two stores: ``MongoLedger`` for the host (the adapters service database; its
delivery receipts are written to the outbox in the same transaction), and
``SqliteLedger`` for an adapter an agency runs on its own machine.
"""

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from phoihop.errors import Conflict
from phoihop.store import utcnow, write_outbox

PENDING = "pending"
DELIVERED = "delivered"
IGNORED = "ignored"
DEAD = "dead"
STATES = (PENDING, DELIVERED, IGNORED, DEAD)

DEFAULT_RETENTION_DAYS = 90
DUPLICATE_KEY = 11000

DELIVERIES = "deliveries"
HOLDS = "holds"
ADAPTER_STATE = "adapter_state"

MONGO_INDEXES = {
    DELIVERIES: [
        IndexModel(
            [("adapter", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)],
            name="adapter_state_seq",
        ),
        IndexModel([("adapter", ASCENDING), ("seq", DESCENDING)], name="adapter_seq"),
        # Finished deliveries are kept for the retention period, then MongoDB
        # removes them (TTL index): an event redelivered after that long
        # would be delivered again.
        IndexModel([("expire_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
    ],
    HOLDS: [IndexModel([("adapter", ASCENDING)], name="adapter")],
}


@dataclass
class Item:
    """One event taken by one adapter."""

    adapter: str
    event_id: str
    seq: int
    number: int
    lane: str
    case_id: str | None
    routing_key: str
    envelope: dict
    state: str = PENDING
    attempts: int = 0
    done_transports: list = field(default_factory=list)
    last_error: str = ""
    next_attempt_at: datetime | None = None
    replayed: bool = False
    # Found pending when the runner started: it may have been delivered
    # just before a crash, without the ledger hearing of it.
    recovered: bool = False


def lane_of(envelope):
    return envelope.get("case_id") or f"event:{envelope.get('id')}"


def _expiry(days):
    return utcnow() + timedelta(days=days)


class MongoLedger:
    """The ledger in the adapters service's database."""

    emits_receipts = True

    def __init__(
        self, client, db, retention_days=DEFAULT_RETENTION_DAYS, on_commit=None
    ):
        self.client = client
        self.db = db
        self.retention_days = retention_days
        self.on_commit = on_commit
        self._seq = {}
        self._lock = threading.Lock()

    def open(self, adapter):
        """Prepare for ``adapter``: the running number continues from the
        last one recorded."""
        last = self.db[DELIVERIES].find_one(
            {"adapter": adapter}, {"seq": 1}, sort=[("seq", DESCENDING)]
        )
        with self._lock:
            self._seq[adapter] = last["seq"] if last else 0

    def _next_seq(self, adapter):
        with self._lock:
            self._seq[adapter] = self._seq.get(adapter, 0) + 1
            return self._seq[adapter]

    # Lease: one host at a time delivers for an adapter. -------------------

    def acquire(self, adapter, owner, seconds):
        """Take or renew the lease of ``adapter``; True when ``owner`` holds it."""
        now = utcnow()
        try:
            found = self.db[ADAPTER_STATE].find_one_and_update(
                {
                    "_id": adapter,
                    "$or": [
                        {"lease_owner": owner},
                        {"lease_until": {"$lt": now}},
                        {"lease_owner": None},
                    ],
                },
                {
                    "$set": {
                        "lease_owner": owner,
                        "lease_until": now + timedelta(seconds=seconds),
                    }
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False
        return found is not None and found.get("lease_owner") == owner

    def release_lease(self, adapter, owner):
        self.db[ADAPTER_STATE].update_one(
            {"_id": adapter, "lease_owner": owner},
            {"$set": {"lease_owner": None, "lease_until": None}},
        )

    def bindings(self, adapter):
        found = self.db[ADAPTER_STATE].find_one({"_id": adapter}, {"bindings": 1})
        return list((found or {}).get("bindings") or ())

    def set_bindings(self, adapter, keys):
        self.db[ADAPTER_STATE].update_one(
            {"_id": adapter}, {"$set": {"bindings": list(keys)}}, upsert=True
        )

    # Deliveries ----------------------------------------------------------

    def _new_doc(self, adapter, envelope, routing_key, replayed):
        seq = self._next_seq(adapter)
        return {
            "_id": f"{adapter}:{envelope['id']}",
            "adapter": adapter,
            "event_id": envelope["id"],
            "seq": seq,
            "number": seq,
            "lane": lane_of(envelope),
            "case_id": envelope.get("case_id"),
            "event_type": envelope.get("type"),
            "routing_key": routing_key,
            "envelope": envelope,
            "state": PENDING,
            "attempts": 0,
            "done_transports": [],
            "last_error": "",
            "next_attempt_at": None,
            "replayed": replayed,
            "accepted_at": utcnow(),
        }

    def accept(self, adapter, envelope, routing_key, replayed=False):
        """Record an event for ``adapter``; returns the Item to deliver, or
        None when the event was taken before (a duplicate)."""
        doc = self._new_doc(adapter, envelope, routing_key, replayed)
        try:
            self.db[DELIVERIES].insert_one(doc)
            return _item(doc)
        except DuplicateKeyError:
            pass
        if not replayed:
            return None
        return self._revive(doc, envelope, routing_key)

    def _revive(self, doc, envelope, routing_key):
        # A dead letter sent back by an operator: deliver it again, at the
        # end of its case's lane (the hold keeps the case's order).
        revived = self.db[DELIVERIES].find_one_and_update(
            {"_id": doc["_id"], "state": DEAD},
            {
                "$set": {
                    "state": PENDING,
                    "seq": doc["seq"],
                    "attempts": 0,
                    "replayed": True,
                    "envelope": envelope,
                    "routing_key": routing_key,
                    "next_attempt_at": None,
                },
                "$unset": {"expire_at": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return _item(revived) if revived else None

    def accept_many(self, adapter, entries):
        """``accept`` for a batch of (envelope, routing key, replayed), in one
        round trip when none was seen before; returns Items or None each."""
        docs = [
            self._new_doc(adapter, envelope, routing_key, replayed)
            for envelope, routing_key, replayed in entries
        ]
        if not docs:
            return []
        taken = [True] * len(docs)
        try:
            self.db[DELIVERIES].insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", ()):
                if error.get("code") != DUPLICATE_KEY:
                    raise
                taken[error["index"]] = False
        results = []
        for index, doc in enumerate(docs):
            if taken[index]:
                results.append(_item(doc))
                continue
            envelope, routing_key, replayed = entries[index]
            results.append(
                self._revive(doc, envelope, routing_key) if replayed else None
            )

        return results

    def finish_many(self, finished):
        """Record a batch of deliveries in one transaction, in order: each
        entry is (item, state, receipts, receipt event or None); a
        ``PENDING`` state records a failed attempt (its count, error and
        next time) and the others a finished delivery."""
        operations = [
            UpdateOne(
                {"_id": f"{item.adapter}:{item.event_id}"},
                _attempt_update(item)
                if state == PENDING
                else _done_update(item, state, receipts, self.retention_days),
            )
            for item, state, receipts, _ in finished
        ]
        events = [event for *_, event in finished if event is not None]
        records = []
        with self.client.start_session() as session:
            with session.start_transaction():
                self.db[DELIVERIES].bulk_write(operations, session=session)
                for event in events:
                    records += write_outbox(self.db, event, session=session)
        if self.on_commit is not None and records:
            self.on_commit(records)

    def pending(self, adapter):
        cursor = self.db[DELIVERIES].find({"adapter": adapter, "state": PENDING})
        return [_item(doc) for doc in cursor.sort("seq", ASCENDING)]

    def pending_among(self, adapter, event_ids):
        """The deliveries of ``event_ids`` still pending, in their order."""
        cursor = self.db[DELIVERIES].find(
            {"_id": {"$in": [f"{adapter}:{i}" for i in event_ids]}, "state": PENDING}
        )
        return [_item(doc) for doc in cursor.sort("seq", ASCENDING)]

    def record_attempt(self, item, error, next_attempt_at):
        self.db[DELIVERIES].update_one(
            {"_id": f"{item.adapter}:{item.event_id}"},
            {
                "$set": {
                    "attempts": item.attempts,
                    "done_transports": sorted(item.done_transports),
                    "last_error": error[:2000],
                    "next_attempt_at": next_attempt_at,
                    "last_attempt_at": utcnow(),
                }
            },
        )

    def record_done(self, item, outcome, receipts, receipt_event=None):
        """Mark a delivery done (``DELIVERED`` or ``IGNORED``); the receipt
        event, if any, is written to the outbox in the same transaction."""
        update = {
            "$set": {
                "state": outcome,
                "attempts": item.attempts,
                "done_transports": sorted(item.done_transports),
                "receipts": receipts,
                "finished_at": utcnow(),
                "expire_at": _expiry(self.retention_days),
            },
            # The event stays in the outbox, the event log and the DLQ; the
            # ledger keeps only what it needs to refuse a duplicate.
            "$unset": {"envelope": ""},
        }
        self._finish(item, update, receipt_event)

    def record_dead(self, item, error, receipt_event=None):
        update = {
            "$set": {
                "state": DEAD,
                "attempts": item.attempts,
                "done_transports": sorted(item.done_transports),
                "last_error": error[:2000],
                "finished_at": utcnow(),
                "expire_at": _expiry(self.retention_days),
            },
            "$unset": {"envelope": ""},
        }
        self._finish(item, update, receipt_event)

    def _finish(self, item, update, receipt_event):
        key = {"_id": f"{item.adapter}:{item.event_id}"}
        if receipt_event is None:
            self.db[DELIVERIES].update_one(key, update)
            return
        with self.client.start_session() as session:
            with session.start_transaction():
                self.db[DELIVERIES].update_one(key, update, session=session)
                records = write_outbox(self.db, receipt_event, session=session)
        # Committed: the relay may publish the receipt now rather than at
        # its next sweep.
        if self.on_commit is not None and records:
            self.on_commit(records)

    # Holds ---------------------------------------------------------------

    def held(self, adapter, case_id):
        found = self.db[HOLDS].find_one({"_id": f"{adapter}:{case_id}"})
        return list((found or {}).get("event_ids") or ())

    def hold(self, adapter, case_id, event_id):
        # $addToSet appends at the end when absent: the hold keeps the
        # order in which the case's events failed.
        self.db[HOLDS].update_one(
            {"_id": f"{adapter}:{case_id}"},
            {
                "$addToSet": {"event_ids": event_id},
                "$set": {
                    "adapter": adapter,
                    "case_id": case_id,
                    "updated_at": utcnow(),
                },
            },
            upsert=True,
        )

    def unhold(self, adapter, case_id, event_id):
        self.db[HOLDS].update_one(
            {"_id": f"{adapter}:{case_id}"}, {"$pull": {"event_ids": event_id}}
        )
        self.db[HOLDS].delete_one({"_id": f"{adapter}:{case_id}", "event_ids": []})

    def holds(self, adapter):
        return {
            doc["case_id"]: list(doc.get("event_ids") or ())
            for doc in self.db[HOLDS].find({"adapter": adapter})
        }

    def release(self, adapter, case_id):
        """Forget the hold of a case; returns the event ids it held."""
        found = self.db[HOLDS].find_one_and_delete({"_id": f"{adapter}:{case_id}"})
        return list((found or {}).get("event_ids") or ())

    def stats(self, adapter):
        counts = dict.fromkeys(STATES, 0)
        for row in self.db[DELIVERIES].aggregate(
            [
                {"$match": {"adapter": adapter}},
                {"$group": {"_id": "$state", "n": {"$sum": 1}}},
            ]
        ):
            counts[row["_id"]] = row["n"]
        counts["held_cases"] = self.db[HOLDS].count_documents({"adapter": adapter})
        return counts

    def state_of(self, adapter, event_id):
        found = self.db[DELIVERIES].find_one({"_id": f"{adapter}:{event_id}"})
        return found and found["state"]


def _attempt_update(item):
    return {
        "$set": {
            "attempts": item.attempts,
            "done_transports": sorted(item.done_transports),
            "last_error": item.last_error[:2000],
            "next_attempt_at": item.next_attempt_at,
            "last_attempt_at": utcnow(),
        }
    }


def _done_update(item, state, receipts, retention_days):
    return {
        "$set": {
            "state": state,
            "attempts": item.attempts,
            "done_transports": sorted(item.done_transports),
            "receipts": receipts,
            "finished_at": utcnow(),
            "expire_at": _expiry(retention_days),
        },
        # The event stays in the outbox, the event log and the DLQ; the
        # ledger keeps only what it needs to refuse a duplicate.
        "$unset": {"envelope": ""},
    }


def _item(doc):
    return Item(
        adapter=doc["adapter"],
        event_id=doc["event_id"],
        seq=doc["seq"],
        number=doc.get("number", doc["seq"]),
        lane=doc["lane"],
        case_id=doc.get("case_id"),
        routing_key=doc.get("routing_key", ""),
        envelope=doc.get("envelope") or {},
        state=doc["state"],
        attempts=doc.get("attempts", 0),
        done_transports=list(doc.get("done_transports") or ()),
        last_error=doc.get("last_error", ""),
        next_attempt_at=doc.get("next_attempt_at"),
        replayed=bool(doc.get("replayed")),
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number INTEGER NOT NULL,
    lane TEXT NOT NULL,
    case_id TEXT,
    routing_key TEXT NOT NULL,
    envelope TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    done_transports TEXT NOT NULL DEFAULT '[]',
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT,
    replayed INTEGER NOT NULL DEFAULT 0,
    receipts TEXT,
    accepted_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (adapter, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (adapter, state, seq);
CREATE TABLE IF NOT EXISTS holds (
    adapter TEXT NOT NULL,
    case_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (adapter, case_id, event_id)
);
CREATE TABLE IF NOT EXISTS adapter_state (
    adapter TEXT PRIMARY KEY,
    bindings TEXT NOT NULL DEFAULT '[]'
);
"""


class SqliteLedger:
    """The ledger in a local SQLite file, for an adapter an agency runs.

    One runner process per file: a second one on the same file is refused
    (the lease), since two runners would deliver the same events twice.
    """

    emits_receipts = False

    def __init__(self, path, retention_days=DEFAULT_RETENTION_DAYS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a delivery the runner acknowledged must survive a power cut.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._seq = {}
        self._lease_file = None

    def close(self):
        with self._lock:
            self._db.close()
        if self._lease_file is not None:
            self._lease_file.close()

    def open(self, adapter):
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(seq) FROM deliveries WHERE adapter = ?", (adapter,)
            ).fetchone()
            self._seq[adapter] = row[0] or 0
            cutoff = (utcnow() - timedelta(days=self.retention_days)).isoformat()
            self._db.execute(
                "DELETE FROM deliveries WHERE adapter = ? AND state != ? "
                "AND finished_at < ?",
                (adapter, PENDING, cutoff),
            )

    def acquire(self, adapter, owner, seconds):
        import fcntl

        if self._lease_file is not None:
            return True
        lease = open(self.path.with_suffix(self.path.suffix + ".lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lease.close()
            raise Conflict(
                f"another runner uses {self.path}",
                {"state": "stop the other runner or give another --state file"},
            ) from exc
        self._lease_file = lease
        return True

    def release_lease(self, adapter, owner):
        if self._lease_file is not None:
            self._lease_file.close()
            self._lease_file = None

    def bindings(self, adapter):
        row = self._db.execute(
            "SELECT bindings FROM adapter_state WHERE adapter = ?", (adapter,)
        ).fetchone()
        return json.loads(row[0]) if row else []

    def set_bindings(self, adapter, keys):
        with self._lock:
            self._db.execute(
                "INSERT INTO adapter_state (adapter, bindings) VALUES (?, ?) "
                "ON CONFLICT(adapter) DO UPDATE SET bindings = excluded.bindings",
                (adapter, json.dumps(list(keys))),
            )

    def accept(self, adapter, envelope, routing_key, replayed=False):
        with self._lock:
            self._seq[adapter] = self._seq.get(adapter, 0) + 1
            seq = self._seq[adapter]
            now = utcnow().isoformat()
            try:
                self._db.execute(
                    "INSERT INTO deliveries (adapter, event_id, seq, number, lane, "
                    "case_id, routing_key, envelope, state, replayed, accepted_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        adapter,
                        envelope["id"],
                        seq,
                        seq,
                        lane_of(envelope),
                        envelope.get("case_id"),
                        routing_key,
                        json.dumps(envelope),
                        PENDING,
                        int(replayed),
                        now,
                    ),
                )
                return self._get(adapter, envelope["id"])
            except sqlite3.IntegrityError:
                pass
            if not replayed:
                return None
            cursor = self._db.execute(
                "UPDATE deliveries SET state = ?, seq = ?, attempts = 0, replayed = 1, "
                "envelope = ?, routing_key = ?, next_attempt_at = NULL "
                "WHERE adapter = ? AND event_id = ? AND state = ?",
                (
                    PENDING,
                    seq,
                    json.dumps(envelope),
                    routing_key,
                    adapter,
                    envelope["id"],
                    DEAD,
                ),
            )
            return self._get(adapter, envelope["id"]) if cursor.rowcount else None

    def accept_many(self, adapter, entries):
        with self._lock:
            self._db.execute("BEGIN")
            try:
                results = [
                    self.accept(adapter, envelope, routing_key, replayed)
                    for envelope, routing_key, replayed in entries
                ]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return results

    def finish_many(self, finished):
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for item, state, receipts, _ in finished:
                    if state == PENDING:
                        self.record_attempt(item, item.last_error, item.next_attempt_at)
                    else:
                        self._finish(item, state, "", receipts)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _get(self, adapter, event_id):
        row = self._db.execute(
            "SELECT * FROM deliveries WHERE adapter = ? AND event_id = ?",
            (adapter, event_id),
        ).fetchone()
        return _row_item(row) if row else None

    def pending(self, adapter):
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM deliveries WHERE adapter = ? AND state = ? ORDER BY seq",
                (adapter, PENDING),
            ).fetchall()
        return [_row_item(row) for row in rows]

    def pending_among(self, adapter, event_ids):
        marks = ",".join("?" * len(event_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM deliveries WHERE adapter = ? AND state = ? "
                f"AND event_id IN ({marks}) ORDER BY seq",
                (adapter, PENDING, *event_ids),
            ).fetchall()
        return [_row_item(row) for row in rows]

    def record_attempt(self, item, error, next_attempt_at):
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = ?, done_transports = ?, "
                "last_error = ?, next_attempt_at = ? "
                "WHERE adapter = ? AND event_id = ?",
                (
                    item.attempts,
                    json.dumps(sorted(item.done_transports)),
                    error[:2000],
                    next_attempt_at.isoformat() if next_attempt_at else None,
                    item.adapter,
                    item.event_id,
                ),
            )

    def _finish(self, item, state, error, receipts):
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, done_transports = ?, "
                "last_error = ?, receipts = ?, finished_at = ?, envelope = NULL "
                "WHERE adapter = ? AND event_id = ?",
                (
                    state,
                    item.attempts,
                    json.dumps(sorted(item.done_transports)),
                    error[:2000],
                    json.dumps(receipts),
                    utcnow().isoformat(),
                    item.adapter,
                    item.event_id,
                ),
            )

    def record_done(self, item, outcome, receipts, receipt_event=None):
        self._finish(item, outcome, "", receipts)

    def record_dead(self, item, error, receipt_event=None):
        self._finish(item, DEAD, error, [])

    def held(self, adapter, case_id):
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id FROM holds WHERE adapter = ? AND case_id = ? "
                "ORDER BY position",
                (adapter, case_id),
            ).fetchall()
        return [row[0] for row in rows]

    def hold(self, adapter, case_id, event_id):
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(MAX(position), 0) FROM holds WHERE adapter = ? "
                "AND case_id = ?",
                (adapter, case_id),
            ).fetchone()
            self._db.execute(
                "INSERT OR IGNORE INTO holds (adapter, case_id, event_id, position) "
                "VALUES (?, ?, ?, ?)",
                (adapter, case_id, event_id, row[0] + 1),
            )

    def unhold(self, adapter, case_id, event_id):
        with self._lock:
            self._db.execute(
                "DELETE FROM holds WHERE adapter = ? AND case_id = ? AND event_id = ?",
                (adapter, case_id, event_id),
            )

    def holds(self, adapter):
        found = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT case_id, event_id FROM holds WHERE adapter = ? "
                "ORDER BY case_id, position",
                (adapter,),
            ).fetchall()
        for case_id, event_id in rows:
            found.setdefault(case_id, []).append(event_id)
        return found

    def release(self, adapter, case_id):
        held = self.held(adapter, case_id)
        with self._lock:
            self._db.execute(
                "DELETE FROM holds WHERE adapter = ? AND case_id = ?",
                (adapter, case_id),
            )
        return held

    def stats(self, adapter):
        counts = dict.fromkeys(STATES, 0)
        with self._lock:
            for state, number in self._db.execute(
                "SELECT state, COUNT(*) FROM deliveries WHERE adapter = ? "
                "GROUP BY state",
                (adapter,),
            ):
                counts[state] = number
            counts["held_cases"] = self._db.execute(
                "SELECT COUNT(DISTINCT case_id) FROM holds WHERE adapter = ?",
                (adapter,),
            ).fetchone()[0]
        return counts

    def state_of(self, adapter, event_id):
        item = self._get(adapter, event_id)
        return item and item.state


def _row_item(row):
    next_at = row["next_attempt_at"]
    return Item(
        adapter=row["adapter"],
        event_id=row["event_id"],
        seq=row["seq"],
        number=row["number"],
        lane=row["lane"],
        case_id=row["case_id"],
        routing_key=row["routing_key"],
        envelope=json.loads(row["envelope"]) if row["envelope"] else {},
        state=row["state"],
        attempts=row["attempts"],
        done_transports=json.loads(row["done_transports"] or "[]"),
        last_error=row["last_error"] or "",
        next_attempt_at=datetime.fromisoformat(next_at).astimezone(UTC)
        if next_at
        else None,
        replayed=bool(row["replayed"]),
    )
