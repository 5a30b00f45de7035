"""The JSON-lines drop writes each event once, even after a crash."""

import json

from adapter_factories import make_event

from phoihop.adapters import Adapter, handles
from phoihop.adapters.transports import TransportContext, build_transport


class Desk(Adapter):
    agency = "police"

    @handles("#")
    def on_any(self, event):
        self.deliver(event)


def drop(tmp_path):
    context = TransportContext(adapter="police", agency="police", environ={})
    return build_transport(
        {"kind": "jsonl", "directory": str(tmp_path), "fsync": False}, context
    )


def lines(tmp_path):
    return [
        json.loads(line)
        for path in sorted(tmp_path.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_a_delivery_that_may_have_happened_is_not_written_twice(tmp_path):
    transport, adapter = drop(tmp_path), Desk("police")
    event = make_event("case.closed", {"state": "closed"})
    transport.send(event, adapter)

    event.attempt.maybe_delivered = True
    transport.send(event, adapter)

    assert [line["event"]["id"] for line in lines(tmp_path)] == [event.id]


def test_a_first_try_does_not_read_the_file(tmp_path):
    transport, adapter = drop(tmp_path), Desk("police")
    event = make_event("case.closed", {"state": "closed"})
    transport.send(event, adapter)
    transport.send(event, adapter)

    assert len(lines(tmp_path)) == 2


def test_a_line_cut_by_a_crash_does_not_swallow_the_next_event(tmp_path):
    transport, adapter = drop(tmp_path), Desk("police")
    first = make_event("case.closed", {"state": "closed"})
    transport.send(first, adapter)
    [path] = tmp_path.glob("*.jsonl")
    with open(path, "a", encoding="utf-8") as stream:
        stream.write('{"event": {"id": "half')

    second = make_event("case.closed", {"state": "closed"})
    second.attempt.maybe_delivered = True
    transport.send(second, adapter)

    text = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(text[-1])["event"]["id"] == second.id
