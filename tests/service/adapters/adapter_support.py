"""Helpers of the adapter host tests: publishing through the outbox relay,
configuring adapters and reading what they delivered."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from phoihop.bus import OutboxRelay
from phoihop.config import exchange_name
from phoihop.events import build_event
from phoihop.store import database_name, get_database, make_client, write_outbox

FAST_RETRIES = {"max_attempts": 60, "retry_delays": [0.2, 0.5, 1.0, 1.0]}


def wait_for(predicate, timeout=45.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Publisher:
    """Emits events as a producing service would: outbox, then relay."""

    def __init__(self, config, service="producer"):
        self.client = make_client(config["MONGODB_URI"])
        self.db = get_database(self.client, database_name(config["DB_PREFIX"], service))
        self.relay = OutboxRelay(self.db, config["AMQP_URI"], exchange_name(config))

    def emit(self, name, payload, agencies=(), case_id=None, **kwargs):
        envelope = build_event(
            name,
            payload,
            case_id=case_id,
            actor={"agency": "dic", "officer": "test"},
            **kwargs,
        )
        self.relay.hand_over(write_outbox(self.db, envelope, agencies))
        return envelope

    def flush(self):
        """Publish everything emitted so far, in order, with confirms."""
        total = 0
        while True:
            count = self.relay.publish_handed()
            total += count
            if count == 0:
                return total

    def close(self):
        self.relay._close()
        self.client.close()


def case_assigned(registry, categories, on, sector=None, locality=None, **flags):
    """A ``case.assigned`` payload and the agencies it reaches by Art. 7."""
    responsibilities = registry.agencies_for(
        categories,
        sector=sector,
        locality=locality,
        on=on,
        journalists_involved=flags.get("journalists_involved", False),
    )
    agencies = [
        {
            "agency": item.agency,
            "role": "lead" if index == 0 else "coordinating",
            "rule": item.rule,
            "article": item.article,
            "matched": item.matched,
        }
        for index, item in enumerate(responsibilities)
    ]
    payload = {
        "lead": responsibilities[0].agency,
        "agencies": agencies,
        "responsible_agencies": registry.responsible_for(sector, locality, on=on),
        "categories": list(categories),
        "sector": sector,
        "locality": locality,
        "incident": flags.get("incident", False),
        "journalists_involved": flags.get("journalists_involved", False),
        "state": "assigned",
        "previous_state": "triaged",
    }

    return payload, [item.agency for item in responsibilities]


def escalation(to, reason="Vượt thẩm quyền của Sở (Điều 7.1.h)"):
    return {
        "escalation_id": f"esc-{uuid.uuid4().hex[:8]}",
        "to": to,
        "reason": reason,
        "article": "7.1.h" if to == "city" else "7.1.g",
        "due_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "state": "escalated",
        "previous_state": "appraised",
    }


def jsonl_transport(directory):
    return {"kind": "jsonl", "directory": str(directory), "fsync": False}


# Adapter names the current test configured: their queues outlive the test
# in the run's virtual host and are deleted after it (conftest.py).
USED_NAMES = set()


def adapters_config(service_config, instances, **section):
    USED_NAMES.update(instances)
    return {
        **service_config,
        "adapters": {
            "defaults": {"prefetch": 20, "concurrency": 4, **FAST_RETRIES},
            "instances": instances,
            **section,
        },
    }


def delete_adapter_queues(amqp_uri, names):
    """Delete the queues of ``names``: leftovers of one test (and consumers
    that a stopped host left behind) must not reach the next."""
    from kombu import Connection

    from phoihop.adapters.topology import (
        dead_letter_exchange_name,
        dead_letter_queue_name,
        queue_name,
        remote_queue_name,
    )

    with Connection(amqp_uri) as connection:
        for name in names:
            for queue in (queue_name(name), remote_queue_name(name)):
                for target in (queue, dead_letter_queue_name(queue)):
                    channel = connection.channel()
                    try:
                        channel.queue_delete(target)
                    finally:
                        channel.close()
                channel = connection.channel()
                try:
                    channel.exchange_delete(dead_letter_exchange_name(queue))
                finally:
                    channel.close()


def read_lines(directory):
    """Every line the JSON-lines transport wrote under ``directory``."""
    lines = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        with open(path, encoding="utf-8") as stream:
            lines.extend(json.loads(line) for line in stream if line.strip())
    return lines


def delivered_events(directory):
    return [line["event"] for line in read_lines(directory)]


RECEIVER = Path(__file__).with_name("webhook_receiver.py")


class WebhookReceiver:
    """The receiver script as a child process that can go down and come back."""

    def __init__(self, port, out, status=200):
        self.port = port
        self.out = Path(out)
        self.status = status
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/phoihop"

    def start(self):
        import socket
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [
                sys.executable,
                str(RECEIVER),
                str(self.port),
                str(self.out),
                "--status",
                str(self.status),
            ],
        )

        def listening():
            with socket.socket() as sock:
                sock.settimeout(0.2)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        assert wait_for(listening, timeout=10), "the webhook receiver did not start"
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def requests(self):
        import base64

        if not self.out.exists():
            return []
        records = []
        with open(self.out, encoding="utf-8") as stream:
            for line in stream:
                if line.strip():
                    record = json.loads(line)
                    record["body"] = base64.b64decode(record["body_b64"])
                    records.append(record)
        return records
