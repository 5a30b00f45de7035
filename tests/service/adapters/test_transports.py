"""The transports against real receivers: an SMTP server in its own process,
an HTTP endpoint for edXML, the webhook's answers, and the demo's answers
through the public API."""

import email
import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from mailbox import Maildir

import defusedxml.ElementTree as SafeET
import pytest
from adapter_support import (
    Publisher,
    WebhookReceiver,
    adapters_config,
    wait_for,
)

from phoihop.adapters import Adapter, DeliveryFailed, DeliveryRefused, handles
from phoihop.adapters.transports import TransportContext, build_transport
from phoihop.adapters.transports.edxml import NAMESPACE
from phoihop.agencies import shipped_registry
from phoihop.testing import free_port
from services.adapters.host import AdapterHost
from services.adapters.service import AdaptersService


class Desk(Adapter):
    agency = "police"

    @handles("#")
    def on_any(self, event):
        self.deliver(event)


@pytest.fixture
def smtp_server(tmp_path):
    port = free_port()
    maildir = tmp_path / "mail"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening():
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    assert wait_for(listening, 30), "the SMTP server did not start"
    yield port, maildir
    process.terminate()
    process.wait(10)


def event_for_police():
    from adapter_factories_service import assigned_event

    return assigned_event()


def build(settings, environ=None):
    context = TransportContext(
        adapter="police",
        agency="police",
        registry=shipped_registry(),
        environ=environ or {},
    )
    return build_transport(settings, context)


def test_email_notice_reaches_the_smtp_server_in_vietnamese(smtp_server):
    port, maildir = smtp_server
    transport = build(
        {
            "kind": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_address": "phoihop@stttt.haiphong.invalid",
            "to": ["dau-moi@congan.haiphong.invalid"],
        }
    )
    adapter = Desk("police", transports=[transport], registry=shipped_registry())
    event = event_for_police()

    adapter.deliver(event)

    assert wait_for(lambda: len(Maildir(maildir)) == 1, 45)
    message = email.message_from_bytes(next(iter(Maildir(maildir))).as_bytes())
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "[Phối hợp] Vụ việc case-7: đề nghị phối hợp xử lý"
    body = message.get_payload()[0].get_payload(decode=True).decode("utf-8")
    assert "Kính gửi: Công an thành phố" in body
    assert message["Message-ID"].strip() == (
        f"<{event.id}.police@stttt.haiphong.invalid>"
    )
    attachment = message.get_payload()[1]
    assert json.loads(attachment.get_payload(decode=True))["id"] == event.id


def test_email_to_a_server_that_is_down_is_retried_later():
    transport = build(
        {
            "kind": "email",
            "host": "127.0.0.1",
            "port": free_port(),
            "security": "none",
            "from_address": "a@b.invalid",
            "to": ["c@d.invalid"],
            "timeout": 2,
        }
    )

    with pytest.raises(DeliveryFailed):
        transport.send(event_for_police(), Desk("police", registry=shipped_registry()))


def test_email_to_focal_points_skips_placeholder_officers():
    from phoihop.adapters.errors import AdapterConfigError

    with pytest.raises(AdapterConfigError) as refused:
        build(
            {
                "kind": "email",
                "host": "h",
                "from_address": "a@b.invalid",
                "to_focal_points": True,
            }
        )

    assert "no real focal point" in str(refused.value)


def test_edxml_package_is_posted_signed_to_the_agency_endpoint(tmp_path):
    receiver = WebhookReceiver(free_port(), tmp_path / "edxml.jsonl").start()
    try:
        transport = build(
            {"kind": "edxml", "url": receiver.url, "secret_env": "EDXML_SECRET"},
            environ={"EDXML_SECRET": "k"},
        )
        receipt = transport.send(
            event_for_police(), Desk("police", registry=shipped_registry())
        )
        [request] = receiver.requests()
    finally:
        receiver.stop()

    assert receipt["status"] == 200
    assert request["headers"]["Content-Type"].startswith("application/xml")
    assert request["headers"]["X-Phoihop-Signature"].startswith("v1=")
    root = SafeET.fromstring(request["body"])
    assert root.tag == f"{{{NAMESPACE}}}edXML"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (409, "ok"),
        (503, DeliveryFailed),
        (429, DeliveryFailed),
        (400, DeliveryRefused),
        (404, DeliveryRefused),
    ],
    ids=lambda value: str(value),
)
def test_webhook_answer_decides_between_done_retry_and_refused(
    tmp_path, status, outcome
):
    receiver = WebhookReceiver(free_port(), tmp_path / "r.jsonl", status=status).start()
    transport = build(
        {"kind": "webhook", "url": receiver.url, "secret_env": "S"}, environ={"S": "k"}
    )
    adapter = Desk("police", registry=shipped_registry())
    try:
        if outcome == "ok":
            assert transport.send(event_for_police(), adapter)["status"] == status
        else:
            with pytest.raises(outcome):
                transport.send(event_for_police(), adapter)
    finally:
        receiver.stop()


def test_auto_answer_gives_an_opinion_and_reports_a_measure_through_the_api(
    container_factory, service_config, tmp_path, monkeypatch
):
    gateway = WebhookReceiver(free_port(), tmp_path / "api.jsonl").start()
    monkeypatch.setenv("POLICE_API_KEY", "phk_police_test")
    config = adapters_config(
        service_config,
        {"police": {"api_key_env": "POLICE_API_KEY", "options": {"auto_answer": True}}},
        gateway_url=f"http://127.0.0.1:{gateway.port}",
    )
    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert not host.broken, host.broken
    assert host.runners["police"].wait_active(30)
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    publisher = Publisher(config)
    publisher.emit(
        "consultation.opinion_requested",
        {
            "consultation_id": "round-1",
            "agency": "police",
            "question": "?",
            "due_at": due,
        },
        agencies=["police"],
        case_id="case-7",
    )
    publisher.emit(
        "measure.assigned",
        {
            "measure_id": "m-1",
            "decision_id": "d-1",
            "kind": "police_referral",
            "agency": "police",
            "due_at": due,
            "state": "handling",
            "previous_state": "decided",
        },
        agencies=["police"],
        case_id="case-7",
    )
    publisher.flush()
    publisher.close()

    def answers():
        # A retried answer repeats its key; the gateway records it once.
        by_key = {}
        for request in gateway.requests():
            by_key.setdefault(request["headers"]["Idempotency-Key"], request)
        return sorted(by_key.values(), key=lambda request: request["received_at"])

    try:
        assert wait_for(lambda: len(answers()) == 2, 45)
        time.sleep(0.5)
    finally:
        gateway.stop()

    opinion, result = answers()
    assert opinion["path"] == "/api/v1/rounds/round-1/opinions"
    assert opinion["headers"]["Authorization"] == "Bearer phk_police_test"
    assert json.loads(opinion["body"])["position"] == "agree"
    assert result["path"] == "/api/v1/cases/case-7/measures/m-1/result"
    answer = json.loads(result["body"])
    assert answer["result"] == "done" and answer["evidence"][0]["description"]
    assert result["headers"]["Idempotency-Key"].endswith(":result")
