"""The projections of the event log: case board, deadlines and counters.

The projections are a fold of the log (``fold.py``) kept current by the
``Projector``: it applies the entries after its cursor, in log order, and
moves the cursor in the same transaction as the changes, so a crash never
applies an entry twice or skips one. Several instances of the service may
run the projector: the cursor is moved with a compare-and-set, and the
loser of a race applies nothing.

Collections, per generation ``g`` of the projections:

- ``proj<g>_board``: one document per case (state, agencies, lead,
  deadlines, last event, categories, channel, classification, title);
- ``proj<g>_deadlines``: one document per deadline, including the 2-hour
  initial information of Art. 7.6.d (from ``deadline.*`` and ``press.*``);
- ``proj<g>_counters``: one document counting cases per state, category,
  channel and agency, and deadlines per status and owner, kept by adding
  each batch's difference (one ``$inc``), so per-agency workload and board
  counts are read, not computed.

``rebuild()`` folds the whole log into a new generation while the live one
keeps serving, catches up, and switches over in one step; the old
generation is then dropped. ``compare()`` lists the differences between two
generations (a rebuild run with ``switch=False`` and the live one).
"""

import time
from collections import Counter
from dataclasses import dataclass, field

from pymongo import (
    ASCENDING,
    DESCENDING,
    IndexModel,
    InsertOne,
    ReplaceOne,
    UpdateOne,
)
from pymongo.errors import DuplicateKeyError, PyMongoError

from phoihop.logging import get_logger
from phoihop.store import is_transient

from .eventlog import EventLog
from .fold import (
    apply_to_case,
    apply_to_deadline,
    case_contributions,
    deadline_contributions,
    deadline_id_of,
    new_case,
    new_deadline,
    search_words,
)

log = get_logger(__name__)

# The shape of the projections this version folds: 2 added the board's
# search words and their index. A live generation of an older shape is
# brought up to it when reporting starts (``Projector.upgrade``).
SHAPE = 2

META_COLLECTION = "projection_meta"
CURRENT_ID = "current"
COUNTERS_ID = "board"

# Entries applied per transaction by the live projector.
LIVE_BATCH = 500
# Entries read per round trip during a rebuild.
REBUILD_BATCH = 5000
# Documents kept in memory during a rebuild before the cache is emptied.
REBUILD_CACHE = 50_000
# Conflicting batches in a row before the projector gives up (and retries
# from its loop after a pause).
MAX_CONFLICTS = 50
# Ids per ``$in`` query: bigger lists are slow on some servers.
IN_BATCH = 100


def _board_indexes():
    return [
        IndexModel([("state", ASCENDING), ("last_event.at", DESCENDING)], name="state"),
        IndexModel([("agency_codes", ASCENDING)], name="agencies"),
        IndexModel([("categories", ASCENDING)], name="categories"),
        IndexModel([("opened_at", ASCENDING)], name="opened_at"),
        IndexModel([("last_event.at", DESCENDING)], name="last_event"),
        IndexModel([("next_due_at", ASCENDING)], name="next_due"),
        IndexModel([("search_words", ASCENDING)], name="search_words"),
    ]


def _deadline_indexes():
    return [
        IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="status_due"),
        IndexModel([("due_at", ASCENDING)], name="due_at"),
        IndexModel([("case_id", ASCENDING)], name="case"),
        IndexModel([("owner_agency", ASCENDING), ("due_at", ASCENDING)], name="owner"),
    ]


class ProjectionSet:
    """The collections of one generation of the projections."""

    def __init__(self, db, generation):
        self.db = db
        self.generation = generation
        prefix = f"proj{generation}_"
        self.board = db[prefix + "board"]
        self.deadlines = db[prefix + "deadlines"]
        self.counters = db[prefix + "counters"]

    def ensure_indexes(self):
        self.board.create_indexes(_board_indexes())
        self.deadlines.create_indexes(_deadline_indexes())

    def drop(self):
        for collection in (self.board, self.deadlines, self.counters):
            collection.drop()

    def counts(self):
        """Non-zero counters as a dict."""
        doc = self.counters.find_one({"_id": COUNTERS_ID}) or {}
        return {
            unescape_key(key): value
            for key, value in (doc.get("n") or {}).items()
            if value
        }


def escape_key(key):
    """A counter name as a field name: no "." (a path) and no leading "$"."""
    return key.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def unescape_key(key):
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def _in_batches(values, size=IN_BATCH):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Fold:
    """Applies entries to cached documents and tracks what must be written.

    ``before`` holds each loaded document's contribution to the counters as
    it is stored, so that writing the changed documents also adds the exact
    difference to the counters.
    """

    def __init__(self, projection):
        self.projection = projection
        self.cases = {}
        self.deadlines = {}
        self.before = {}
        self.dirty_cases = set()
        self.dirty_deadlines = set()
        self.known_cases = None
        self.known_deadlines = None

    def load(self, entries):
        """Fetch the stored documents the entries will touch."""
        case_ids = {entry["case_id"] for entry in entries if entry.get("case_id")}
        deadline_ids = {deadline_id_of(entry) for entry in entries} - {None}
        self._load(case_ids - set(self.cases), "case")
        self._load(deadline_ids - set(self.deadlines), "deadline")

    def _load(self, ids, kind):
        known = self.known_cases if kind == "case" else self.known_deadlines
        if known is not None:
            # During a rebuild the set of ids already written is known:
            # only those can be in the database.
            ids = {item for item in ids if item in known}
        collection = (
            self.projection.board if kind == "case" else self.projection.deadlines
        )
        target = self.cases if kind == "case" else self.deadlines
        contribute = case_contributions if kind == "case" else deadline_contributions
        for chunk in _in_batches(ids):
            for doc in collection.find({"_id": {"$in": chunk}}):
                target[doc["_id"]] = doc
                self.before[(kind, doc["_id"])] = contribute(doc)

    def apply(self, entry):
        case_id = entry.get("case_id")
        if case_id:
            doc = self.cases.get(case_id)
            if doc is None:
                doc = self.cases[case_id] = new_case(case_id)
                self.before[("case", case_id)] = Counter()
            apply_to_case(doc, entry)
            self.dirty_cases.add(case_id)
        deadline_id = deadline_id_of(entry)
        if deadline_id:
            record = self.deadlines.get(deadline_id)
            if record is None:
                record = self.deadlines[deadline_id] = new_deadline(deadline_id)
                self.before[("deadline", deadline_id)] = Counter()
            apply_to_deadline(record, entry)
            self.dirty_deadlines.add(deadline_id)

    def _op(self, doc, known):
        if known is not None and doc["_id"] not in known:
            # A rebuild writes a document it has not written before: insert.
            return InsertOne(doc)
        return ReplaceOne({"_id": doc["_id"]}, doc, upsert=True)

    def writes(self):
        """The board, deadline and counter writes for the dirty documents."""
        counters = Counter()
        board_ops = []
        for case_id in sorted(self.dirty_cases):
            doc = self.cases[case_id]
            after = case_contributions(doc)
            counters.update(after)
            counters.subtract(self.before[("case", case_id)])
            self.before[("case", case_id)] = after
            board_ops.append(self._op(doc, self.known_cases))
        deadline_ops = []
        for deadline_id in sorted(self.dirty_deadlines):
            record = self.deadlines[deadline_id]
            after = deadline_contributions(record)
            counters.update(after)
            counters.subtract(self.before[("deadline", deadline_id)])
            self.before[("deadline", deadline_id)] = after
            deadline_ops.append(self._op(record, self.known_deadlines))
        increments = {
            f"n.{escape_key(key)}": value
            for key, value in sorted(counters.items())
            if value
        }
        counter_ops = (
            [UpdateOne({"_id": COUNTERS_ID}, {"$inc": increments}, upsert=True)]
            if increments
            else []
        )
        if self.known_cases is not None:
            self.known_cases.update(self.dirty_cases)
            self.known_deadlines.update(self.dirty_deadlines)
        self.dirty_cases.clear()
        self.dirty_deadlines.clear()

        return board_ops, deadline_ops, counter_ops

    def forget(self):
        self.cases.clear()
        self.deadlines.clear()
        self.before.clear()


def _write(projection, board_ops, deadline_ops, counter_ops, session=None):
    if board_ops:
        projection.board.bulk_write(board_ops, ordered=False, session=session)
    if deadline_ops:
        projection.deadlines.bulk_write(deadline_ops, ordered=False, session=session)
    if counter_ops:
        projection.counters.bulk_write(counter_ops, ordered=False, session=session)


class _CursorMoved(Exception):
    """Another projector applied these entries first, or a rebuild
    switched generations."""


@dataclass
class RebuildResult:
    generation: int
    entries: int
    cases: int
    deadlines: int
    seconds: float
    switched: bool
    differences: list = field(default_factory=list)

    def to_dict(self):
        return {
            "generation": self.generation,
            "entries": self.entries,
            "cases": self.cases,
            "deadlines": self.deadlines,
            "seconds": round(self.seconds, 3),
            "switched": self.switched,
            "differences": self.differences[:50],
        }


class Projector:
    """Keeps the projections of one database current with its event log."""

    def __init__(self, db, event_log=None, batch=LIVE_BATCH):
        self.db = db
        self.log = event_log or EventLog(db)
        self.meta = db[META_COLLECTION]
        self.batch = batch

    def current(self):
        """The live generation and the last entry applied to it."""
        doc = self.meta.find_one({"_id": CURRENT_ID})
        if doc is None:
            ProjectionSet(self.db, 1).ensure_indexes()
            try:
                self.meta.insert_one(
                    {
                        "_id": CURRENT_ID,
                        "generation": 1,
                        "seq": 0,
                        "next_generation": 2,
                        "shape": SHAPE,
                    }
                )
            except DuplicateKeyError:
                pass
            doc = self.meta.find_one({"_id": CURRENT_ID})
        return doc

    def projection(self):
        return ProjectionSet(self.db, self.current()["generation"])

    def upgrade(self, chunk=1000):
        """Bring the live generation to this version's shape: the indexes
        added since it was built, and the board's search words on cases
        folded before they existed. Returns how many cases were completed.

        The meta document records the shape reached, so that a start on a
        board already in shape does not read every case again."""
        current = self.current()
        if current.get("shape", 0) >= SHAPE:
            return 0
        projection = ProjectionSet(self.db, current["generation"])
        projection.ensure_indexes()
        missing = projection.board.find(
            {"search_words": {"$exists": False}}, {"search": 1}
        )
        done, ops = 0, []
        for doc in missing:
            words = search_words(doc.get("search") or "")
            ops.append(
                UpdateOne({"_id": doc["_id"]}, {"$set": {"search_words": words}})
            )
            if len(ops) == chunk:
                done += projection.board.bulk_write(ops, ordered=False).modified_count
                ops = []
        if ops:
            done += projection.board.bulk_write(ops, ordered=False).modified_count
        self.meta.update_one(
            {"_id": CURRENT_ID, "generation": current["generation"]},
            {"$set": {"shape": SHAPE}},
        )
        log.info("projection_upgraded", shape=SHAPE, search_words=done)
        return done

    def lag(self):
        """Entries logged but not yet applied to the live projections."""
        return max(0, self.log.head().seq - self.current()["seq"])

    def catch_up(self, max_entries=None):
        """Apply the entries after the cursor; returns how many were applied."""
        applied = 0
        conflicts = 0
        while max_entries is None or applied < max_entries:
            current = self.current()
            entries = self.log.entries_after(current["seq"], self.batch)
            if not entries:
                break
            try:
                self._apply_live(current, entries)
            except (_CursorMoved, PyMongoError) as exc:
                # Another projector applied these entries, or its transaction
                # touched the same documents: nothing of this batch was
                # written; read the cursor again.
                if isinstance(exc, PyMongoError) and not is_transient(exc):
                    raise
                conflicts += 1
                if conflicts > MAX_CONFLICTS:
                    raise
                continue
            conflicts = 0
            applied += len(entries)

        return applied

    def _apply_live(self, current, entries):
        projection = ProjectionSet(self.db, current["generation"])
        fold = Fold(projection)
        fold.load(entries)
        for entry in entries:
            fold.apply(entry)
        writes = fold.writes()

        with self.db.client.start_session() as session:
            with session.start_transaction():
                moved = self.meta.update_one(
                    {
                        "_id": CURRENT_ID,
                        "generation": current["generation"],
                        "seq": current["seq"],
                    },
                    {"$set": {"seq": entries[-1]["_id"]}},
                    session=session,
                )
                if moved.matched_count != 1:
                    raise _CursorMoved(current["seq"])
                _write(projection, *writes, session=session)

    def rebuild(self, switch=True, compare=False):
        """Fold the whole log into a new generation.

        With ``switch``, the new generation replaces the live one (which is
        then dropped); without it, the new one is kept aside and, with
        ``compare``, its differences from the live one are listed and it is
        dropped.
        """
        started = time.monotonic()
        current = self.current()
        generation = self.meta.find_one_and_update(
            {"_id": CURRENT_ID}, {"$inc": {"next_generation": 1}}
        )["next_generation"]
        projection = ProjectionSet(self.db, generation)
        projection.drop()
        projection.ensure_indexes()
        log.info("projection_rebuild_started", generation=generation)

        fold = Fold(projection)
        fold.known_cases, fold.known_deadlines = set(), set()
        cursor = 0
        entries_applied = 0
        while True:
            entries = self.log.entries_after(cursor, REBUILD_BATCH)
            if not entries:
                if self.log.head().seq > cursor:
                    # A gap (a removed entry): skip it; verify reports it.
                    cursor += REBUILD_BATCH
                    continue
                break
            fold.load(entries)
            for entry in entries:
                fold.apply(entry)
            _write(projection, *fold.writes())
            cursor = entries[-1]["_id"]
            entries_applied += len(entries)
            if len(fold.cases) + len(fold.deadlines) > REBUILD_CACHE:
                fold.forget()

        result = RebuildResult(
            generation=generation,
            entries=entries_applied,
            cases=len(fold.known_cases),
            deadlines=len(fold.known_deadlines),
            seconds=0.0,
            switched=False,
        )
        if switch:
            self._switch(current["generation"], projection, cursor)
            result.switched = True
        elif compare:
            result.differences = compare_projections(
                ProjectionSet(self.db, current["generation"]), projection
            )
            projection.drop()
        result.seconds = time.monotonic() - started
        log.info(
            "projection_rebuilt",
            generation=generation,
            entries=entries_applied,
            cases=result.cases,
            switched=result.switched,
            seconds=round(result.seconds, 2),
        )

        return result

    def _switch(self, old_generation, projection, cursor):
        """Make ``projection`` the live one, applied up to ``cursor``.

        Entries logged during the rebuild are applied to the new generation
        by the live projector after the switch, from ``cursor`` on.
        """
        while True:
            current = self.current()
            moved = self.meta.update_one(
                {"_id": CURRENT_ID, "generation": current["generation"]},
                {
                    "$set": {
                        "generation": projection.generation,
                        "seq": cursor,
                        "shape": SHAPE,
                    }
                },
            )
            if moved.matched_count == 1:
                break
        if current["generation"] != projection.generation:
            ProjectionSet(self.db, current["generation"]).drop()
        if old_generation not in (current["generation"], projection.generation):
            ProjectionSet(self.db, old_generation).drop()


def compare_projections(left, right, limit=100):
    """Differences between two generations: board, deadlines and counters."""
    differences = []
    for name in ("board", "deadlines"):
        a = {doc["_id"]: doc for doc in getattr(left, name).find()}
        b = {doc["_id"]: doc for doc in getattr(right, name).find()}
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                side = "live" if key in a else "rebuilt"
                differences.append(f"{name} {key}: only in the {side} projection")
            elif a[key] != b[key]:
                fields = sorted(
                    name
                    for name in set(a[key]) | set(b[key])
                    if a[key].get(name) != b[key].get(name)
                )
                differences.append(f"{name} {key}: differs in {', '.join(fields)}")
            if len(differences) >= limit:
                return differences
    counts_a, counts_b = left.counts(), right.counts()
    for key in sorted(set(counts_a) | set(counts_b)):
        if counts_a.get(key, 0) != counts_b.get(key, 0):
            differences.append(
                f"counter {key}: live {counts_a.get(key, 0)}, "
                f"rebuilt {counts_b.get(key, 0)}"
            )
    return differences[:limit]
