"""Fixtures of the press service tests: a registry with real spokespersons,
case events published as their producers would, and listeners bound like
the agencies' adapters (``agency.<code>.#``)."""

import time
import uuid
from pathlib import Path

import pytest
import yaml
from kombu import Connection, Exchange, Queue
from press_support import SPOKESPERSONS

from phoihop.agencies import DEFAULT_PATH
from phoihop.config import exchange_name
from phoihop.events import build_event
from phoihop.testing import purge_queues, run_queues


@pytest.fixture(scope="session")
def registry_file(tmp_path_factory):
    """The shipped agencies, with named spokespersons for DIC and the
    Department of Health instead of the placeholders."""
    data = yaml.safe_load(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
    for row in data["agencies"]:
        name = SPOKESPERSONS.get(row["code"])
        if name:
            row["spokespersons"] = [
                {
                    "name": name,
                    "role": "Phó Giám đốc, người phát ngôn",
                    "phone": "+84 225 000 0009",
                    "email": f"phat-ngon@{row['code']}.haiphong.invalid",
                }
            ]
    path = tmp_path_factory.mktemp("registry") / "agencies.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    return path


@pytest.fixture
def press_config(service_config, registry_file):
    """A config for the press service; ``clock`` sets the 2-hour limit and
    its reminders, shortened for the test."""

    # Events other tests published since the last press test wait in the
    # service's queues; the clocks of these tests are too short to wait
    # behind them.
    uri = service_config["AMQP_URI"]
    purge_queues(uri, [q for q in run_queues(uri) if q.startswith("press.")])

    def make(duration="1h", reminders=(30,)):
        return {
            **service_config,
            "press": {
                "registry": {"path": str(registry_file)},
                "deadlines": {
                    "poll_seconds": 0.1,
                    "kinds": {
                        "initial_info": {
                            "duration": duration,
                            "reminders_minutes": list(reminders),
                            "article": "7.6.d",
                        }
                    },
                },
            },
        }

    return make


class Listener:
    """A queue bound to some routing keys, as an agency's adapter binds."""

    def __init__(self, config, keys):
        self.connection = Connection(config["AMQP_URI"])
        exchange = Exchange(exchange_name(config), type="topic", durable=True)
        channel = self.connection.default_channel
        exchange(channel).declare()
        self.bound = Queue(f"test-listener-{uuid.uuid4().hex[:8]}")(channel)
        self.bound.declare()
        for key in keys:
            self.bound.bind_to(exchange=exchange.name, routing_key=key)
        self.received = []

    def drain(self):
        while True:
            message = self.bound.get(no_ack=True)
            if message is None:
                return
            self.received.append(
                (message.delivery_info["routing_key"], message.payload)
            )

    def wait_for(self, routing_key, count=1, timeout=20.0, where=None):
        """The messages with ``routing_key`` once ``count`` have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            found = [
                body
                for key, body in self.received
                if key == routing_key and (where is None or where(body))
            ]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def keys(self):
        self.drain()
        return [key for key, _ in self.received]

    def close(self):
        try:
            self.bound.delete()
        finally:
            self.connection.release()


@pytest.fixture
def listen(service_config):
    opened = []

    def make(*keys, config=None):
        listener = Listener(config or service_config, keys)
        opened.append(listener)
        return listener

    yield make
    for listener in opened:
        listener.close()


class CaseEvents:
    """Publishes the events of one case as intake, routing and consultation
    would (validated envelopes on the events exchange)."""

    def __init__(self, config, case_id=None, classification="internal"):
        self.config = config
        self.case_id = case_id or f"case-{uuid.uuid4().hex[:8]}"
        self.classification = classification
        self.connection = Connection(config["AMQP_URI"])
        self.exchange = Exchange(exchange_name(config), type="topic", durable=True)
        self.producer = self.connection.Producer(serializer="json")
        self.exchange(self.producer.channel).declare()

    def publish(self, name, payload, actor=None, classification=None):
        envelope = build_event(
            name,
            payload,
            case_id=self.case_id,
            actor=actor or {"agency": "dic", "officer": "Cán bộ DIC"},
            classification=classification or self.classification,
        )
        self.producer.publish(
            envelope,
            exchange=self.exchange,
            routing_key=name,
            delivery_mode=2,
            message_id=envelope["id"],
        )

        return envelope

    def republish(self, envelope):
        self.producer.publish(
            envelope, exchange=self.exchange, routing_key=envelope["type"]
        )

    def opened(self, text="", incident=True, title=None, **extra):
        return self.publish(
            "case.opened",
            {
                "case_id": self.case_id,
                "report_id": f"rep-{self.case_id}",
                "channel": "api",
                "title": title or "Tin đồn về ngộ độc thực phẩm tại trường học",
                "content_items": [
                    {
                        "url": "https://social.example/post/1",
                        "platform": "facebook",
                        "captured_text": text,
                    }
                ],
                "about": {
                    "sector": "health",
                    "locality": None,
                    "text": "Bài đăng lan truyền tin đồn chưa được kiểm chứng.",
                },
                "suggested_categories": ["false_information"],
                "incident": incident,
                "classification": extra.pop("classification", self.classification),
                "severity": "high",
                "state": "received",
                **extra,
            },
        )

    def assigned(self, incident=True, agencies=("dic", "dept-health", "police")):
        rows = [
            {
                "agency": code,
                "role": "lead" if code == "dic" else "coordinating",
                "rule": "lead" if code == "dic" else "sector",
                "article": "7.1" if code == "dic" else "7.6.c",
            }
            for code in agencies
        ]
        return self.publish(
            "case.assigned",
            {
                "lead": "dic",
                "agencies": rows,
                "responsible_agencies": [c for c in agencies if c.startswith("dept-")],
                "categories": ["false_information"],
                "sector": "health",
                "locality": None,
                "incident": incident,
                "state": "assigned",
                "previous_state": "triaged",
            },
        )

    def decided(self, legal_basis=("PRESS2016-9.8",), measures=None):
        measures = measures or [
            {
                "measure_id": "m-1",
                "kind": "removal_request",
                "agency": "dic",
                "due_at": "2026-01-10T00:00:00+00:00",
                "target": "platform",
            },
            {
                "measure_id": "m-2",
                "kind": "sanction_proposal",
                "agency": "police",
                "due_at": "2026-01-10T00:00:00+00:00",
                "sanction_code": "D15-101.1.a",
            },
        ]
        return self.publish(
            "case.decided",
            {
                "decision_id": f"dec-{self.case_id}",
                "legal_basis": list(legal_basis),
                "measures": measures,
                "summary": "Yêu cầu gỡ bỏ bài viết và đề xuất xử phạt.",
                "appraisal_id": "apr-1",
                "state": "decided",
                "previous_state": "appraised",
            },
        )

    def reported(self, measure_id, kind, agency, result="done"):
        return self.publish(
            "measure.reported",
            {
                "measure_id": measure_id,
                "decision_id": f"dec-{self.case_id}",
                "kind": kind,
                "agency": agency,
                "result": result,
                "evidence": [{"description": "Bài viết đã bị gỡ"}],
                "revision": 1,
            },
        )

    def resolved(self):
        return self.publish(
            "case.resolved",
            {
                "decision_id": f"dec-{self.case_id}",
                "results": {"done": 2, "partly_done": 0, "not_possible": 0},
                "state": "resolved",
                "previous_state": "handling",
            },
        )

    def close(self):
        self.connection.release()


@pytest.fixture
def case_events(service_config):
    opened = []

    def make(config=None, **kwargs):
        events = CaseEvents(config or service_config, **kwargs)
        opened.append(events)
        return events

    yield make
    for events in opened:
        events.close()
