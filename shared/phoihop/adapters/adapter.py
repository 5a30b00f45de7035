"""The adapter an agency writes: which events it takes and what it does.

An adapter is a class. It names the agency it serves and, with ``handles``,
one method per event type::

    class PoliceAdapter(Adapter):
        agency = "police"

        @handles("case.assigned", "measure.assigned")
        def on_work(self, event):
            self.deliver(event)

``handles`` binds the agency's own copies (``agency.police.case.assigned``);
``scope=ALL`` binds every copy of a type, for duties that reach beyond the
cases an agency is assigned to (the City People's Committee receives every
escalation addressed to it). The routing keys of the adapter's queue are
computed from these declarations and nothing else, so a queue never carries
more than its adapter declared.

The host (or the standalone runner) builds the adapter with its settings,
transports and API client, then calls ``dispatch`` once per event, in order
per case. A handler returns normally when the event was carried, raises
``DeliveryFailed`` (or lets any error through) to be retried later, and
raises ``DeliveryRefused`` when no retry can help.
"""

from dataclasses import dataclass, field
from datetime import datetime

from phoihop.adapters.errors import (
    AdapterConfigError,
    DeliveryFailed,
    DeliveryRefused,
)
from phoihop.adapters.topology import agency_key, topic_matches
from phoihop.logging import get_logger

# Scopes of a subscription.
AGENCY = "agency"  # the copies meant for the adapter's agency
ALL = "all"  # every copy of the type, whoever it is for

# Outcomes the runner records for one event.
DELIVERED = "delivered"
IGNORED = "ignored"


def handles(*event_types, scope=AGENCY, when=None):
    """Mark a method as the handler of ``event_types``.

    Types may use the topic wildcards ``*`` (one word) and ``#`` (any
    number of words). ``when(adapter, event)`` may narrow what the handler
    takes; events it declines are recorded as ignored, not delivered.
    """
    if not event_types:
        raise ValueError("handles() needs at least one event type")
    if scope not in (AGENCY, ALL):
        raise ValueError(f"scope must be {AGENCY!r} or {ALL!r}, not {scope!r}")

    def decorator(method):
        subscriptions = getattr(method, "phoihop_subscriptions", ())
        method.phoihop_subscriptions = (
            *subscriptions,
            *(Subscription(kind, scope, when) for kind in event_types),
        )
        return method

    return decorator


@dataclass(frozen=True)
class Subscription:
    """One event type (or pattern) a handler takes, and from which copies."""

    event_type: str
    scope: str = AGENCY
    when: object = None

    @property
    def is_exact(self):
        return "*" not in self.event_type and "#" not in self.event_type

    def routing_key(self, agency):
        if self.scope == ALL:
            return self.event_type
        return agency_key(agency, self.event_type)


@dataclass
class Attempt:
    """What the runner knows about the current try of one delivery."""

    number: int = 1
    done_transports: set = field(default_factory=set)
    receipts: list = field(default_factory=list)
    # True when an earlier try may have reached the agency unrecorded (a
    # retry, or a delivery found pending after a restart): a transport that
    # can see what it already wrote checks before writing again.
    maybe_delivered: bool = False


@dataclass
class AdapterEvent:
    """One event as an adapter receives it.

    ``payload`` is the event's payload, with classified content removed
    when the adapter's agency is not cleared for the event's classification
    (``redacted`` is then true and ``redacted_fields`` names what went).
    ``envelope`` is the whole event as it travels (JSON-safe), for
    transports that forward it as is.
    """

    id: str
    type: str
    version: int
    occurred_at: datetime
    case_id: str | None
    actor: dict
    correlation_id: str
    causation_id: str | None
    classification: str
    payload: dict
    routing_key: str
    envelope: dict
    redacted: bool = False
    redacted_fields: tuple = ()
    replayed: bool = False
    # The adapter's running number of the event (its n-th event), stable
    # across retries and replays; documents use it as their number.
    number: int = 0
    attempt: Attempt = field(default_factory=Attempt, compare=False, repr=False)

    @property
    def lane(self):
        """Events of one case keep their order; others need none."""
        return self.case_id or f"event:{self.id}"


class Adapter:
    """Base class of every adapter; see the module docstring.

    Class attributes an adapter may set:

    - ``agency``: the registry code it serves; leave it ``None`` for an
      adapter written for many agencies (every department) and give the
      agency in the configuration instead;
    - ``description``: one line shown by ``phoihop adapters list``.

    Attributes the runner sets on each instance: ``name``, ``agency``,
    ``options`` (the ``options`` mapping of its configuration),
    ``transports`` (a list of transports), ``api`` (an ``ApiClient`` or
    ``None``), ``registry`` (the agency registry) and ``log``.
    """

    agency = None
    description = ""

    def __init__(
        self,
        name,
        agency=None,
        options=None,
        transports=(),
        api=None,
        registry=None,
    ):
        self.name = name
        self.agency = agency or type(self).agency
        if not self.agency:
            raise AdapterConfigError(
                f"adapter {name!r} serves no agency",
                {f"{name}.agency": "give the agency code in the configuration"},
            )
        self.options = dict(options or {})
        self.transports = list(transports)
        self.api = api
        self.registry = registry
        self.log = get_logger(f"phoihop.adapters.{name}").bind(
            adapter=name, agency=self.agency
        )
        self.setup()

    def setup(self):
        """Called once when the adapter is built; override to prepare."""

    def close(self):
        """Called once when the runner stops; closes the transports."""
        for transport in self.transports:
            transport.close()

    # Declaration ---------------------------------------------------------

    @classmethod
    def subscriptions(cls):
        """(method name, Subscription) pairs, in declaration order."""
        found = []
        seen = set()
        for klass in cls.__mro__:
            for attr, value in vars(klass).items():
                if attr in seen:
                    continue
                for subscription in getattr(value, "phoihop_subscriptions", ()):
                    found.append((attr, subscription))
                seen.add(attr)

        return found

    def routing_keys(self):
        """The routing keys the adapter's queue is bound with."""
        keys = [sub.routing_key(self.agency) for _, sub in self.subscriptions()]
        return list(dict.fromkeys(keys))

    def handler_for(self, event_type):
        """The method and subscription that take ``event_type``, or None.

        An exact type wins over a pattern; among patterns, the first
        declared wins.
        """
        candidates = [
            (attr, sub)
            for attr, sub in self.subscriptions()
            if topic_matches(sub.event_type, event_type)
        ]
        candidates.sort(key=lambda item: not item[1].is_exact)
        if not candidates:
            return None
        attr, sub = candidates[0]

        return getattr(self, attr), sub

    # Work ----------------------------------------------------------------

    def dispatch(self, event):
        """Run the handler of ``event``; returns DELIVERED or IGNORED."""
        found = self.handler_for(event.type)
        if found is None:
            return IGNORED
        method, subscription = found
        if subscription.when is not None and not subscription.when(self, event):
            return IGNORED
        method(event)

        return DELIVERED

    def deliver(self, event, **extra):
        """Send ``event`` through every transport of this adapter.

        On a retry, transports that already took the event are skipped, so
        a webhook that answered is not called again because the email after
        it failed. ``extra`` reaches the templates (e.g. a note).
        """
        if not self.transports:
            raise AdapterConfigError(
                f"adapter {self.name!r} has no transport to deliver with",
                {f"{self.name}.transports": "configure at least one"},
            )
        failures = []
        for transport in self.transports:
            if transport.name in event.attempt.done_transports:
                continue
            try:
                receipt = transport.send(event, self, **extra)
            except Exception as exc:
                failures.append((transport.name, exc))
                continue
            event.attempt.done_transports.add(transport.name)
            event.attempt.receipts.append({"transport": transport.name, **receipt})
        if not failures:
            return
        first = failures[0][1]
        if len(failures) == 1:
            raise first
        summary = "; ".join(f"{name}: {exc}" for name, exc in failures)
        message = f"{len(failures)} transports failed: {summary}"
        # Retrying helps as long as one failure is not a refusal.
        if all(isinstance(exc, DeliveryRefused) for _, exc in failures):
            raise DeliveryRefused(message) from first
        raise DeliveryFailed(message) from first

    @property
    def agency_record(self):
        """The registry's row of the adapter's agency (names, focal points)."""
        return self.registry.get(self.agency) if self.registry else None
