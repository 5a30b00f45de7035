"""JSON lines: one line per event appended to a daily file in a folder.

The simplest hand-over: an agency system (or an officer with a text editor)
reads ``<adapter>-<yyyy-mm-dd>.jsonl``, one complete JSON document per line,
written and flushed to disk before the delivery counts. The day is Hai
Phong's. Each line holds the event and its Vietnamese notice.
"""

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from marshmallow import fields

from phoihop.adapters.blocking import run_blocking
from phoihop.adapters.errors import DeliveryFailed
from phoihop.adapters.templates import render
from phoihop.adapters.transports.base import Transport, TransportSchema
from phoihop.i18n import DISPLAY_TZ

# One lock per file in the process: lines of two cases written at the same
# moment must not interleave.
_locks = {}
_locks_guard = threading.Lock()


def _lock_for(path):
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


class JsonLinesSchema(TransportSchema):
    directory = fields.String(required=True)
    fsync = fields.Boolean(load_default=True)


class JsonLinesTransport(Transport):
    kind = "jsonl"
    schema = JsonLinesSchema

    def describe(self):
        return f"jsonl -> {self.settings['directory']}"

    def path_for(self, adapter, now=None):
        now = now or datetime.now(UTC)
        day = now.astimezone(DISPLAY_TZ).date().isoformat()
        return Path(self.settings["directory"]) / f"{adapter.name}-{day}.jsonl"

    def send(self, event, adapter, **extra):
        subject, body = render(
            event, adapter.agency, adapter.registry, self.context.templates
        )
        line = json.dumps(
            {
                "adapter": adapter.name,
                "agency": adapter.agency,
                "written_at": datetime.now(UTC).isoformat(),
                "subject": subject,
                "body": body,
                "event": event.envelope,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        path = self.path_for(adapter)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _lock_for(path), open(path, "a", encoding="utf-8") as stream:
                stream.write(line + "\n")
                stream.flush()
                if self.settings["fsync"]:
                    run_blocking(os.fsync, stream.fileno())
        except OSError as exc:
            raise DeliveryFailed(f"cannot write {path}: {exc}") from exc

        return {"file": str(path)}
