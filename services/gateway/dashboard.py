"""The live event stream of the DIC dashboard, as server-sent events.

The stream tails the events exchange through ``phoihop.stream`` (its own
auto-delete queue bound to ``#``, so a slow browser never slows the bus).
Each event becomes one SSE message; a comment line is sent every few
seconds so that proxies keep the connection open and a closed browser is
noticed. Events above the caller's clearance are sent without their
content (``phoihop.auth.redact``).
"""

import time

from phoihop.auth import redact
from phoihop.config import amqp_uri, exchange_name
from phoihop.logging import get_logger
from werkzeug.wrappers import Response

from services.gateway.errors import json_dumps

log = get_logger("phoihop.gateway.stream")

# Browsers retry a dropped stream after this many milliseconds.
RETRY_MS = 3000


def sse_message(event_type, data, event_id=None):
    """One server-sent event; ``data`` is JSON on a single line."""
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    if event_type:
        lines.append(f"event: {event_type}")
    lines.append(f"data: {json_dumps(data)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def matches(envelope, query):
    """Whether an event passes the stream's filters."""
    types = query.get("type") or []
    if types and not any(
        envelope.get("type") == wanted
        or envelope.get("type", "").startswith(f"{wanted}.")
        for wanted in types
    ):
        return False
    if query.get("case_id") and envelope.get("case_id") != query["case_id"]:
        return False
    if query.get("agency"):
        actor = envelope.get("actor") or {}
        payload = envelope.get("payload") or {}
        mentioned = {actor.get("agency"), payload.get("agency"), payload.get("lead")}
        mentioned.update(
            item.get("agency") if isinstance(item, dict) else item
            for item in payload.get("agencies") or ()
        )
        if query["agency"] not in mentioned:
            return False
    return True


def summarise(envelope, caller):
    """The event as the dashboard shows it, redacted for the caller."""
    shown = redact(
        {
            "id": envelope.get("id"),
            "type": envelope.get("type"),
            "occurred_at": envelope.get("occurred_at"),
            "case_id": envelope.get("case_id"),
            "actor": envelope.get("actor"),
            "classification": envelope.get("classification", "public"),
            "payload": envelope.get("payload") or {},
        },
        caller,
    )
    return shown


def open_event_stream(request, caller, config, query, heartbeat=15.0):
    """A streaming response of live events for the dashboard."""
    from phoihop.stream import LiveTail

    tail = LiveTail(amqp_uri(config), exchange=exchange_name(config))
    tail.start()
    # eventlet's WSGI server buffers small writes; an event must reach the
    # browser as soon as it is written.
    request.environ["eventlet.minimum_write_chunk_size"] = 0

    def generate():
        opened = time.monotonic()
        sent = 0
        try:
            yield f"retry: {RETRY_MS}\n: phoihop live stream\n\n".encode()
            yield sse_message("ready", {"caller": caller.agency})
            while True:
                envelope = tail.get(timeout=heartbeat)
                if envelope is None:
                    yield b": heartbeat\n\n"
                    continue
                if not matches(envelope, query):
                    continue
                sent += 1
                yield sse_message(
                    "event", summarise(envelope, caller), envelope.get("id")
                )
        finally:
            tail.close()
            log.info(
                "stream_closed",
                key_id=caller.key_id,
                events=sent,
                seconds=round(time.monotonic() - opened, 1),
            )

    return Response(
        generate(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        direct_passthrough=True,
    )
