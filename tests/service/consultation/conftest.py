"""Fixtures of the consultation service tests: the service on the real broker
and database, a stand-in that emits routing's and intake's case events
through its own outbox, a tap on the events exchange, and an RPC client."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from kombu import Connection, Queue, binding
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from phoihop.bus import events_exchange
from phoihop.config import exchange_name
from phoihop.store import Store, utcnow
from services.consultation.service import ConsultationService

DIC = {"agency": "dic", "officer": "Nguyễn Thị Thanh Tra"}
POLICE = {"agency": "police", "officer": "Trần Văn An"}
JOURNALISTS = {"agency": "journalists", "officer": "Lê Minh Báo"}
PROPAGANDA = {"agency": "propaganda", "officer": "Phạm Thu Hà"}

# Content posted in mid-2025: the Press Law 2016 and the Cybersecurity Law
# 2018 are in force then, Decree 72/2013 no longer is.
POSTED_AT = "2025-06-01T03:00:00+00:00"


class CaseSource:
    """Plays intake and routing: emits ``case.triaged`` and ``case.assigned``
    through an outbox, as those services do."""

    name = "case_source"
    store = Store()

    @rpc
    def assign(self, case_id, agencies, classification="internal", posted_at=None):
        with self.store.transaction() as tx:
            tx.emit(
                "case.triaged",
                {
                    "case_id": case_id,
                    "categories": ["false_information", "defamation"],
                    "legal_basis_suggested": ["PRESS2016-9.8"],
                    "sector": "health",
                    "locality": None,
                    "incident": False,
                    "journalists_involved": False,
                    "severity": "medium",
                    "classification": classification,
                    "posted_at": posted_at,
                    "state": "triaged",
                    "previous_state": "received",
                },
                case_id=case_id,
                classification=classification,
                actor={"agency": "dic", "officer": "triage"},
            )
            tx.emit(
                "case.assigned",
                {
                    "lead": "dic",
                    "agencies": [
                        {
                            "agency": code,
                            "role": "lead" if code == "dic" else "coordinating",
                            "rule": "lead" if code == "dic" else "category",
                            "article": "7.1" if code == "dic" else "7.2",
                        }
                        for code in ["dic", *agencies]
                    ],
                    "responsible_agencies": [],
                    "categories": ["false_information", "defamation"],
                    "sector": "health",
                    "locality": None,
                    "incident": False,
                    "state": "assigned",
                    "previous_state": "triaged",
                },
                case_id=case_id,
                agencies=["dic", *agencies],
                classification=classification,
                actor={"agency": "system", "officer": None},
            )

    @rpc
    def escalate(self, case_id, previous_state, next_state):
        """Escalate to the City People's Committee and record its answer."""
        escalation = {"escalation_id": f"esc-{uuid.uuid4().hex[:8]}", "to": "city"}
        with self.store.transaction() as tx:
            tx.emit(
                "case.escalated",
                {
                    **escalation,
                    "reason": "Vượt thẩm quyền của Sở",
                    "article": "7.1.h",
                    "state": "escalated",
                    "previous_state": previous_state,
                },
                case_id=case_id,
                classification="internal",
            )
        if next_state is None:
            return
        with self.store.transaction() as tx:
            tx.emit(
                "case.escalation_answered",
                {
                    **escalation,
                    "outcome": "directed",
                    "next_state": next_state,
                    "state": next_state,
                    "previous_state": "escalated",
                },
                case_id=case_id,
                classification="internal",
            )


class EventTap:
    """Every message on the events exchange, with its routing key.

    A queue of its own is bound to ``#`` before the services start, so
    nothing published during the test is missed; ``wait_for`` drains it.
    """

    def __init__(self, amqp_uri, exchange):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"tap-{uuid.uuid4().hex[:8]}",
            bindings=[binding(events_exchange(exchange), routing_key="#")],
            exclusive=True,
            auto_delete=True,
        )
        self.events = []
        self._lock = threading.Lock()
        channel = self.connection.channel()
        events_exchange(exchange)(channel).declare()
        self.consumer = self.connection.Consumer(
            self.queue, callbacks=[self._on_message], accept=["json"]
        )
        self.consumer.consume()

    def _on_message(self, body, message):
        with self._lock:
            self.events.append((message.delivery_info["routing_key"], body))
        message.ack()

    def drain(self, seconds=0.05):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.connection.drain_events(timeout=0.05)
            except TimeoutError:
                break
            except OSError:
                break

    def of_type(self, event_type, case_id=None):
        """Main copies (routing key == type) of one event type."""
        return [
            body
            for key, body in self.events
            if key == event_type
            and body["type"] == event_type
            and (case_id is None or body["case_id"] == case_id)
        ]

    def keys(self):
        return [key for key, _ in self.events]

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.1)
            if predicate(self):
                return True
        return False

    def close(self):
        try:
            self.consumer.cancel()
        finally:
            self.connection.release()


def wait_for(predicate, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - not there yet; poll again
            pass
        time.sleep(interval)
    return False


def in_seconds(seconds):
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def consultation_config(service_config):
    # Reminders a few seconds before the due time, so that a round due in
    # seconds still reminds the agency that has not answered.
    return {
        **service_config,
        "consultation": {
            "deadlines": {"reminders_minutes": [0.05], "poll_seconds": 0.1}
        },
    }


@pytest.fixture
def tap(consultation_config):
    tap = EventTap(consultation_config["AMQP_URI"], exchange_name(consultation_config))
    yield tap
    tap.close()


@pytest.fixture
def services(container_factory, consultation_config, tap):
    consultation = container_factory(ConsultationService, consultation_config)
    source = container_factory(CaseSource, consultation_config)
    consultation.start()
    source.start()
    return consultation, source


@pytest.fixture
def rpc_proxy(services, consultation_config):
    with ClusterRpcProxy(consultation_config, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def assigned_case(rpc_proxy):
    """A case assigned to dic, police, journalists and propaganda, known to
    consultation."""

    def make(agencies=("police", "journalists", "propaganda"), **kwargs):
        case_id = f"case-{uuid.uuid4().hex[:10]}"
        kwargs.setdefault("posted_at", POSTED_AT)
        rpc_proxy.case_source.assign(case_id, list(agencies), **kwargs)
        assert wait_for(
            lambda: rpc_proxy.consultation.get_case(case_id)["state"] == "assigned"
        ), "consultation never saw case.assigned"
        return case_id

    return make


ART_4_2 = "Nội dung bịa đặt về sự việc cụ thể, không phải báo chí hay phản biện."


def answered_round(consultation, case_id, invited=("police",)):
    """Open a round and have every invited agency agree, which closes it."""
    round_ = consultation.open_round(
        case_id,
        {"question": "Nội dung có vi phạm không?", "invited": list(invited)},
        DIC,
    )
    for agency in invited:
        consultation.submit_opinion(
            round_["consultation_id"],
            {"position": "agree", "reasoning": "Vi phạm.", "legal_basis": []},
            {"agency": agency, "officer": "cán bộ đầu mối"},
        )
    return round_["consultation_id"]


def appraised_case(consultation, case_id, legal_basis=("PRESS2016-9.8",)):
    answered_round(consultation, case_id)
    consultation.appraise(
        case_id,
        {
            "outcome": "violates",
            "legal_basis": list(legal_basis),
            "art_4_2_consideration": ART_4_2,
        },
        DIC,
    )
    return case_id


def decided_case(consultation, case_id):
    """A case in handling with two measures: (removal by dic, referral to
    police)."""
    appraised_case(consultation, case_id)
    decision = consultation.decide(
        case_id,
        {
            "measures": [
                {"kind": "removal_request", "agency": "dic", "target": "platform"},
                {"kind": "police_referral", "agency": "police"},
            ]
        },
        DIC,
    )
    return decision["measures"]
