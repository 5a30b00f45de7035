"""The event log: every event on the bus, once, in order of arrival, chained.

DESIGN.md asks for an append-only log in which tampering is detectable. Each
entry holds a sequence number, the event as received, and the SHA-256 of the
previous entry; its own hash is the SHA-256 of a canonical JSON of all its
fields. Changing one stored field breaks that entry's hash; removing an
entry leaves a gap in the sequence and breaks the next entry's link. The
entry also keeps a short digest of each field, so that ``verify`` can say
which field was changed, not only which entry.

Appends are single-writer: the sequence number is the entry's ``_id`` and the
chain head is moved with a compare-and-set in the same transaction, so two
writers (workers of one service, or two instances of it) can never give two
entries the same number or link two entries to one predecessor: the loser
of a race re-reads the head and tries again. Nothing in the product updates
or deletes an entry; the collection is written only here.

Shortcoming: a writer with direct database access who rewrites every entry
from some point to the end, and the head, leaves a consistent chain. The
head is therefore also written into each generated report (``report.generated``
and the document itself), and ``verify`` checks those anchors.
"""

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from phoihop.logging import get_logger
from phoihop.store import is_transient

log = get_logger(__name__)

LOG_COLLECTION = "event_log"
META_COLLECTION = "event_log_meta"
HEAD_ID = "head"

# The link of the first entry: there is no previous one.
GENESIS_HASH = "0" * 64

# Hex digits kept of each field digest: enough to tell which field changed;
# the entry hash, not the digests, is what makes tampering detectable.
DIGEST_LENGTH = 12

# Entries read per round trip when scanning the log.
SCAN_BATCH = 2000

# Attempts to append when another writer keeps winning the race.
APPEND_ATTEMPTS = 50

# Entry fields that are not hashed: the hash itself and the storage key
# (which must equal ``seq``; verify checks that separately).
_UNHASHED = ("_id", "hash")

INDEXES = {
    LOG_COLLECTION: [
        # Ranges of the log are read by ``seq``: some servers scan the whole
        # collection for a range of ``_id`` but use this index.
        IndexModel([("seq", ASCENDING)], name="seq", unique=True),
        IndexModel([("event_id", ASCENDING)], name="event_id", unique=True),
        IndexModel([("case_id", ASCENDING)], name="case"),
        IndexModel([("type", ASCENDING), ("occurred_at", ASCENDING)], name="type_time"),
    ],
}


def to_millis(value):
    """An aware UTC datetime truncated to milliseconds, as BSON stores it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)

    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _canonical(value):
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, datetime):
        stamp = to_millis(value)
        return (
            stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        )
    return value


def canonical_json(value):
    """The bytes that are hashed: sorted keys, no spaces, UTF-8, datetimes
    as ISO strings to the millisecond (what survives a round trip through
    the database)."""
    return json.dumps(
        _canonical(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def entry_hash(entry):
    """SHA-256 of the canonical JSON of an entry, without ``hash``/``_id``."""
    body = {key: value for key, value in entry.items() if key not in _UNHASHED}
    return sha256_hex(canonical_json(body))


def _field_values(entry):
    """The fields that get a digest: the entry's own, then each envelope
    field, then each payload field, by dotted path."""
    values = {}
    for key, value in entry.items():
        if key in (*_UNHASHED, "digests", "event"):
            continue
        values[key] = value
    event = entry.get("event")
    if isinstance(event, dict):
        for key, value in event.items():
            if key == "payload" and isinstance(value, dict):
                for name, item in value.items():
                    values[f"event.payload.{name}"] = item
            else:
                values[f"event.{key}"] = value
    else:
        values["event"] = event

    return values


def field_digests(entry):
    return {
        path: sha256_hex(canonical_json(value))[:DIGEST_LENGTH]
        for path, value in _field_values(entry).items()
    }


def envelope_for_log(event):
    """The event as the log keeps it: JSON-safe, ``occurred_at`` a string."""
    envelope = dict(event)
    occurred = envelope.get("occurred_at")
    if isinstance(occurred, datetime):
        envelope["occurred_at"] = occurred.astimezone(UTC).isoformat()
    envelope["id"] = str(envelope["id"])

    return envelope


def _parse_time(value):
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_duplicate(exc):
    """Whether a bulk insert failed only on a unique key (code 11000)."""
    errors = (exc.details or {}).get("writeErrors") or []
    return bool(errors) and all(error.get("code") == 11000 for error in errors)


def make_entry(event, seq, prev_hash, recorded_at):
    """Build the entry for ``event`` at position ``seq`` after ``prev_hash``."""
    envelope = envelope_for_log(event)
    payload = envelope.get("payload") or {}
    entry = {
        "_id": seq,
        "seq": seq,
        "event_id": envelope["id"],
        "type": envelope["type"],
        "case_id": envelope.get("case_id") or payload.get("case_id"),
        "occurred_at": to_millis(_parse_time(envelope["occurred_at"])),
        "recorded_at": to_millis(recorded_at),
        "classification": envelope.get("classification") or "public",
        "event": envelope,
        "prev_hash": prev_hash,
    }
    entry["digests"] = field_digests(entry)
    entry["hash"] = entry_hash(entry)

    return entry


@dataclass
class Head:
    seq: int
    hash: str

    def to_dict(self):
        return {"seq": self.seq, "hash": self.hash}


class _HeadMoved(Exception):
    """Another writer appended since this one read the head."""


@dataclass
class _Request:
    """One event waiting to be appended, and what came of it."""

    event: dict
    recorded_at: datetime
    result: tuple | None = None
    error: Exception | None = None


class EventLog:
    """Append to and read the log of one service database.

    One instance per process: it keeps the head it last wrote and a lock, so
    the workers of a process append in turn (in groups) without racing each
    other; the database constraints keep other processes from forking the
    chain.
    """

    def __init__(self, db):
        self.db = db
        self.entries = db[LOG_COLLECTION]
        self.meta = db[META_COLLECTION]
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue = []
        self._head = None

    def head(self):
        """The last entry's sequence number and hash (0 and genesis if none)."""
        doc = self.meta.find_one({"_id": HEAD_ID})
        if doc is None:
            return Head(0, GENESIS_HASH)
        return Head(doc["seq"], doc["hash"])

    def append(self, event, recorded_at=None):
        """Log ``event`` once; returns ``(entry, created)``.

        An event already in the log (same id: a redelivery, or the
        ``agency.*`` copy of an event) is not logged again; the stored entry
        is returned with ``created`` False.

        Appends are committed in groups: while one caller writes, the others
        queue up, and the next to get the lock writes every queued event in
        one transaction (in the order they queued). Each caller returns once
        its own event is committed.
        """
        request = _Request(event, recorded_at or datetime.now(UTC))
        with self._queue_lock:
            self._queue.append(request)
        with self._lock:
            if request.result is None and request.error is None:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._write_batch(batch)
                except Exception as exc:
                    for item in batch:
                        item.error = exc
        if request.error is not None:
            raise request.error

        return request.result

    def _write_batch(self, batch):
        for _ in range(APPEND_ATTEMPTS):
            ids = list(dict.fromkeys(str(item.event["id"]) for item in batch))
            existing = {}
            for start in range(0, len(ids), 100):
                for doc in self.entries.find(
                    {"event_id": {"$in": ids[start : start + 100]}}
                ):
                    existing[doc["event_id"]] = doc
            if self._head is None:
                self._head = self.head()

            head = self._head
            entries, results = [], {}
            for item in batch:
                event_id = str(item.event["id"])
                if event_id in existing or event_id in results:
                    continue
                entry = make_entry(
                    item.event, head.seq + 1, head.hash, item.recorded_at
                )
                head = Head(entry["seq"], entry["hash"])
                entries.append(entry)
                results[event_id] = entry
            if entries:
                try:
                    self._write(entries, self._head)
                except (DuplicateKeyError, _HeadMoved):
                    # Another writer took these numbers (or logged one of
                    # these events): read the head again and retry.
                    self._head = None
                    continue
                except BulkWriteError as exc:
                    if not _is_duplicate(exc):
                        raise
                    self._head = None
                    continue
                except PyMongoError as exc:
                    # A write conflict with another writer's transaction, or
                    # a commit whose outcome is unknown: the retry reads the
                    # head again, and finds the events if they were committed.
                    if not is_transient(exc) and not exc.has_error_label(
                        "UnknownTransactionCommitResult"
                    ):
                        raise
                    self._head = None
                    continue
                self._head = head

            created = set()
            for item in batch:
                event_id = str(item.event["id"])
                if event_id in results and event_id not in created:
                    created.add(event_id)
                    item.result = (results[event_id], True)
                else:
                    item.result = (existing.get(event_id) or results[event_id], False)
            return

        raise RuntimeError(
            f"{len(batch)} events could not be logged after {APPEND_ATTEMPTS} "
            "attempts: other writers kept appending first"
        )

    def _write(self, entries, head):
        last = entries[-1]
        client = self.db.client
        with client.start_session() as session:
            with session.start_transaction():
                self.entries.insert_many(entries, ordered=True, session=session)
                update = {
                    "$set": {
                        "seq": last["seq"],
                        "hash": last["hash"],
                        "updated_at": last["recorded_at"],
                    }
                }
                if head.seq == 0:
                    # The first entry creates the head; a second writer's
                    # insert of the same _id fails with DuplicateKeyError.
                    self.meta.insert_one(
                        {"_id": HEAD_ID, **update["$set"]}, session=session
                    )
                    return
                moved = self.meta.update_one(
                    {"_id": HEAD_ID, "seq": head.seq, "hash": head.hash},
                    update,
                    session=session,
                )
                if moved.matched_count != 1:
                    raise _HeadMoved(head.seq)

    def entries_after(self, seq, limit=SCAN_BATCH):
        """Entries with sequence numbers in ``(seq, seq + limit]``, in order.

        The range is bounded on both sides so that the query is an index
        range scan, never a sort of the whole collection.
        """
        found = list(self.entries.find({"seq": {"$gt": seq, "$lte": seq + limit}}))
        found.sort(key=lambda entry: entry["_id"])

        return found

    def scan(self, after=0, upto=None, batch=SCAN_BATCH):
        """Every entry after ``after`` up to ``upto`` (default: the head)."""
        upto = self.head().seq if upto is None else upto
        cursor = after
        while cursor < upto:
            chunk = self.entries_after(cursor, min(batch, upto - cursor))
            yield from chunk
            cursor += batch

    def case_timeline(self, case_id):
        """The entries of one case, in log order."""
        found = list(self.entries.find({"case_id": case_id}))
        found.sort(key=lambda entry: entry["_id"])

        return found

    def of_types(self, types, start, end, projection=None):
        """Entries of the given types whose event occurred in ``[start, end)``."""
        for kind in types:
            yield from self.entries.find(
                {"type": kind, "occurred_at": {"$gte": start, "$lt": end}},
                projection,
            )

    def count(self):
        return self.head().seq


@dataclass
class Problem:
    """One place where the log is not what was appended."""

    seq: int
    kind: str  # changed | removed | relinked | misplaced | head | anchor
    message: str
    event_id: str | None = None
    event_type: str | None = None
    fields: list = field(default_factory=list)

    def to_dict(self):
        return {
            "seq": self.seq,
            "kind": self.kind,
            "message": self.message,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "fields": list(self.fields),
        }


@dataclass
class Verification:
    ok: bool
    checked: int
    head: Head
    problems: list

    @property
    def first(self):
        return self.problems[0] if self.problems else None

    def to_dict(self):
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": self.head.to_dict(),
            "first_problem": self.first.to_dict() if self.first else None,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def changed_fields(entry):
    """Paths whose stored digest no longer matches the stored value.

    Digests are compared on the stored length, so entries written with
    another ``DIGEST_LENGTH`` are still read right.
    """
    stored = entry.get("digests") or {}
    current = {
        path: sha256_hex(canonical_json(value))
        for path, value in _field_values(entry).items()
    }
    paths = sorted(set(stored) | set(current))

    return [
        path
        for path in paths
        if path not in stored
        or path not in current
        or not current[path].startswith(str(stored[path]))
    ]


def _check_entry(entry, prev_hash):
    """Problems of one entry; ``prev_hash`` is None after a gap, whose
    problem has been reported already."""
    problems = []
    seq = entry.get("_id")
    ids = {"event_id": entry.get("event_id"), "event_type": entry.get("type")}
    if entry.get("seq") != seq:
        problems.append(
            Problem(
                seq,
                "changed",
                f"entry {seq} says it is number {entry.get('seq')}",
                fields=["seq"],
                **ids,
            )
        )
    if entry_hash(entry) != entry.get("hash"):
        paths = changed_fields(entry) or ["hash"]
        problems.append(
            Problem(
                seq,
                "changed",
                f"entry {seq} was changed after it was logged: {', '.join(paths)}",
                fields=paths,
                **ids,
            )
        )
    if prev_hash is not None and entry.get("prev_hash") != prev_hash:
        problems.append(
            Problem(
                seq,
                "relinked",
                f"entry {seq} does not link to entry {seq - 1}: that entry's hash "
                "was changed, or the chain was rewritten from here",
                fields=["prev_hash"],
                **ids,
            )
        )
    event = entry.get("event") or {}
    for key, event_key in (("event_id", "id"), ("type", "type")):
        if entry.get(key) != event.get(event_key):
            problems.append(
                Problem(
                    seq,
                    "changed",
                    f"entry {seq}: {key} differs from the event",
                    fields=[key],
                    **ids,
                )
            )

    return problems


def verify(db, anchors=(), max_problems=20, batch=SCAN_BATCH):
    """Walk the whole chain; return a ``Verification`` naming what is broken.

    ``anchors`` are ``(seq, hash)`` pairs recorded outside the log (in
    generated reports): each must still be the entry at that position.
    """
    log_ = EventLog(db)
    head = log_.head()
    last = db[LOG_COLLECTION].find_one({"seq": {"$gt": head.seq}}, {"_id": 1})
    upto = head.seq
    problems = []
    if last is not None:
        beyond = db[LOG_COLLECTION].count_documents({"seq": {"$gt": head.seq}})
        upto = head.seq + beyond
        problems.append(
            Problem(
                head.seq + 1,
                "head",
                f"{beyond} entries lie beyond the recorded head {head.seq}",
            )
        )

    prev_hash = GENESIS_HASH
    expected = 1
    checked = 0
    hashes = {}
    anchor_map = {int(seq): value for seq, value in anchors}
    cursor = 0
    while cursor < upto and len(problems) < max_problems:
        chunk = log_.entries_after(cursor, min(batch, upto - cursor))
        for entry in chunk:
            seq = entry["_id"]
            if seq > expected:
                missing = (
                    f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
                )
                problems.append(
                    Problem(
                        expected, "removed", f"entry {missing} was removed from the log"
                    )
                )
            problems.extend(_check_entry(entry, prev_hash if seq == expected else None))
            if seq in anchor_map and anchor_map[seq] != entry.get("hash"):
                problems.append(
                    Problem(
                        seq,
                        "anchor",
                        f"entry {seq} differs from the hash a report recorded for it",
                        event_id=entry.get("event_id"),
                    )
                )
            prev_hash = entry.get("hash")
            hashes[seq] = prev_hash
            expected = seq + 1
            checked += 1
        cursor += batch

    if expected <= upto and len(problems) < max_problems:
        problems.append(
            Problem(expected, "removed", f"entries {expected}-{upto} were removed")
        )
    if last is None and head.seq and prev_hash != head.hash and not problems:
        problems.append(
            Problem(head.seq, "head", "the last entry's hash differs from the head")
        )
    for seq in anchor_map:
        if seq > upto:
            problems.append(
                Problem(
                    seq,
                    "anchor",
                    f"a report recorded entry {seq}, beyond the "
                    "end of the log: entries were removed from the end",
                )
            )

    problems.sort(key=lambda problem: problem.seq)
    result = Verification(not problems, checked, head, problems[:max_problems])
    log.info("event_log_verified", ok=result.ok, checked=checked, head=head.seq)

    return result
