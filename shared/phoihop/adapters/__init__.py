"""The adapter SDK: how an agency plugs its own way of working into the bus.

An adapter declares the agency it serves and the events it handles, carries
them through transports (webhook, email, edXML, file drop) and answers back
through the public API. Read ``docs/adapters.md`` for a complete example.

The surface::

    from phoihop.adapters import Adapter, handles, ALL
    from phoihop.adapters import DeliveryFailed, DeliveryRefused
    from phoihop.adapters import verify_signature      # for webhook receivers
    from phoihop.adapters import discover_adapters     # the host's start-up call
"""

from phoihop.adapters.adapter import (
    AGENCY,
    ALL,
    DELIVERED,
    IGNORED,
    Adapter,
    AdapterEvent,
    handles,
)
from phoihop.adapters.client import ApiClient, idempotency_key
from phoihop.adapters.discovery import ENTRY_POINT_GROUP, discover_adapters
from phoihop.adapters.envelopes import redact_envelope
from phoihop.adapters.errors import (
    AdapterConfigError,
    AdapterError,
    ApiError,
    ApiRefused,
    ApiUnavailable,
    DeliveryFailed,
    DeliveryRefused,
    PluginError,
)
from phoihop.adapters.runner import AdapterRunner, RunnerSettings
from phoihop.adapters.templates import render
from phoihop.adapters.transports import Transport, sign, verify_signature

__all__ = [
    "AGENCY",
    "ALL",
    "DELIVERED",
    "ENTRY_POINT_GROUP",
    "IGNORED",
    "Adapter",
    "AdapterConfigError",
    "AdapterError",
    "AdapterEvent",
    "AdapterRunner",
    "ApiClient",
    "ApiError",
    "ApiRefused",
    "ApiUnavailable",
    "DeliveryFailed",
    "DeliveryRefused",
    "PluginError",
    "RunnerSettings",
    "Transport",
    "discover_adapters",
    "handles",
    "idempotency_key",
    "redact_envelope",
    "render",
    "sign",
    "verify_signature",
]
