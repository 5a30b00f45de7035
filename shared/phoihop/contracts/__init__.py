"""Event types of every domain, registered in one explicit call.

Each module declares the payload schemas of the events its domain emits with
``@event_type("case.opened")``. ``load_all()`` imports them; services, the
adapter host and the tests call it once at start.
"""

import importlib

DOMAINS = (
    "platform",
    "intake",
    "routing",
    "consultation",
    "press",
    "reporting",
    "adapters",
)


def load_all():
    for domain in DOMAINS:
        importlib.import_module(f"phoihop.contracts.{domain}")
