"""The live event stream of the DIC dashboard, as server-sent events.

The stream tails the events exchange through ``phoihop.stream`` (its own
auto-delete queue bound to ``#``, so a slow browser never slows the bus).
Each event becomes one SSE message; a comment line is sent every few
seconds so that proxies keep the connection open and a closed browser is
noticed. Classified events reach only callers cleared for state secrets
with their free text; others get them redacted.
"""

import time

from werkzeug.wrappers import Response

from phoihop.auth import is_cleared
from phoihop.config import amqp_uri, exchange_name
from phoihop.logging import get_logger
from phoihop.stream import EventStream, StreamFilter
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


def open_event_stream(request, caller, config, query, heartbeat=15.0):
    """A streaming response of live events for the dashboard.

    The broker connection is opened here, in the worker, so that a broker
    that cannot be reached gives a 503 instead of an empty stream.
    """
    only = StreamFilter(
        types=tuple(query.get("type") or ()),
        agencies=(query["agency"],) if query.get("agency") else (),
        cases=(query["case_id"],) if query.get("case_id") else (),
    )
    # Only a caller cleared for state secrets sees classified free text;
    # everyone else gets the stream's metadata-only form of those events.
    stream = EventStream(
        amqp_uri(config),
        exchange_name(config),
        only,
        redact=not is_cleared(caller.clearance, "secret"),
        name="dashboard",
    )
    stream.open()
    # eventlet's WSGI server buffers small writes; an event must reach the
    # browser as soon as it is written.
    request.environ["eventlet.minimum_write_chunk_size"] = 0

    def generate():
        opened = time.monotonic()
        try:
            yield f"retry: {RETRY_MS}\n: phoihop live stream\n\n".encode()
            yield sse_message("ready", {"agency": caller.agency})
            while True:
                envelope = stream.get(timeout=heartbeat)
                if envelope is None:
                    yield b": heartbeat\n\n"
                    continue
                yield sse_message("event", envelope, envelope.get("id"))
        finally:
            stream.close()
            log.info(
                "stream_closed",
                key_id=caller.key_id,
                events=stream.shown,
                seconds=round(time.monotonic() - opened, 1),
            )

    return Response(
        generate(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        direct_passthrough=True,
    )
