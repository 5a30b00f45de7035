"""Transports any adapter may use, and building them from configuration.

``webhook`` (signed JSON POST), ``email`` (SMTP, Vietnamese templates),
``edxml`` (a document package in a folder or posted), ``jsonl`` (a file
drop) and ``remote`` (the queue of an adapter an agency runs itself).
"""

from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.transports.base import Transport, TransportContext, load_settings
from phoihop.adapters.transports.edxml import EdxmlTransport, build_package
from phoihop.adapters.transports.email import EmailTransport
from phoihop.adapters.transports.jsonl import JsonLinesTransport
from phoihop.adapters.transports.remote import RemoteQueueTransport
from phoihop.adapters.transports.webhook import (
    WebhookTransport,
    sign,
    verify_signature,
)

KINDS = {
    transport.kind: transport
    for transport in (
        WebhookTransport,
        EmailTransport,
        EdxmlTransport,
        JsonLinesTransport,
        RemoteQueueTransport,
    )
}


def build_transport(settings, context, index=0):
    """Validate ``settings`` and build the transport they describe."""
    where = f"{context.adapter}.transports[{index}]"
    kind = (settings or {}).get("kind")
    if kind not in KINDS:
        raise AdapterConfigError(
            f"{where}: unknown transport kind {kind!r}",
            {f"{where}.kind": "one of " + ", ".join(sorted(KINDS))},
        )
    cls = KINDS[kind]
    loaded = load_settings(cls.schema, settings, where)

    return cls(loaded, context)


__all__ = [
    "KINDS",
    "EdxmlTransport",
    "EmailTransport",
    "JsonLinesTransport",
    "RemoteQueueTransport",
    "Transport",
    "TransportContext",
    "WebhookTransport",
    "build_package",
    "build_transport",
    "sign",
    "verify_signature",
]
