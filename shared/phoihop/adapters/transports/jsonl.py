"""JSON lines: one line per event appended to a daily file in a folder.

The simplest hand-over: an agency system (or an officer with a text editor)
reads ``<adapter>-<yyyy-mm-dd>.jsonl``, one complete JSON document per line,
written and flushed to disk before the delivery counts. The day is Hai
Phong's. Each line holds the event and its Vietnamese notice. A retry, or a
delivery found pending after a crash, first looks for its event in the
file, so each event is written once.
"""

import json
import os
import threading
from datetime import UTC, datetime, timedelta
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


def _ends_with_newline(path):
    with open(path, "rb") as stream:
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) == b"\n"


def _event_id(line):
    try:
        return json.loads(line)["event"]["id"]
    except (ValueError, KeyError, TypeError):
        # A line cut by a crash mid-write is not an event that was written.
        return None


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

    def already_written(self, adapter, event_id, now=None):
        """The file this event went to, if an earlier try wrote it (today's
        or yesterday's file: a try before midnight, a retry after)."""
        now = now or datetime.now(UTC)
        for day in (now, now - timedelta(days=1)):
            path = self.path_for(adapter, day)
            if not path.exists():
                continue
            with _lock_for(path), open(path, encoding="utf-8") as stream:
                for line in stream:
                    if event_id in line and _event_id(line) == event_id:
                        return path
        return None

    def send(self, event, adapter, **extra):
        if event.attempt.maybe_delivered:
            found = self.already_written(adapter, event.id)
            if found is not None:
                return {"file": str(found)}
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
                if stream.tell() and not _ends_with_newline(path):
                    # A crash cut the last line short: start on a line of
                    # our own rather than glue this event to the fragment.
                    stream.write("\n")
                stream.write(line + "\n")
                stream.flush()
                if self.settings["fsync"]:
                    run_blocking(os.fsync, stream.fileno())
        except OSError as exc:
            raise DeliveryFailed(f"cannot write {path}: {exc}") from exc

        return {"file": str(path)}
