"""Durable deadlines for every service: set, remind, overdue, met, cancelled.

A deadline is a document in the owning service's database (collection
``deadlines``). A timer greenthread, started with the container, fires
``deadline.due_soon`` at each configured reminder and ``deadline.overdue`` at
the due time. Each firing marks the deadline and writes its event to the
outbox in ONE transaction, guarded by the deadline's ``next_fire_at``: a
restart (or a second instance of the service) can neither lose a firing nor
fire it twice. A deadline whose reminders were missed while the service was
down fires the most recent one on start, or ``overdue`` if the due time has
passed. Firing is within a second of the due time (the loop sleeps until the
earliest ``next_fire_at``, and polls at most ``poll_seconds`` apart for
deadlines set by other instances).

Durations are configuration per kind and severity, in the service's section
(``deadlines:``, see ``DeadlinePolicySchema``)::

    deadlines:
      reminders_minutes: [60, 30]       # default reminders before due time
      kinds:
        verification:
          duration: 3wd                 # s, m, h, d or wd (working days)
          by_severity: {critical: 4h, high: 1wd}
          article: "7.1.c"

Working days follow ``phoihop.calendar`` (Vietnamese public holidays).

Use in a service::

    from phoihop.deadlines import Deadlines

    class PressService(ServiceBase):
        store = Store()
        deadlines = Deadlines(kinds={"initial_info": {"duration": "2h",
                                                      "article": "7.6.d"}})

        @subscribe("case.assigned")
        def handle_case_assigned(self, event):
            with self.store.transaction() as tx:
                self.deadlines.set(
                    tx, "initial_info", subject=("case", event["case_id"]),
                    owner_agency="dept-health", severity="high",
                    case_id=event["case_id"], start=incident_at)

    # when the awaited step happens (same transaction as the step itself):
    self.deadlines.meet(tx, kind="initial_info", subject=("case", case_id))
    # when it no longer applies:
    self.deadlines.cancel(tx, subject=("case", case_id), reason="case merged")

Worker API (``tx`` may be None: the call then runs in its own transaction):

- ``set(tx, kind, *, subject, owner_agency, severity=None, case_id=None,
  start=None, due_at=None, classification="internal", reminders_minutes=None,
  replace=False)`` -> deadline dict; emits ``deadline.set``. An open deadline
  of the same kind, subject and owner is returned as it is (idempotent), or
  cancelled and replaced when ``replace=True``.
- ``meet(tx, *, deadline_id=None, kind=None, subject=None, owner_agency=None,
  reason="")`` -> list of deadlines met; emits ``deadline.met`` (with
  ``late``) for each open one that matches.
- ``cancel(tx, *, deadline_id=None, kind=None, subject=None,
  owner_agency=None, reason)`` -> list; emits ``deadline.cancelled``.
- ``get(deadline_id)``, ``list(state=None, kind=None, owner_agency=None,
  case_id=None, subject_type=None, subject_id=None, due_before=None,
  due_after=None, limit=200)`` -> JSON-safe dicts.
- ``due_at(kind, severity=None, start=None)`` -> the due time the policy
  gives, without storing anything.

Every ``deadline.*`` event is also published as
``agency.<owner>.deadline.*`` and carries the case's classification.
"""

import re
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, IndexModel
from pymongo.errors import InvalidOperation, PyMongoError

from phoihop.calendar import default_calendar
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import ConfigError, Conflict, NotFound, ValidationError
from phoihop.logging import get_logger
from phoihop.store import (
    CTX_ACTOR,
    CTX_CASE_ID,
    CTX_CORRELATION_ID,
    ServiceStore,
    Store,
    apply_indexes,
    is_transient,
    utcnow,
)

log = get_logger(__name__)

COLLECTION = "deadlines"

PENDING = "pending"
OVERDUE = "overdue"
MET = "met"
CANCELLED = "cancelled"
OPEN_STATES = (PENDING, OVERDUE)
STATES = (PENDING, OVERDUE, MET, CANCELLED)

SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_REMINDERS_MINUTES = (60.0, 30.0)
DEFAULT_POLL_SECONDS = 0.5
FIRE_BATCH = 100

SYSTEM_ACTOR = {"agency": "system", "officer": None}

_DURATION = re.compile(r"^\s*(?P<value>\d+(\.\d+)?)\s*(?P<unit>s|m|h|d|wd)\s*$")
UNITS = {
    "s": "seconds",
    "m": "minutes",
    "h": "hours",
    "d": "days",
    "wd": "working_days",
}

INDEXES = {
    COLLECTION: [
        IndexModel([("state", ASCENDING), ("next_fire_at", ASCENDING)], name="firing"),
        IndexModel(
            [
                ("subject.type", ASCENDING),
                ("subject.id", ASCENDING),
                ("kind", ASCENDING),
            ],
            name="subject",
        ),
        IndexModel([("case_id", ASCENDING)], name="case"),
        IndexModel([("owner_agency", ASCENDING), ("due_at", ASCENDING)], name="owner"),
    ]
}


def parse_duration(text):
    """``"3wd"`` -> ``(3.0, "working_days")``; ValueError when malformed."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: a number and s, m, h, d or wd (working days)"
        )
    return float(match["value"]), UNITS[match["unit"]]


class DurationField(fields.String):
    """A duration written ``90m``, ``2h``, ``1d`` or ``3wd``; kept as text."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            amount, _ = parse_duration(text)
        except ValueError as exc:
            raise SchemaError(str(exc)) from exc
        if amount <= 0:
            raise SchemaError("must be longer than zero")
        return text.strip()


class DeadlineKindSchema(Schema):
    """How long one kind of deadline runs, per severity, and who says so."""

    class Meta:
        unknown = RAISE

    duration = DurationField(required=True)
    by_severity = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SEVERITIES)),
        values=DurationField(),
        load_default=dict,
    )
    reminders_minutes = fields.List(
        fields.Float(validate=validate.Range(min=0, min_inclusive=False)),
        load_default=None,
        allow_none=True,
    )
    article = fields.String(load_default="", validate=validate.Length(max=40))
    description = fields.String(load_default="", validate=validate.Length(max=300))


class DeadlinePolicySchema(Schema):
    """The ``deadlines`` key of a service's configuration section."""

    class Meta:
        unknown = RAISE

    reminders_minutes = fields.List(
        fields.Float(validate=validate.Range(min=0, min_inclusive=False)),
        load_default=lambda: list(DEFAULT_REMINDERS_MINUTES),
    )
    poll_seconds = fields.Float(
        load_default=DEFAULT_POLL_SECONDS, validate=validate.Range(min=0.05, max=10)
    )
    kinds = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$")),
        values=fields.Nested(DeadlineKindSchema),
        load_default=dict,
    )


class DeadlinePolicy:
    """Durations and reminders per kind, from defaults and configuration."""

    def __init__(self, config=None, defaults=None, calendar=None):
        merged = {"kinds": dict(defaults or {})}
        config = dict(config or {})
        merged["kinds"].update(config.pop("kinds", None) or {})
        merged.update(config)
        try:
            loaded = DeadlinePolicySchema().load(merged)
        except SchemaError as exc:
            raise ConfigError(
                "invalid deadline configuration", _flatten(exc.messages, "deadlines")
            ) from exc
        self.kinds = loaded["kinds"]
        self.reminders_minutes = tuple(loaded["reminders_minutes"])
        self.poll_seconds = loaded["poll_seconds"]
        self.calendar = calendar

    def rule(self, kind):
        try:
            return self.kinds[kind]
        except KeyError:
            raise ValidationError(
                f"deadline kind {kind!r} has no duration",
                {
                    "kind": f"configure deadlines.kinds.{kind} (known: "
                    + ", ".join(sorted(self.kinds))
                    + ")"
                },
            ) from None

    def duration(self, kind, severity=None):
        rule = self.rule(kind)
        text = rule["by_severity"].get(severity) or rule["duration"]
        return parse_duration(text)

    def article(self, kind):
        return self.kinds.get(kind, {}).get("article", "")

    def reminders(self, kind):
        rule = self.kinds.get(kind) or {}
        chosen = rule.get("reminders_minutes")
        return tuple(self.reminders_minutes if chosen is None else chosen)

    def due_at(self, kind, severity=None, start=None):
        """When a deadline of ``kind`` started at ``start`` falls due."""
        start = start or utcnow()
        amount, unit = self.duration(kind, severity)
        if unit == "working_days":
            calendar = self.calendar or default_calendar()
            return calendar.add_working_days(start, amount)
        return start + timedelta(**{unit: amount})

    def uses_working_days(self, kind, severity=None):
        return self.duration(kind, severity)[1] == "working_days"


def _flatten(messages, prefix):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = "; ".join(str(item) for item in value)
    return flat


def _subject(subject):
    if isinstance(subject, dict):
        kind, ident = subject.get("type"), subject.get("id")
    else:
        kind, ident = subject
    if not kind or not ident:
        raise ValidationError(
            "a deadline needs a subject",
            {"subject": "give (type, id), e.g. ('case', id)"},
        )
    return {"type": str(kind), "id": str(ident)}


def plan_reminders(due_at, minutes_before, start):
    """Reminder records; those already past at ``start`` are skipped."""
    reminders = []
    for minutes in sorted(set(minutes_before), reverse=True):
        at = due_at - timedelta(minutes=minutes)
        reminders.append(
            {
                "minutes_before": float(minutes),
                "at": at,
                "fired_at": None,
                "skipped": at <= start,
            }
        )
    return reminders


def next_fire_at(doc):
    """The next time the timer must look at this deadline, or None."""
    if doc["state"] != PENDING:
        return None
    times = [
        reminder["at"]
        for reminder in doc["reminders"]
        if reminder["fired_at"] is None and not reminder["skipped"]
    ]
    return min([*times, doc["due_at"]])


def plan_firing(doc, now):
    """What firing ``doc`` at ``now`` changes and which event it emits.

    Returns ``(changes, event_type, extra_payload)``; ``event_type`` is None
    when nothing is due yet. Reminders missed while the service was down are
    marked skipped; only the one closest to the due time fires, and none
    fires once the due time has passed (``overdue`` says more).
    """
    reminders = [dict(item) for item in doc["reminders"]]
    if now >= doc["due_at"]:
        for reminder in reminders:
            if reminder["fired_at"] is None:
                reminder["skipped"] = True
        changes = {
            "state": OVERDUE,
            "reminders": reminders,
            "overdue_at": now,
            "next_fire_at": None,
        }
        return changes, "deadline.overdue", {"fired_at": now}

    due = [
        item
        for item in reminders
        if item["fired_at"] is None and not item["skipped"] and item["at"] <= now
    ]
    event_type, extra = None, {}
    if due:
        latest = max(due, key=lambda item: item["at"])
        for item in due:
            if item is latest:
                item["fired_at"] = now
            else:
                item["skipped"] = True
        event_type = "deadline.due_soon"
        extra = {"minutes_before": latest["minutes_before"]}
    changes = {"reminders": reminders}
    changes["next_fire_at"] = next_fire_at({**doc, **changes})

    return changes, event_type, extra


def _iso(value):
    return value.isoformat() if value is not None else None


def to_public(doc):
    """A JSON-safe view of a stored deadline (RPC answers, the CLI)."""
    return {
        "deadline_id": doc["_id"],
        "kind": doc["kind"],
        "service": doc.get("service", ""),
        "owner_agency": doc["owner_agency"],
        "subject": doc["subject"],
        "case_id": doc.get("case_id"),
        "severity": doc.get("severity"),
        "article": doc.get("article", ""),
        "classification": doc.get("classification", "internal"),
        "state": doc["state"],
        "started_at": _iso(doc["started_at"]),
        "due_at": _iso(doc["due_at"]),
        "working_days": doc.get("working_days", False),
        "reminders": [
            {
                "minutes_before": item["minutes_before"],
                "at": _iso(item["at"]),
                "fired_at": _iso(item["fired_at"]),
                "skipped": item["skipped"],
            }
            for item in doc["reminders"]
        ],
        "overdue_at": _iso(doc.get("overdue_at")),
        "met_at": _iso(doc.get("met_at")),
        "late": doc.get("late"),
        "cancelled_at": _iso(doc.get("cancelled_at")),
        "reason": doc.get("reason", ""),
    }


def event_payload(doc, **extra):
    return {
        "deadline_id": doc["_id"],
        "kind": doc["kind"],
        "owner_agency": doc["owner_agency"],
        "due_at": doc["due_at"],
        "subject": doc["subject"],
        "severity": doc.get("severity"),
        "article": doc.get("article", ""),
        "service": doc.get("service", ""),
        "classification": doc.get("classification", "internal"),
        **extra,
    }


class _Lost(Conflict):
    """Another instance fired or settled the deadline first; retrying reads
    its new state."""

    def __init__(self, deadline_id):
        super().__init__(
            f"deadline {deadline_id} changed meanwhile; try again",
            {"deadline_id": "changed by another worker"},
        )


class DeadlineClient:
    """What a worker gets: set, meet, cancel and read deadlines."""

    def __init__(self, provider, origin):
        self._provider = provider
        self._origin = origin
        self.policy = provider.policy

    @property
    def _db(self):
        return self._provider.store.db

    @contextmanager
    def _transaction(self, tx):
        if tx is not None:
            yield tx
            return
        store = ServiceStore(self._provider.store, self._origin)
        with store.transaction() as own:
            yield own

    def due_at(self, kind, severity=None, start=None):
        return self.policy.due_at(kind, severity, start)

    def set(
        self,
        tx,
        kind,
        *,
        subject,
        owner_agency,
        severity=None,
        case_id=None,
        start=None,
        due_at=None,
        classification="internal",
        reminders_minutes=None,
        replace=False,
    ):
        subject = _subject(subject)
        if classification not in CLASSIFICATIONS:
            raise ValidationError(
                "unknown classification",
                {"classification": f"one of {CLASSIFICATIONS}"},
            )
        start = start or utcnow()
        if due_at is None:
            due_at = self.policy.due_at(kind, severity, start)
            working_days = self.policy.uses_working_days(kind, severity)
        else:
            working_days = False
        if due_at <= start:
            raise ValidationError(
                "a deadline must fall after its start",
                {"due_at": "must be after start"},
            )
        minutes = (
            self.policy.reminders(kind)
            if reminders_minutes is None
            else reminders_minutes
        )

        with self._transaction(tx) as tx:
            existing = self._open(
                tx, kind=kind, subject=subject, owner_agency=owner_agency
            )
            if existing and not replace:
                return to_public(existing[0])
            for doc in existing:
                self._settle(tx, doc, CANCELLED, "replaced by a new deadline")

            now = utcnow()
            doc = {
                "_id": str(uuid.uuid4()),
                "kind": kind,
                "service": self._provider.service_name,
                "owner_agency": owner_agency,
                "subject": subject,
                "case_id": case_id,
                "severity": severity,
                "article": self.policy.article(kind),
                "classification": classification,
                "state": PENDING,
                "started_at": start,
                "due_at": due_at,
                "working_days": working_days,
                "reminders": plan_reminders(due_at, minutes, start),
                "correlation_id": self._origin.get(CTX_CORRELATION_ID),
                "created_at": now,
            }
            doc["next_fire_at"] = next_fire_at(doc)
            tx.db[COLLECTION].insert_one(doc, session=tx.session)
            self._emit(
                tx,
                "deadline.set",
                doc,
                started_at=start,
                working_days=working_days,
            )
        self._provider.wake_before(doc["next_fire_at"])

        return to_public(doc)

    def meet(
        self,
        tx,
        *,
        deadline_id=None,
        kind=None,
        subject=None,
        owner_agency=None,
        reason="",
    ):
        """Mark the matching open deadlines met (the awaited step happened)."""
        return self._settle_matching(
            tx, MET, reason, deadline_id, kind, subject, owner_agency
        )

    def cancel(
        self,
        tx,
        *,
        deadline_id=None,
        kind=None,
        subject=None,
        owner_agency=None,
        reason,
    ):
        """Cancel the matching open deadlines; the reason is required."""
        if not reason or len(reason.strip()) < 1:
            raise ValidationError(
                "a cancellation needs a reason", {"reason": "required"}
            )
        return self._settle_matching(
            tx, CANCELLED, reason, deadline_id, kind, subject, owner_agency
        )

    def _settle_matching(self, tx, state, reason, deadline_id, kind, subject, owner):
        if not any((deadline_id, kind, subject)):
            raise ValidationError(
                "say which deadline", {"deadline_id": "give an id, a kind or a subject"}
            )
        with self._transaction(tx) as tx:
            docs = self._open(
                tx,
                deadline_id=deadline_id,
                kind=kind,
                subject=_subject(subject) if subject else None,
                owner_agency=owner,
            )
            settled = [self._settle(tx, doc, state, reason) for doc in docs]

        return settled

    def _open(self, tx, deadline_id=None, kind=None, subject=None, owner_agency=None):
        query = {"state": {"$in": list(OPEN_STATES)}}
        if deadline_id:
            query["_id"] = deadline_id
        if kind:
            query["kind"] = kind
        if subject:
            query["subject.type"] = subject["type"]
            query["subject.id"] = subject["id"]
        if owner_agency:
            query["owner_agency"] = owner_agency

        return list(tx.db[COLLECTION].find(query, session=tx.session).sort("_id", 1))

    def _settle(self, tx, doc, state, reason):
        now = utcnow()
        changes = {"state": state, "next_fire_at": None, "reason": reason}
        if state == MET:
            changes.update(met_at=now, late=now > doc["due_at"])
        else:
            changes["cancelled_at"] = now
        # The filter on the state the deadline had when read makes a racing
        # timer (which also changes state or next_fire_at) abort one of the
        # two transactions instead of both succeeding.
        result = tx.db[COLLECTION].update_one(
            {
                "_id": doc["_id"],
                "state": doc["state"],
                "next_fire_at": doc["next_fire_at"],
            },
            {"$set": changes},
            session=tx.session,
        )
        if result.modified_count != 1:
            raise _Lost(doc["_id"])
        settled = {**doc, **changes}
        if state == MET:
            self._emit(
                tx,
                "deadline.met",
                settled,
                met_at=now,
                late=changes["late"],
                reason=reason or "",
            )
        else:
            self._emit(
                tx, "deadline.cancelled", settled, cancelled_at=now, reason=reason
            )

        return to_public(settled)

    def _emit(self, tx, name, doc, **extra):
        tx.emit(
            name,
            event_payload(doc, **extra),
            case_id=doc.get("case_id"),
            agencies=[doc["owner_agency"]],
            classification=doc.get("classification", "internal"),
        )

    def get(self, deadline_id):
        doc = self._db[COLLECTION].find_one({"_id": deadline_id})
        if doc is None:
            raise NotFound(
                f"deadline {deadline_id} does not exist", {"deadline_id": "unknown"}
            )
        return to_public(doc)

    def list(
        self,
        state=None,
        kind=None,
        owner_agency=None,
        case_id=None,
        subject_type=None,
        subject_id=None,
        due_before=None,
        due_after=None,
        limit=200,
    ):
        query = {}
        if state:
            query["state"] = {"$in": [state] if isinstance(state, str) else list(state)}
        if kind:
            query["kind"] = kind
        if owner_agency:
            query["owner_agency"] = owner_agency
        if case_id:
            query["case_id"] = case_id
        if subject_type:
            query["subject.type"] = subject_type
        if subject_id:
            query["subject.id"] = subject_id
        if due_before or due_after:
            query["due_at"] = {}
            if due_before:
                query["due_at"]["$lt"] = due_before
            if due_after:
                query["due_at"]["$gte"] = due_after
        cursor = self._db[COLLECTION].find(query).sort("due_at", ASCENDING)

        return [to_public(doc) for doc in cursor.limit(max(1, min(int(limit), 1000)))]


class Deadlines(DependencyProvider):
    """Durable deadlines of one service, and the timer that fires them.

    ``setup()`` (container start, before entrypoints) reads the policy from
    the service's configuration section and finds the service's ``Store``;
    a bad duration stops the service there. ``start()`` creates the indexes
    and spawns the timer greenthread; ``stop()`` ends it after the firing in
    progress, if any, has committed. Workers get a ``DeadlineClient``.
    """

    def __init__(self, kinds=None, config_key="deadlines", calendar=None):
        self.default_kinds = dict(kinds or {})
        self.config_key = config_key
        self.calendar = calendar
        self.policy = None
        self.store = None
        self.service_name = None
        self._running = False
        self._wake = threading.Event()
        self._thread = None
        self._planned_wake = None
        self.fired = 0

    def setup(self):
        self.service_name = self.container.service_name
        section = self.container.config.get(self.service_name) or {}
        config = section.get(self.config_key) if isinstance(section, dict) else None
        self.policy = DeadlinePolicy(config, self.default_kinds, self.calendar)
        for dependency in self.container.dependencies:
            if isinstance(dependency, Store):
                self.store = dependency
        if self.store is None:
            raise ConfigError(
                f"service {self.service_name} uses Deadlines without a Store",
                {"store": "declare store = Store() on the service"},
            )

    def start(self):
        apply_indexes(self.store.db, INDEXES)
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

    def wake_before(self, when):
        """Wake the timer if ``when`` comes before its planned wake-up; a
        deadline hours away costs the timer nothing."""
        planned = self._planned_wake
        if planned is None or when < planned:
            self._wake.set()

    def get_dependency(self, worker_ctx):
        return DeadlineClient(self, worker_ctx.context_data)

    def _run(self):
        failures = 0
        while self._running:
            try:
                self.fire_due()
                wait = self._seconds_to_next()
                failures = 0
            except InvalidOperation:
                # The Store closed its client: the container is stopping and
                # stops the dependencies side by side. Whatever was firing
                # rolled back and fires at the next start.
                log.debug("deadline_timer_stopped_with_store")
                return
            except PyMongoError as exc:
                failures += 1
                wait = min(0.2 * 2**failures, 5.0)
                log.warning("deadline_timer_error", error=str(exc), retry_in=wait)
            except Exception:  # noqa: BLE001 - the timer must outlive a bad record
                failures += 1
                wait = min(0.2 * 2**failures, 5.0)
                log.exception("deadline_timer_failed", retry_in=wait)
            wait = max(0.0, min(wait, self.policy.poll_seconds))
            self._planned_wake = utcnow() + timedelta(seconds=wait)
            self._wake.wait(wait)
            self._wake.clear()
            self._planned_wake = None

    def _seconds_to_next(self):
        doc = self.store.db[COLLECTION].find_one(
            {"state": PENDING, "next_fire_at": {"$ne": None}},
            {"next_fire_at": 1},
            sort=[("next_fire_at", ASCENDING)],
        )
        if doc is None:
            return self.policy.poll_seconds
        return (doc["next_fire_at"] - utcnow()).total_seconds()

    def fire_due(self, now=None):
        """Fire every deadline whose next firing time has come; returns
        how many events were emitted."""
        now = now or utcnow()
        due = list(
            self.store.db[COLLECTION]
            .find({"state": PENDING, "next_fire_at": {"$lte": now}})
            .sort("next_fire_at", ASCENDING)
            .limit(FIRE_BATCH)
        )
        emitted = 0
        for doc in due:
            if self._fire(doc):
                emitted += 1
        self.fired += emitted

        return emitted

    def _fire(self, doc):
        origin = {
            CTX_CORRELATION_ID: doc.get("correlation_id"),
            CTX_CASE_ID: doc.get("case_id"),
            CTX_ACTOR: SYSTEM_ACTOR,
        }
        started = time.monotonic()
        try:
            with ServiceStore(self.store, origin).transaction() as tx:
                guard = {
                    "_id": doc["_id"],
                    "state": PENDING,
                    "next_fire_at": doc["next_fire_at"],
                }
                current = tx.db[COLLECTION].find_one(guard, session=tx.session)
                if current is None:
                    raise _Lost(doc["_id"])
                now = utcnow()
                changes, name, extra = plan_firing(current, now)
                result = tx.db[COLLECTION].update_one(
                    guard, {"$set": changes}, session=tx.session
                )
                if result.modified_count != 1:
                    raise _Lost(doc["_id"])
                if name:
                    tx.emit(
                        name,
                        event_payload({**current, **changes}, **extra),
                        case_id=current.get("case_id"),
                        agencies=[current["owner_agency"]],
                        classification=current.get("classification", "internal"),
                    )
        except _Lost:
            return False
        except PyMongoError as exc:
            if is_transient(exc):
                log.debug("deadline_fire_conflict", deadline_id=doc["_id"])
                return False
            raise
        if name:
            log.info(
                "deadline_fired",
                deadline_id=doc["_id"],
                kind=doc["kind"],
                event_type=name,
                owner_agency=doc["owner_agency"],
                case_id=doc.get("case_id"),
                late_ms=round((now - doc["next_fire_at"]).total_seconds() * 1000),
                took_ms=round((time.monotonic() - started) * 1000),
            )

        return name is not None
