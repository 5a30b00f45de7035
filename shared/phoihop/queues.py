"""The consumer queues the services declare, found from their classes."""

import inspect

from phoihop.bus import EventSubscriber
from phoihop.runner import SERVICES, service_class


def consumer_queues():
    """Names of every ``subscribe`` queue of every service that exists."""
    names = []
    for service in SERVICES:
        try:
            cls = service_class(service)
        except (ImportError, LookupError):
            continue
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventSubscriber):
                    names.append(f"{service}.{method_name}")
    return names
